"""Documentation evidence: runbooks, playbooks, diagrams, API specs and SLO specs.

Documents are judged by what they contain, not by their names: every Markdown,
reStructuredText or AsciiDoc file is split into sections, and a file (matched by
name) or a section (matched by heading) becomes a :class:`DocUnit` of a kind —
runbook, rollback procedure, DR plan … — with its word count, steps, commands and
the topics of that kind it covers (see :data:`DOC_KINDS`). Empty or TODO-only
text is a stub. Values stated in prose (RTO, RPO, availability and latency
targets, rollback time) are extracted with their line. OpenAPI/Swagger specs are
read down to which operations declare a security requirement; OpenSLO, Sloth and
Pyrra specs down to their objectives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, ClassVar

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.files import FileEntry
from prr.errors import CollectorError
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml_documents

NAME = "docs"

# ------------------------------------------------------------------ doc kinds


@dataclass(frozen=True)
class DocKindSpec:
    """What a document of one kind is called and what it should cover.

    ``names`` are space-separated globs on the lower-cased path (when they hold a
    ``/``) or file name; ``headings`` is a regex on a lower-cased heading;
    ``topics`` map a topic to a regex searched in the lower-cased text. A unit is
    substantive when it is not a stub, has ``min_words``, covers every
    ``required`` topic and at least ``min_topics`` topics, and — when
    ``needs_steps`` — has numbered steps or commands.
    """

    names: str
    headings: str
    topics: Mapping[str, str]
    weak_headings: str = ""
    """Headings that only count when the section under them is substantive (a README's
    "Troubleshooting" is a runbook only if it really reads like one)."""
    required: frozenset[str] = frozenset()
    min_topics: int = 1
    min_words: int = 80
    needs_steps: bool = False
    exclude: str = ""
    formats: frozenset[str] = frozenset({"markdown", "rst", "asciidoc", "text"})


_TEXT = frozenset({"markdown", "rst", "asciidoc", "text"})
_DB_DOWN = (
    r"down migration|migrate down|downgrade|rollback migration|flyway undo|migrate:rollback|"
    r"db:rollback|liquibase rollback|\bdown\(\)|\.down\.sql"
)
_DB_EXPAND = r"expand.{0,5}contract|backwards?[- ]compatible|two[- ]phase|additive"
_DB_RESTORE = r"snapshot|\bbackup|\brestore|point[- ]in[- ]time|\bpitr\b"
_DB_WAY_BACK = f"{_DB_DOWN}|{_DB_EXPAND}|{_DB_RESTORE}"
_ESCALATE = r"escalat|\bpage\b|paging|contact|\bowner"
_PAGING_TOOL = (
    r"pagerduty|opsgenie|grafana on-?call|splunk on-?call|victorops|incident\.io|firehydrant|"
    r"rootly|squadcast|zenduty|ilert"
)
_DAYS = r"mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?"
_CADENCE = (
    r"\b(weekly|daily|fortnightly|bi-?weekly)\b|\bevery\s+(day|week|other\s+week|\d+\s+(days|weeks))|"
    r"\b\d+[- ]?(day|week|hour|h)[- ]?(long\s+)?(shifts?|rotations?)\b|\bshifts?\s+of\s+\d+|"
    r"follow[- ]the[- ]sun|\b24/?7\b|\b(" + _DAYS + r")(\s+at)?\s+\d{1,2}[:.]\d{2}"
)
_SECRET_WORDS = r"secrets?|credentials?|keys?|passwords?|certificates?|certs?|tokens?"
_INTERVAL = (
    r"\bevery (\d+ )?(days?|weeks?|months?|quarters?|years?)\b|\bonce a (day|week|month|quarter|"
    r"year)\b|\b(daily|weekly|monthly|quarterly|yearly|annually)\b"
)
_VERIFY = r"verif|smoke|health|\bcheck|monitor|dashboard"

DOC_KINDS: dict[str, DocKindSpec] = {
    "runbook": DocKindSpec(
        names="runbook* *-runbook* *_runbook* */runbooks/* */runbook/* runbooks/* playbooks/* "
        "*/playbooks/* troubleshoot*",
        headings=r"\brunbook",
        weak_headings=r"troubleshoot|common (issues|problems|failures|errors)|\bplaybook",
        topics={
            "symptoms": r"symptom|\balert|fir(es|ing)|trigger|impact",
            "diagnosis": r"diagnos|investigat|\bcheck|inspect|\blogs?\b|dashboard|kubectl "
            r"(get|describe|logs)|query",
            "mitigation": r"mitigat|resolv|remediat|\bfix|restart|roll ?back|\bscale|failover|"
            r"workaround|recover",
            "escalation": _ESCALATE,
        },
        required=frozenset({"diagnosis", "mitigation"}),
        min_topics=3,
        needs_steps=True,
        exclude="*incident* *post-mortem* *postmortem* *on-call* *oncall*",
    ),
    "incident-response": DocKindSpec(
        names="*incident-response* *incident_response* *incident-management* *incident-playbook* "
        "*incident_playbook* incident*.md */incidents/readme*",
        headings=r"incident (response|management|process|handling|playbook)|handling incidents",
        topics={
            "declare": r"declar|(open|raise|start) an incident|trigger|\bpage",
            "roles": r"incident commander|\bic\b|commander|communications? lead|scribe|\broles?\b|"
            r"ops lead",
            "mitigation": r"mitigat|stabili[sz]e|roll ?back|workaround|restore",
            "communication": r"status page|stakeholder|\bupdates?\b|slack|channel",
            "closure": r"resolv|\bclos(e|ing)\b|post-?mortem|retro|all clear",
            "war-room": r"war ?room|\bbridge\b|zoom|google meet|video call",
            "channels": r"#[a-z][\w-]+|slack channel|incident channel|teams channel",
            "stakeholders": r"stakeholder|status update|announce|leadership|executive",
            "customers": r"customer|external communication|\busers\b",
            "status-page": r"status ?page",
            "severity": r"sev-? ?[0-5]\b|\bp[0-4]\b|severity",
        },
        required=frozenset({"declare", "roles"}),
        min_topics=4,
        min_words=120,
    ),
    "on-call": DocKindSpec(
        names="*on-call* *oncall* *on_call*",
        headings=r"on[- ]?call",
        topics={
            "access": r"\baccess\b|\bvpn\b|credential|permission|log ?in|\bsso\b",
            "tools": r"dashboard|grafana|\blogs?\b|kibana|runbook|datadog",
            "escalation": _ESCALATE,
            "expectations": r"shift|hand-?off|handover|acknowledg|response time|expect|"
            r"within \d+ ?min",
            "rotation": r"rotation|schedule|primary|secondary",
        },
        required=frozenset({"escalation"}),
        min_topics=3,
        min_words=50,
    ),
    "on-call-rotation": DocKindSpec(
        names="*on-call-rotation* *oncall-rotation* *on_call_rotation* *on-call-schedule* "
        "*oncall-schedule* *on_call_schedule* *rotation-schedule* rotation.md rotations.md",
        headings=r"^(?!.*\b(" + _SECRET_WORDS + r"|logs?|backups?|releases?|images?)\b)"
        r"(.*\bon-?call\b.*\b(rotations?|schedules?|shifts?)\b|(the |our )?rotations?\b|"
        r"(on-?call|pager) schedules?$|shifts?( and hand-?(offs?|overs?))?$|pager rotation)",
        topics={
            "schedule": _CADENCE,
            "members": r"\bmembers?\b|\bengineers?\b|\bteam\b|\broster\b|\bnames?\b|@[\w-]+",
            "handoff": r"hand-?(offs?|overs?)\b|handed\s+(over|off)|shift\s+change|\bswaps?\b",
            "responders": r"\bprimary\b|\bsecondary\b|\bbackup\b|\bshadow",
            "paging-tool": _PAGING_TOOL,
            "escalation": r"escalation (policy|policies|chain|path)|"
            r"escalates? (to|after|automatic)",
        },
        required=frozenset({"schedule"}),
        min_topics=3,
        min_words=25,
    ),
    "secret-rotation": DocKindSpec(
        names="*secret-rotation* *secrets-rotation* *rotating-secrets* *key-rotation* "
        "*credential-rotation* *credentials-rotation* *password-rotation* *rotate-secrets*",
        headings=rf"^(?!.*refresh[- ]tokens?)(.*\brotat\w*\b.*\b({_SECRET_WORDS})\b|"
        rf".*\b({_SECRET_WORDS})\b.*\brotat)",
        topics={
            "secrets": r"secret|password|credential|api[- ]?keys?\b|\btokens?\b|certificate|"
            r"private key",
            "store": r"secrets? manager|\bvault\b|key ?vault|parameter store|external ?secrets?|"
            r"sealed ?secrets?|\bsops\b|\bkms\b",
            "reload": r"restart|reload|rollout|force[- ]?sync|refresh|re-?deploy|picks? up",
            "revoke": r"revok|invalidat|old (password|key|secret|token|credential)|"
            r"previous (password|key|secret|token)|deactivat",
            "interval": _INTERVAL,
            "owner": r"\bowners?\b|responsib|\bteam\b",
        },
        required=frozenset({"secrets"}),
        min_topics=3,
        min_words=30,
        needs_steps=True,
    ),
    "post-mortem": DocKindSpec(
        names="*post-mortem* *postmortem* *post_mortem* *retrospective* *incident-review* "
        "*incident_review* pir*.md */postmortems/*template* */post-mortems/*template* "
        "*/postmortems/readme* */post-mortems/readme*",
        headings=r"post-?mortem|post-incident review|incident review|retrospective",
        topics={
            "template": r"timeline|root cause|contributing factor|lessons learned|what went well|"
            r"\bimpact\b",
            "triggers": r"sev-? ?[0-3]\b|every incident|required (for|when|after)|data loss|"
            r"slo (breach|violation)|when (is|are) a post-?mortem",
            "deadline": r"within \d+ (business |working )?(days|hours)|deadline|\bdue\b",
            "tracking": r"action items?|follow-?ups?|\bticket|\bjira\b|tracked",
        },
        required=frozenset({"template", "triggers", "tracking"}),
        min_topics=3,
        min_words=50,
    ),
    "deployment": DocKindSpec(
        names="deploy*.md deploy*.rst *-deploy*.md */deploy*/readme* releasing*.md "
        "release-process*.md release_process*.md",
        headings=r"^(deploy|deploying|deployment|deployments|releasing|release process)\b|"
        r"deploy(ment)? (guide|process|procedure)|how to (deploy|release)",
        weak_headings=r"deploy",
        topics={
            "pipeline": r"pipeline|\bci\b|github actions|gitlab|jenkins|argo|\bflux\b|spinnaker|"
            r"\bstage",
            "approvals": r"approv|review|sign-?off",
            "strategy": r"rolling|blue[- ]?green|canary|strategy|progressive",
            "verification": _VERIFY,
            "rollback": r"roll ?back|revert",
            "freeze": r"freeze",
        },
        min_topics=3,
        min_words=40,
        needs_steps=True,
    ),
    "rollback": DocKindSpec(
        names="*rollback* *roll-back* *roll_back*",
        headings=r"roll(ing)? ?-?back|revert(ing)? (a )?(release|deploy)|undo (a )?deploy",
        topics={
            "commands": r"kubectl rollout undo|helm rollback|argocd app rollback|git revert|"
            r"previous (version|release|revision|image|tag)|rollout undo|"
            r"deploy (the )?(previous|last known good)|re-?deploy",
            "verification": _VERIFY,
            "authority": r"who (can|may)|approv|on-?call|decid|trigger",
            "data": r"database|migration|schema|\bdata\b",
            "database-way-back": _DB_WAY_BACK,
        },
        required=frozenset({"commands"}),
        min_topics=2,
        min_words=15,
        needs_steps=True,
    ),
    "database-rollback": DocKindSpec(
        names="*db-rollback* *database-rollback* *migration*.md */migrations/readme*",
        headings=r"(database|db|schema|migration)s? (rollback|roll back|revert)|migrations?|"
        r"down migration|schema changes?|expand.{0,5}contract",
        topics={"down": _DB_DOWN, "expand-contract": _DB_EXPAND, "restore": _DB_RESTORE},
        min_words=30,
    ),
    "dr-plan": DocKindSpec(
        names="dr.md dr-* dr_* *disaster-recovery* *disaster_recovery* *disasterrecovery* "
        "*business-continuity* bcp*.md",
        headings=r"disaster recovery|\bdr plan|business continuity",
        topics={
            "scenarios": r"region|\bzone\b|\baz\b|data corruption|account|outage|disaster|"
            r"ransomware",
            "steps": r"\brestore|fail ?over|\brecover|promote|rebuild|re-?deploy",
            "owners": r"\bowner|responsib|decision|contact|commander|who ",
            "objectives": r"\brto\b|\brpo\b|recovery time|recovery point",
        },
        required=frozenset({"scenarios", "steps"}),
        min_topics=3,
        min_words=100,
        needs_steps=True,
    ),
    "failover": DocKindSpec(
        names="*failover* *fail-over* *switchover*",
        headings=r"fail ?-?over|switch ?over|promot(e|ing) (the )?(replica|standby|secondary)",
        topics={
            "components": r"database|postgres|mysql|redis|region|\bzone|primary|replica|standby|"
            r"cluster",
            "checks": r"verif|\bcheck|health|replication lag|before|after",
            "failback": r"fail ?-?back|switch back|revert|restore (the )?primary",
        },
        required=frozenset({"components"}),
        min_topics=2,
        min_words=30,
        needs_steps=True,
    ),
    "escalation": DocKindSpec(
        names="*escalation*",
        headings=r"escalat",
        topics={
            "levels": r"primary|secondary|level|tier|\bl[123]\b|manager|\blead\b|director",
            "timing": r"\d+ ?(min|minutes)|unacknowledged|not acknowledged|after \d+",
            "contacts": r"contact|phone|slack|e-?mail|vendor|support|team",
        },
        required=frozenset({"levels"}),
        min_topics=2,
        min_words=25,
    ),
    "severity": DocKindSpec(
        names="*severity* *sev-levels* *priorities*",
        headings=r"severit|sev levels|priority levels|incident (levels|priorit)",
        topics={
            "levels": r"sev-? ?[0-5]\b|\bp[0-4]\b|critical|major|minor",
            "impact": r"impact|outage|degrad|customers?|users?",
            "response": r"response time|within \d+|\bpage|acknowledg|update",
        },
        required=frozenset({"levels", "impact"}),
        min_topics=2,
        min_words=25,
    ),
    "status-page": DocKindSpec(
        names="*status-page* *statuspage* *status_page*",
        headings=r"status ?page",
        topics={
            "provider": r"statuspage\.io|atlassian statuspage|status\.[\w-]+\.(com|io|net)|"
            r"instatus|cachet|upptime|better ?uptime|better stack|statuspal|incident\.io",
            "updates": r"\bupdate|\bpost|maintenance|subscrib",
            "components": r"component",
        },
        required=frozenset({"provider", "updates"}),
        min_topics=2,
        min_words=30,
    ),
    "communication": DocKindSpec(
        names="*communication* *comms*",
        headings=r"communicat|\bcomms\b|stakeholder updates|customer (updates|messag)",
        topics={
            "channels": r"status page|e-?mail|in-app|banner|twitter|support|newsletter|slack|"
            r"channel",
            "approval": r"approv|sign-?off|review|\blegal\b|who (writes|sends|posts)",
            "templates": r"template|investigating|identified|resolved",
            "customers": r"customer|\busers\b|external",
        },
        required=frozenset({"channels", "customers"}),
        min_topics=3,
        min_words=35,
    ),
    "war-room": DocKindSpec(
        names="*war-room* *warroom* *launch-plan* *launch_plan*",
        headings=r"war ?room|launch (plan|day)|incident (bridge|channel)|\bbridge\b",
        topics={
            "channel": r"slack|channel|#[a-z][\w-]+|\bteams\b",
            "bridge": r"zoom|google meet|\bmeet\b|bridge|video|\bcall\b",
            "roles": r"commander|\blead\b|who joins|\broles?\b|\bowner",
            "timeline": r"timeline|\blog\b|notes",
        },
        required=frozenset({"channel", "bridge"}),
        min_topics=2,
        min_words=30,
    ),
    "slo": DocKindSpec(
        names="slo.md slos.md slo-* slo_* slos-* *-slo.md *-slos.md *-slo-* *_slo.md sla.md sla-* "
        "*-sla.md sli.md slis.md *service-level*",
        headings=r"\bslos?\b|\bslas?\b|\bslis?\b|service level (objective|agreement)",
        topics={
            "availability": r"availab|uptime|success rate|error rate",
            "latency": r"latency|\bp\d{2}\b|response time|percentile",
            "window": r"\d+ ?days|rolling|window|monthly|quarter|\d+d\b",
            "error-budget": r"error budget",
        },
        min_topics=2,
        min_words=30,
    ),
    "error-budget-policy": DocKindSpec(
        names="*error-budget* *error_budget*",
        headings=r"error budget",
        topics={
            "consequences": r"freeze|halt|stop (feature|releases|deploy)|pause|reliability work|"
            r"prioriti|postpone",
            "tracking": r"\bburn|consum|remaining|dashboard|track",
        },
        required=frozenset({"consequences"}),
        min_words=20,
    ),
    "architecture": DocKindSpec(
        names="*architecture* *system-design* *design-doc* */architecture/*",
        headings=r"architecture|system design",
        weak_headings=r"system overview|\bcomponents\b",
        topics={
            "components": r"service|component|database|cache|queue",
            "dependencies": r"depend|external|third-party|upstream|downstream",
            "flows": r"flow|request path|\bcalls\b|sends|publishes",
        },
        min_topics=2,
    ),
    "api": DocKindSpec(
        names="api*.md *-api.md */api/readme* endpoints*.md",
        headings=r"^api\b|api reference|\bendpoints\b|rest api",
        topics={
            "endpoints": r"\b(get|post|put|patch|delete)\s+/",
            "auth": r"authenticat|authori[sz]|bearer|api key|oauth|token",
            "errors": r"error|status code|\b[45]\d\d\b",
            "limits": r"rate limit|throttl|\b429\b",
            "versioning": r"version|deprecat",
        },
        required=frozenset({"endpoints"}),
        min_topics=2,
    ),
    "privacy": DocKindSpec(
        names="privacy* *privacy-policy* *privacy_policy* *privacy-notice*",
        headings=r"privacy (policy|notice|statement)",
        topics={
            "collected": r"collect|personal (data|information)|information we",
            "purpose": r"purpose|we use|how we use|legal basis",
            "retention": r"retain|retention|how long|delete",
            "sharing": r"share|third[- ]part|processor|disclos",
            "rights": r"your rights|right to|gdpr|ccpa|erasure|access your",
        },
        required=frozenset({"collected"}),
        min_topics=3,
        min_words=150,
        formats=_TEXT | {"html"},
    ),
    "terms": DocKindSpec(
        names="terms* tos.* *terms-of-service* *terms_of_service* *terms-of-use* eula*",
        headings=r"terms (of (service|use)|and conditions)",
        topics={
            "acceptance": r"agree|accept|by using",
            "liability": r"liabilit|warrant|disclaim",
            "termination": r"terminat|suspend",
            "law": r"governing law|jurisdiction",
            "use": r"acceptable use|prohibited|you may not|restrict",
        },
        required=frozenset({"acceptance"}),
        min_topics=3,
        min_words=150,
        formats=_TEXT | {"html"},
    ),
    "security-policy": DocKindSpec(
        names="security.md security.txt security.rst .github/security.md",
        headings=r"security policy|reporting (a )?(security )?vulnerabilit",
        topics={
            "reporting": r"report|disclos|vulnerab|security@|contact",
            "supported": r"supported versions",
            "response": r"respond|acknowledg|within \d+",
        },
        required=frozenset({"reporting"}),
        min_words=30,
    ),
    "changelog": DocKindSpec(
        names="changelog* changes.md history.md releases.md news.md",
        headings="",
        topics={"versions": r"\bv?\d+\.\d+(\.\d+)?\b"},
        min_words=10,
    ),
}

_KIND_HEADINGS = {
    kind: (re.compile(spec.headings), re.compile(spec.weak_headings or "(?!x)x"))
    for kind, spec in DOC_KINDS.items()
    if spec.headings
}
_KIND_TOPICS = {
    kind: {topic: re.compile(rx) for topic, rx in spec.topics.items()}
    for kind, spec in DOC_KINDS.items()
}

# ------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class Heading:
    """A heading of a document; ``slug`` is its GitHub-style anchor."""

    text: str
    level: int
    line: int
    slug: str


@dataclass(frozen=True)
class Document:
    """One documentation file."""

    path: str
    format: str
    words: int
    headings: tuple[Heading, ...]
    stub: bool

    def anchors(self) -> frozenset[str]:
        return frozenset(h.slug for h in self.headings)


@dataclass(frozen=True)
class DocUnit:
    """A document (matched by name) or a section (matched by heading) serving as one kind of doc."""

    kind: str
    path: str
    line: int
    title: str
    matched_by: str
    """``name`` (the file's name), ``heading`` (a section's heading) or ``content``."""
    words: int
    steps: int
    commands: int
    headings: tuple[str, ...]
    topics: frozenset[str]
    missing: tuple[str, ...]
    """Required topics the text does not cover."""
    stub: bool
    substantive: bool

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def whole_file(self) -> bool:
        return self.matched_by != "heading"

    @property
    def actionable(self) -> bool:
        return self.steps >= 2 or self.commands >= 1


@dataclass(frozen=True)
class StatedValue:
    """A value stated in prose: ``rto``/``rpo`` (duration), ``availability`` (percent),
    ``p50``/``p95``/``p99`` (duration), ``rollback-time`` (duration), ``rotation-interval``
    (duration, stated in a secret rotation procedure).

    ``value`` is None when the text names the objective without a usable value ("RTO: TBD").
    """

    kind: str
    value: str | float | None
    text: str
    path: str
    line: int

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Diagram:
    """A diagram: a file (Mermaid, PlantUML, draw.io …), a block in Markdown, or a named image."""

    path: str
    line: int | None
    format: str
    type: str
    context: str
    """The file name or the heading the diagram sits under."""
    elements: int
    architectural: bool
    stub: bool

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Operation:
    """One API operation and whether it declares a security requirement."""

    method: str
    path: str
    operation_id: str | None
    secured: bool
    requirements: tuple[str, ...]
    line: int | None
    optional_auth: bool = False
    """Its security list contains ``{}``, so anonymous calls are allowed."""
    problem: str | None = None
    """Why a declared requirement does not count (an undefined or invalid scheme, a malformed
    list): a spec that cannot be enforced as written protects nothing."""


@dataclass(frozen=True)
class ApiSpec:
    """An API specification: OpenAPI/Swagger (with operations), protobuf or GraphQL."""

    path: str
    line: int | None
    format: str
    title: str
    version: str
    schemes: tuple[str, ...] = ()
    global_security: tuple[str, ...] = ()
    scheme_types: tuple[tuple[str, str], ...] = ()
    """(name, what it is: ``http bearer``, ``apiKey in header``, ``oauth2`` …) per defined scheme;
    an invalid definition reads ``invalid: <why>``."""
    operations: tuple[Operation, ...] = ()
    unresolved: tuple[str, ...] = ()
    """Path items whose ``$ref`` could not be followed."""
    services: int = 0
    """protobuf services / GraphQL root types."""


@dataclass(frozen=True)
class SloObjective:
    """One service level objective from an SLO spec (OpenSLO, Sloth, Pyrra, Terraform)."""

    name: str
    service: str
    path: str
    line: int | None
    source: str
    kind: str
    """``availability``, ``latency`` or ``other``."""
    target_percent: float | None
    window: str | None = None
    latency_threshold: str | None = None
    """For latency objectives: the duration requests must stay under (``300ms``)."""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Codeowners:
    path: str
    rules: int
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Unreadable:
    """A documentation or spec file that could not be read, with its kind if known."""

    path: str
    kind: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class DocsFacts:
    """Everything the repository's documentation shows."""

    documents: tuple[Document, ...] = ()
    units: tuple[DocUnit, ...] = ()
    diagrams: tuple[Diagram, ...] = ()
    values: tuple[StatedValue, ...] = ()
    api_specs: tuple[ApiSpec, ...] = ()
    slos: tuple[SloObjective, ...] = ()
    codeowners: tuple[Codeowners, ...] = ()
    doc_dirs: tuple[str, ...] = ()
    """Directories that hold documentation (``docs``, ``runbooks`` …)."""
    unreadable: tuple[Unreadable, ...] = ()

    def of(self, *kinds: str) -> list[DocUnit]:
        return [u for u in self.units if u.kind in kinds]

    def values_of(self, *kinds: str) -> list[StatedValue]:
        return [v for v in self.values if v.kind in kinds]

    def unreadable_of(self, *kinds: str) -> list[Unreadable]:
        return [u for u in self.unreadable if u.kind in kinds]

    def document(self, path: str) -> Document | None:
        for doc in self.documents:
            if doc.path == path:
                return doc
        return None


# ------------------------------------------------------------------- parsing

_DOC_SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".tsx": "html",
    ".jsx": "html",
    ".vue": "html",
    ".svelte": "html",
}
_SKIP_DIRS = frozenset(
    {"vendor", "third_party", "third-party", "testdata", "fixtures", "__fixtures__", "dist"}
    | {"site-packages", "build", "target"}
)
_DOC_DIR_NAMES = frozenset(
    {"docs", "doc", "documentation", "runbooks", "runbook", "wiki", "handbook", "playbooks"}
    | {"ops", "operations", "sre"}
)
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
_ORDERED = re.compile(r"^\s*(\d+[.)]|step \d+)\s+", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*+]\s+(\[[ x]\]\s+)?\S")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_ADOC_HEADING = re.compile(r"^(={1,6})\s+(\S.*)$")
_TODO = re.compile(
    r"^\W*(todo|tbd|tba|fixme|wip|coming soon|placeholder|lorem ipsum|n/a|"
    r"to be (written|done|defined|added|decided))\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\b(todo|tbd|tba|fixme|xxx)\b|<[a-z _-]+>|\{\{[^}]*\}\}", re.IGNORECASE)
_COMMAND = re.compile(
    r"`\s*(\$ )?(kubectl|helm|aws|gcloud|az|terraform|docker|git|psql|mysql|redis-cli|curl|make|"
    r"systemctl|argocd|flux|npm|yarn|python|pip|go|cargo|alembic|flyway|rake|rails|bin/|\./|ssh|"
    r"heroku|fly|gh|pg_dump|pg_restore|kubectx|k9s)\b[^`]*`"
)
_DIAGRAM_LANGS = {"mermaid", "plantuml", "puml", "dot", "graphviz", "d2", "structurizr"}


@dataclass
class _Line:
    text: str
    kind: str
    """``text``, ``blank``, ``heading``, ``fence``, ``code``, ``ol``, ``ul``."""


@dataclass
class _Parsed:
    lines: list[_Line]
    headings: list[Heading]
    fences: list[tuple[int, str, int]]
    """(line index of the opening fence, language, closing index)."""


def slugify(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_~]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text.strip())
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def _parse(text: str, fmt: str) -> _Parsed:
    raw = text.splitlines()
    lines: list[_Line] = []
    headings: list[Heading] = []
    fences: list[tuple[int, str, int]] = []
    open_fence: tuple[int, str, str] | None = None  # (index, marker, lang)
    rst_levels: list[str] = []
    for index, line in enumerate(raw):
        if open_fence is not None:
            marker = open_fence[1]
            if line.strip().startswith(marker[0] * 3) and line.strip().strip(marker[0]) == "":
                fences.append((open_fence[0], open_fence[2], index))
                open_fence = None
                lines.append(_Line(line, "fence"))
            else:
                lines.append(_Line(line, "code"))
            continue
        fence = _FENCE.match(line) if fmt in {"markdown", "text"} else None
        if fmt == "asciidoc" and line.strip() in {"----", "...."}:
            fence = re.match(r"(-{4}|\.{4})()", line.strip())
        if fence:
            open_fence = (index, fence.group(1), fence.group(2).lower())
            lines.append(_Line(line, "fence"))
            continue
        heading: tuple[int, str] | None = None
        if fmt == "markdown":
            atx = _ATX.match(line)
            if atx:
                heading = (len(atx.group(1)), atx.group(2))
            elif (
                _SETEXT.match(line)
                and lines
                and lines[-1].kind == "text"
                and (index < 2 or raw[index - 2].strip() == "")
                and line.strip()[0] in "=-"
                and len(line.strip()) >= 3
            ):
                previous = lines[-1]
                previous.kind = "heading"
                level = 1 if line.strip()[0] == "=" else 2
                headings.append(
                    Heading(previous.text.strip(), level, index, slugify(previous.text))
                )
                lines.append(_Line(line, "heading"))
                continue
        elif fmt == "asciidoc":
            adoc = _ADOC_HEADING.match(line)
            if adoc:
                heading = (len(adoc.group(1)), adoc.group(2))
        elif fmt == "rst":
            under = _RST_UNDERLINE.match(line)
            if (
                under
                and lines
                and lines[-1].kind == "text"
                and len(line.strip()) >= len(lines[-1].text.strip())
            ):
                char = under.group(1)
                if char not in rst_levels:
                    rst_levels.append(char)
                previous = lines[-1]
                previous.kind = "heading"
                level = rst_levels.index(char) + 1
                headings.append(
                    Heading(previous.text.strip(), level, index, slugify(previous.text))
                )
                lines.append(_Line(line, "heading"))
                continue
            if under:
                lines.append(_Line(line, "blank"))
                continue
        if heading:
            headings.append(Heading(heading[1], heading[0], index + 1, slugify(heading[1])))
            lines.append(_Line(line, "heading"))
        elif not line.strip():
            lines.append(_Line(line, "blank"))
        elif _ORDERED.match(line):
            lines.append(_Line(line, "ol"))
        elif _BULLET.match(line):
            lines.append(_Line(line, "ul"))
        elif fmt == "rst" and line.startswith(("   ", "\t")) and lines and lines[-1].kind == "code":
            lines.append(_Line(line, "code"))
        elif fmt == "rst" and (line.rstrip().endswith("::") or ".. code" in line):
            lines.append(_Line(line, "fence"))
            fences.append((index, "code", index))
        else:
            lines.append(_Line(line, "text"))
    if open_fence is not None:
        fences.append((open_fence[0], open_fence[2], len(raw) - 1))
    return _Parsed(lines, headings, fences)


def _html_text(text: str) -> str:
    """Readable text of an HTML page or a JSX/Vue component: the text between tags."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    chunks = re.findall(r">([^<>{}]+)<", text)
    out = []
    for chunk in chunks:
        chunk = chunk.strip()
        if chunk:
            out.append(chunk)
    return "\n".join(out)


STUB_WORDS = 10
"""Fewer words than this (besides headings, TODOs and placeholders) make a stub."""


def _is_stub(lines: list[_Line]) -> bool:
    """Empty, TODO-only or placeholder-only text (headings and TODO lines do not count)."""
    words = 0
    for line in lines:
        if line.kind in {"heading", "fence", "blank"}:
            continue
        if _TODO.match(line.text.strip()):
            continue
        words += len(_WORD.findall(_PLACEHOLDER.sub(" ", line.text)))
        if words >= STUB_WORDS:
            return False
    return True


def _section_stats(
    parsed: _Parsed, start: int, end: int
) -> tuple[int, int, int, list[str], bool, str]:
    """(words, steps, commands, sub-headings, stub, lower-cased text) of lines [start, end)."""
    lines = parsed.lines[start:end]
    words = sum(len(_WORD.findall(line.text)) for line in lines if line.kind != "fence")
    steps = sum(1 for line in lines if line.kind == "ol")
    commands = sum(
        1
        for first, lang, _close in parsed.fences
        if start <= first < end and lang not in _DIAGRAM_LANGS
    )
    commands += sum(
        len(_COMMAND.findall(line.text)) for line in lines if line.kind in {"text", "ol", "ul"}
    )
    commands += sum(
        1 for line in lines if line.kind == "text" and line.text.lstrip().startswith("$ ")
    )
    bullets = sum(1 for line in lines if line.kind == "ul")
    if steps < 2 and bullets >= 3:
        steps = max(steps, bullets)
    headings = [h.text for h in parsed.headings if start < h.line <= end]
    body = "\n".join(line.text for line in lines).lower()
    return words, steps, commands, headings, _is_stub(lines), body


def _name_matches(path: str, patterns: str) -> bool:
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    for pattern in patterns.split():
        if "/" in pattern:
            if fnmatchcase(low, pattern) or fnmatchcase("/" + low, pattern):
                return True
        elif fnmatchcase(name, pattern):
            return True
    return False


def _make_unit(
    kind: str,
    spec: DocKindSpec,
    parsed: _Parsed,
    path: str,
    start: int,
    end: int,
    title: str,
    line: int,
    matched_by: str,
) -> DocUnit:
    words, steps, commands, headings, stub, body = _section_stats(parsed, start, end)
    body = f"{title.lower()}\n{body}"
    topics = frozenset(t for t, rx in _KIND_TOPICS[kind].items() if rx.search(body))
    missing = tuple(sorted(spec.required - topics))
    actionable = steps >= 2 or commands >= 1
    substantive = (
        not stub
        and words >= spec.min_words
        and not missing
        and len(topics) >= spec.min_topics
        and (actionable or not spec.needs_steps)
    )
    return DocUnit(
        kind=kind,
        path=path,
        line=line,
        title=title,
        matched_by=matched_by,
        words=words,
        steps=steps,
        commands=commands,
        headings=tuple(headings),
        topics=topics,
        missing=missing,
        stub=stub,
        substantive=substantive,
    )


def _section_end(parsed: _Parsed, index: int) -> int:
    """Line index where heading ``index``'s section ends (next heading of its level or higher)."""
    heading = parsed.headings[index]
    for later in parsed.headings[index + 1 :]:
        if later.level <= heading.level:
            return later.line - 1
    return len(parsed.lines)


# ----------------------------------------------------------------- stated values

_DURATION_UNITS = (
    ("ms", "ms"),
    ("millisecond", "ms"),
    ("sec", "s"),
    ("s", "s"),
    ("min", "m"),
    ("m", "m"),
    ("hour", "h"),
    ("hr", "h"),
    ("h", "h"),
    ("day", "d"),
    ("d", "d"),
    ("week", "w"),
    ("w", "w"),
)
_DURATION = (
    r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h"
    r"|days?|d|weeks?|w)\b"
)
_OBJECTIVE = {
    "rto": re.compile(r"\b(rto|recovery time objective)\b", re.IGNORECASE),
    "rpo": re.compile(r"\b(rpo|recovery point objective)\b", re.IGNORECASE),
}
_AFTER_DURATION = re.compile(r"^[^\n\d]{0,40}?" + _DURATION, re.IGNORECASE)
_ZERO = re.compile(r"^[^\n\d]{0,30}?\b(0|zero|no data loss)\b", re.IGNORECASE)
_AVAILABILITY = re.compile(r"(\d{2}(?:\.\d+)?)\s*%")
_AVAILABILITY_CONTEXT = re.compile(
    r"availab|uptime|\bslo\b|\bsla\b|success rate|service level", re.IGNORECASE
)
# Outside an SLO document or section, only an explicit objective counts (not a vendor's SLA).
_OWN_OBJECTIVE = re.compile(
    r"(availability|uptime)\s+(slo|target|objective|goal)|\bslos?\b|service level objective",
    re.IGNORECASE,
)
_PERCENTILE = re.compile(
    r"\bp(50|90|95|99|99\.9)\b[^\n]{0,30}?"
    + _DURATION
    + r"|\b(50|90|95|99)(?:th)? percentile[^\n]{0,40}?"
    + _DURATION,
    re.IGNORECASE,
)
_LATENCY_CONTEXT = re.compile(r"latency|response time|\bslo\b|target|objective|percentile", re.I)
_ROLLBACK_TIME = re.compile(
    r"roll ?-?back[^\n]{0,80}?(?:within|under|in less than|less than|<=?|≤|at most|target(?: of)?"
    r"|takes?|:)\s*(?:~|about )?" + _DURATION,
    re.IGNORECASE,
)


def _unit_suffix(word: str) -> str:
    low = word.lower()
    for prefix, unit in _DURATION_UNITS:
        if low == prefix or (len(prefix) > 2 and low.startswith(prefix)):
            return unit
    return low


def _duration(number: str, unit: str) -> str:
    value = float(number)
    text = f"{value:g}"
    return f"{text}{_unit_suffix(unit)}"


_SECRETISH = re.compile(r"[A-Za-z0-9+/_=-]{24,}|://[^/\s:@]+:[^@\s]+@")


def _quote(text: str) -> str:
    """The line a value was read from, shortened, with anything token-like blanked out."""
    return _SECRETISH.sub("…", text.strip())[:160]


def _availability_values(
    found: list[StatedValue], path: str, text: str, number: int, in_slo: bool
) -> None:
    if not (in_slo or _OWN_OBJECTIVE.search(text)):
        return
    for match in _AVAILABILITY.finditer(text):
        percent = float(match.group(1))
        window = text[max(0, match.start() - 60) : match.end() + 60]
        if 90 <= percent < 100 and (
            _AVAILABILITY_CONTEXT.search(window) or (in_slo and "latency" not in window.lower())
        ):
            found.append(StatedValue("availability", percent, _quote(text), path, number))
            return


def _percentile_values(
    found: list[StatedValue], path: str, text: str, number: int, in_slo: bool
) -> None:
    if not (in_slo or _LATENCY_CONTEXT.search(text)):
        return
    for match in _PERCENTILE.finditer(text):
        if match.group(1):
            pct, num, unit = match.group(1), match.group(2), match.group(3)
        else:
            pct, num, unit = match.group(4), match.group(5), match.group(6)
        if unit.lower() in {"m", "h", "d", "w"} or unit.lower().startswith(("min", "hour", "day")):
            continue
        found.append(StatedValue(f"p{pct}", _duration(num, unit), _quote(text), path, number))


def _values(path: str, parsed: _Parsed, slo_lines: set[int]) -> list[StatedValue]:
    """Objectives stated in prose, each with its line."""
    found: list[StatedValue] = []
    for index, line in enumerate(parsed.lines):
        if line.kind in {"code", "fence", "blank"}:
            continue
        text = line.text
        low = text.lower()
        number = index + 1
        if "%" in text:
            _availability_values(found, path, text, number, number in slo_lines)
        if "p5" in low or "p9" in low or "percentile" in low:
            _percentile_values(found, path, text, number, number in slo_lines)
        if "roll" in low:
            for match in _ROLLBACK_TIME.finditer(text):
                target = _duration(match.group(1), match.group(2))
                found.append(StatedValue("rollback-time", target, _quote(text), path, number))
        if "rto" not in low and "rpo" not in low and "recovery" not in low:
            continue
        for kind, regex in _OBJECTIVE.items():
            for match in regex.finditer(text):
                rest = text[match.end() :]
                duration = _AFTER_DURATION.match(rest)
                zero = _ZERO.match(rest)
                if duration:
                    value: str | None = _duration(duration.group(1), duration.group(2))
                elif zero:
                    value = "0s"
                else:
                    value = None
                found.append(StatedValue(kind, value, _quote(text), path, number))
    return found


# --------------------------------------------------------------------- diagrams

_MERMAID_TYPES = re.compile(
    r"^\s*(graph|flowchart|sequenceDiagram|classDiagram|stateDiagram(?:-v2)?|erDiagram|journey|"
    r"gantt|pie|C4Context|C4Container|C4Component|C4Deployment|C4Dynamic|architecture-beta|"
    r"block-beta|mindmap|timeline|gitGraph|requirementDiagram)\b",
    re.MULTILINE,
)
_ARCH_TYPES = frozenset(
    {"graph", "flowchart", "c4context", "c4container", "c4component", "c4deployment", "c4dynamic"}
    | {"architecture-beta", "block-beta", "component", "deployment", "c4", "structurizr"}
    | {"drawio", "excalidraw", "d2", "digraph", "image"}
)
_ARCH_CONTEXT = re.compile(
    r"architect|overview|system|context|container|component|topology|infrastructure|design|"
    r"c4|deployment|data ?flow",
    re.IGNORECASE,
)
_EDGE = re.compile(r"-->|---|-\.->|==>|->>|-->>|->|<->|\bRel\(|\buses\b|--")
_IMAGE_NAME = re.compile(
    r"architect|diagram|topology|system[-_]?design|system[-_]?overview|\bc4[-_]|infra(structure)?[-_]"
    r"?(overview|diagram)",
    re.IGNORECASE,
)
_IMAGE_SUFFIXES = frozenset({".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"})


def _mermaid(body: str) -> tuple[str, int]:
    match = _MERMAID_TYPES.search(body)
    kind = match.group(1).lower() if match else "unknown"
    edges = sum(1 for line in body.splitlines() if _EDGE.search(line))
    return kind, edges


def _plantuml(body: str) -> tuple[str, int]:
    low = body.lower()
    if "c4_" in low or "!include <c4" in low:
        kind = "c4"
    elif re.search(r"^\s*(participant|actor)\b", low, re.MULTILINE) and "component" not in low:
        kind = "sequence"
    elif re.search(
        r"^\s*(node|cloud|database|component|rectangle|package|frame|queue)\b", low, re.M
    ):
        kind = "component"
    elif re.search(r"^\s*class\b", low, re.MULTILINE):
        kind = "class"
    else:
        kind = "unknown"
    edges = sum(1 for line in body.splitlines() if _EDGE.search(line))
    return kind, edges


def _diagram(
    path: str, line: int | None, fmt: str, kind: str, context: str, elements: int, stub: bool
) -> Diagram:
    architectural = not stub and (
        (kind in _ARCH_TYPES and (elements >= 2 or fmt in {"drawio", "excalidraw", "image"}))
        or bool(_ARCH_CONTEXT.search(context) and elements >= 1)
        or (fmt == "image")
    )
    return Diagram(path, line, fmt, kind, context, elements, architectural, stub)


# ------------------------------------------------------------------- collector


@dataclass
class _State:
    ctx: CollectContext
    by_path: dict[str, FileEntry]
    documents: list[Document] = field(default_factory=list)
    units: list[DocUnit] = field(default_factory=list)
    diagrams: list[Diagram] = field(default_factory=list)
    values: list[StatedValue] = field(default_factory=list)
    api_specs: list[ApiSpec] = field(default_factory=list)
    slos: list[SloObjective] = field(default_factory=list)
    codeowners: list[Codeowners] = field(default_factory=list)
    doc_dirs: set[str] = field(default_factory=set)
    unreadable: list[Unreadable] = field(default_factory=list)

    def problem(self, path: str, kind: str, reason: str, line: int | None = None) -> None:
        self.unreadable.append(Unreadable(path, kind, reason, line))
        self.ctx.error(path, reason, NAME, line)


def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.lower().split("/"))


_PAGE_STEM = re.compile(
    r"^(privacy([-_]?(policy|notice|statement))?|terms([-_]?(of[-_]?(service|use)|and[-_]?conditions))?"
    r"|tos|eula)$"
)


def _kinds_by_name(path: str, fmt: str) -> list[str]:
    if fmt == "html":
        pure = PurePosixPath(path.lower())
        stem = pure.parent.name if pure.stem in {"index", "page", "+page"} else pure.stem
        if not _PAGE_STEM.match(stem):
            return []
        path = f"{stem}.html"
    return [
        kind
        for kind, spec in DOC_KINDS.items()
        if fmt in spec.formats
        and _name_matches(path, spec.names)
        and not _name_matches(path, spec.exclude)
    ]


@register
class DocsCollector(Collector):
    """Reads the repository's documentation, diagrams, API specs and SLO specs."""

    name: ClassVar[str] = NAME
    facts_type: ClassVar[type] = DocsFacts

    def collect(self, ctx: CollectContext) -> DocsFacts:
        state = _State(ctx, {entry.path: entry for entry in ctx.files})
        for entry in ctx.files:
            parts = _parts(entry.path)
            if set(parts[:-1]) & _SKIP_DIRS:
                continue
            _dispatch(state, entry)
        return DocsFacts(
            documents=tuple(state.documents),
            units=tuple(state.units),
            diagrams=tuple(state.diagrams),
            values=tuple(state.values),
            api_specs=tuple(state.api_specs),
            slos=tuple(state.slos),
            codeowners=tuple(state.codeowners),
            doc_dirs=tuple(sorted(state.doc_dirs)),
            unreadable=tuple(state.unreadable),
        )


def _read(state: _State, entry: FileEntry, kind: str | None) -> str | None:
    """The file's text, or None after recording why not (when the file's ``kind`` is known)."""
    try:
        return state.ctx.files.read_text(entry)
    except CollectorError as exc:
        if kind:
            state.problem(entry.path, kind, str(exc).removeprefix(f"{entry.path}: "))
        return None


def _dispatch(state: _State, entry: FileEntry) -> None:
    low = entry.path.lower()
    name = low.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    if name == "codeowners":
        text = _read(state, entry, "codeowners")
        if text is not None:
            _read_codeowners(state, entry, text)
        return
    if suffix in _IMAGE_SUFFIXES or name.endswith((".drawio.png", ".drawio.svg")):
        stem = PurePosixPath(name).stem
        # An image is a diagram only by its name, or the names of its two parent folders.
        named = "/".join([*low.split("/")[-3:-1], stem])
        if ".drawio" in name:
            state.diagrams.append(_diagram(entry.path, None, "drawio", "drawio", stem, 1, False))
        elif _IMAGE_NAME.search(named):
            state.diagrams.append(_diagram(entry.path, None, "image", "image", named, 1, False))
        return
    if suffix in {".mmd", ".mermaid", ".puml", ".plantuml", ".pu", ".iuml", ".drawio", ".dio"} or (
        suffix in {".excalidraw", ".d2", ".dsl", ".gv", ".dot"}
    ):
        text = _read(state, entry, "diagram")
        if text is not None:
            _read_diagram_file(state, entry, text)
        return
    if suffix in {".yaml", ".yml", ".json"}:
        _read_spec_candidate(state, entry)
        return
    if suffix == ".tf":
        _read_terraform_slos(state, entry)
        return
    if suffix == ".proto" or suffix in {".graphql", ".gql", ".graphqls"}:
        text = _read(state, entry, None)
        if text is not None:
            _read_schema(state, entry, text)
        return
    fmt = _DOC_SUFFIXES.get(suffix)
    if fmt is None:
        return
    by_name = _kinds_by_name(entry.path, fmt)
    if fmt == "html" and not by_name:
        return
    if fmt == "text" and not by_name:
        return
    if name.startswith(("license", "copying", "notice")):
        return
    text = _read(state, entry, by_name[0] if by_name else "document")
    if text is None:
        return
    _read_document(state, entry, text, fmt, by_name)


# -------------------------------------------------------------------- documents


_LEVEL = re.compile(r"\bsev-? ?[0-5]\b|\bp[0-4]\b", re.IGNORECASE)


def _read_document(
    state: _State, entry: FileEntry, text: str, fmt: str, by_name: list[str]
) -> None:
    path = entry.path
    if fmt == "html":
        text = _html_text(text)
        fmt = "text"
    parsed = _parse(text, fmt)
    words = sum(len(_WORD.findall(line.text)) for line in parsed.lines if line.kind != "fence")
    stub = _is_stub(parsed.lines)
    state.documents.append(Document(path, fmt, words, tuple(parsed.headings), stub))
    for index, part in enumerate(_parts(path)[:-1]):
        if part in _DOC_DIR_NAMES:
            state.doc_dirs.add("/".join(PurePosixPath(path).parts[: index + 1]))
            break
    title = parsed.headings[0].text if parsed.headings else PurePosixPath(path).name
    slo_lines: set[int] = set()
    for kind in by_name:
        unit = _make_unit(
            kind, DOC_KINDS[kind], parsed, path, 0, len(parsed.lines), title, 1, "name"
        )
        state.units.append(unit)
        if kind in {"slo", "error-budget-policy"}:
            slo_lines.update(range(1, len(parsed.lines) + 1))
    for kind, (strong, weak) in _KIND_HEADINGS.items():
        if kind in by_name or fmt not in DOC_KINDS[kind].formats:
            continue
        covered_until = -1
        for index, heading in enumerate(parsed.headings):
            start = heading.line - 1
            lowered = heading.text.lower()
            if start < covered_until:
                continue
            is_strong = strong.search(lowered) is not None
            if not is_strong and not weak.search(lowered):
                continue
            end = _section_end(parsed, index)
            unit = _make_unit(
                kind,
                DOC_KINDS[kind],
                parsed,
                path,
                start + 1,
                end,
                heading.text,
                start + 1,
                "heading",
            )
            if not is_strong and not unit.substantive:
                continue
            covered_until = end
            state.units.append(unit)
            if kind in {"slo", "error-budget-policy"}:
                slo_lines.update(range(start + 1, end + 1))
    _content_units(state, parsed, path)
    if fmt in DOC_KINDS["severity"].formats and not any(
        u.kind == "severity" and u.path == path for u in state.units
    ):
        # Severity definitions are tables, lists or headings, not levels mentioned in prose.
        defining = "\n".join(
            line.text
            for line in parsed.lines
            if line.kind in {"ol", "ul", "heading"} or line.text.lstrip().startswith("|")
        )
        levels = {
            m.group(0).lower().replace(" ", "").replace("-", "") for m in _LEVEL.finditer(defining)
        }
        sev = sum(1 for level in levels if level.startswith("sev"))
        if max(sev, len(levels) - sev) >= 3:  # three levels of one scheme (SEV1… or P1…)
            unit = _make_unit(
                "severity",
                DOC_KINDS["severity"],
                parsed,
                path,
                0,
                len(parsed.lines),
                f"severity levels in {title!r}",
                1,
                "content",
            )
            state.units.append(unit)
    state.values.extend(_values(path, parsed, slo_lines))
    _diagrams_in_document(state, path, parsed)


def _unit_range(parsed: _Parsed, unit: DocUnit) -> tuple[int, int]:
    """(start, end) line indexes a unit covers."""
    if unit.matched_by != "heading":
        return 0, len(parsed.lines)
    for index, heading in enumerate(parsed.headings):
        if heading.line == unit.line:
            return heading.line - 1, _section_end(parsed, index)
    return unit.line - 1, len(parsed.lines)


def _content_units(state: _State, parsed: _Parsed, path: str) -> None:
    """Units found by what a section says rather than by its heading.

    An on-call guide without a "Rotation" heading may still describe the rotation;
    its text is judged as one (by content, never by the file name alone). Secret
    rotation procedures state their interval, kept as a ``rotation-interval`` value.
    """
    here = [u for u in state.units if u.path == path]
    if not any(u.kind == "on-call-rotation" for u in here):
        for unit in [u for u in here if u.kind == "on-call"][:1]:
            start, end = _unit_range(parsed, unit)
            state.units.append(
                _make_unit(
                    "on-call-rotation",
                    DOC_KINDS["on-call-rotation"],
                    parsed,
                    path,
                    start,
                    end,
                    f"rotation in {unit.title!r}",
                    unit.line,
                    "content",
                )
            )
    for unit in here:
        if unit.kind != "secret-rotation":
            continue
        start, end = _unit_range(parsed, unit)
        for index in range(start, end):
            line = parsed.lines[index]
            if line.kind in {"code", "fence", "blank"}:
                continue
            for match in _INTERVAL_VALUE.finditer(line.text.lower()):
                days = _interval_days(match)
                if days:
                    text = _quote(line.text)
                    state.values.append(
                        StatedValue("rotation-interval", f"{days}d", text, path, index + 1)
                    )


_INTERVAL_VALUE = re.compile(_INTERVAL)
_PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}
_ADVERB_DAYS = {
    "daily": 1,
    "weekly": 7,
    "monthly": 30,
    "quarterly": 91,
    "yearly": 365,
    "annually": 365,
}


def _interval_days(match: re.Match[str]) -> int | None:
    """Days in "every 30 days", "once a year", "quarterly" …"""
    text = match.group(0)
    if text in _ADVERB_DAYS:
        return _ADVERB_DAYS[text]
    number = re.search(r"\d+", text)
    unit = re.search(r"(day|week|month|quarter|year)", text)
    if unit is None:
        return None
    return (int(number.group(0)) if number else 1) * _PERIOD_DAYS[unit.group(1)]


def _diagrams_in_document(state: _State, path: str, parsed: _Parsed) -> None:
    for first, lang, close in parsed.fences:
        if lang not in _DIAGRAM_LANGS:
            continue
        body = "\n".join(line.text for line in parsed.lines[first + 1 : close])
        context = next(
            (h.text for h in reversed(parsed.headings) if h.line <= first + 1),
            PurePosixPath(path).name,
        )
        if lang == "mermaid":
            kind, edges = _mermaid(body)
            fmt = "mermaid"
        elif lang in {"plantuml", "puml"}:
            kind, edges = _plantuml(body)
            fmt = "plantuml"
        else:
            kind, edges, fmt = (
                "digraph" if lang in {"dot", "graphviz"} else lang,
                body.count("->") + body.count("--"),
                lang,
            )
        stub = not body.strip() or (edges == 0 and len(_WORD.findall(body)) < 3)
        state.diagrams.append(_diagram(path, first + 1, fmt, kind, context, edges, stub))
    # PlantUML written inline without a fence.
    for index, line in enumerate(parsed.lines):
        if line.kind == "text" and line.text.strip().startswith("@startuml"):
            body = "\n".join(x.text for x in parsed.lines[index : index + 200])
            body = body.split("@enduml")[0]
            kind, edges = _plantuml(body)
            state.diagrams.append(
                _diagram(
                    path, index + 1, "plantuml", kind, PurePosixPath(path).name, edges, edges == 0
                )
            )


def _read_diagram_file(state: _State, entry: FileEntry, text: str) -> None:
    path = entry.path
    suffix = entry.suffix
    context = PurePosixPath(path).stem
    if suffix in {".mmd", ".mermaid"}:
        kind, edges = _mermaid(text)
        state.diagrams.append(_diagram(path, 1, "mermaid", kind, context, edges, edges == 0))
    elif suffix in {".puml", ".plantuml", ".pu", ".iuml"}:
        kind, edges = _plantuml(text)
        state.diagrams.append(_diagram(path, 1, "plantuml", kind, context, edges, edges == 0))
    elif suffix in {".drawio", ".dio"}:
        cells = text.count("<mxCell")
        compressed = re.search(r"<diagram[^>]*>\s*[A-Za-z0-9+/=]{40,}", text) is not None
        elements = cells if cells else (1 if compressed else 0)
        state.diagrams.append(
            _diagram(
                path, 1, "drawio", "drawio", context, elements, elements <= 2 and not compressed
            )
        )
    elif suffix == ".excalidraw":
        try:
            data = json.loads(text)
        except ValueError as exc:
            state.problem(path, "diagram", f"invalid JSON: {getattr(exc, 'msg', exc)}")
            return
        elements = len(data.get("elements") or []) if isinstance(data, dict) else 0
        state.diagrams.append(
            _diagram(path, 1, "excalidraw", "excalidraw", context, elements, elements == 0)
        )
    elif suffix == ".dsl":
        if "workspace" not in text or "model" not in text:
            return
        edges = len(re.findall(r"->", text))
        state.diagrams.append(
            _diagram(path, 1, "structurizr", "structurizr", context, edges, edges == 0)
        )
    elif suffix == ".d2":
        edges = len(re.findall(r"->|<-|--", text))
        state.diagrams.append(_diagram(path, 1, "d2", "d2", context, edges, edges == 0))
    elif suffix in {".gv", ".dot"}:
        if not re.search(r"\b(di)?graph\b", text):
            return
        edges = text.count("->") + text.count("--")
        state.diagrams.append(_diagram(path, 1, "graphviz", "digraph", context, edges, edges == 0))


def _read_codeowners(state: _State, entry: FileEntry, text: str) -> None:
    rules = 0
    owners: set[str] = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) >= 2:
            rules += 1
            owners.update(p for p in parts[1:] if p.startswith("@") or "@" in p)
    state.codeowners.append(Codeowners(entry.path, rules, tuple(sorted(owners))))


def _read_schema(state: _State, entry: FileEntry, text: str) -> None:
    if entry.suffix == ".proto":
        services = re.findall(r"^\s*service\s+(\w+)\s*\{", text, re.MULTILINE)
        if not services:
            return
        rpcs = re.findall(r"^\s*rpc\s+\w+", text, re.MULTILINE)
        line = text[: text.find("service")].count("\n") + 1
        state.api_specs.append(
            ApiSpec(
                entry.path, line, "protobuf", services[0], "", services=len(services) if rpcs else 0
            )
        )
        return
    roots = re.findall(r"^\s*(?:extend\s+)?type\s+(Query|Mutation|Subscription)\b", text, re.M)
    if roots:
        line = text[: text.find("type " + roots[0])].count("\n") + 1
        state.api_specs.append(
            ApiSpec(
                entry.path, line, "graphql", PurePosixPath(entry.path).stem, "", services=len(roots)
            )
        )


# ------------------------------------------------------------ OpenAPI and SLOs

_SPEC_KEY = re.compile(r"^\s*\{?\s*[\"']?(openapi|swagger)[\"']?\s*:", re.MULTILINE)
_SLO_TOKENS = ("openslo", "prometheus/v1", "ServiceLevelObjective", "PrometheusServiceLevel")
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _load(text: str, path: str) -> list[YamlDocument]:
    """YAML (or JSON) documents with positions; JSON that YAML rejects is parsed without them."""
    try:
        return load_yaml_documents(text, path)
    except YamlProblem:
        if path.lower().endswith(".json"):
            return [YamlDocument(json.loads(text), path)]
        raise


def _read_spec_candidate(state: _State, entry: FileEntry) -> None:
    name = entry.name.lower()
    hinted = "openapi" in name or "swagger" in name
    if not entry.readable:
        if hinted:
            state.problem(entry.path, "api", entry.skipped or "binary file")
        return
    text = _read(state, entry, "api" if hinted else None)
    if text is None:
        return
    head = text[:4000]
    is_api = _SPEC_KEY.search(head) is not None
    is_slo = any(token in text for token in _SLO_TOKENS)
    if not (is_api or is_slo):
        return
    try:
        documents = _load(text, entry.path)
    except (YamlProblem, ValueError) as exc:
        if isinstance(exc, YamlProblem):
            reason, line = exc.problem.message, exc.problem.line
        else:
            reason, line = f"invalid JSON: {getattr(exc, 'msg', exc)}", getattr(exc, "lineno", None)
        state.problem(entry.path, "api" if is_api else "slo", reason, line)
        return
    for doc in documents:
        data = doc.data
        if not isinstance(data, dict):
            continue
        if is_api and ("openapi" in data or "swagger" in data):
            _read_openapi(state, entry, doc)
        elif is_slo:
            _read_slo(state, entry, doc)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _scheme_type(node: Any, swagger: bool) -> str:
    """What a security scheme definition is (``http bearer`` …), or ``invalid: <why>``."""
    if not isinstance(node, dict):
        return "invalid: not a mapping"
    if isinstance(node.get("$ref"), str):
        return "$ref"
    kind = node.get("type")
    if kind == "http" and not swagger:
        scheme = node.get("scheme")
        return f"http {str(scheme).lower()}" if scheme else "invalid: http scheme without `scheme`"
    if kind == "apiKey":
        where = node.get("in")
        if where not in {"header", "query", "cookie"} or not node.get("name"):
            return "invalid: apiKey needs `name` and `in` (header, query or cookie)"
        return f"apiKey in {where}"
    if kind == "oauth2":
        flows = node.get("flow") if swagger else node.get("flows")
        return "oauth2" if flows else "invalid: oauth2 without flows"
    if kind == "openIdConnect" and not swagger:
        return "openIdConnect" if node.get("openIdConnectUrl") else "invalid: no openIdConnectUrl"
    if kind == "mutualTLS" and not swagger:
        return "mutualTLS"
    if kind == "basic" and swagger:
        return "http basic"
    return f"invalid: unknown type {kind!r}" if kind else "invalid: no `type`"


def _requirement_names(
    value: Any, schemes: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...], bool, bool, str | None]:
    """(scheme names, secured, optional, problem) of a ``security`` list.

    A requirement list is secured when every alternative names defined, valid
    schemes; ``{}`` makes authentication optional; anything malformed, or a name
    ``schemes`` does not define, secures nothing and says why.
    """
    if value is None:
        return (), False, False, None
    if not isinstance(value, list):
        return (), False, False, f"`security` is a {type(value).__name__}, not a list"
    if not value:
        return (), False, False, None
    names: list[str] = []
    optional = False
    problem: str | None = None
    for requirement in value:
        if not isinstance(requirement, dict):
            problem = problem or "a security requirement is not a mapping of scheme names"
            continue
        if not requirement:
            optional = True
        for key, scopes in requirement.items():
            name = str(key)
            names.append(name)
            if not isinstance(scopes, list):
                problem = problem or f"the scopes of {name!r} are not a list"
            elif schemes is not None and name not in schemes:
                problem = problem or f"names undefined security scheme {name!r}"
            elif schemes is not None and schemes[name].startswith("invalid"):
                problem = problem or f"security scheme {name!r} is {schemes[name]}"
    secured = bool(names) and not optional and problem is None
    return tuple(dict.fromkeys(names)), secured, optional, problem


def _resolve_ref(state: _State, base: str, ref: str) -> Any:
    """Follow a relative ``$ref`` to another file (and JSON pointer); None when impossible."""
    target, _, pointer = ref.partition("#")
    if not target:
        return None
    joined = PurePosixPath(base).parent / target
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    entry = state.by_path.get("/".join(parts))
    if entry is None or not entry.readable:
        return None
    try:
        docs = _load(state.ctx.files.read_text(entry), entry.path)
    except (CollectorError, YamlProblem, ValueError):
        return None
    node: Any = docs[0].data if docs else None
    for key in [p for p in pointer.split("/") if p]:
        key = key.replace("~1", "/").replace("~0", "~")
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _read_openapi(state: _State, entry: FileEntry, doc: YamlDocument) -> None:
    data = doc.data
    version = str(data.get("openapi") or data.get("swagger") or "")
    fmt = "swagger" if "swagger" in data else "openapi"
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    components = data.get("components") if isinstance(data.get("components"), dict) else {}
    schemes_node = (
        data.get("securityDefinitions") if fmt == "swagger" else components.get("securitySchemes")
    )
    defined = {
        str(name): _scheme_type(node, fmt == "swagger")
        for name, node in (schemes_node.items() if isinstance(schemes_node, dict) else ())
    }
    schemes = tuple(defined)
    global_names, global_secured, global_optional, global_problem = _requirement_names(
        data.get("security"), defined
    )
    operations: list[Operation] = []
    unresolved: list[str] = []
    paths = data.get("paths") if isinstance(data.get("paths"), dict) else {}
    for url, item in paths.items():
        if str(url).startswith("x-"):
            continue  # a specification extension, not a path
        if isinstance(item, dict) and isinstance(item.get("$ref"), str):
            resolved = _resolve_ref(state, entry.path, item["$ref"])
            if not isinstance(resolved, dict):
                unresolved.append(str(url))
                continue
            item = resolved
            line_of = doc.where(("paths", url))[0]
            lines: dict[str, int | None] = {m: line_of for m in _METHODS}
        else:
            lines = {m: doc.where(("paths", url, m), key=True)[0] for m in _METHODS}
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            if "security" in op:
                names, secured, optional, problem = _requirement_names(op["security"], defined)
                if op["security"] is None:
                    problem = "`security:` is empty (null), not a list"
            else:
                names, secured, optional = global_names, global_secured, global_optional
                problem = global_problem
            operations.append(
                Operation(
                    method=method.upper(),
                    path=str(url),
                    operation_id=str(op["operationId"]) if op.get("operationId") else None,
                    secured=secured,
                    requirements=names,
                    line=lines[method],
                    optional_auth=optional,
                    problem=problem,
                )
            )
    state.api_specs.append(
        ApiSpec(
            path=entry.path,
            line=doc.where((fmt,), key=True)[0],
            format=fmt,
            title=str(info.get("title") or ""),
            version=version,
            schemes=schemes,
            global_security=global_names if global_secured else (),
            scheme_types=tuple(defined.items()),
            operations=tuple(operations),
            unresolved=tuple(unresolved),
        )
    )


_LE = re.compile(r'le\s*=\s*\\?"([\d.]+)')


def _latency_from_query(query: str) -> str | None:
    match = _LE.search(query)
    if not match:
        return None
    value = float(match.group(1))
    if "_milliseconds" in query or "_ms_" in query or "_ms{" in query:
        value = value / 1000
    return _seconds(value)


def _seconds(value: float) -> str:
    if value < 1:
        return f"{round(value * 1000, 3):g}ms"
    return f"{value:g}s"


def _classify_slo(text: str, has_latency: bool) -> str:
    low = text.lower()
    if has_latency or re.search(r"latency|duration|response.?time|slow", low):
        return "latency"
    if re.search(r"availab|uptime|error|success|5xx|requests|failure", low):
        return "availability"
    return "other"


def _percent(value: Any, fraction: bool) -> float | None:
    try:
        number = float(str(value).rstrip("%"))
    except ValueError:
        return None
    if fraction and number <= 1:
        number *= 100
    return round(number, 6) if 0 < number <= 100 else None


def _read_slo(state: _State, entry: FileEntry, doc: YamlDocument) -> None:
    data = doc.data
    api = str(data.get("apiVersion") or "")
    kind = str(data.get("kind") or "")
    meta = _dict(data.get("metadata"))
    spec = _dict(data.get("spec"))
    path = entry.path
    if api.startswith("openslo/") and kind == "SLO":
        name = str(meta.get("name") or "slo")
        service = str(spec.get("service") or "")
        windows = _list(spec.get("timeWindow"))
        window = next((str(w.get("duration")) for w in windows if isinstance(w, dict)), None)
        indicator = json.dumps(spec.get("indicator") or spec.get("indicatorRef") or "")
        described = f"{name} {spec.get('description') or ''} {indicator}"
        for index, objective in enumerate(spec.get("objectives") or []):
            if not isinstance(objective, dict):
                continue
            target = (
                _percent(objective["targetPercent"], False)
                if "targetPercent" in objective
                else _percent(objective.get("target"), True)
            )
            label = str(objective.get("displayName") or name)
            threshold = _latency_from_query(indicator)
            if threshold is None and objective.get("value") is not None and "op" in objective:
                duration = re.search(_DURATION, label, re.IGNORECASE)
                if duration:
                    threshold = _duration(duration.group(1), duration.group(2))
            slo_kind = _classify_slo(f"{described} {label}", threshold is not None)
            state.slos.append(
                SloObjective(
                    label,
                    service,
                    path,
                    doc.where(("spec", "objectives", index))[0],
                    "openslo",
                    slo_kind,
                    target,
                    window,
                    threshold if slo_kind == "latency" else None,
                )
            )
        return
    sloth_spec: dict[str, Any] | None = None
    base: tuple[str, ...] = ()
    if str(data.get("version")) == "prometheus/v1" and isinstance(data.get("slos"), list):
        sloth_spec = data
    elif kind == "PrometheusServiceLevel" and isinstance(spec.get("slos"), list):
        sloth_spec, base = spec, ("spec",)
    if sloth_spec is not None:
        service = str(sloth_spec.get("service") or "")
        for index, slo in enumerate(sloth_spec["slos"]):
            if not isinstance(slo, dict):
                continue
            name = str(slo.get("name") or "slo")
            sli = json.dumps(slo.get("sli") or "")
            threshold = _latency_from_query(sli)
            slo_kind = _classify_slo(
                f"{name} {slo.get('description') or ''} {sli}", threshold is not None
            )
            state.slos.append(
                SloObjective(
                    name,
                    service,
                    path,
                    doc.where((*base, "slos", index))[0],
                    "sloth",
                    slo_kind,
                    _percent(slo.get("objective"), False),
                    None,
                    threshold if slo_kind == "latency" else None,
                )
            )
        return
    if kind == "ServiceLevelObjective" and "pyrra" in api:
        name = str(meta.get("name") or "slo")
        indicator_spec = _dict(spec.get("indicator"))
        text = json.dumps(indicator_spec)
        threshold = _latency_from_query(text) if "latency" in indicator_spec else None
        slo_kind = (
            "latency" if "latency" in indicator_spec else _classify_slo(f"{name} {text}", False)
        )
        if slo_kind == "other" and ("ratio" in indicator_spec or "bool_gauge" in indicator_spec):
            slo_kind = "availability"
        labels = _dict(meta.get("labels"))
        state.slos.append(
            SloObjective(
                name,
                str(labels.get("service") or labels.get("app") or ""),
                path,
                doc.where(("spec", "target"))[0] or doc.where(("kind",))[0],
                "pyrra",
                slo_kind,
                _percent(spec.get("target"), False),
                str(spec.get("window")) if spec.get("window") else None,
                threshold,
            )
        )


_TF_SLO = re.compile(
    r'^[ \t]*resource\s+"(google_monitoring_slo|datadog_service_level_objective)"\s+"([\w-]+)"',
    re.MULTILINE,
)


def _read_terraform_slos(state: _State, entry: FileEntry) -> None:
    if not entry.readable:
        return
    text = _read(state, entry, None)
    if text is None or (
        "google_monitoring_slo" not in text and "service_level_objective" not in text
    ):
        return
    matches = list(_TF_SLO.finditer(text))
    for i, match in enumerate(matches):
        body = text[match.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        line = text[: match.start()].count("\n") + 1
        rtype, rname = match.group(1), match.group(2)
        if rtype == "google_monitoring_slo":
            goal = re.search(r"^\s*goal\s*=\s*([\d.]+)", body, re.MULTILINE)
            days = re.search(r"rolling_period_days\s*=\s*(\d+)", body)
            target = _percent(goal.group(1), True) if goal else None
            window = f"{days.group(1)}d" if days else None
            latency = re.search(r"distribution_cut|latency", body) is not None
        else:
            goal = re.search(r"^\s*target\s*=\s*([\d.]+)", body, re.MULTILINE)
            frame = re.search(r'timeframe\s*=\s*"(\w+)"', body)
            target = _percent(goal.group(1), False) if goal else None
            window = frame.group(1) if frame else None
            latency = "latency" in body.lower()
        state.slos.append(
            SloObjective(
                rname,
                "",
                entry.path,
                line,
                rtype,
                "latency" if latency else _classify_slo(body, False),
                target,
                window,
            )
        )
