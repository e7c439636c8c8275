"""Runbooks filled with the facts found: database restoration, rollback, incidents, handover.

Each runbook is a :class:`~prr.reports.model.Document`, written as one Markdown
file (ready to commit under ``docs/runbooks/``) or rendered together as one
HTML page or PDF. What the evidence does not say is written as a visible
placeholder (``<namespace>``) rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prr.errors import PrrError
from prr.model.evidence import Status
from prr.reports.assessment import report_dict, status_badge
from prr.reports.model import (
    NONE,
    Code,
    DataStore,
    Document,
    Link,
    ReportItem,
    ReportModel,
    Strong,
    Workload,
    format_value,
    spans,
    to_markdown,
)

BACKUP_PREFIX = "reliability.backup-recovery."
RESTORE_TESTED = "reliability.backup-recovery.backup-restoration-tested"
RTO = "reliability.disaster-recovery.rto-defined"
RPO = "reliability.disaster-recovery.rpo-defined"
DR_PLAN = "reliability.disaster-recovery.dr-plan-documented"
FAILOVER = "reliability.disaster-recovery.failover-procedure-documented"
PITR = "reliability.backup-recovery.point-in-time-recovery"
ROLLBACK_DOC = "deployment.rollback.rollback-procedure-documented"
ROLLBACK_TESTED = "deployment.rollback.rollback-tested"
ROLLBACK_TARGET = "deployment.rollback.rollback-time-target"
VERSIONS_KEPT = "deployment.rollback.previous-versions-retained"
DB_ROLLBACK = "deployment.rollback.database-rollback-plan"
STRATEGY = "deployment.deployment-strategy.deployment-strategy-defined"
ERROR_ALERT = "reliability.alerting.error-rate-alerts"
LATENCY_ALERT = "reliability.alerting.latency-alerts"
SEVERITY_LEVELS = "operations.incident-response.incident-severity-levels-defined"
CHANNELS = "operations.incident-response.communication-channels"
STATUS_PAGE = "operations.incident-response.status-page-configured"
CUSTOMER_PLAN = "operations.incident-response.customer-communication-plan"
ESCALATION = "operations.on-call.escalation-path-defined"
ONCALL_TOOLS = "operations.on-call.on-call-tools-configured"
ONCALL_ROTATION = "operations.on-call.on-call-rotation-defined"
ONCALL_DOC = "operations.documentation.on-call-documentation"
WAR_ROOM = "operations.on-call.war-room-process-defined"
POSTMORTEM = "operations.on-call.post-mortem-process-defined"
PLAYBOOK = "operations.documentation.incident-response-playbook"
DASHBOARDS = (
    "reliability.monitoring.dashboards-created",
    "reliability.sla-slo.sli-dashboards-created",
)

MARKER = "prr report --type runbooks"
_KUBECTL_UNDO = re.compile(r"kubectl\b[^`'|;)]*?rollout undo[^`'|;)]*")
_UNDOABLE = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset"}


@dataclass(frozen=True)
class Runbook:
    """One runbook: its file name and its content."""

    filename: str
    title: str
    document: Document


def _intro(doc: Document, model: ReportModel, purpose: str) -> None:
    owner = f", owned by {model.owner}" if model.owner else ""
    doc.para(
        Strong("Service:"),
        f" {model.service} {model.version}{owner}",
    )
    doc.para(
        f"{purpose} Generated on {model.assessment_date.isoformat()} from the readiness evidence "
        f"(checklist {model.checklist}); check every command against the environment before "
        "relying on it, and regenerate with ",
        Code(MARKER),
        " when the evidence changes. Values in angle brackets are not in the evidence.",
    )


def _where(item: ReportItem | None) -> str | None:
    if item is None:
        return None
    for found in item.evidence:
        if found.location and found.status in (None, "pass"):
            return found.location
    return None


def _state(item: ReportItem | None) -> str:
    if item is None:
        return "not in this checklist"
    where = _where(item)
    text = item.status.value + (f" ({where})" if where and item.status is Status.PASS else "")
    return text


def _field(model: ReportModel, item_id: str, key: str) -> str | None:
    item = model.item(item_id)
    if item is None or item.fields.get(key) in (None, ""):
        return None
    return format_value(item.fields[key])


def _items_table(doc: Document, items: list[ReportItem]) -> None:
    rows = []
    for item in items:
        values = "; ".join(f"{k} {format_value(v)}" for k, v in sorted(item.fields.items()))
        where = _where(item) or next((e.location for e in item.evidence if e.location), None)
        rows.append(
            (
                item.title,
                status_badge(item.status),
                values or NONE,
                spans(Code(where)) if where else spans(NONE),
            )
        )
    doc.table(("Item", "Status", "Value", "Evidence"), rows)


# -- database restoration ---------------------------------------------------------------------


def _setting(store: DataStore, key: str) -> str | None:
    return dict(store.settings).get(key)


def _restore_commands(store: DataStore, pitr: bool) -> tuple[str, str]:
    """(language, commands) to restore ``store`` into a new instance."""
    kind = store.address.split(".", 1)[0]
    ident = _setting(store, "identifier") or f"<identifier of {store.address}>"
    if kind == "aws_db_instance":
        lines = [
            f"# Automated backups and snapshots of {store.address}",
            f"aws rds describe-db-instance-automated-backups --db-instance-identifier {ident}",
            f"aws rds describe-db-snapshots --db-instance-identifier {ident}",
            "",
        ]
        if pitr:
            lines += [
                "# Restore to a point in time just before the damage (UTC)",
                "aws rds restore-db-instance-to-point-in-time \\",
                f"  --source-db-instance-identifier {ident} \\",
                f"  --target-db-instance-identifier {ident}-restore \\",
                "  --restore-time <YYYY-MM-DDTHH:MM:SSZ>",
            ]
        else:
            lines += [
                "# Restore the chosen snapshot",
                "aws rds restore-db-instance-from-db-snapshot \\",
                f"  --db-instance-identifier {ident}-restore \\",
                "  --db-snapshot-identifier <snapshot id>",
            ]
        lines += [
            f"aws rds wait db-instance-available --db-instance-identifier {ident}-restore",
        ]
        return "sh", "\n".join(lines)
    if kind == "aws_rds_cluster":
        return "sh", "\n".join(
            [
                "aws rds restore-db-cluster-to-point-in-time \\",
                f"  --source-db-cluster-identifier {ident} \\",
                f"  --db-cluster-identifier {ident}-restore \\",
                "  --restore-to-time <YYYY-MM-DDTHH:MM:SSZ>",
            ]
        )
    if kind == "google_sql_database_instance":
        return "sh", "\n".join(
            [
                f"gcloud sql backups list --instance {ident}",
                f"gcloud sql backups restore <backup id> --restore-instance {ident}-restore "
                f"--backup-instance {ident}",
            ]
        )
    return "sh", "\n".join(
        [
            "# PostgreSQL: restore a logical backup into an empty database",
            'pg_restore --clean --if-exists --no-owner --dbname "$RESTORE_DATABASE_URL" '
            "<backup file>.dump",
        ]
    )


def database_restoration(model: ReportModel) -> Runbook:
    doc = Document(f"Database Restoration Runbook — {model.service}")
    doc.heading(1, "Database Restoration Runbook")
    _intro(doc, model, "How to restore the service's data from backups.")
    doc.heading(2, "When to Use")
    doc.bullets(["Data corruption", "Accidental deletion", "Disaster recovery"])
    databases = [s for s in model.datastores if s.kind in ("database", "cache", "object_storage")]
    doc.heading(2, "What Is Backed Up")
    if databases:
        doc.table(
            ("Data store", "Defined at", "Settings"),
            [
                (
                    spans(s.label, " ", Code(s.address)),
                    spans(Code(s.location)) if s.location else spans(NONE),
                    ", ".join(f"{k} = {v}" for k, v in s.settings) or NONE,
                )
                for s in databases
            ],
        )
    else:
        doc.para("No database, cache or bucket was found in Terraform or Compose files.")
    backup_items = [i for i in model.items if i.id.startswith(BACKUP_PREFIX)]
    backup_items += [i for i in (model.item(RTO), model.item(RPO)) if i is not None]
    if backup_items:
        _items_table(doc, backup_items)
    doc.heading(2, "Targets and Last Test")
    rto, rpo = _field(model, RTO, "rto_target"), _field(model, RPO, "rpo_target")
    doc.bullets(
        [
            f"Recovery time objective (RTO): {rto or 'not defined'}",
            f"Recovery point objective (RPO): {rpo or 'not defined'}",
            f"Point-in-time recovery window: {_field(model, PITR, 'pitr_window') or 'not found'}",
        ]
    )
    last = _field(model, RESTORE_TESTED, "last_restore_test")
    took = _field(model, RESTORE_TESTED, "restore_duration")
    if last or took:
        doc.para(
            Strong("Last restore test:"),
            f" {last or 'date not recorded'}, took {took or 'an unrecorded time'}"
            + (f" (RTO {rto})." if rto else "."),
        )
    else:
        doc.para(
            Strong("Last restore test:"),
            " none recorded. Run ",
            Code("prr drill backup-restore"),
            " (or restore by hand following this runbook) and record the date and the "
            "time it took.",
        )
    doc.heading(2, "Prerequisites")
    doc.bullets(
        [
            "Production database access (break-glass if needed; it is audited)",
            "Backup storage access (the backup vault or snapshot store)",
            "Restoration environment: a new instance, never the damaged one, in the same network",
        ]
    )
    doc.heading(2, "Steps")
    doc.bullets(
        [
            "Identify the backup to restore: the latest backup or point in time before the damage.",
            "Create the restoration environment and restore the backup into it (commands below).",
            "Verify data integrity (the verification list below).",
            "Test application connectivity against the restored instance.",
            "Switch the application to the restored instance (update the connection secret and "
            "restart the workloads), then watch error rate and latency.",
            "Document the time taken and compare it with the RTO.",
        ],
        ordered=True,
    )
    pitr = model.passed(PITR)
    for store in [s for s in databases if s.kind == "database"] or databases[:1]:
        lang, commands = _restore_commands(store, pitr)
        doc.heading(3, f"Restore {store.address}")
        doc.code(commands, lang)
    if not databases:
        lang, commands = _restore_commands(DataStore("database", "", "postgres", None), pitr)
        doc.code(commands, lang)
    restarts = _restart_commands(model.workloads)
    if restarts:
        doc.heading(3, "Point the workloads at the restored data")
        doc.code(restarts, "sh")
    doc.heading(2, "Verification")
    doc.checks(
        [
            (False, "Row counts match"),
            (False, "Recent data present"),
            (False, "Application can connect"),
            (False, f"Time to restore documented{f' (RTO {rto})' if rto else ''}"),
        ]
    )
    doc.heading(2, "Schedule Regular Tests")
    doc.bullets(["Monthly restoration test", "Quarterly full DR test"])
    return Runbook("database-restoration.md", "Database Restoration Runbook", doc)


def _namespace(workload: Workload) -> str:
    return workload.namespace or "<namespace>"


def _production_first(workloads: list[Workload]) -> list[Workload]:
    return sorted(workloads, key=lambda w: (w.environment != "production", w.environment or ""))


def _restart_commands(workloads: list[Workload]) -> str:
    lines = []
    for work in _production_first(workloads):
        if work.kind in _UNDOABLE and work.environment in ("production", None):
            lines.append(
                f"kubectl rollout restart {_UNDOABLE[work.kind]}/{work.name} -n {_namespace(work)}"
            )
    return "\n".join(dict.fromkeys(lines))


# -- rollback -------------------------------------------------------------------------------


def rollback(model: ReportModel) -> Runbook:
    doc = Document(f"Rollback Runbook — {model.service}")
    doc.heading(1, "Rollback Runbook")
    _intro(doc, model, "How to return to the previous release quickly and safely.")
    doc.heading(2, "When to Use")
    error = _field(model, ERROR_ALERT, "error_rate_threshold")
    latency = _field(model, LATENCY_ALERT, "latency_threshold")
    doc.bullets(
        [
            "A release raises the error rate"
            + (f" above the alert threshold ({error}%)" if error else "")
            + " or latency"
            + (f" above {latency}" if latency else ""),
            "A release breaks a user-facing feature or a dependency contract",
            "A deployment failed or stopped half-way",
        ]
    )
    doc.heading(2, "What Is Deployed")
    if model.workloads:
        doc.table(
            ("Workload", "Namespace", "Environment", "Defined at"),
            [
                (
                    spans(Code(f"{w.kind.lower()}/{w.name}")),
                    w.namespace or "<namespace>",
                    w.environment or NONE,
                    spans(Code(w.location)) if w.location else spans(NONE),
                )
                for w in _production_first(model.workloads)
            ],
        )
    else:
        doc.para("No Kubernetes workloads were found in the evidence.")
    doc.heading(2, "Facts")
    facts = [
        f"Deployment strategy: {_field(model, STRATEGY, 'strategy') or 'not found'}",
        f"Previous versions retained: {_field(model, VERSIONS_KEPT, 'count') or 'not found'}",
        f"Rollback time target: {_field(model, ROLLBACK_TARGET, 'target') or 'not defined'}",
        f"Rollback procedure documented: {_state(model.item(ROLLBACK_DOC))}",
        f"Database rollback plan: {_state(model.item(DB_ROLLBACK))}",
        f"Rollback tested: {_state(model.item(ROLLBACK_TESTED))}"
        + (
            f", last test {_field(model, ROLLBACK_TESTED, 'last_test')}"
            if _field(model, ROLLBACK_TESTED, "last_test")
            else ""
        ),
    ]
    doc.bullets(facts)
    documented = sorted(
        {
            " ".join(m.split())
            for item in model.items
            for text in [item.message, *(e.summary for e in item.evidence)]
            for m in _KUBECTL_UNDO.findall(text)
        }
    )
    if documented:
        doc.para("Rollback commands already written in the repository's documents:")
        doc.bullets([spans(Code(c)) for c in documented])
    doc.heading(2, "Steps")
    doc.bullets(
        [
            "Decide: roll back when the release is the likely cause; do not debug forward under "
            "customer impact.",
            "Announce the rollback in the incident or deployment channel.",
            "Pause the pipeline so that nothing redeploys the bad release.",
            "Roll back the workloads (commands below), production first.",
            "If the release changed the database schema, follow the database rollback plan "
            "before or together with the code rollback.",
            "Verify (the list below) and record the time the rollback took.",
        ],
        ordered=True,
    )
    target = _field(model, ROLLBACK_TARGET, "target")
    timeout = f" --timeout={target}" if target else ""
    undoable = [w for w in _production_first(model.workloads) if w.kind in _UNDOABLE]
    for work in undoable:
        ref = f"{_UNDOABLE[work.kind]}/{work.name}"
        ns = _namespace(work)
        doc.heading(3, f"{work.environment or 'unnamed environment'}: {ref} in {ns}")
        doc.code(
            "\n".join(
                [
                    f"kubectl rollout history {ref} -n {ns}",
                    f"kubectl rollout undo {ref} -n {ns}",
                    f"kubectl rollout status {ref} -n {ns}{timeout}",
                    "# or back to a specific revision from the history:",
                    f"kubectl rollout undo {ref} -n {ns} --to-revision=<revision>",
                ]
            ),
            "sh",
        )
    for work in [w for w in model.workloads if w.kind == "Rollout"]:
        doc.heading(3, f"Argo Rollout {work.name}")
        doc.code(f"kubectl argo rollouts undo {work.name} -n {_namespace(work)}", "sh")
    if not undoable:
        doc.para(
            "Redeploy the previous release with the deployment pipeline (the rollback job, if "
            "the pipeline has one), then verify as below."
        )
    doc.heading(2, "Verification")
    doc.checks(
        [
            (False, "The rollout reports the previous revision available"),
            (
                False,
                "Error rate and latency are back under the alert thresholds"
                + (f" ({error}%, {latency})" if error and latency else ""),
            ),
            (False, "Smoke tests pass against production"),
            (False, "The channel is told the rollback is complete, with the time it took"),
        ]
    )
    return Runbook("rollback.md", "Rollback Runbook", doc)


# -- incident response ----------------------------------------------------------------------


def incident_response(model: ReportModel) -> Runbook:
    doc = Document(f"Incident Response Runbook — {model.service}")
    doc.heading(1, "Incident Response Runbook")
    _intro(doc, model, "What to do when the service is degraded or down.")
    doc.heading(2, "Severity Levels")
    levels = model.item(SEVERITY_LEVELS)
    where = _where(levels)
    if levels is not None and levels.status is Status.PASS and where:
        doc.para("The service's severity levels are defined at ", Code(where), ".")
    else:
        doc.para(
            "No severity levels were found in the evidence; until they are written, use these:"
        )
        doc.table(
            ("Level", "Meaning", "Response"),
            [
                ("SEV1", "Service down or data loss for many customers", "Page now; all hands"),
                ("SEV2", "Major feature degraded, no workaround", "Page now"),
                ("SEV3", "Minor impact or a workaround exists", "Next business day"),
            ],
        )
    doc.heading(2, "Detect")
    if model.alerts:
        doc.table(
            ("Alert", "Severity", "Summary", "Runbook"),
            [
                (
                    a.name,
                    a.severity or NONE,
                    a.summary or NONE,
                    spans(Link(a.runbook.rstrip("/").rsplit("/", 1)[-1] or a.runbook, a.runbook))
                    if a.runbook
                    else spans(NONE),
                )
                for a in model.alerts
            ],
        )
    else:
        doc.para("No alert rules were found in the repository.")
    dashboards = list(
        dict.fromkeys(
            loc
            for item_id in DASHBOARDS
            if (loc := _where(model.item(item_id))) is not None and model.passed(item_id)
        )
    )
    if dashboards:
        doc.para("Dashboards: ", *_code_list(dashboards))
    doc.heading(2, "Respond")
    channels, escalation = _where(model.item(CHANNELS)), _where(model.item(ESCALATION))
    steps: list[tuple[Any, ...]] = [
        spans("Acknowledge the page", *_tools(model), "."),
        spans(
            "Declare the incident and its severity, and open the incident channel",
            *(_at(channels)),
            ".",
        ),
        spans(
            "Assign roles: incident commander, communications lead, operations lead"
            " (war room process",
            *_at(_where(model.item(WAR_ROOM))),
            ").",
        ),
        spans(
            "Mitigate before fixing: roll back a bad release (rollback.md), scale out, or fail "
            "over (DR plan",
            *_at(_where(model.item(DR_PLAN)) or _where(model.item(FAILOVER))),
            ").",
        ),
        spans(
            "Communicate: status page (",
            _state(model.item(STATUS_PAGE)),
            "), customers (plan",
            *_at(_where(model.item(CUSTOMER_PLAN))),
            ").",
        ),
        spans("Escalate when stuck", *_at(escalation), "."),
        spans(
            "Resolve, hand over, and schedule the post-mortem (template",
            *_at(_where(model.item(POSTMORTEM))),
            ").",
        ),
    ]
    doc.bullets(steps, ordered=True)
    _contacts(doc, model)
    doc.heading(2, "Readiness of This Process")
    ids = (
        PLAYBOOK,
        SEVERITY_LEVELS,
        CHANNELS,
        STATUS_PAGE,
        CUSTOMER_PLAN,
        ESCALATION,
        ONCALL_ROTATION,
        ONCALL_TOOLS,
        WAR_ROOM,
        POSTMORTEM,
    )
    _items_table(doc, [i for i in (model.item(x) for x in ids) if i is not None])
    return Runbook("incident-response.md", "Incident Response Runbook", doc)


def _at(location: str | None) -> tuple[Any, ...]:
    return (": ", Code(location)) if location else (": not found",)


def _code_list(values: list[str]) -> list[Any]:
    out: list[Any] = []
    for number, value in enumerate(values):
        if number:
            out.append(", ")
        out.append(Code(value))
    return out


def _tools(model: ReportModel) -> tuple[Any, ...]:
    where = _where(model.item(ONCALL_TOOLS))
    return (" (paging: ", Code(where), ")") if where else ()


def _contacts(doc: Document, model: ReportModel) -> None:
    doc.heading(2, "Contacts and Links")
    entries: list[tuple[Any, ...]] = []
    if model.owner:
        entries.append(spans("Owning team: ", model.owner))
    for title, url in model.oncall_links:
        entries.append(spans(f"{title}: ", Link(url, url)))
    escalation = _where(model.item(ESCALATION))
    if escalation:
        entries.append(spans("Escalation path: ", Code(escalation)))
    oncall = _where(model.item(ONCALL_DOC))
    if oncall:
        entries.append(spans("On-call guide: ", Code(oncall)))
    doc.bullets(entries or [spans("None found in the evidence.")])


# -- on-call handover -----------------------------------------------------------------------


def oncall_handover(model: ReportModel) -> Runbook:
    doc = Document(f"On-Call Handover — {model.service}")
    doc.heading(1, "On-Call Handover")
    _intro(doc, model, "What the outgoing on-call hands to the incoming one.")
    doc.heading(2, "Before the Handover")
    doc.checks(
        [
            (False, "Open incidents and their state"),
            (False, f"Alerts that fired during the shift ({len(model.alerts)} alert rules exist)"),
            (False, "Deployments and changes in flight"),
            (False, "Pages acknowledged but not resolved"),
            (False, "Anything the incoming on-call must watch or finish"),
        ]
    )
    doc.heading(2, "Known Gaps")
    if model.gaps:
        doc.para(
            "Open gaps of the readiness review: the incoming on-call should know these before "
            "being paged."
        )
        doc.table(
            ("ID", "Item", "Owner", "ETA"),
            [(g.key, g.item.title, g.owner, g.eta) for g in model.gaps],
        )
    else:
        doc.para("No open gaps.")
    doc.heading(2, "Accepted Risks")
    if model.risks:
        doc.table(
            ("Risk", "Mitigation", "Expires"),
            [(r.risk, r.mitigation, r.expires or NONE) for r in model.risks],
        )
    else:
        doc.para("None.")
    doc.heading(2, "Upcoming")
    if model.launch_date:
        days = (model.launch_date - model.assessment_date).days
        doc.para(
            f"Target launch {model.launch_date.isoformat()} "
            f"({model.launch_date.strftime('%A')}, {days} day(s) from "
            f"{model.assessment_date.isoformat()}): the week before launch and the day after "
            "need a confirmed on-call and a war room."
        )
    else:
        doc.para("No launch date is set.")
    _contacts(doc, model)
    rotation = model.item(ONCALL_ROTATION)
    doc.para(Strong("On-call rotation:"), f" {_state(rotation)}.")
    doc.heading(2, "Handover Record")
    doc.table(
        ("Field", "Value"),
        [
            ("Outgoing", ""),
            ("Incoming", ""),
            ("Date and time (UTC)", ""),
            ("Open incidents", ""),
            ("Watch items", ""),
            ("Notes", ""),
        ],
    )
    return Runbook("on-call-handover.md", "On-Call Handover", doc)


# -- the set ----------------------------------------------------------------------------------


def runbooks(model: ReportModel) -> list[Runbook]:
    """Every runbook, in reading order."""
    return [
        database_restoration(model),
        rollback(model),
        incident_response(model),
        oncall_handover(model),
    ]


def index(model: ReportModel, books: list[Runbook]) -> Runbook:
    doc = Document(f"Runbooks — {model.service}")
    doc.heading(1, f"Runbooks — {model.service}")
    doc.para(
        f"Generated on {model.assessment_date.isoformat()} by ",
        Code(MARKER),
        " from the readiness evidence.",
    )
    doc.bullets([spans(b.title, " — ", Code(b.filename)) for b in books])
    return Runbook("README.md", f"Runbooks — {model.service}", doc)


class RunbookConflict(PrrError):
    """A runbook file to write exists and was not written by prr."""


def write_markdown(model: ReportModel, directory: Path) -> list[Path]:
    """Write every runbook (and an index) as Markdown files into ``directory``.

    Files prr wrote before are replaced; any other file of the same name is left
    alone and nothing is written (:class:`RunbookConflict`).
    """
    books = runbooks(model)
    planned = [
        (directory / b.filename, to_markdown(b.document)) for b in [*books, index(model, books)]
    ]
    foreign = [
        path
        for path, _ in planned
        if path.exists() and MARKER not in path.read_text(encoding="utf-8", errors="replace")
    ]
    if foreign:
        names = ", ".join(str(p) for p in foreign)
        raise RunbookConflict(
            f"{names}: exists and was not written by prr; move it or choose another --output"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in planned:
        path.write_text(text, encoding="utf-8")
    return [path for path, _ in planned]


def runbooks_dict(model: ReportModel) -> dict[str, Any]:
    data = report_dict(model, "runbooks", items=False)
    data["runbooks"] = [
        {"file": b.filename, "title": b.title, "markdown": to_markdown(b.document)}
        for b in runbooks(model)
    ]
    return data
