"""Two versions of a checklist diffed item by item."""

from __future__ import annotations

import json
from pathlib import Path

from prr.model.diff import diff_checklists
from prr.model.loader import load_checklist

ORG = Path(__file__).parent / "data" / "org" / "good"


def test_diff_of_service_and_org_checklist() -> None:
    result = diff_checklists(load_checklist("service"), load_checklist(ORG / "acme.yaml"))
    added = {item_id for item_id, _ in result.added}
    removed = {item_id for item_id, _ in result.removed}
    changed = {c.id: c for c in result.changed}
    assert added == {
        "security.supply-chain.images-signed",
        "security.authorization.audit-of-admin-actions",
        "finops.tagging.cost-center-tagged",
    }
    assert "launch.pre-launch.marketing-aligned" in removed and len(removed) == 6
    assert changed["infrastructure.networking.cdn-configured"].changes["severity"] == (
        "medium",
        "low",
    )
    assert (
        "severity_by_stage" in changed["security.authorization.api-rate-limiting-enabled"].changes
    )


def test_identical_checklists_have_no_diff(cli) -> None:
    assert diff_checklists(load_checklist("service"), load_checklist("service")).empty
    run = cli("checklist", "diff", "service", "service")
    assert run.exit_code == 0 and "No differences." in run.stdout


def test_diff_command_formats(cli) -> None:
    acme = str(ORG / "acme.yaml")
    data = json.loads(cli("checklist", "diff", "service", acme, "--format", "json").stdout)
    assert data["old"] == "service@1.0.0" and data["new"] == "acme-service@2026.11"
    markdown = cli("checklist", "diff", "service", acme, "--format", "markdown").stdout
    assert "## Added" in markdown and "`finops.tagging.cost-center-tagged`" in markdown
    table = cli("checklist", "diff", "service", acme).stdout
    assert "3 added, 6 removed" in table
    assert cli("checklist", "diff", "service", acme, "--format", "xml").exit_code == 2
