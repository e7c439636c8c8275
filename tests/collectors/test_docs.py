"""The docs collector judges documents by content, and reads API and SLO specs."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.collectors.docs import DocsCollector, DocsFacts, slugify
from tests.helpers import collect


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def facts(root: Path) -> tuple[DocsFacts, list[str]]:
    bag = collect(root, DocsCollector)
    return bag.get(DocsFacts), [str(e) for e in bag.errors]


RUNBOOK = """
# High error rate

## Symptoms

The `HighErrorRate` alert fires when more than 5% of requests to the API return 5xx
for five minutes. Users see failed checkouts and the generic error page.

## Diagnosis

1. Open the API dashboard and check which endpoints return errors.
2. Check the logs: `kubectl logs -n shop deploy/api --since=15m | grep ERROR`
3. Check for a recent deploy: `kubectl rollout history deploy/api -n shop`

## Mitigation

1. If a recent deploy is the cause, roll back: `kubectl rollout undo deploy/api -n shop`
2. If the database is saturated, scale the read replicas and restart the pods.
3. Escalate to the payments on-call if errors come from the payment provider.
"""


def test_a_runbook_is_judged_by_its_content(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/runbooks/high-error-rate.md": RUNBOOK,
            "docs/runbooks/disk-full.md": "# Disk full\n\nTODO: write this runbook.\n",
            "docs/runbooks/latency.md": "# Latency\n\nIf latency is high, look into it and fix the cause.\n",
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    units = {u.path: u for u in docs.of("runbook")}
    good = units["docs/runbooks/high-error-rate.md"]
    assert good.substantive and not good.stub
    assert good.steps == 6 and good.commands == 3
    assert good.topics == {"symptoms", "diagnosis", "mitigation", "escalation"}
    assert good.headings == ("High error rate", "Symptoms", "Diagnosis", "Mitigation")
    stub = units["docs/runbooks/disk-full.md"]
    assert stub.stub and not stub.substantive
    thin = units["docs/runbooks/latency.md"]
    assert not thin.stub and not thin.substantive and thin.words < 80
    assert docs.doc_dirs == ("docs",)


def test_sections_count_when_their_heading_says_what_they_are(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.md": """
                # Shop API

                Setup instructions.

                ## Deployment

                Deploys run from GitHub Actions on merge to main; the pipeline builds, tests and
                rolls out with a rolling update after the release owner approves the change.

                1. Merge the pull request after review.
                2. Watch the `deploy` workflow in the pipeline.
                3. Verify the smoke tests and the dashboards.

                ### Rolling back

                Run `kubectl rollout undo deploy/api -n shop` to return to the previous revision,
                then verify the health checks. Rollback must complete within 10 minutes.

                ## Contributing

                Open a pull request.
            """,
            "docs/ops.rst": """
                Operations
                ==========

                On-call
                -------

                The primary on-call engineer acknowledges pages within 5 minutes. Escalate to the
                secondary after 15 minutes, then to the team lead. Dashboards live in Grafana and
                runbooks in docs/runbooks; request VPN access before your first shift. Hand-off
                happens every Monday at 10:00 in the team channel with a summary of open issues,
                noisy alerts and follow-ups.
            """,
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    deployment = docs.of("deployment")[0]
    assert (deployment.path, deployment.line, deployment.whole_file) == ("README.md", 5, False)
    assert deployment.headings == ("Rolling back",)
    assert deployment.substantive
    assert "Contributing" not in deployment.headings
    rollback = docs.of("rollback")[0]
    assert (rollback.line, rollback.title) == (14, "Rolling back")
    assert rollback.substantive
    oncall = docs.of("on-call")[0]
    assert (oncall.path, oncall.line) == ("docs/ops.rst", 4)
    assert oncall.substantive and {"escalation", "rotation", "access"} <= oncall.topics
    value = docs.values_of("rollback-time")[0]
    assert (value.value, value.line) == ("10m", 17)


def test_stated_objectives_are_extracted_with_their_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/disaster-recovery.md": """
                # Disaster recovery

                | Objective | Target |
                |-----------|--------|
                | RTO       | 4 hours |
                | RPO       | TBD |

                Recovery time objective: 2h for the read path.
            """,
            "docs/slo.md": """
                # Service level objectives

                - Availability: 99.95% of requests succeed over a rolling 30 days.
                - Latency: p99 under 300 ms and p95 below 0.15s for `GET /orders`.
            """,
            "README.md": "# X\n\nWe use AWS, whose S3 SLA is 99.9% — not our objective.\n",
        },
    )
    docs, _ = facts(tmp_path)
    rto = docs.values_of("rto")
    assert [(v.value, v.line) for v in rto] == [("4h", 5), ("2h", 8)]
    (rpo,) = docs.values_of("rpo")
    assert rpo.value is None and rpo.line == 6
    availability = docs.values_of("availability")
    assert [(v.value, v.path, v.line) for v in availability] == [(99.95, "docs/slo.md", 3)]
    assert {(v.kind, v.value) for v in docs.values_of("p99", "p95")} == {
        ("p99", "300ms"),
        ("p95", "0.15s"),
    }


def test_diagrams_by_format_and_context(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/architecture.md": """
                # Architecture

                ```mermaid
                flowchart LR
                  user --> lb[Load balancer]
                  lb --> api
                  api --> db[(Postgres)]
                ```

                ## Login

                ```mermaid
                sequenceDiagram
                  Browser->>API: POST /login
                ```
            """,
            "docs/c4.puml": '@startuml\n!include <C4/C4_Container>\nContainer(api, "API")\nRel(api, db, "reads")\n@enduml\n',
            "docs/empty.mmd": "",
            "docs/img/architecture-overview.png": b"\x89PNG\r\n\x1a\n\x00\x00",
            "docs/img/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
            "docs/board.excalidraw": '{"type": "excalidraw", "elements": [{"id": "a"}, {"id": "b"}]}',
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    by_where = {(d.path, d.line): d for d in docs.diagrams}
    flow = by_where[("docs/architecture.md", 3)]
    assert flow.type == "flowchart" and flow.elements == 3 and flow.architectural
    sequence = by_where[("docs/architecture.md", 12)]
    assert sequence.type == "sequencediagram" and not sequence.architectural
    assert (
        by_where[("docs/c4.puml", 1)].type == "c4" and by_where[("docs/c4.puml", 1)].architectural
    )
    assert by_where[("docs/empty.mmd", 1)].stub
    assert by_where[("docs/img/architecture-overview.png", None)].architectural
    assert ("docs/img/logo.png", None) not in by_where
    assert by_where[("docs/board.excalidraw", 1)].elements == 2


OPENAPI = """
openapi: 3.0.3
info: {title: Shop API, version: "1.4"}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
security:
  - bearerAuth: []
paths:
  /healthz:
    get:
      security: []
      responses: {"200": {description: ok}}
  /orders:
    get:
      operationId: listOrders
      responses: {"200": {description: ok}}
    post:
      operationId: createOrder
      security: [{}, {bearerAuth: []}]
      responses: {"201": {description: created}}
  /admin/users:
    $ref: "./paths/admin-users.yaml"
  /reports:
    $ref: "./paths/missing.yaml"
"""


def test_openapi_operations_and_their_security(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "api/openapi.yaml": OPENAPI,
            "api/paths/admin-users.yaml": "delete:\n  security: []\n  responses: {}\n",
            "api/swagger.json": '{"swagger": "2.0", "info": {"title": "Legacy", "version": "1"},'
            ' "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},'
            ' "paths": {"/items": {"get": {"responses": {}}}}}',
            "proto/shop.proto": 'syntax = "proto3";\nservice Orders {\n  rpc Get (Req) returns (Res);\n}\n',
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    specs = {s.path: s for s in docs.api_specs}
    shop = specs["api/openapi.yaml"]
    assert (shop.format, shop.version, shop.title) == ("openapi", "3.0.3", "Shop API")
    assert shop.schemes == ("bearerAuth",) and shop.global_security == ("bearerAuth",)
    ops = {(o.method, o.path): o for o in shop.operations}
    assert not ops[("GET", "/healthz")].secured
    assert ops[("GET", "/orders")].secured and ops[("GET", "/orders")].line == 14
    create = ops[("POST", "/orders")]
    assert not create.secured and create.optional_auth
    assert not ops[("DELETE", "/admin/users")].secured
    assert shop.unresolved == ("/reports",)
    legacy = specs["api/swagger.json"]
    assert legacy.format == "swagger" and legacy.schemes == ("key",)
    assert not legacy.operations[0].secured
    assert specs["proto/shop.proto"].services == 1


def test_slo_specs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "slos/sloth.yaml": """
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
                        error_query: sum(rate(http_request_duration_seconds_count[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{le="0.3"}[{{.window}}]))
                        total_query: sum(rate(http_request_duration_seconds_count[{{.window}}]))
            """,
            "slos/openslo.yaml": """
                apiVersion: openslo/v1
                kind: SLO
                metadata: {name: checkout-availability}
                spec:
                  service: checkout
                  timeWindow: [{duration: 28d, isRolling: true}]
                  indicatorRef: checkout-success
                  objectives:
                    - displayName: Checkout succeeds
                      target: 0.995
            """,
            "k8s/pyrra.yaml": """
                apiVersion: pyrra.dev/v1alpha1
                kind: ServiceLevelObjective
                metadata: {name: api-latency, labels: {service: shop-api}}
                spec:
                  target: "95"
                  window: 4w
                  indicator:
                    latency:
                      success: {metric: 'http_request_duration_seconds_bucket{job="api",le="0.5"}'}
                      total: {metric: 'http_request_duration_seconds_count{job="api"}'}
            """,
            "infra/slo.tf": """
                resource "google_monitoring_slo" "api" {
                  service      = google_monitoring_custom_service.api.service_id
                  goal         = 0.999
                  rolling_period_days = 28
                  request_based_sli {
                    good_total_ratio { good_service_filter = "x" }
                  }
                }
            """,
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    slos = {s.name: s for s in docs.slos}
    assert (slos["requests-availability"].kind, slos["requests-availability"].target_percent) == (
        "availability",
        99.9,
    )
    latency = slos["requests-latency"]
    assert (latency.kind, latency.target_percent, latency.latency_threshold) == (
        "latency",
        99.0,
        "300ms",
    )
    checkout = slos["Checkout succeeds"]
    assert (checkout.source, checkout.target_percent, checkout.window) == ("openslo", 99.5, "28d")
    pyrra = slos["api-latency"]
    assert (pyrra.kind, pyrra.target_percent, pyrra.latency_threshold) == ("latency", 95.0, "500ms")
    google = slos["api"]
    assert (google.source, google.target_percent, google.window, google.line) == (
        "google_monitoring_slo",
        99.9,
        "28d",
        1,
    )


def test_legal_pages_codeowners_and_severity_tables(tmp_path: Path) -> None:
    policy = " ".join(
        [
            "We collect personal data such as your name and email address when you sign up.",
            "We use it for the purpose of providing the service and to bill you.",
            "We retain account data for as long as your account exists and delete it 30 days",
            "after you close the account. We share data only with processors that host the",
            "service. You have the right to access, correct and erase your data under the GDPR;",
            "contact privacy@acme.example to exercise your rights.",
        ]
        * 3
    )
    write(
        tmp_path,
        {
            "web/pages/privacy.tsx": f"export default function Privacy() {{ return (<main><h1>Privacy policy</h1><p>{policy}</p></main>); }}\n",
            "web/components/TermsCheckbox.tsx": "export const T = () => <label>I agree</label>;\n",
            ".github/CODEOWNERS": "# owners\n* @acme/shop\n/docs/ @acme/sre @jane\n",
            "docs/incidents.md": """
                # Incidents

                | Level | Impact | Response |
                |-------|--------|----------|
                | SEV1  | Full outage for customers | Page immediately, updates every 30 min |
                | SEV2  | Major feature down for many users | Page, updates hourly |
                | SEV3  | Degraded performance | Next business day |
            """,
        },
    )
    docs, errors = facts(tmp_path)
    assert not errors
    (privacy,) = docs.of("privacy")
    assert privacy.path == "web/pages/privacy.tsx" and privacy.substantive
    assert not docs.of("terms")
    (owners,) = docs.codeowners
    assert owners.rules == 2 and owners.owners == ("@acme/shop", "@acme/sre", "@jane")
    severity = docs.of("severity")
    assert severity and severity[0].path == "docs/incidents.md" and severity[0].substantive


def test_broken_documents_are_recorded(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/runbook.md": b"# Runbook\n\xff\xfe broken bytes\n",
            "docs/notes.md": b"# Notes\n\xff\n",
            "api/openapi.yaml": "openapi: 3.0.0\npaths:\n  /x: [unclosed\n",
            "docs/arch.excalidraw": '{"elements": [',
            "docs/ok.md": "# Fine\n\nNothing to see here.\n",
            "docs/empty.md": "",
        },
    )
    docs, errors = facts(tmp_path)
    kinds = {u.path: u.kind for u in docs.unreadable}
    assert kinds == {
        "docs/runbook.md": "runbook",
        "docs/notes.md": "document",
        "api/openapi.yaml": "api",
        "docs/arch.excalidraw": "diagram",
    }
    assert next(u for u in docs.unreadable if u.path == "api/openapi.yaml").line == 4
    assert len(errors) == 4 and all("(docs)" in e for e in errors)
    assert {d.path for d in docs.documents} == {"docs/ok.md", "docs/empty.md"}
    assert next(d for d in docs.documents if d.path == "docs/empty.md").stub


def test_github_anchors() -> None:
    assert slugify("High error rate (5xx)") == "high-error-rate-5xx"
    assert slugify("`kubectl` rollout: Undo!") == "kubectl-rollout-undo"


def test_weak_headings_count_only_with_real_content(tmp_path: Path) -> None:
    thin = "# Tool\n\n## Troubleshooting\n\nIf `pip install` fails, upgrade pip first.\n"
    body = RUNBOOK.split("\n", 2)[2].replace("## ", "### ")
    operational = "# Service\n\n## Troubleshooting\n" + body
    write(tmp_path, {"thin/README.md": thin, "ops/README.md": operational})
    docs, _ = facts(tmp_path)
    runbooks = docs.of("runbook")
    assert [(u.path, u.title) for u in runbooks] == [("ops/README.md", "Troubleshooting")]
    assert runbooks[0].substantive


def test_rotations_are_found_by_heading_and_by_content(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/on-call.md": """
            # On-call

            The six engineers of team-checkout take weekly shifts as primary, handed
            over on Mondays at 10:00; the previous primary is the secondary. Pages
            escalate to the engineering manager after 30 minutes.
            """,
            "docs/ops.md": """
            # Operations

            ## Rotating secrets

            1. Write the new database password to `shop/db` in the secret manager.
            2. Force the sync: `kubectl -n shop annotate externalsecret shop force-sync=1`.
            3. Restart: `kubectl -n shop rollout restart deploy/shop`, then revoke the old password.

            The owner is team-checkout; rotate every 90 days and whenever someone leaves.

            ## Log rotation

            Weekly, kept for 14 days by the node's logrotate.
            """,
        },
    )
    docs, errors = facts(tmp_path)
    assert errors == []
    rotation = docs.of("on-call-rotation")
    assert [(u.path, u.matched_by, u.substantive) for u in rotation] == [
        ("docs/on-call.md", "content", True)
    ]
    assert {"schedule", "handoff", "responders", "escalation"} <= rotation[0].topics
    secrets = docs.of("secret-rotation")
    assert [(u.path, u.line, u.substantive) for u in secrets] == [("docs/ops.md", 3, True)]
    assert [(v.value, v.line) for v in docs.values_of("rotation-interval")] == [("90d", 9)]


def test_openapi_security_schemes_are_validated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "openapi.yaml": """
            openapi: 3.0.3
            info: {title: Shop, version: "1"}
            components:
              securitySchemes:
                bearerAuth: {type: http, scheme: bearer}
                broken: {type: apiKey}
            security:
              - bearerAuth: []
            paths:
              x-internal: {get: {responses: {}}}
              /orders:
                get: {responses: {}}
                post:
                  security: [{jwt: []}]
                  responses: {}
                put:
                  security: [{broken: []}]
                  responses: {}
                patch:
                  security: {bearerAuth: []}
                  responses: {}
            """,
        },
    )
    docs, _ = facts(tmp_path)
    spec = docs.api_specs[0]
    assert dict(spec.scheme_types) == {
        "bearerAuth": "http bearer",
        "broken": "invalid: apiKey needs `name` and `in` (header, query or cookie)",
    }
    ops = {o.method: o for o in spec.operations}
    assert set(ops) == {"GET", "POST", "PUT", "PATCH"}
    assert ops["GET"].secured and ops["GET"].problem is None
    assert (
        not ops["POST"].secured and ops["POST"].problem == "names undefined security scheme 'jwt'"
    )
    assert not ops["PUT"].secured and "is invalid" in (ops["PUT"].problem or "")
    assert not ops["PATCH"].secured and "not a list" in (ops["PATCH"].problem or "")
