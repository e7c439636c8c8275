"""Documentation checks on real, thin, stub, unreadable and absent documents."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.collectors.docs import DocsCollector
from prr.collectors.observability import ObservabilityCollector
from prr.model.evidence import Result, Status
from prr.model.loader import load_checklist
from tests.collectors.test_docs import OPENAPI, RUNBOOK
from tests.helpers import by_item, collect, run_check

CHECKLIST = load_checklist("service")


def scan(root: Path, check_id: str, files: Mapping[str, str | bytes]) -> dict[str, Result]:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    facts = collect(root, ObservabilityCollector, DocsCollector)
    results = by_item(run_check(check_id, facts))
    for result in results.values():
        # Every measured value fits the item's typed field, and every fail says how to fix it.
        specs = {spec.id: spec for spec in CHECKLIST.item(result.item_id).item.fields}
        for key, value in result.fields.items():
            specs[key].parse(value)
        assert result.status is not Status.FAIL or result.remediation, result.item_id
        assert result.evidence, result.item_id
    return results


DOCS_DIR = {"docs/index.md": "# Shop docs\n\nHow to build and test the shop service locally.\n"}

INCIDENT = """
# Incident response

## Declaring an incident

Anyone may declare an incident: run `/incident declare` in Slack, which opens the
#inc-<date> channel and pages the on-call engineer. Declare early; downgrading is cheap.

## Roles

- Incident commander: coordinates, decides, keeps the timeline.
- Communications lead: posts stakeholder updates every 30 minutes in #announcements.
- Operations lead: investigates and mitigates.

## Severity levels

| Level | Impact | Response |
|-------|--------|----------|
| SEV1 | Full outage for all customers | page immediately, updates every 30 min |
| SEV2 | Major feature down for many users | page, hourly updates |
| SEV3 | Degraded for some users | next business day |

## Mitigation

Stabilise first: roll back the last deploy, fail over, or disable the feature flag.
Open the war room bridge on Zoom for SEV1 and SEV2 and invite the owners of affected services.

## Closing

When the impact is resolved, the commander posts the all clear and schedules the
post-mortem within five business days.
"""

POSTMORTEM = """
# Post-mortem template

A blameless post-mortem is required for every SEV1 and SEV2 incident and for any data
loss. The draft is due within 5 business days of the incident.

## Summary
## Impact
## Timeline
## Root cause and contributing factors
## What went well
## Action items

| Action | Owner | Ticket | Due |
|--------|-------|--------|-----|

Action items are tracked as Jira tickets with the `postmortem` label and reviewed weekly.
"""


def test_architecture_diagram(tmp_path: Path) -> None:
    item = "operations.documentation.architecture-diagram"
    ok = scan(
        tmp_path / "ok",
        "operations.architecture-diagram",
        {
            "docs/architecture.md": "# Architecture\n\n```mermaid\nflowchart LR\n  a --> b\n  b --> c\n```\n"
        },
    )[item]
    assert ok.status is Status.PASS and "docs/architecture.md:3" in ok.message

    sequence_only = scan(
        tmp_path / "seq",
        "operations.architecture-diagram",
        {"docs/login.md": "# Login\n\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n"},
    )[item]
    assert sequence_only.status is Status.FAIL and "sequencediagram" in sequence_only.message
    assert "flowchart" in (sequence_only.remediation or "")

    absent = scan(tmp_path / "absent", "operations.architecture-diagram", DOCS_DIR)[item]
    assert absent.status is Status.FAIL and "docs" in absent.message

    broken = scan(
        tmp_path / "broken",
        "operations.architecture-diagram",
        {"docs/arch.excalidraw": "{not json"},
    )[item]
    assert broken.status is Status.UNKNOWN

    assert scan(tmp_path / "none", "operations.architecture-diagram", {"README.md": "# x\n"}) == {}


def test_runbooks_pass_when_actionable_and_linked(tmp_path: Path) -> None:
    item = "operations.documentation.runbook-for-common-issues"
    rules = (
        "groups:\n  - name: api\n    rules:\n      - alert: HighErrorRate\n"
        '        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) > 1\n'
        "        labels: {severity: critical}\n        annotations:\n          runbook_url: "
        "https://github.com/acme/shop/blob/main/docs/runbooks/api.md#high-error-rate\n"
    )
    ok = scan(
        tmp_path / "ok",
        "operations.runbooks",
        {"docs/runbooks/api.md": RUNBOOK, "monitoring/rules.yaml": rules},
    )[item]
    assert ok.status is Status.PASS
    assert "1 alert link(s) resolve" in ok.message and "docs/runbooks/api.md" in ok.message

    broken_anchor = scan(
        tmp_path / "anchor",
        "operations.runbooks",
        {
            "docs/runbooks/api.md": RUNBOOK,
            "monitoring/rules.yaml": rules.replace("#high-error-rate", "#db-down"),
        },
    )[item]
    assert broken_anchor.status is Status.FAIL and "no heading #db-down" in broken_anchor.message

    unlinked = scan(
        tmp_path / "unlinked",
        "operations.runbooks",
        {
            "docs/runbooks/api.md": RUNBOOK,
            "monitoring/rules.yaml": rules
            + "      - alert: DiskFull\n        expr: node_filesystem_avail_bytes < 1\n",
        },
    )[item]
    assert (
        unlinked.status is Status.FAIL and "DiskFull (monitoring/rules.yaml:9)" in unlinked.message
    )
    assert "runbook_url" in (unlinked.remediation or "")


def test_runbooks_fail_unknown_and_silence(tmp_path: Path) -> None:
    item = "operations.documentation.runbook-for-common-issues"
    stub = scan(tmp_path / "stub", "operations.runbooks", {"RUNBOOK.md": "# Runbook\n\nTODO\n"})[
        item
    ]
    assert stub.status is Status.FAIL and "RUNBOOK.md:1 is a stub" in stub.message
    assert "## Diagnosis" in (stub.remediation or "")

    broken = scan(
        tmp_path / "broken", "operations.runbooks", {"docs/runbooks/api.md": b"# R\n\xff\xfe\n"}
    )[item]
    assert broken.status is Status.UNKNOWN and "invalid UTF-8" in broken.message

    external = scan(
        tmp_path / "external",
        "operations.runbooks",
        {
            "rules.yaml": "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up == 0\n"
            "        annotations: {runbook_url: 'https://wiki.acme.example/runbooks/a'}\n"
        },
    )[item]
    assert external.status is Status.UNKNOWN and "wiki.acme.example" in external.message

    alerts_only = scan(
        tmp_path / "alerts",
        "operations.runbooks",
        {
            "rules.yaml": "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up == 0\n"
        },
    )[item]
    assert alerts_only.status is Status.FAIL and "A (rules.yaml:4)" in alerts_only.message

    assert scan(tmp_path / "none", "operations.runbooks", {"README.md": "# x\n"}) == {}


def test_operational_docs(tmp_path: Path) -> None:
    oncall_text = (
        "# On-call\n\nThe rotation is weekly with a primary and a secondary; hand-off on Monday. "
        "Request VPN and cluster access before your first shift. Dashboards live in Grafana, "
        "logs in Loki and runbooks in docs/runbooks. Acknowledge pages within 5 minutes; "
        "escalate to the secondary after 15 minutes and then to the team lead. Vendor and "
        "dependency contacts are listed in the escalation table.\n"
    )
    results = scan(
        tmp_path / "ok",
        "operations.operational-docs",
        {
            "docs/on-call.md": oncall_text,
            "docs/incident-response.md": INCIDENT,
            "README.md": "# Shop\n\n## Deployment\n\nDeploys go through the GitHub Actions pipeline: "
            "build, test and a canary stage that needs approval from the release owner. "
            "Verify with the smoke tests and the dashboard; roll back with the previous image tag.\n\n"
            "1. Merge after review\n2. Approve the canary\n3. Watch the error rate\n",
        },
    )
    for item in (
        "operations.documentation.on-call-documentation",
        "operations.documentation.incident-response-playbook",
        "operations.documentation.deployment-guide",
    ):
        assert results[item].status is Status.PASS, (item, results[item].message)
    assert (
        "section 'Deployment' of README.md:3"
        in results["operations.documentation.deployment-guide"].message
    )

    thin = scan(
        tmp_path / "thin",
        "operations.operational-docs",
        {**DOCS_DIR, "docs/incident-response.md": "# Incident response\n\nCall Bob.\n"},
    )
    playbook = thin["operations.documentation.incident-response-playbook"]
    assert playbook.status is Status.FAIL and "is a stub" in playbook.message
    assert "## Roles" in (playbook.remediation or "")
    assert thin["operations.documentation.on-call-documentation"].status is Status.FAIL
    assert "No on-call guide" in thin["operations.documentation.on-call-documentation"].message

    broken = scan(
        tmp_path / "broken", "operations.operational-docs", {"docs/oncall.md": b"\xff\xfe"}
    )
    assert broken["operations.documentation.on-call-documentation"].status is Status.UNKNOWN

    assert scan(tmp_path / "none", "operations.operational-docs", {"README.md": "# x\n"}) == {}


def test_api_documentation(tmp_path: Path) -> None:
    item = "operations.documentation.api-documentation"
    ok = scan(tmp_path / "ok", "operations.api-documentation", {"api/openapi.yaml": OPENAPI})[item]
    assert ok.status is Status.PASS and "openapi 3.0.3 'Shop API'" in ok.message

    empty = scan(
        tmp_path / "empty",
        "operations.api-documentation",
        {"openapi.yaml": "openapi: 3.1.0\ninfo: {title: X, version: '1'}\npaths: {}\n"},
    )[item]
    assert empty.status is Status.FAIL and "no operations" in empty.message

    broken = scan(
        tmp_path / "broken",
        "operations.api-documentation",
        {"openapi.yaml": "openapi: 3.0.0\npaths: [\n"},
    )[item]
    assert broken.status is Status.UNKNOWN

    assert scan(tmp_path / "none", "operations.api-documentation", DOCS_DIR) == {}


def test_escalation_path(tmp_path: Path) -> None:
    item = "operations.on-call.escalation-path-defined"
    escalation = (
        "# Escalation\n\n| Level | Who | After |\n|---|---|---|\n| 1 | Primary on-call | page |\n"
        "| 2 | Secondary on-call | 15 minutes unacknowledged |\n| 3 | Engineering manager | 30 minutes |\n\n"
        "Vendor contacts: payment provider support +1 555 0100, cloud support plan via the console.\n"
    )
    ok = scan(tmp_path / "ok", "operations.escalation-path", {"docs/escalation.md": escalation})[
        item
    ]
    assert ok.status is Status.PASS and "docs/escalation.md:1" in ok.message

    thin = scan(
        tmp_path / "thin",
        "operations.escalation-path",
        {"docs/escalation.md": "# Escalation\n\nAsk around.\n"},
    )[item]
    assert thin.status is Status.FAIL and "| 2 | Secondary on-call" in (thin.remediation or "")

    broken = scan(
        tmp_path / "broken", "operations.escalation-path", {"docs/escalation.md": b"\xff"}
    )[item]
    assert broken.status is Status.UNKNOWN

    assert scan(tmp_path / "none", "operations.escalation-path", DOCS_DIR) == {}


def test_incident_process_from_a_complete_playbook(tmp_path: Path) -> None:
    results = scan(
        tmp_path,
        "operations.incident-process",
        {
            "docs/incident-response.md": INCIDENT,
            "docs/postmortem-template.md": POSTMORTEM,
            "docs/customer-communication.md": (
                "# Customer communication\n\nDuring SEV1 and SEV2 incidents customers are told on the "
                "status page and, for outages over an hour, by email. The communications lead writes "
                "the message from the templates below; the incident commander approves it.\n\n"
                "Templates: investigating, identified, monitoring, resolved.\n"
            ),
            ".upptimerc.yml": "owner: acme\nrepo: status\nsites:\n  - name: API\n    url: https://api.acme.example/healthz\n",
        },
    )
    for item, status in {
        "operations.on-call.post-mortem-process-defined": Status.PASS,
        "operations.incident-response.incident-severity-levels-defined": Status.PASS,
        "operations.on-call.war-room-process-defined": Status.PASS,
        "operations.incident-response.communication-channels": Status.PASS,
        "operations.incident-response.customer-communication-plan": Status.PASS,
        "operations.incident-response.status-page-configured": Status.PASS,
    }.items():
        assert results[item].status is status, (item, results[item].message)
    assert (
        "upptime (.upptimerc.yml:1)"
        in results["operations.incident-response.status-page-configured"].message
    )


def test_incident_process_gaps_fail(tmp_path: Path) -> None:
    playbook = INCIDENT.replace(
        "Open the war room bridge on Zoom for SEV1 and SEV2 and invite", "Invite"
    )
    results = scan(tmp_path, "operations.incident-process", {"docs/incident-response.md": playbook})
    war_room = results["operations.on-call.war-room-process-defined"]
    assert war_room.status is Status.FAIL and "war room" in war_room.message
    for item in (
        "operations.on-call.post-mortem-process-defined",
        "operations.incident-response.customer-communication-plan",
    ):
        assert results[item].status is Status.FAIL, item
        assert "docs/incident-response.md:1" in results[item].message
    assert results["operations.incident-response.status-page-configured"].status is Status.FAIL
    assert (
        results["operations.incident-response.incident-severity-levels-defined"].status
        is Status.PASS
    )

    thin = scan(
        tmp_path / "thin",
        "operations.incident-process",
        {
            "docs/postmortem.md": "# Post-mortem\n\nWrite one if things go badly. Include a timeline.\n"
        },
    )
    assert thin["operations.on-call.post-mortem-process-defined"].status is Status.FAIL

    broken = scan(
        tmp_path / "broken", "operations.incident-process", {"docs/post-mortem.md": b"\xff"}
    )
    assert broken["operations.on-call.post-mortem-process-defined"].status is Status.UNKNOWN


def test_rollback_docs(tmp_path: Path) -> None:
    rollback = (
        "# Rollback\n\nThe on-call engineer may roll back without approval.\n\n"
        "1. `kubectl rollout undo deploy/api -n shop`\n2. Verify with `kubectl rollout status` and the smoke tests.\n"
        "3. Database: migrations are expand/contract and backward compatible, so the previous "
        "version runs on the new schema; if not, restore the snapshot taken before the migration.\n\n"
        "Target: rollback completes within 15 minutes.\n"
    )
    results = scan(tmp_path / "ok", "deployment.rollback-docs", {"docs/rollback.md": rollback})
    assert results["deployment.rollback.rollback-procedure-documented"].status is Status.PASS
    assert results["deployment.rollback.database-rollback-plan"].status is Status.PASS
    target = results["deployment.rollback.rollback-time-target"]
    assert target.status is Status.PASS and target.fields == {"target": "15m"}

    app_only = (
        "# Rollback\n\nThe on-call engineer decides.\n\n1. `helm rollback api 0`\n"
        "2. Verify the health checks and the smoke tests pass.\n"
    )
    results = scan(tmp_path / "app", "deployment.rollback-docs", {"docs/rollback.md": app_only})
    assert results["deployment.rollback.rollback-procedure-documented"].status is Status.PASS
    db = results["deployment.rollback.database-rollback-plan"]
    assert db.status is Status.FAIL and "covers only the application" in db.message
    assert results["deployment.rollback.rollback-time-target"].status is Status.FAIL

    guide_only = scan(
        tmp_path / "guide",
        "deployment.rollback-docs",
        {
            "docs/deploy.md": "# Deploying\n\nMerge to main; the pipeline deploys with a rolling update "
            "after approval and runs the smoke tests to verify.\n\n1. Merge\n2. Approve\n3. Verify\n"
        },
    )
    procedure = guide_only["deployment.rollback.rollback-procedure-documented"]
    assert (
        procedure.status is Status.FAIL
        and "docs/deploy.md:1 (deployment) has none" in procedure.message
    )

    broken = scan(tmp_path / "broken", "deployment.rollback-docs", {"docs/rollback.md": b"\xff"})
    assert broken["deployment.rollback.rollback-procedure-documented"].status is Status.UNKNOWN


SLOTH = """
version: "prometheus/v1"
service: "shop-api"
slos:
  - name: "requests-availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
  - name: "requests-latency"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{le="0.25"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count[{{.window}}]))
"""


def test_slo_targets(tmp_path: Path) -> None:
    burn = (
        "groups:\n  - name: slo\n    rules:\n      - alert: ApiBurnRate\n"
        '        expr: slo:sli_error:ratio_rate1h{sloth_slo="requests-availability"} > (14.4 * 0.001)\n'
    )
    policy = (
        "# Error budget policy\n\nWhen the 30-day error budget is spent, feature releases freeze "
        "and the team prioritises reliability work until the budget recovers.\n"
    )
    results = scan(
        tmp_path / "ok",
        "reliability.slo-targets",
        {"slos/api.yaml": SLOTH, "rules/slo.yaml": burn, "docs/error-budget-policy.md": policy},
    )
    availability = results["reliability.sla-slo.availability-target-defined"]
    assert availability.status is Status.PASS and availability.fields == {
        "availability_target": 99.9
    }
    latency = results["reliability.sla-slo.latency-targets-defined"]
    assert latency.status is Status.PASS and latency.fields == {"p99": "250ms"}
    budget = results["reliability.sla-slo.error-budget-defined"]
    assert budget.status is Status.PASS and budget.fields == {"error_budget": 0.1}

    untracked = scan(tmp_path / "untracked", "reliability.slo-targets", {"slos/api.yaml": SLOTH})
    budget = untracked["reliability.sla-slo.error-budget-defined"]
    assert (
        budget.status is Status.FAIL
        and "not tracked" in budget.message
        and "no written policy" in budget.message
    )

    latency_free = scan(
        tmp_path / "doc",
        "reliability.slo-targets",
        {
            "docs/slo.md": "# SLOs\n\nAvailability SLO: 99.5% of requests succeed over a rolling 28 days.\n"
        },
    )
    assert latency_free["reliability.sla-slo.availability-target-defined"].fields == {
        "availability_target": 99.5
    }
    assert latency_free["reliability.sla-slo.latency-targets-defined"].status is Status.FAIL

    tbd = scan(tmp_path / "tbd", "reliability.slo-targets", {"docs/slo.md": "# SLOs\n\nTBD\n"})
    assert tbd["reliability.sla-slo.availability-target-defined"].status is Status.FAIL

    broken = scan(
        tmp_path / "broken",
        "reliability.slo-targets",
        {"slos/api.yaml": 'version: "prometheus/v1"\nslos: [\n'},
    )
    assert broken["reliability.sla-slo.availability-target-defined"].status is Status.UNKNOWN
    assert broken["reliability.sla-slo.latency-targets-defined"].status is Status.UNKNOWN

    assert scan(tmp_path / "none", "reliability.slo-targets", DOCS_DIR) == {}


def test_disaster_recovery(tmp_path: Path) -> None:
    plan = """
        # Disaster recovery plan

        Recovery objectives: RTO: 4 hours, RPO: 15 minutes. The database owner (team-data) and the
        incident commander decide when to fail over.

        ## Scenarios

        Loss of a zone (nothing to do), loss of the region (restore in eu-central-1), data
        corruption (point-in-time restore).

        ## Recovery steps

        1. Declare the disaster and page the database owner.
        2. Restore the latest snapshot with `aws rds restore-db-instance-to-point-in-time`.
        3. Redeploy the application against the restored database and verify the smoke tests.

        ## Failover

        1. Check replication lag on the replica is below one minute.
        2. Promote it: `aws rds promote-read-replica --db-instance-identifier shop-replica`.
        3. Verify health checks; fail back once the primary region recovers.
    """
    results = scan(tmp_path / "ok", "reliability.disaster-recovery-docs", {"docs/dr-plan.md": plan})
    assert results["reliability.disaster-recovery.dr-plan-documented"].status is Status.PASS
    rto = results["reliability.disaster-recovery.rto-defined"]
    assert rto.status is Status.PASS and rto.fields == {"rto_target": "4h"}
    assert rto.evidence[0].line == 3
    assert results["reliability.disaster-recovery.rpo-defined"].fields == {"rpo_target": "15m"}
    assert (
        results["reliability.disaster-recovery.failover-procedure-documented"].status is Status.PASS
    )

    vague = plan.replace("RTO: 4 hours, RPO: 15 minutes", "RTO: TBD").replace(
        "## Failover", "## Notes"
    )
    vague = vague.replace("Promote it", "Do it").replace("fail back", "carry on")
    results = scan(
        tmp_path / "vague", "reliability.disaster-recovery-docs", {"docs/dr-plan.md": vague}
    )
    assert results["reliability.disaster-recovery.rto-defined"].status is Status.FAIL
    assert "without a duration" in results["reliability.disaster-recovery.rto-defined"].message
    rpo = results["reliability.disaster-recovery.rpo-defined"]
    assert rpo.status is Status.FAIL and "states no RPO" in rpo.message
    failover = results["reliability.disaster-recovery.failover-procedure-documented"]
    assert failover.status is Status.FAIL and "(dr-plan) has none" in failover.message

    broken = scan(
        tmp_path / "broken",
        "reliability.disaster-recovery-docs",
        {"docs/disaster-recovery.md": b"\xff"},
    )
    assert broken["reliability.disaster-recovery.dr-plan-documented"].status is Status.UNKNOWN
    assert broken["reliability.disaster-recovery.rto-defined"].status is Status.UNKNOWN

    assert (
        scan(tmp_path / "none", "reliability.disaster-recovery-docs", {"README.md": "# x\n"}) == {}
    )


def test_all_endpoints_protected(tmp_path: Path) -> None:
    item = "security.authorization.all-endpoints-protected"
    secured = (
        "openapi: 3.0.3\ninfo: {title: X, version: '1'}\n"
        "components: {securitySchemes: {bearerAuth: {type: http, scheme: bearer}}}\n"
        "security: [{bearerAuth: []}]\npaths:\n"
        "  /healthz: {get: {security: [], responses: {}}}\n"
        "  /orders: {get: {responses: {}}, post: {responses: {}}}\n"
    )
    ok = scan(tmp_path / "ok", "security.openapi-auth", {"openapi.yaml": secured})[item]
    assert ok.status is Status.PASS and "public by design: GET /healthz" in ok.message

    open_ops = scan(
        tmp_path / "open",
        "security.openapi-auth",
        {
            "api/openapi.yaml": OPENAPI,
            "api/paths/admin-users.yaml": "delete: {security: [], responses: {}}\n",
        },
    )[item]
    assert open_ops.status is Status.FAIL
    assert "POST /orders (createOrder) (security: [{}] allows anonymous calls)" in open_ops.message
    assert "DELETE /admin/users" in open_ops.message and "/healthz" not in open_ops.message
    assert "securitySchemes" in (open_ops.remediation or "")

    unresolved = scan(
        tmp_path / "ref",
        "security.openapi-auth",
        {"openapi.yaml": secured + "  /reports: {$ref: './paths/reports.yaml'}\n"},
    )[item]
    assert unresolved.status is Status.UNKNOWN and "/reports" in unresolved.message

    assert scan(tmp_path / "none", "security.openapi-auth", DOCS_DIR) == {}


BEARER_API = """
openapi: 3.1.0
info: {title: Orders, version: "2.3"}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer, bearerFormat: JWT}
security:
  - bearerAuth: []
paths:
  /healthz:
    get:
      security: []
      responses: {"200": {description: ok}}
  /v1/orders:
    get: {operationId: listOrders, responses: {"200": {description: ok}}}
    post: {operationId: createOrder, responses: {"201": {description: created}}}
  /v1/orders/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get: {operationId: getOrder, responses: {"200": {description: ok}}}
"""


def test_bearer_scheme_applied_globally(tmp_path: Path) -> None:
    item = "security.authorization.all-endpoints-protected"
    ok = scan(tmp_path / "ok", "security.openapi-auth", {"api/openapi.yaml": BEARER_API})[item]
    assert ok.status is Status.PASS
    assert "All 3 non-public operation(s)" in ok.message and "bearerAuth: http bearer" in ok.message
    assert "public by design: GET /healthz" in ok.message

    # One operation opting out with `security: []` that is not a probe or login route.
    opted_out = BEARER_API.replace(
        "    post: {operationId: createOrder,",
        "    post: {operationId: createOrder, security: [],",
    )
    result = scan(tmp_path / "open", "security.openapi-auth", {"api/openapi.yaml": opted_out})[item]
    assert result.status is Status.FAIL
    assert "1 of 4 API operation(s)" in result.message and "POST /v1/orders" in result.message
    assert result.evidence[0].path == "api/openapi.yaml" and result.evidence[0].line == 15

    # No global requirement: every operation without its own is open, the probe is not listed.
    no_global = BEARER_API.replace("security:\n  - bearerAuth: []\n", "")
    result = scan(tmp_path / "none", "security.openapi-auth", {"api/openapi.yaml": no_global})[item]
    assert result.status is Status.FAIL and "3 of 4" in result.message
    assert "/healthz" not in result.message


def test_security_that_cannot_be_enforced_never_passes(tmp_path: Path) -> None:
    item = "security.authorization.all-endpoints-protected"
    cases = {
        "undefined": (
            BEARER_API.replace("  - bearerAuth: []", "  - jwt: []"),
            "names undefined security scheme 'jwt'",
        ),
        "no-schemes": (
            BEARER_API.replace(
                "components:\n  securitySchemes:\n"
                "    bearerAuth: {type: http, scheme: bearer, bearerFormat: JWT}\n",
                "",
            ),
            "names undefined security scheme 'bearerAuth'",
        ),
        "invalid-scheme": (
            BEARER_API.replace("{type: http, scheme: bearer, bearerFormat: JWT}", "{type: http}"),
            "is invalid: http scheme without `scheme`",
        ),
        "not-a-list": (
            BEARER_API.replace("security:\n  - bearerAuth: []", "security:\n  bearerAuth: []"),
            "`security` is a dict, not a list",
        ),
    }
    for name, (text, reason) in cases.items():
        result = scan(tmp_path / name, "security.openapi-auth", {"openapi.yaml": text})[item]
        assert result.status is Status.FAIL, name
        assert reason in result.message, (name, result.message)


def test_legal_docs(tmp_path: Path) -> None:
    privacy = " ".join(
        [
            "# Privacy policy\n\nWe collect personal data such as your name and email address.",
            "We use it for the purpose of providing the service and billing.",
            "We retain it while your account exists and delete it 30 days after closure.",
            "We share it only with processors that host the service.",
            "You have the right to access and erase your data under the GDPR.",
        ]
        * 4
    )
    results = scan(
        tmp_path / "ok",
        "security.legal-docs",
        {
            "legal/privacy-policy.md": privacy,
            "legal/terms.md": "# Terms of service\n\nComing soon.\n",
        },
    )
    assert results["security.compliance.privacy-policy-published"].status is Status.PASS
    terms = results["security.compliance.terms-of-service-published"]
    assert terms.status is Status.FAIL and "legal/terms.md:1 is a stub" in terms.message

    broken = scan(tmp_path / "broken", "security.legal-docs", {"PRIVACY.md": b"\xff\xfe"})
    assert broken["security.compliance.privacy-policy-published"].status is Status.UNKNOWN

    assert scan(tmp_path / "none", "security.legal-docs", DOCS_DIR) == {}


def test_public_routes_are_recognised_by_position() -> None:
    from prr.checks.security.docs import is_public_by_design
    from prr.collectors.docs import Operation

    def public(path: str) -> bool:
        return is_public_by_design(Operation("GET", path, None, False, (), 1))

    assert public("/healthz") and public("/api/v2/health/ready") and public("/v1/auth/token")
    assert not public("/orders/{id}/status")
    assert not public("/status/{orderId}") and not public("/v1/register/{deviceId}")
    assert public("/status") and public("/oauth2/token")
    assert not public("/admin/metrics/export/all")
    assert not public("/")


def test_quoted_lines_never_carry_tokens(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    results = scan(
        tmp_path,
        "reliability.disaster-recovery-docs",
        {"docs/dr.md": f"# DR\n\nRTO: 4 hours (restore with token {token} from the vault).\n"},
    )
    rto = results["reliability.disaster-recovery.rto-defined"]
    assert rto.status is Status.PASS
    assert token[:12] not in repr(rto) and token[-12:] not in repr(rto)
