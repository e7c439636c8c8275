"""Operations documentation: diagrams, runbooks, on-call, incident process, API docs.

Documents are judged by content (see :mod:`prr.collectors.docs`): a runbook
that is a TODO stub fails, a README section that really is an on-call guide
passes. Absence of a kind of document is a failure only where the repository
keeps documentation (a ``docs``-like directory); otherwise the check has no
opinion, because the document may live elsewhere.

The helpers here (:func:`doc_item`, :data:`TEMPLATES`) are shared by the other
documentation checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from prr.checks.registry import CheckContext, check
from prr.collectors.docs import DOC_KINDS, Diagram, DocsFacts, Document, DocUnit
from prr.collectors.observability import Alert, ObservabilityFacts
from prr.model.evidence import Evidence, Result

MAX_EVIDENCE = 8

# A Markdown skeleton per kind of document: the remediation names the file to add.
TEMPLATES: dict[str, tuple[str, str]] = {
    "runbook": (
        "runbooks/{name}.md",
        "# <Alert name>\n\n## Symptoms\nWhat fires, what users see.\n\n## Diagnosis\n"
        "1. Open the service dashboard …\n2. `kubectl logs -n <ns> deploy/<app> --since=15m`\n\n"
        "## Mitigation\n1. Roll back: `kubectl rollout undo deploy/<app> -n <ns>`\n"
        "2. Scale out / restart …\n\n## Escalation\nPage <team> if not mitigated in 30 minutes.\n",
    ),
    "incident-response": (
        "incident-response.md",
        "# Incident response\n\n## Declaring an incident\nWho may declare, how (`/incident` in "
        "#incidents), paging.\n\n## Roles\nIncident commander, communications lead, operations "
        "lead, scribe.\n\n## Severity levels\nSEV1 … SEV4 with impact and response time.\n\n"
        "## Mitigation and communication\nWar room (#inc-<id> + bridge), stakeholder updates "
        "every 30 min, status page.\n\n## Closing\nAll clear, post-mortem within 5 business "
        "days.\n",
    ),
    "on-call": (
        "on-call.md",
        "# On-call guide\n\n## Rotation\nPrimary/secondary, weekly hand-off on Monday 10:00.\n\n"
        "## Access\nVPN, cluster and cloud console access to request before the first shift.\n\n"
        "## Tools\nDashboards, logs, runbooks (links).\n\n## Expectations\nAcknowledge pages "
        "within 5 minutes …\n\n## Escalation\nSecondary after 15 minutes, then the team lead; "
        "contacts for dependencies and vendors.\n",
    ),
    "post-mortem": (
        "post-mortem-template.md",
        "# Post-mortem: <title>\n\nRequired for every SEV1/SEV2 and any data loss; due within 5 "
        "business days.\n\n## Summary\n## Impact\n## Timeline\n## Root cause and contributing "
        "factors\n## What went well\n## Action items\n| Action | Owner | Ticket | Due |\n",
    ),
    "deployment": (
        "deployment.md",
        "# Deployment\n\n## Pipeline\nStages, approvals, freeze windows.\n\n## Strategy\nRolling/"
        "canary …\n\n## Steps\n1. Merge after review\n2. Watch the deploy job\n3. Verify: smoke "
        "tests, dashboards\n\n## Rollback\n`kubectl rollout undo deploy/<app> -n <ns>`\n",
    ),
    "rollback": (
        "rollback.md",
        "# Rollback\n\nWho may trigger: the on-call engineer or release owner.\n"
        "Target: production is back on the previous version within 15 minutes.\n\n"
        "1. `kubectl rollout undo deploy/<app> -n <ns>` (or `helm rollback <release> <rev>`)\n"
        "2. Verify: `kubectl rollout status …`, smoke tests, error-rate dashboard\n"
        "3. Database: migrations are backward compatible (expand/contract); see "
        "database-rollback.md\n",
    ),
    "database-rollback": (
        "database-rollback.md",
        "# Database rollback\n\nEvery migration is expand/contract: the previous release runs on "
        "the new schema.\nIf a migration must be undone: `alembic downgrade -1` (tested in CI).\n"
        "Before risky migrations, take a snapshot: `aws rds create-db-snapshot …`; restore it "
        "with …\n",
    ),
    "dr-plan": (
        "disaster-recovery.md",
        "# Disaster recovery plan\n\nRTO: 4 hours. RPO: 15 minutes.\nOwner: <team>; decision "
        "maker: incident commander.\n\n## Scenarios\nZone loss, region loss, data corruption, "
        "account compromise.\n\n## Recovery steps\n1. …\n2. …\n",
    ),
    "failover": (
        "failover.md",
        "# Database failover\n\n1. Check replication lag: …\n2. Promote the replica: `aws rds "
        "promote-read-replica --db-instance-identifier <replica>`\n3. Verify: health checks, "
        "writes succeed\n\n## Fail back\n…\n",
    ),
    "escalation": (
        "escalation.md",
        "# Escalation\n\n| Level | Who | After |\n|---|---|---|\n| 1 | Primary on-call | page |\n"
        "| 2 | Secondary on-call | 15 min unacknowledged |\n| 3 | Engineering manager | 30 min |\n"
        "\n## Dependency and vendor contacts\n…\n",
    ),
    "severity": (
        "severity-levels.md",
        "# Incident severity levels\n\n| Level | Impact | Response | Updates |\n|---|---|---|---|\n"
        "| SEV1 | Full outage or data loss | page, 5 min | every 30 min |\n| SEV2 | Major feature "
        "down | page, 15 min | hourly |\n| SEV3 | Degraded | next business day | daily |\n",
    ),
    "communication": (
        "customer-communication.md",
        "# Customer communication\n\nChannels: status page, in-app banner, support email.\n"
        "Approval: the communications lead writes, the incident commander approves.\n"
        "Templates: investigating / identified / monitoring / resolved.\n",
    ),
    "war-room": (
        "war-room.md",
        "# War room\n\nFor SEV1/SEV2: open #inc-<date>-<name> and the standing bridge "
        "(<video link>). The incident commander leads; keep the timeline in the channel.\n",
    ),
    "error-budget-policy": (
        "error-budget-policy.md",
        "# Error budget policy\n\nThe error budget is 100% minus the SLO over 30 days, tracked on "
        "the SLO dashboard and by burn-rate alerts.\nWhen the budget is spent: feature releases "
        "freeze except fixes; reliability work is prioritised until the budget recovers.\n"
        "Exceptions are approved by <role>.\n",
    ),
    "architecture": (
        "architecture.md",
        "# Architecture\n\n```mermaid\nflowchart LR\n  user[Users] --> lb[Load balancer]\n"
        "  lb --> api[<service>]\n  api --> db[(PostgreSQL)]\n  api --> cache[(Redis)]\n"
        "  api --> ext[External API]\n```\n",
    ),
}


def template(kind: str, docs: DocsFacts, name: str = "service") -> str:
    """The remediation for a missing or thin document: where to write it and a skeleton."""
    relative, body = TEMPLATES.get(kind, (f"{kind}.md", f"# {kind}\n"))
    folder = docs.doc_dirs[0] if docs.doc_dirs else "docs"
    path = f"{folder}/{relative.format(name=name)}"
    return f"Add {path}:\n\n{body}"


def unit_evidence(unit: DocUnit) -> Evidence:
    return Evidence(
        f"{unit.kind} {unit.title!r}: {unit.words} words, {unit.steps} steps, "
        f"{unit.commands} commands; covers {', '.join(sorted(unit.topics)) or 'none'}",
        unit.path,
        unit.line,
    )


def shortfall(unit: DocUnit) -> str:
    """Why a unit is not usable, in words."""
    spec = DOC_KINDS[unit.kind]
    if unit.stub:
        return "is a stub (empty or TODO only)"
    reasons = []
    if unit.words < spec.min_words:
        reasons.append(f"has {unit.words} words (at least {spec.min_words} expected)")
    if unit.missing:
        reasons.append(f"does not cover {', '.join(unit.missing)}")
    elif len(unit.topics) < spec.min_topics:
        covered = ", ".join(sorted(unit.topics)) or "none"
        wanted = ", ".join(sorted(set(spec.topics) - unit.topics))
        reasons.append(f"covers only {covered} (also expected: {wanted})")
    if spec.needs_steps and not unit.actionable:
        reasons.append("has no numbered steps or commands")
    return "; ".join(reasons) or "is incomplete"


def best(units: Iterable[DocUnit]) -> list[DocUnit]:
    """Units best first: substantive ones; named or headed before found in text; longer first."""
    return sorted(units, key=lambda u: (not u.substantive, u.matched_by == "content", -u.words))


def describe(unit: DocUnit) -> str:
    if unit.matched_by == "heading":
        return f"section {unit.title!r} of {unit.path}:{unit.line}"
    if unit.matched_by == "content":
        return f"the {unit.title} ({unit.path}:{unit.line})"
    return f"{unit.path}:{unit.line}"


def doc_item(
    ctx: CheckContext,
    item_id: str,
    docs: DocsFacts,
    kind: str,
    label: str,
    *,
    absent_fails: bool = True,
    context: list[DocUnit] | None = None,
) -> Iterator[Result]:
    """Decide an item that a document of ``kind`` satisfies.

    Pass with a substantive unit; unknown when a file of that kind could not be
    read; fail when only thin or stub units exist, or — with ``absent_fails`` —
    when the repository keeps documentation (or ``context`` units exist, e.g. a
    DR plan for a failover procedure) but none of this kind.
    """
    units = best(docs.of(kind))
    good = [u for u in units if u.substantive]
    if good:
        unit = good[0]
        more = f" (and {len(good) - 1} more)" if len(good) > 1 else ""
        yield ctx.passed(
            item_id,
            f"{label} at {describe(unit)}{more}: {unit.words} words, {unit.steps} steps, "
            f"{unit.commands} commands; covers {', '.join(sorted(unit.topics))}",
            *(unit_evidence(u) for u in good[:MAX_EVIDENCE]),
        )
        return
    problems = docs.unreadable_of(kind)
    if problems:
        yield ctx.unknown(
            item_id,
            f"{label} could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    if units:
        yield ctx.failed(
            item_id,
            f"{label} is not usable: "
            + "; ".join(f"{describe(u)} {shortfall(u)}" for u in units[:3]),
            *(unit_evidence(u) for u in units[:MAX_EVIDENCE]),
            remediation=template(kind, docs),
        )
        return
    if not absent_fails:
        return
    if context:
        yield ctx.failed(
            item_id,
            f"No {_lower(label)}: "
            + ", ".join(f"{describe(u)} ({u.kind})" for u in context[:3])
            + " has none",
            *(unit_evidence(u) for u in context[:MAX_EVIDENCE]),
            remediation=template(kind, docs),
        )
        return
    if docs.doc_dirs:
        others = docs.unreadable_of("document")
        if others:
            yield ctx.unknown(
                item_id,
                f"No {_lower(label)} found, but {len(others)} document(s) could not be read: "
                + ", ".join(p.path for p in others[:3]),
                *(Evidence(p.reason, p.path, p.line) for p in others[:MAX_EVIDENCE]),
            )
            return
        count = sum(1 for d in docs.documents if _under(d.path, docs.doc_dirs))
        yield ctx.failed(
            item_id,
            f"No {_lower(label)} in the repository's documentation "
            f"({count} document(s) under {', '.join(docs.doc_dirs[:3])})",
            Evidence(f"documentation directory without a {_lower(label)}", docs.doc_dirs[0]),
            remediation=template(kind, docs),
        )


def _lower(label: str) -> str:
    """``Runbook`` → ``runbook`` but ``DR plan`` stays ``DR plan``."""
    return label if label[1:2].isupper() else label[0].lower() + label[1:]


def _under(path: str, dirs: tuple[str, ...]) -> bool:
    return any(path.startswith(d + "/") for d in dirs)


# --------------------------------------------------------------- architecture


@check(
    "operations.architecture-diagram",
    items=["operations.documentation.architecture-diagram"],
    needs=[DocsFacts],
)
def architecture_diagram(ctx: CheckContext) -> Iterator[Result]:
    """An architecture diagram (Mermaid, PlantUML, draw.io, C4 …) is kept with the code."""
    item = "operations.documentation.architecture-diagram"
    docs = ctx.get(DocsFacts)
    diagrams = [d for d in docs.diagrams if d.architectural]
    if diagrams:
        ranked = sorted(diagrams, key=lambda d: d.format in {"image", "drawio"})
        yield ctx.passed(
            item,
            f"Architecture diagram: {_diagram_text(ranked[0])}"
            + (f" and {len(diagrams) - 1} more" if len(diagrams) > 1 else ""),
            *(
                Evidence(f"{d.format} {d.type} diagram ({d.context})", d.path, d.line)
                for d in diagrams[:MAX_EVIDENCE]
            ),
        )
        return
    problems = docs.unreadable_of("diagram")
    if problems:
        yield ctx.unknown(
            item,
            "Diagram files could not be read: " + ", ".join(p.path for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    others = list(docs.diagrams)
    texts = [u for u in docs.of("architecture") if not u.stub]
    if others:
        yield ctx.failed(
            item,
            "No architecture diagram: the diagrams found are "
            + ", ".join(
                f"{d.format} {d.type} at {d.location}" + (" (empty)" if d.stub else "")
                for d in others[:4]
            ),
            *(Evidence(f"{d.format} {d.type}", d.path, d.line) for d in others[:MAX_EVIDENCE]),
            remediation=template("architecture", docs),
        )
    elif texts:
        yield ctx.failed(
            item,
            f"{describe(texts[0])} describes the architecture in text but has no diagram",
            *(unit_evidence(u) for u in texts[:MAX_EVIDENCE]),
            remediation=template("architecture", docs),
        )
    elif docs.doc_dirs:
        yield ctx.failed(
            item,
            f"No architecture diagram (Mermaid, PlantUML, draw.io, C4 or a named image) in "
            f"the repository; documentation lives in {', '.join(docs.doc_dirs[:3])}",
            Evidence("documentation without a diagram", docs.doc_dirs[0]),
            remediation=template("architecture", docs),
        )


def _diagram_text(diagram: Diagram) -> str:
    if diagram.format == "image":
        return f"image {diagram.path} (named {diagram.context!r})"
    if diagram.format == "drawio" and diagram.line is None:
        return f"draw.io diagram {diagram.path}"
    return (
        f"{diagram.format} {diagram.type} at {diagram.location} "
        f"({diagram.elements} connection(s), under {diagram.context!r})"
    )


# -------------------------------------------------------------------- runbooks

PAGING_SEVERITIES = frozenset({"critical", "page", "paging", "pager", "p1", "sev1", "emergency"})
_BLOB = re.compile(r"/(?:-/)?(?:blob|tree|src|raw)/(.+)$")


def is_paging(alert: Alert) -> bool:
    """An alert that pages: severity critical/page/…, or no severity label at all."""
    return alert.severity is None or alert.severity.lower() in PAGING_SEVERITIES


def resolve_runbook(url: str, alert_path: str, docs: DocsFacts) -> tuple[str, str | None]:
    """Where a runbook link points: ``("repo", path#anchor)``, ``("broken", reason)`` or
    ``("external", host)``."""
    if "{{" in url:
        return "external", "templated link"
    parts = urlsplit(url)
    anchor = parts.fragment or None
    known = {d.path: d for d in docs.documents}
    folders = {str(PurePosixPath(p).parent) for p in known}
    candidates: list[str] = []
    if parts.scheme in {"http", "https"}:
        blob = _BLOB.search(parts.path)
        if not blob:
            return "external", parts.hostname
        segments = [s for s in blob.group(1).split("/") if s]
        candidates = ["/".join(segments[i:]) for i in range(1, min(4, len(segments)))]
        for candidate in candidates:
            if candidate in known:
                return _with_anchor(candidate, anchor, known)
        if any(str(PurePosixPath(c).parent) in folders for c in candidates):
            return "broken", f"{candidates[0]} does not exist"
        return "external", parts.hostname
    if parts.scheme:
        return "external", parts.scheme
    raw = parts.path.lstrip("/")
    base = PurePosixPath(alert_path).parent
    for candidate in (raw, _normalise(str(base / raw))):
        if candidate in known:
            return _with_anchor(candidate, anchor, known)
    return "broken", f"{raw} does not exist"


def _normalise(path: str) -> str:
    out: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if out:
                out.pop()
        elif part != ".":
            out.append(part)
    return "/".join(out)


def _with_anchor(path: str, anchor: str | None, known: dict[str, Document]) -> tuple[str, str]:
    if anchor and anchor.lower() not in known[path].anchors():
        return "broken", f"{path} has no heading #{anchor}"
    return "repo", path + (f"#{anchor}" if anchor else "")


@check(
    "operations.runbooks",
    items=["operations.documentation.runbook-for-common-issues"],
    needs=[DocsFacts, ObservabilityFacts],
)
def runbooks(ctx: CheckContext) -> Iterator[Result]:
    """Runbooks are actionable, and every paging alert links to one that exists."""
    item = "operations.documentation.runbook-for-common-issues"
    docs = ctx.get(DocsFacts)
    obs = ctx.get(ObservabilityFacts)
    alerts = [a for a in obs.alerts if a.source == "prometheus"]
    paging = [a for a in alerts if is_paging(a)]
    broken: list[tuple[Alert, str]] = []
    linked_repo: list[tuple[Alert, str]] = []
    linked_external: list[tuple[Alert, str]] = []
    for alert in alerts:
        if not alert.runbook_url:
            continue
        where, detail = resolve_runbook(alert.runbook_url, alert.path, docs)
        if where == "broken":
            broken.append((alert, detail or ""))
        elif where == "repo":
            linked_repo.append((alert, detail or ""))
        else:
            linked_external.append((alert, detail or "external"))
    unlinked = [a for a in paging if not a.runbook_url]
    units = best(docs.of("runbook"))
    good = [u for u in units if u.substantive]
    stub_targets = [
        (a, target)
        for a, target in linked_repo
        if (doc := docs.document(target.split("#")[0])) is not None and doc.stub
    ]
    remediation = template("runbook", docs, name="<alert-name>")
    if broken or stub_targets:
        offenders = [f"{a.name} ({a.location}) → {reason}" for a, reason in broken] + [
            f"{a.name} ({a.location}) → {target} is a stub" for a, target in stub_targets
        ]
        yield ctx.failed(
            item,
            f"{len(offenders)} alert runbook link(s) lead nowhere useful: "
            + "; ".join(offenders[:5]),
            *(
                Evidence(f"runbook_url of {a.name}: {reason}", a.path, a.line)
                for a, reason in broken[:MAX_EVIDENCE]
            ),
            *(
                Evidence(f"runbook_url of {a.name} points at a stub", a.path, a.line)
                for a, _ in stub_targets[:MAX_EVIDENCE]
            ),
            remediation=remediation,
        )
        return
    if good:
        if unlinked:
            yield ctx.failed(
                item,
                f"Runbooks exist ({describe(good[0])}), but {len(unlinked)} of {len(paging)} "
                "paging alert(s) have no runbook_url: "
                + ", ".join(f"{a.name} ({a.location})" for a in unlinked[:6]),
                *(
                    Evidence(f"alert {a.name} without runbook_url", a.path, a.line)
                    for a in unlinked[:6]
                ),
                *(unit_evidence(u) for u in good[:2]),
                remediation=_annotation_snippet(unlinked[0], good[0].path),
            )
            return
        links = f"; {len(linked_repo)} alert link(s) resolve to them" if linked_repo else ""
        yield ctx.passed(
            item,
            f"{len(good)} actionable runbook(s), e.g. {describe(good[0])} "
            f"({good[0].words} words, {good[0].steps} steps, {good[0].commands} commands){links}",
            *(unit_evidence(u) for u in good[:MAX_EVIDENCE]),
            *(
                Evidence(f"{a.name} links {target}", a.path, a.line)
                for a, target in linked_repo[:MAX_EVIDENCE]
            ),
        )
        return
    problems = docs.unreadable_of("runbook")
    if problems:
        yield ctx.unknown(
            item,
            "Runbooks could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    if units:
        yield ctx.failed(
            item,
            "Runbooks are not actionable: "
            + "; ".join(f"{describe(u)} {shortfall(u)}" for u in units[:3]),
            *(unit_evidence(u) for u in units[:MAX_EVIDENCE]),
            remediation=remediation,
        )
        return
    if paging and not unlinked and linked_external:
        hosts = sorted({host for _, host in linked_external})
        yield ctx.unknown(
            item,
            f"Every paging alert links a runbook outside the repository ({', '.join(hosts[:3])}); "
            "their content was not checked",
            *(
                Evidence(f"{a.name} links a runbook on {host}", a.path, a.line)
                for a, host in linked_external[:MAX_EVIDENCE]
            ),
        )
        return
    if alerts:
        yield ctx.failed(
            item,
            f"No runbook in the repository, and {len(unlinked)} of {len(paging)} paging alert(s) "
            "have no runbook_url: " + ", ".join(f"{a.name} ({a.location})" for a in unlinked[:6]),
            *(
                Evidence(f"alert {a.name} without runbook_url", a.path, a.line)
                for a in unlinked[:6]
            ),
            remediation=remediation,
        )
        return
    yield from doc_item(ctx, item, docs, "runbook", "Runbook")


def _annotation_snippet(alert: Alert, runbook: str) -> str:
    return (
        f"Link the runbook from the alert in {alert.path}:\n\n"
        f"- alert: {alert.name}\n  annotations:\n    runbook_url: "
        f"https://<git host>/<org>/<repo>/blob/main/{runbook}#{alert.name.lower()}\n"
    )


# ----------------------------------------------------------- operational docs


@check(
    "operations.operational-docs",
    items=[
        "operations.documentation.on-call-documentation",
        "operations.documentation.incident-response-playbook",
        "operations.documentation.deployment-guide",
    ],
    needs=[DocsFacts],
)
def operational_docs(ctx: CheckContext) -> Iterator[Result]:
    """The on-call guide, incident response playbook and deployment guide have real content."""
    docs = ctx.get(DocsFacts)
    yield from doc_item(
        ctx, "operations.documentation.on-call-documentation", docs, "on-call", "On-call guide"
    )
    yield from doc_item(
        ctx,
        "operations.documentation.incident-response-playbook",
        docs,
        "incident-response",
        "Incident response playbook",
    )
    yield from doc_item(
        ctx, "operations.documentation.deployment-guide", docs, "deployment", "Deployment guide"
    )


# -------------------------------------------------------------------- API docs


@check(
    "operations.api-documentation",
    items=["operations.documentation.api-documentation"],
    needs=[DocsFacts],
)
def api_documentation(ctx: CheckContext) -> Iterator[Result]:
    """The API is described by a specification (OpenAPI, protobuf, GraphQL) or a real API doc."""
    item = "operations.documentation.api-documentation"
    docs = ctx.get(DocsFacts)
    specs = [
        s
        for s in docs.api_specs
        if s.operations or s.services or (s.unresolved and s.format in {"openapi", "swagger"})
    ]
    if specs:
        yield ctx.passed(
            item,
            "API specification: "
            + "; ".join(
                f"{s.format} {s.version} {s.title!r} at {s.path}:{s.line or 1} "
                + (
                    f"({len(s.operations) + len(s.unresolved)} operation(s)/path(s))"
                    if s.format in {"openapi", "swagger"}
                    else f"({s.services} service(s))"
                )
                for s in specs[:3]
            ),
            *(
                Evidence(f"{s.format} spec {s.title!r}", s.path, s.line)
                for s in specs[:MAX_EVIDENCE]
            ),
        )
        return
    good = [u for u in docs.of("api") if u.substantive]
    if good:
        yield from doc_item(ctx, item, docs, "api", "API documentation", absent_fails=False)
        return
    problems = docs.unreadable_of("api")
    if problems:
        yield ctx.unknown(
            item,
            "API specification could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    empty = [s for s in docs.api_specs if s.format in {"openapi", "swagger"}]
    if empty:
        yield ctx.failed(
            item,
            "API specification declares no operations: "
            + ", ".join(f"{s.path}:{s.line or 1}" for s in empty[:3]),
            *(Evidence("spec with empty paths", s.path, s.line) for s in empty[:MAX_EVIDENCE]),
            remediation=(
                f"Describe every endpoint under `paths:` in {empty[0].path}, e.g.:\n\n"
                "paths:\n  /orders:\n    get:\n      summary: List orders\n      security:\n"
                "        - bearerAuth: []\n      responses:\n        '200': {description: OK}\n"
                "        '401': {description: Unauthenticated}\n"
            ),
        )
        return
    yield from doc_item(ctx, item, docs, "api", "API documentation", absent_fails=False)


# ------------------------------------------------------------------ escalation


def escalation_evidence(
    docs: DocsFacts, obs: ObservabilityFacts
) -> tuple[list[Evidence], list[str], list[Evidence], list[str]]:
    """(good evidence, what it shows; weak evidence, what is wrong) for escalation policies."""
    good: list[Evidence] = []
    shows: list[str] = []
    weak: list[Evidence] = []
    wrong: list[str] = []
    for signal in obs.signals_of("escalation-policy"):
        levels = int(m.group(1)) if (m := re.match(r"(\d+) level", signal.detail)) else 0
        if levels >= 2:
            good.append(Evidence(f"{signal.name}: {signal.detail}", signal.path, signal.line))
            shows.append(f"{signal.name} ({signal.detail}) at {signal.location}")
        else:
            weak.append(Evidence(f"{signal.name}: {signal.detail}", signal.path, signal.line))
            wrong.append(f"{signal.name} at {signal.location} has {signal.detail or 'no levels'}")
    for unit in best(docs.of("escalation")):
        if unit.substantive and "timing" in unit.topics:
            good.append(unit_evidence(unit))
            shows.append(f"escalation levels with timings at {describe(unit)}")
        else:
            weak.append(unit_evidence(unit))
            reason = shortfall(unit) if not unit.substantive else "states no escalation timings"
            wrong.append(f"{describe(unit)} {reason}")
    return good, shows, weak, wrong


@check(
    "operations.escalation-path",
    items=["operations.on-call.escalation-path-defined"],
    needs=[DocsFacts, ObservabilityFacts],
)
def escalation_path(ctx: CheckContext) -> Iterator[Result]:
    """Unacknowledged pages escalate, and contacts for dependencies and vendors are written down."""
    item = "operations.on-call.escalation-path-defined"
    docs = ctx.get(DocsFacts)
    obs = ctx.get(ObservabilityFacts)
    good, shows, weak, wrong = escalation_evidence(docs, obs)
    contacts = [
        u
        for u in docs.of("escalation", "on-call")
        if not u.stub and ("contacts" in u.topics or "escalation" in u.topics)
    ]
    if good and contacts:
        yield ctx.passed(
            item,
            "Escalation path: "
            + "; ".join(shows[:3])
            + f"; contacts documented at {describe(contacts[0])}",
            *good[:MAX_EVIDENCE],
            unit_evidence(contacts[0]),
        )
        return
    if good:
        yield ctx.failed(
            item,
            "Escalation policy exists (" + "; ".join(shows[:2]) + "), but no document names "
            "whom to contact for dependencies and vendors",
            *good[:MAX_EVIDENCE],
            remediation=template("escalation", docs),
        )
        return
    problems = docs.unreadable_of("escalation", "on-call")
    if problems:
        yield ctx.unknown(
            item,
            "Escalation documents could not be read: " + ", ".join(p.path for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    if weak:
        yield ctx.failed(
            item,
            "Escalation is not defined: " + "; ".join(wrong[:3]),
            *weak[:MAX_EVIDENCE],
            remediation=template("escalation", docs),
        )
        return
    oncall = [u for u in docs.of("on-call") if u.substantive]
    if oncall:
        yield ctx.failed(
            item,
            f"The on-call guide {describe(oncall[0])} defines no escalation levels with timings, "
            "and no escalation policy is configured as code",
            unit_evidence(oncall[0]),
            remediation=template("escalation", docs),
        )


# ------------------------------------------------------------ incident process


def _playbook(docs: DocsFacts) -> DocUnit | None:
    units = [u for u in best(docs.of("incident-response")) if u.substantive]
    return units[0] if units else None


@check(
    "operations.incident-process",
    items=[
        "operations.on-call.post-mortem-process-defined",
        "operations.incident-response.incident-severity-levels-defined",
        "operations.on-call.war-room-process-defined",
        "operations.incident-response.communication-channels",
        "operations.incident-response.customer-communication-plan",
        "operations.incident-response.status-page-configured",
    ],
    needs=[DocsFacts, ObservabilityFacts],
)
def incident_process(ctx: CheckContext) -> Iterator[Result]:
    """Post-mortems, severity levels, war room, channels, customer comms and the status page."""
    docs = ctx.get(DocsFacts)
    obs = ctx.get(ObservabilityFacts)
    playbook = _playbook(docs)
    context = [playbook] if playbook else None
    yield from doc_item(
        ctx,
        "operations.on-call.post-mortem-process-defined",
        docs,
        "post-mortem",
        "Post-mortem process",
        context=context,
    )
    yield from _severity(ctx, docs, playbook)
    yield from _from_playbook(
        ctx,
        "operations.on-call.war-room-process-defined",
        docs,
        "war-room",
        "War room process",
        playbook,
        ("war-room", "channels"),
    )
    yield from _from_playbook(
        ctx,
        "operations.incident-response.communication-channels",
        docs,
        "",
        "Incident communication channels",
        playbook,
        ("channels", "stakeholders"),
    )
    yield from doc_item(
        ctx,
        "operations.incident-response.customer-communication-plan",
        docs,
        "communication",
        "Customer communication plan",
        absent_fails=playbook is not None,
        context=context,
    )
    yield from _status_page(ctx, docs, obs, playbook)


def _severity(ctx: CheckContext, docs: DocsFacts, playbook: DocUnit | None) -> Iterator[Result]:
    item = "operations.incident-response.incident-severity-levels-defined"
    yield from doc_item(
        ctx,
        item,
        docs,
        "severity",
        "Incident severity levels",
        context=[playbook] if playbook else None,
    )


def _from_playbook(
    ctx: CheckContext,
    item: str,
    docs: DocsFacts,
    kind: str,
    label: str,
    playbook: DocUnit | None,
    topics: tuple[str, ...],
) -> Iterator[Result]:
    """Decide from a dedicated document of ``kind`` or from the playbook covering ``topics``."""
    dedicated = [u for u in best(docs.of(kind)) if u.substantive] if kind else []
    if dedicated:
        yield from doc_item(ctx, item, docs, kind, label)
        return
    if playbook is None:
        if kind:
            yield from doc_item(ctx, item, docs, kind, label, absent_fails=False)
        return
    missing = [t for t in topics if t not in playbook.topics]
    if not missing:
        yield ctx.passed(
            item,
            f"{label} described in the incident playbook {describe(playbook)} "
            f"(covers {', '.join(topics)})",
            unit_evidence(playbook),
        )
        return
    yield ctx.failed(
        item,
        f"The incident playbook {describe(playbook)} does not describe "
        + " or ".join(t.replace("-", " ") for t in missing),
        unit_evidence(playbook),
        remediation=template("war-room" if "war-room" in topics else "incident-response", docs),
    )


def _status_page(
    ctx: CheckContext, docs: DocsFacts, obs: ObservabilityFacts, playbook: DocUnit | None
) -> Iterator[Result]:
    item = "operations.incident-response.status-page-configured"
    configured = obs.signals_of("status-page")
    if configured:
        yield ctx.passed(
            item,
            "Status page configured as code: "
            + ", ".join(f"{s.name} ({s.location})" for s in configured[:3]),
            *(Evidence(f"status page {s.name}", s.path, s.line) for s in configured[:MAX_EVIDENCE]),
        )
        return
    units = docs.of("status-page")
    if units:
        yield from doc_item(ctx, item, docs, "status-page", "Status page", absent_fails=False)
        return
    if playbook and "status-page" not in playbook.topics:
        yield ctx.failed(
            item,
            f"No status page: none is configured in the repository and the incident playbook "
            f"{describe(playbook)} never mentions one",
            unit_evidence(playbook),
            remediation=(
                "Set up a status page hosted outside production (e.g. Upptime: add "
                ".upptimerc.yml with `status-website:` and the public endpoints, or a hosted "
                "Statuspage with the `statuspage_component` Terraform resource) and add to the "
                "playbook: 'The communications lead posts on status.<domain> within 15 minutes "
                "of declaring a SEV1/SEV2.'"
            ),
        )
