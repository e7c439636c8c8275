"""On-call checks over real catalog entries, Alertmanager configs, schedules and guides."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.collectors.catalog import CatalogCollector
from prr.collectors.docs import DocsCollector
from prr.collectors.observability import ObservabilityCollector
from prr.model.evidence import Result, Status
from prr.model.target import load_target
from tests.helpers import by_item, collect, run_check

TOOLS = "operations.on-call.on-call-tools-configured"
ROTATION = "operations.on-call.on-call-rotation-defined"


def scan(root: Path, check_id: str, files: Mapping[str, str]) -> dict[str, Result]:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    settings = {"target": load_target(root)}
    facts = collect(
        root, DocsCollector, ObservabilityCollector, CatalogCollector, settings=settings
    )
    results = by_item(run_check(check_id, facts))
    for result in results.values():
        assert result.evidence, result.item_id
        assert result.status is not Status.FAIL or result.remediation, result.item_id
    return results


def catalog(annotations: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\n"
        f"  annotations:\n{annotations}spec:\n  owner: team-a\n  lifecycle: production\n"
    )


ALERTMANAGER = """
global:
  resolve_timeout: 5m
route:
  receiver: team-slack
  group_by: [alertname, severity]
  routes:
    - matchers: ['team = "checkout"', 'severity = "critical"']
      receiver: team-pager
      continue: true
    - matchers: ['severity =~ "critical|warning"']
      receiver: team-slack
receivers:
  - name: team-pager
    pagerduty_configs:
      - routing_key_file: /etc/alertmanager/secrets/pagerduty-key
        send_resolved: true
  - name: team-slack
    slack_configs:
      - api_url_file: /etc/alertmanager/secrets/slack-url
        channel: '#checkout-alerts'
"""

ALERTMANAGER_CONFIG = """
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata: {name: shop}
spec:
  route:
    receiver: chat
    routes:
      - receiver: pager
        matchers: [{name: severity, value: critical}]
  receivers:
    - name: pager
      pagerdutyConfigs:
        - routingKey: {name: shop-alerting, key: pagerduty-routing-key}
    - name: chat
      slackConfigs:
        - apiURL: {name: shop-alerting, key: slack-url}
"""


# ------------------------------------------------------------------ on-call tools


def test_catalog_annotation_passes_and_its_absence_fails(tmp_path: Path) -> None:
    ok = scan(
        tmp_path / "ok",
        "operations.oncall-tools",
        {"catalog-info.yaml": catalog("    pagerduty.com/service-id: PABC123\n")},
    )[TOOLS]
    assert ok.status is Status.PASS and ok.evidence[0].path == "catalog-info.yaml"

    bare = scan(
        tmp_path / "bare",
        "operations.oncall-tools",
        {"catalog-info.yaml": catalog("    backstage.io/techdocs-ref: dir:.\n")},
    )[TOOLS]
    assert bare.status is Status.FAIL and "pagerduty.com/service-id" in (bare.remediation or "")

    assert scan(tmp_path / "none", "operations.oncall-tools", {"README.md": "# x\n"}) == {}


def test_alertmanager_paging_receiver_routed_for_critical_alerts_passes(tmp_path: Path) -> None:
    plain = scan(
        tmp_path / "plain", "operations.oncall-tools", {"monitoring/alertmanager.yml": ALERTMANAGER}
    )[TOOLS]
    assert plain.status is Status.PASS
    assert "team-pager (pagerduty, key: file, routed for critical alerts)" in plain.message
    assert plain.evidence[0].path == "monitoring/alertmanager.yml"

    crd = scan(
        tmp_path / "crd",
        "operations.oncall-tools",
        {"k8s/alertmanagerconfig.yaml": ALERTMANAGER_CONFIG},
    )[TOOLS]
    assert crd.status is Status.PASS and "key: secret-ref" in crd.message


def test_a_literal_routing_key_fails_without_being_repeated(tmp_path: Path) -> None:
    key = "R0ut1ngK3y" + "a1b2c3d4e5f6a7b8c9d0e1f2"
    leaked = ALERTMANAGER.replace(
        "routing_key_file: /etc/alertmanager/secrets/pagerduty-key", f"routing_key: {key}"
    )
    result = scan(
        tmp_path,
        "operations.oncall-tools",
        {
            "monitoring/alertmanager.yml": leaked,
            "catalog-info.yaml": catalog("    pagerduty.com/service-id: PABC123\n"),
        },
    )[TOOLS]
    assert result.status is Status.FAIL and "key: literal" in result.message
    assert "routing_key_file" in (result.remediation or "")
    assert key not in repr(result) and key[10:26] not in repr(result)


def test_placeholders_filled_at_deploy_time_count_as_references(tmp_path: Path) -> None:
    templated = ALERTMANAGER.replace(
        "routing_key_file: /etc/alertmanager/secrets/pagerduty-key",
        "routing_key: ${PAGERDUTY_ROUTING_KEY}",
    )
    result = scan(tmp_path, "operations.oncall-tools", {"monitoring/alertmanager.yml": templated})[
        TOOLS
    ]
    assert result.status is Status.PASS and "key: placeholder" in result.message


def test_a_pager_that_only_warnings_reach_fails(tmp_path: Path) -> None:
    warnings_only = ALERTMANAGER.replace(
        "'team = \"checkout\"', 'severity = \"critical\"'", "'severity = \"warning\"'"
    )
    # The catalog linking PagerDuty does not help when Alertmanager sends it no critical alert.
    result = scan(
        tmp_path / "warn",
        "operations.oncall-tools",
        {
            "monitoring/alertmanager.yml": warnings_only,
            "catalog-info.yaml": catalog("    pagerduty.com/service-id: PABC123\n"),
        },
    )[TOOLS]
    assert result.status is Status.FAIL and "not routed for critical alerts" in result.message

    # An earlier route without `continue` swallows every critical alert before the pager.
    swallowed = ALERTMANAGER.replace(
        "    - matchers: ['team = \"checkout\"', 'severity = \"critical\"']\n",
        "    - matchers: ['severity = \"critical\"']\n      receiver: team-slack\n"
        "    - matchers: ['team = \"checkout\"', 'severity = \"critical\"']\n",
    )
    result = scan(
        tmp_path / "swallowed",
        "operations.oncall-tools",
        {"monitoring/alertmanager.yml": swallowed},
    )[TOOLS]
    assert result.status is Status.FAIL

    keyless = ALERTMANAGER.replace(
        "      - routing_key_file: /etc/alertmanager/secrets/pagerduty-key\n", "      -\n"
    )
    result = scan(
        tmp_path / "keyless", "operations.oncall-tools", {"monitoring/alertmanager.yml": keyless}
    )[TOOLS]
    assert result.status is Status.FAIL and "no routing/service key" in result.message


def test_chat_only_fails_and_unreadable_routing_is_unknown(tmp_path: Path) -> None:
    chat = ALERTMANAGER.replace("receiver: team-pager", "receiver: team-slack")
    chat = chat[: chat.index("  - name: team-pager")] + chat[chat.index("  - name: team-slack") :]
    result = scan(
        tmp_path / "chat", "operations.oncall-tools", {"monitoring/alertmanager.yml": chat}
    )[TOOLS]
    assert result.status is Status.FAIL and "slack" in result.message

    broken = scan(
        tmp_path / "broken",
        "operations.oncall-tools",
        {"monitoring/alertmanager.yml": "route:\n  receiver: [\nreceivers:\n"},
    )[TOOLS]
    assert broken.status is Status.UNKNOWN


# --------------------------------------------------------------- on-call rotation

ONCALL_GUIDE = """
# Payments on-call guide

Who carries the pager for the payments API, and what is expected of them.

## Rotation

- PagerDuty schedule "payments-primary" and "payments-secondary": weekly shifts
  of one engineer each from team-payments (six members), handed over on
  Mondays at 10:00 Europe/Berlin. Next week's secondary is this week's primary.
- New members shadow two shifts before their first primary shift.

## Escalation

| level | who | when |
|---|---|---|
| 1 | primary on-call | at once |
| 2 | secondary on-call | after 15 minutes unacknowledged |
| 3 | engineering manager | after 30 minutes unacknowledged |

Contacts for dependencies: the database team (#db-oncall), the platform team (#k8s).
"""

ESCALATION_DOC = """
# Escalation

| Level | Who | After |
|---|---|---|
| 1 | Primary on-call | page |
| 2 | Secondary on-call | 15 min unacknowledged |
| 3 | Engineering manager | 30 min |

Vendors: the payment provider's support line is in the shared vault; contact via the team channel.
"""


def test_a_documented_rotation_with_escalation_passes(tmp_path: Path) -> None:
    result = scan(tmp_path, "operations.oncall-rotation", {"docs/on-call.md": ONCALL_GUIDE})[
        ROTATION
    ]
    assert result.status is Status.PASS
    assert "section 'Rotation' of docs/on-call.md:5" in result.message
    assert "escalation levels with timings" in result.message


def test_a_rotation_without_escalation_stays_unknown(tmp_path: Path) -> None:
    guide = ONCALL_GUIDE[: ONCALL_GUIDE.index("## Escalation")]
    result = scan(tmp_path, "operations.oncall-rotation", {"docs/on-call.md": guide})[ROTATION]
    assert result.status is Status.UNKNOWN and "no escalation" in result.message


def test_a_file_name_alone_never_passes(tmp_path: Path) -> None:
    named_only = """
    # On-call

    The team is on call for this service. See the wiki for the rotation and escalate
    to the team lead when in doubt; access is requested through the usual form.
    """
    result = scan(
        tmp_path / "named",
        "operations.oncall-rotation",
        {"docs/on-call.md": named_only, "docs/escalation.md": ESCALATION_DOC},
    )[ROTATION]
    assert result.status is Status.UNKNOWN and "does not cover schedule" in result.message

    stub = scan(
        tmp_path / "stub",
        "operations.oncall-rotation",
        {"docs/rotation.md": "# Rotation\n\nTODO\n", "docs/escalation.md": ESCALATION_DOC},
    )[ROTATION]
    assert stub.status is Status.UNKNOWN and "stub" in stub.message

    assert scan(tmp_path / "none", "operations.oncall-rotation", {"README.md": "# x\n"}) == {}


PAGERDUTY_TF = """
resource "pagerduty_schedule" "primary" {
  name      = "payments-primary"
  time_zone = "Europe/Berlin"

  layer {
    name                         = "weekly"
    start                        = "2026-01-05T10:00:00+01:00"
    rotation_virtual_start       = "2026-01-05T10:00:00+01:00"
    rotation_turn_length_seconds = 604800
    users = [
      pagerduty_user.ana.id,
      pagerduty_user.ben.id,
      pagerduty_user.chloe.id,
    ]
  }
}

resource "pagerduty_escalation_policy" "payments" {
  name      = "payments"
  num_loops = 2
  rule {
    escalation_delay_in_minutes = 15
    target {
      type = "schedule_reference"
      id   = pagerduty_schedule.primary.id
    }
  }
  rule {
    escalation_delay_in_minutes = 30
    target {
      type = "user_reference"
      id   = pagerduty_user.manager.id
    }
  }
}
"""


def test_a_schedule_and_escalation_policy_as_code_pass(tmp_path: Path) -> None:
    result = scan(tmp_path, "operations.oncall-rotation", {"infra/pagerduty.tf": PAGERDUTY_TF})[
        ROTATION
    ]
    assert result.status is Status.PASS
    assert "pagerduty_schedule.primary (payments-primary)" in result.message
    assert "3 member(s), 7d" in result.message
    assert any(e.path == "infra/pagerduty.tf" and e.line == 1 for e in result.evidence)


def test_a_schedule_file_with_members_and_shifts(tmp_path: Path) -> None:
    schedule = """
    # Kept in sync with the paging tool by the platform's schedule job.
    schedules:
      - name: payments-primary
        members: [ana, ben, chloe, dev]
        shift: weekly
        handoff: "Monday 10:00"
    """
    result = scan(
        tmp_path / "ok",
        "operations.oncall-rotation",
        {"oncall/schedule.yaml": schedule, "docs/escalation.md": ESCALATION_DOC},
    )[ROTATION]
    assert result.status is Status.PASS and "payments-primary" in result.message

    no_shift = schedule.replace("        shift: weekly\n", "").replace(
        '        handoff: "Monday 10:00"\n', ""
    )
    result = scan(
        tmp_path / "no-shift",
        "operations.oncall-rotation",
        {"oncall/schedule.yaml": no_shift, "docs/escalation.md": ESCALATION_DOC},
    )[ROTATION]
    assert result.status is Status.UNKNOWN and "no shift length" in result.message

    broken = scan(
        tmp_path / "broken",
        "operations.oncall-rotation",
        {
            "oncall/schedule.yaml": "members: [ana, ben\nshift: weekly\n",
            "docs/escalation.md": ESCALATION_DOC,
        },
    )[ROTATION]
    assert broken.status is Status.UNKNOWN and "could not be read" in broken.message


def test_schedule_references_alone_stay_unknown(tmp_path: Path) -> None:
    opsgenie = """
    route:
      receiver: pager
    receivers:
      - name: pager
        opsgenie_configs:
          - api_key_file: /etc/alertmanager/secrets/opsgenie
            responders:
              - {type: schedule, name: payments_schedule}
              - {type: escalation, name: payments_escalation}
    """
    result = scan(
        tmp_path / "opsgenie",
        "operations.oncall-rotation",
        {
            "monitoring/alertmanager.yml": opsgenie,
            "catalog-info.yaml": catalog("    pagerduty.com/schedule-id: PSCHED1\n"),
        },
    )[ROTATION]
    assert result.status is Status.UNKNOWN
    assert "Opsgenie schedule 'payments_schedule'" in result.message
    assert "catalog pagerduty.com/schedule-id: PSCHED1" in result.message

    # With the rotation written down, the Opsgenie escalation responder is the escalation.
    guide = ONCALL_GUIDE[: ONCALL_GUIDE.index("## Escalation")]
    result = scan(
        tmp_path / "with-guide",
        "operations.oncall-rotation",
        {"monitoring/alertmanager.yml": opsgenie, "docs/on-call.md": guide},
    )[ROTATION]
    assert result.status is Status.PASS and "payments_escalation" in result.message
