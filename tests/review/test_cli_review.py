"""``prr review``, ``prr gate`` and ``prr db`` as a user runs them, on SQLite and PostgreSQL.

The acceptance scenario: a small repository whose ingress has no rate limit
(a critical item fails) is scanned into a review; people answer, a sign-off is
refused while the blocker is open, a high item's risk is accepted by a
permitted role (and refused for another), the blocker is fixed, all four roles
approve, the deploy gate opens; the frozen review refuses edits and a tampered
audit row is detected.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from prr.cli import review as review_cli
from prr.cli._identity import actor
from prr.store.db import Store

RATE = "security.authorization.api-rate-limiting-enabled"
EXPOSED = "security.network-security.internal-services-not-exposed"  # high
SCALING = "infrastructure.compute.auto-scaling-configured"  # high, typed fields
MARKETING = "launch.pre-launch.marketing-aligned"
ROLES = ("Engineering Lead", "Security", "Operations", "Product")

ROOT = typer.Typer()
ROOT.add_typer(review_cli.app, name="review")
ROOT.add_typer(review_cli.db_app, name="db")
ROOT.command("gate")(review_cli.gate)

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: shop
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
spec:
  ingressClassName: nginx
  tls:
    - hosts: [api.example.com]
      secretName: api-tls
  rules:
    - host: api.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: api, port: {number: 80}}
          - path: /admin
            pathType: Prefix
            backend:
              service: {name: api, port: {number: 80}}
"""
LIMIT = '    nginx.ingress.kubernetes.io/limit-rpm: "600"\n'


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


Prr = Callable[..., Run]


def write_repo(folder: Path, *, rate_limited: bool = False) -> Path:
    """A service repository: prr.yaml and an ingress (without a rate limit unless asked)."""
    (folder / "k8s").mkdir(parents=True, exist_ok=True)
    (folder / "prr.yaml").write_text("service: shop\nowner: team-shop\ntraits: [http_api]\n")
    ingress = INGRESS
    if rate_limited:
        anchor = "    cert-manager.io/cluster-issuer: letsencrypt-prod\n"
        ingress = ingress.replace(anchor, anchor + LIMIT)
    (folder / "k8s" / "edge.yaml").write_text(ingress)
    return folder


@pytest.fixture
def prr(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Prr:
    """Run ``prr`` in-process against this test's store; no traceback may escape."""
    monkeypatch.setenv("PRR_USER", "alice")
    monkeypatch.delenv("PRR_DATABASE_URL", raising=False)
    monkeypatch.delenv("PRR_POLICY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, database: bool = True) -> Run:
        argv = [*args, "--database", store_url] if database else list(args)
        result = CliRunner().invoke(ROOT, argv, catch_exceptions=False)
        for stream in (result.stdout, result.stderr):
            assert "Traceback" not in stream
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke


def _ok(run: Run) -> Run:
    assert run.exit_code == 0, run.stdout + run.stderr
    return run


def _number(pattern: str, output: str) -> int:
    found = re.search(pattern, output)
    assert found, output
    return int(found.group(1))


def _new(prr: Prr, repo: Path, version: str, *extra: str) -> int:
    run = _ok(prr("review", "new", "shop", version, "--path", str(repo), *extra))
    return _number(r"opened review (\d+)", run.stdout)


def _show(prr: Prr, review_id: int, *extra: str) -> dict[str, Any]:
    run = _ok(prr("review", "show", str(review_id), "-f", "json", *extra))
    data: dict[str, Any] = json.loads(run.stdout)
    assert data["schema"] == "prr/review/v1"
    return data


def _item(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in data["items"] if i["id"] == item_id)


def test_acceptance_scenario_end_to_end(prr: Prr, store_url: str, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo")
    run = _ok(
        prr(
            "review", "new", "shop", "1.0.0", "--path", str(repo),
            "--launch-date", "2026-12-01", "--expected-rps", "200", "--peak-rps", "800",
            "--uptime-target", "99.9%", "--context", "compliance=none",
        )
    )  # fmt: skip
    assert "NOT READY" in run.stdout and f"✗ {RATE}" in run.stdout
    assert "sign-off missing: Engineering Lead, Security, Operations, Product" in run.stdout
    rid = _number(r"opened review (\d+)", run.stdout)

    data = _show(prr, rid)
    assert data["verdict"] == "NOT READY" and data["blockers"] == [RATE]
    assert data["state"] == "open" and data["checklist"] == "service@1.0.0"
    assert data["scan_id"] is not None and data["summary"]["items"] == 158
    assert data["context"] == {
        "compliance": "none",
        "launch_date": "2026-12-01",
        "expected_rps": 200,
        "peak_rps": 800,
        "uptime_target": 99.9,
    }
    rate = _item(data, RATE)
    assert (rate["status"], rate["source"], rate["blocker"]) == ("fail", "verified", True)
    assert _item(data, EXPOSED)["status"] == "fail"

    # answers: a unique suffix names the item; typed fields are parsed
    run = _ok(
        prr(
            "review", "answer", str(rid), "auto-scaling-configured", "--status", "pass",
            "--field", "min_instances=3", "--field", "max_instances=12", "--notes", "HPA 3..12",
            "--owner", "@ops", "--eta", "2026-11-30", "--as", "bob",
        )
    )  # fmt: skip
    assert f"{SCALING} → pass" in run.stdout
    _ok(prr("review", "na", str(rid), MARKETING, "--reason", "internal API, no marketing launch"))
    scaling = _item(_show(prr, rid), SCALING)
    assert scaling["fields"] == {"min_instances": 3, "max_instances": 12}
    assert (scaling["source"], scaling["answered_by"], scaling["owner"], scaling["eta"]) == (
        "attested",
        "bob",
        "@ops",
        "2026-11-30",
    )

    # approval is refused while the blocker is open, naming it
    run = prr("review", "signoff", str(rid), "--role", "Security", "--as", "sam")
    assert run.exit_code == 1
    assert (
        "approval refused" in run.stderr and f"✗ {RATE} (API rate limiting enabled)" in run.stderr
    )

    # a high item's risk: requested, refused for Product, approved by the Engineering Lead
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    run = _ok(
        prr(
            "review", "waive", str(rid), "internal-services-not-exposed",
            "--reason", "admin path moves behind the VPN next sprint", "--risk-owner", "@lead",
            "--mitigation", "IP allowlist on the load balancer", "--expires", expires,
        )
    )  # fmt: skip
    waiver = str(_number(r"waiver (\d+) requested", run.stdout))
    assert "Engineering Lead, Security, Operations" in run.stdout
    run = prr("review", "approve-waiver", waiver, "--role", "Product", "--as", "pat")
    assert run.exit_code == 1 and "Product may not accept the risk of a high item" in run.stderr
    _ok(prr("review", "approve-waiver", waiver, "--role", "engineering lead", "--as", "lee"))
    data = _show(prr, rid)
    assert _item(data, EXPOSED)["waived"] is True and data["summary"]["accepted_risks"] == 1
    assert data["waivers"][0] | {"id": 0} == {
        "id": 0,
        "item": EXPOSED,
        "state": "approved",
        "reason": "admin path moves behind the VPN next sprint",
        "risk_owner": "@lead",
        "mitigation": "IP allowlist on the load balancer",
        "requested_by": "alice",
        "decided_by": "lee",
        "decided_role": "Engineering Lead",
        "expires": expires,
    }
    # a critical item's risk is never accepted
    run = prr("review", "waive", str(rid), RATE, "--reason", "later", "--risk-owner", "@x")
    assert run.exit_code == 1 and "does not allow accepting its risk" in run.stderr

    # the fix: limit-rpm added to the ingress, the burst drill returned 429
    _ok(
        prr(
            "review", "answer", str(rid), RATE, "--status", "pass",
            "--notes", "limit-rpm 600 on the ingress; burst returned 429",
        )
    )  # fmt: skip
    run = prr("gate", "shop", "1.0.0")
    assert run.exit_code == 1 and "gate closed" in run.stdout and "sign-off missing" in run.stdout

    for number, role in enumerate(ROLES):
        run = _ok(prr("review", "signoff", str(rid), "--role", role, "--as", f"person{number}"))
    assert "approved and frozen" in run.stdout
    run = prr("gate", "shop", "1.0.0")
    assert run.exit_code == 0 and f"gate open: shop 1.0.0: review {rid} approved" in run.stdout
    assert prr("gate", "shop", "1.0.1").exit_code == 1
    data = _show(prr, rid)
    assert data["state"] == "approved" and data["frozen"] and data["missing_roles"] == []
    assert {(s["role"], s["person"], s["decision"]) for s in data["signoffs"]} == {
        (role, f"person{n}", "approve") for n, role in enumerate(ROLES)
    }

    # the frozen review refuses edits: exit 2, a clear message, no traceback
    for args in (
        ("review", "answer", str(rid), SCALING, "--notes", "late edit"),
        ("review", "na", str(rid), SCALING, "--reason", "late"),
        ("review", "context", str(rid), "peak_rps=900"),
        ("review", "revoke-waiver", waiver),
    ):
        run = prr(*args)
        assert run.exit_code == 2 and "frozen" in run.stderr, args

    markdown = _ok(prr("review", "show", str(rid), "-f", "markdown")).stdout
    assert markdown.startswith("## Production Readiness Review: shop 1.0.0")
    assert "| Security | person1 | ☑ |" in markdown and "### Risks Accepted" in markdown
    assert f"| {MARKETING} | internal API, no marketing launch | attested |" in markdown
    listing = json.loads(_ok(prr("review", "list", "--format", "json")).stdout)
    assert [(r["id"], r["state"]) for r in listing["reviews"]] == [(rid, "approved")]

    # the audit trail: intact, then a row edited behind prr's back
    assert "intact" in _ok(prr("review", "verify", str(rid))).stdout
    store = Store(store_url, migrate=False)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_event SET actor = 'mallory' WHERE review_id = :r AND seq = 2"),
            {"r": rid},
        )
    store.close()
    run = prr("review", "verify", str(rid))
    assert run.exit_code == 1 and "audit trail broken" in run.stderr and "event 2" in run.stderr
    run = prr("gate", "shop", "1.0.0")
    assert run.exit_code == 1 and "fails audit verification" in run.stdout


def test_rescan_of_the_fixed_repository_and_diff(prr: Prr, tmp_path: Path) -> None:
    first = _new(prr, write_repo(tmp_path / "v1"), "1.0.0")
    second = _new(prr, write_repo(tmp_path / "v2", rate_limited=True), "1.1.0")
    data = _show(prr, second)
    assert data["blockers"] == [] and _item(data, RATE)["status"] == "pass"
    assert data["verdict"] == "CONDITIONAL"

    diff = json.loads(_ok(prr("review", "diff", str(first), str(second), "-f", "json")).stdout)
    assert diff["schema"] == "prr/review-diff/v1"
    assert {
        "id": RATE,
        "title": "API rate limiting enabled",
        "before": "fail",
        "after": "pass",
    } in (diff["changed"])
    assert "reliability.alerting.error-rate-alerts" in {d["id"] for d in diff["unknown_in_both"]}
    table = _ok(prr("review", "diff", str(first), str(second))).stdout
    assert "Red flag — unknown in both reviews" in table and "--format json lists" in table

    listing = json.loads(_ok(prr("review", "list", "--service", "shop", "-f", "json")).stdout)
    assert [(r["version"], r["verdict"]) for r in listing["reviews"]] == [
        ("1.0.0", "NOT READY"),
        ("1.1.0", "CONDITIONAL"),
    ]
    assert json.loads(_ok(prr("review", "list", "--service", "nope", "-f", "json")).stdout) == {
        "schema": "prr/review-list/v1",
        "reviews": [],
    }
    assert "Reviews" in _ok(prr("review", "list")).stdout


def test_a_later_worse_scan_drifts_the_approved_review(prr: Prr, tmp_path: Path) -> None:
    good = _new(prr, write_repo(tmp_path / "good", rate_limited=True), "2.0.0")
    for role in ROLES:
        _ok(prr("review", "signoff", str(good), "--role", role, "--as", role))
    assert prr("gate", "shop", "2.0.0").exit_code == 0
    # the next version's scan finds rate limiting gone: the approval no longer holds
    _new(prr, write_repo(tmp_path / "bad"), "2.1.0")
    data = _show(prr, good)
    assert data["state"] == "drifted" and RATE in data["drift"]["items"]
    run = prr("gate", "shop", "2.0.0")
    assert run.exit_code == 1 and "drifted" in run.stdout
    assert (
        f"drifted: scan {data['drift']['scan']} changed {RATE}"
        in _ok(prr("review", "show", str(good))).stdout
    )


def test_show_filters_and_no_scan_reviews(prr: Prr, tmp_path: Path) -> None:
    rid = _new(prr, write_repo(tmp_path / "repo"), "1.0.0", "--stage", "beta")
    data = _show(prr, rid, "--phase", "2", "--category", "security")
    assert data["stage"] == "beta" and data["items"]
    assert all(i["phase"] == 2 and i["category"] == "security" for i in data["items"])
    # at beta rate limiting is high: an issue, not a blocker
    assert data["blockers"] == [] and RATE in data["issues"]

    table = _ok(prr("review", "show", str(rid), "--category", "Security")).stdout
    assert "Phase 2: Security Audit" in table and "more items not shown" in table
    assert "stop question: Any security requirements I should know?" in table
    everything = _ok(prr("review", "show", str(rid), "--all")).stdout
    assert "not shown" not in everything and "Sign-off" in everything
    assert prr("review", "show", str(rid), "--category", "nope").exit_code == 2
    assert prr("review", "show", str(rid), "--phase", "9").exit_code == 2

    run = _ok(prr("review", "new", "shop", "2.0.0", "--no-scan", "--path", str(tmp_path / "x")))
    assert "no scan" in run.stdout
    rid = _number(r"opened review (\d+)", run.stdout)
    data = _show(prr, rid)
    assert data["scan_id"] is None and data["summary"]["verified"] == 0
    assert data["checklist"] == "service@1.0.0" and data["verdict"] == "CONDITIONAL"
    _ok(prr("review", "context", str(rid), "launch-date=2027-01-10", "expected_rps=50"))
    assert _show(prr, rid)["context"] == {"launch_date": "2027-01-10", "expected_rps": 50}


ORG = """\
schema: prr/checklist/v1
name: acme-service
version: "1"
extends: service
title: ACME
categories:
  - id: edge
    title: Edge
    phase: 2
    sections:
      - id: gateway
        title: Gateway
        items:
          - id: api-rate-limiting-enabled
            title: Gateway rate limiting enabled
            expected: The shared gateway limits every route.
            severity: medium
            remediation: [Enable the gateway's limiter.]
            acceptance_criteria: [A burst is answered with 429.]
            effort: S
"""


def test_bad_inputs_give_clear_errors(prr: Prr, tmp_path: Path) -> None:
    org = tmp_path / "acme.yaml"
    org.write_text(textwrap.dedent(ORG))
    run = _ok(prr("review", "new", "shop", "1.0.0", "--no-scan", "--checklist", str(org)))
    rid = str(_number(r"opened review (\d+)", run.stdout))

    def refused(code: int, needle: str, *args: str) -> None:
        run = prr(*args)
        assert run.exit_code == code, (args, run.stdout, run.stderr)
        assert needle in run.stderr, (args, run.stderr)

    refused(2, "no review 999", "review", "show", "999")
    refused(2, "no review 999", "review", "answer", "999", RATE, "--status", "pass")
    refused(2, "no review 999", "review", "verify", "999")
    refused(2, "no waiver 42", "review", "approve-waiver", "42", "--role", "Security")
    refused(2, "no item 'rate-limits'", "review", "answer", rid, "rate-limits", "--status", "pass")
    run = prr("review", "answer", rid, "rate-limits", "--status", "pass")
    assert f"did you mean:\n  {RATE}" in run.stderr
    # ambiguous suffix: two checklists' items end the same way; more of the id resolves it
    refused(2, "matches 2 items", "review", "na", rid, "api-rate-limiting-enabled", "--reason", "x")
    assert (
        "edge.gateway.api-rate-limiting-enabled"
        in prr("review", "na", rid, "api-rate-limiting-enabled", "--reason", "x").stderr
    )
    _ok(prr("review", "na", rid, "gateway.api-rate-limiting-enabled", "--reason", "no gateway"))
    refused(2, "min_instances", "review", "answer", rid, SCALING, "--field", "min_instances=many")
    refused(2, "has no field 'replicas'", "review", "answer", rid, SCALING, "--field", "replicas=2")
    refused(2, "not KEY=VALUE", "review", "answer", rid, SCALING, "--field", "min_instances")
    refused(2, "needs a justification", "review", "na", rid, MARKETING)
    refused(2, "needs a justification", "review", "na", rid, MARKETING, "--reason", "  ")
    refused(2, "nothing to record", "review", "answer", rid, SCALING)
    refused(2, "is not a date", "review", "answer", rid, SCALING, "--eta", "next week")
    refused(2, "needs a reason and a risk owner", "review", "waive", rid, SCALING)
    refused(1, "at most 180 days", "review", "waive", rid, SCALING, "--reason", "r",
            "--risk-owner", "o", "--expires", "2099-01-01")  # fmt: skip
    refused(1, "not a sign-off role", "review", "signoff", rid, "--role", "CTO")
    refused(2, "uptime_target", "review", "context", rid, "uptime_target=150")
    refused(2, "not KEY=VALUE", "review", "context", rid, "launch")
    assert prr("review", "answer", rid, SCALING, "--status", "maybe").exit_code == 2
    refused(2, "not one of experiment, beta, ga", "review", "new", "shop", "1", "--no-scan",
            "--stage", "alpha")  # fmt: skip
    refused(2, "is not a number", "review", "new", "shop", "1", "--no-scan",
            "--expected-rps", "lots")  # fmt: skip
    refused(2, "unknown checklist 'nosuch'", "review", "new", "shop", "1", "--no-scan",
            "--checklist", "nosuch")  # fmt: skip
    repo = write_repo(tmp_path / "repo")
    refused(2, "describes service 'shop', not 'billing'", "review", "new", "billing", "1",
            "--path", str(repo))  # fmt: skip
    refused(2, "is not a directory", "review", "new", "shop", "1", "--path", str(tmp_path / "no"))
    run = prr("review", "list", "--database", "nosuchdb://x", database=False)
    assert run.exit_code == 2 and "not a usable database URL" in run.stderr
    # the store's URL never shows its password
    run = prr(
        "review", "list", "--database", "postgresql://u:hunter2@127.0.0.1:1/x", database=False
    )
    assert run.exit_code == 3 and "hunter2" not in run.stderr + run.stdout


def test_db_commands(prr: Prr) -> None:
    run = _ok(prr("db", "current"))
    assert "current: (empty store)" in run.stdout and "behind: run prr db upgrade" in run.stdout
    head = Store.head_revision()
    run = _ok(prr("db", "upgrade"))
    assert f"current: {head}" in run.stdout and f"head: {head}" in run.stdout
    assert "migrated empty" in run.stdout
    run = _ok(prr("db", "upgrade"))
    assert "up to date" in run.stdout
    assert "up to date" in _ok(prr("db", "current")).stdout


def test_default_store_is_under_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRR_DATABASE_URL", raising=False)
    monkeypatch.setenv("PRR_USER", "carol")
    result = CliRunner().invoke(
        ROOT, ["review", "new", "svc", "1", "--no-scan", "--root", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".prr" / "prr.db").is_file()
    result = CliRunner().invoke(
        ROOT, ["review", "show", "1", "-f", "json", "--root", str(tmp_path)]
    )
    assert json.loads(result.stdout)["created_by"] == "carol"


def test_actor_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.chdir(tmp_path)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = dev@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PRR_USER", "from-env")
    assert actor(" explicit ") == "explicit"
    assert actor(None) == "from-env"
    monkeypatch.delenv("PRR_USER")
    assert actor(None) == "dev@example.com"
    gitconfig.write_text("")
    assert actor(None) == getpass.getuser()
