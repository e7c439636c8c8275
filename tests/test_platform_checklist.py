"""The built-in platform checklist: the PRR of what services run on."""

from __future__ import annotations

import json

from prr.model.loader import load_checklist


def test_platform_has_at_least_fifty_complete_items(cli) -> None:
    run = cli("checklist", "show", "platform", "--format", "json")
    assert run.exit_code == 0
    data = json.loads(run.stdout)
    assert data["counts"]["items"] >= 50
    for entry in data["items"]:
        assert entry["expected"] and entry["remediation"] and entry["acceptance_criteria"]


def test_platform_covers_the_areas_a_platform_review_needs() -> None:
    platform = load_checklist("platform")
    text = " ".join(f"{r.id} {r.title} {r.item.expected}".lower() for r in platform)
    for topic in (
        "control plane",
        "etcd",
        "autoscal",
        "upgrade",
        "ingress",
        "dns",
        "registry",
        "secret",
        "prometheus",
        "backup",
        "capacity",
        "tenant",
        "cost",
        "disaster",
        "break-glass",
        "audit",
    ):
        assert topic in text, topic
    critical = [r for r in platform if r.item.is_critical_at_any_stage()]
    assert critical
    for ref in critical:
        assert ref.item.blocker or ref.item.critical_reason


def test_list_shows_both_builtins(cli) -> None:
    run = cli("checklist", "list", "--format", "json")
    rows = {row["name"]: row for row in json.loads(run.stdout)}
    assert rows["service"]["items"] == 158
    assert rows["platform"]["items"] >= 50
