"""Run a repository scan: collect evidence, run checks, decide every item.

:func:`run_scan` is the one entry point the interfaces use. It never raises
for bad input in the repository: unreadable files, crashing collectors and
crashing checks become scan errors, and the items that depended on them stay
unknown.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prr._version import __version__
from prr.checks.registry import Check, CheckContext, load_builtin_checks
from prr.collectors.annotations import AnnotationFacts
from prr.collectors.base import (
    CollectContext,
    Collector,
    Facts,
    MissingFacts,
    load_builtin_collectors,
)
from prr.collectors.files import build_index
from prr.collectors.live.base import LiveCollector, LiveLimits, load_builtin_live_collectors
from prr.collectors.traits import TraitFacts
from prr.engine.live import collect_live
from prr.engine.status import (
    AppliedWaiver,
    CategoryStatus,
    ItemAssessment,
    Verdict,
    category_status,
    combine,
    verdict,
)
from prr.errors import Problem
from prr.model.checklist import Category, Checklist, ItemRef, Stage
from prr.model.evidence import Result, ScanError, Source, Status
from prr.model.loader import load_checklist
from prr.model.target import Target, TargetError, Waiver, load_target

Progress = Callable[[str, int, int], None]


@dataclass
class CategorySummary:
    """A category's line in the executive summary."""

    category: Category
    status: CategoryStatus
    items: list[ItemAssessment]

    @property
    def blockers(self) -> list[ItemAssessment]:
        return [i for i in self.items if i.is_blocker]

    @property
    def issues(self) -> list[ItemAssessment]:
        return [i for i in self.items if i.is_issue]

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status is status)


@dataclass
class Assessment:
    """The outcome of one scan of one target, mapped onto its checklist."""

    target: Target
    checklist: Checklist
    stage: Stage
    root: str
    items: list[ItemAssessment]
    errors: list[ScanError]
    started_at: dt.datetime
    duration_s: float
    commit: str | None = None
    traits: frozenset[str] = frozenset()
    checks_run: int = 0
    files_indexed: int = 0
    expired_waivers: list[Waiver] = field(default_factory=list)
    unused_waivers: list[Waiver] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    """Live environments read in this scan (empty for a repository-only scan)."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that are not errors (e.g. drill results too old to count)."""
    facts: Facts | None = field(default=None, repr=False, compare=False)
    """The repository facts the checks saw (for reports: architecture, runbooks)."""
    tool_version: str = __version__

    @property
    def verdict(self) -> Verdict:
        return verdict(self.items)

    @property
    def categories(self) -> list[CategorySummary]:
        out = []
        for category in self.checklist.categories:
            items = [i for i in self.items if i.ref.category.id == category.id]
            if items:
                out.append(CategorySummary(category, category_status(items), items))
        return out

    @property
    def blockers(self) -> list[ItemAssessment]:
        return [i for i in self.items if i.is_blocker]

    @property
    def issues(self) -> list[ItemAssessment]:
        return [i for i in self.items if i.is_issue]

    @property
    def accepted_risks(self) -> list[ItemAssessment]:
        return [i for i in self.items if i.is_accepted_risk]

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status is status)

    @property
    def decided(self) -> list[ItemAssessment]:
        """Items an automated check decided (pass, fail or not applicable from evidence)."""
        return [i for i in self.items if i.source in (Source.VERIFIED, Source.DRILL)]

    @property
    def verified_share(self) -> float:
        return len(self.decided) / len(self.items) if self.items else 0.0


@dataclass
class ScanOptions:
    """What to scan and how."""

    root: Path
    checklist: str | None = None
    stage: Stage | None = None
    target_file: Path | None = None
    today: dt.date | None = None
    collectors: Iterable[type[Collector]] | None = None
    checks: Iterable[Check] | None = None
    live: bool = False
    environments: list[str] | None = None
    """Live environments to read (default: all in prr.yaml)."""
    live_collectors: Iterable[type[LiveCollector]] | None = None
    live_limits: LiveLimits | None = None
    drill_store_url: str | None = None
    """Where drill outcomes are read from (default: PRR_DATABASE_URL or .prr/prr.db if present)."""
    drill_max_age_days: int = 90


def _crash(what: str, exc: Exception) -> str:
    """Name the exception and where it happened, without its message (it may hold data)."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{what} crashed: {type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"


def _git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def collect_facts(
    root: Path,
    target: Target,
    collectors: Iterable[type[Collector]],
    progress: Progress | None = None,
) -> tuple[Facts, int]:
    """Index the repository and run every collector; errors are recorded, never raised."""
    index = build_index(root, excludes=target.exclude, max_bytes=target.max_file_bytes)
    settings = {"target": target, "secrets": target.secrets.model_dump()}
    ctx = CollectContext(root, index, settings)
    facts = Facts(list(index.errors))
    classes = list(collectors)
    for number, cls in enumerate(classes, start=1):
        if progress:
            progress(f"collect {cls.name}", number, len(classes))
        try:
            facts.add(cls().collect(ctx))
        except Exception as exc:  # a crashing collector must not end the scan
            reason = _crash("collector", exc)
            facts.fail(cls.facts_type, reason)
            facts.errors.append(ScanError(cls.name, reason, cls.name))
    facts.errors.extend(ctx.errors)
    if facts.has(TraitFacts):
        facts.traits.update(facts.get(TraitFacts).detected)
    return facts, len(index)


def run_checks(
    checks: Iterable[Check],
    facts: Facts,
    traits: frozenset[str],
    progress: Progress | None = None,
    *,
    settings: dict[str, Any] | None = None,
    environment: str | None = None,
    production: bool = False,
    environments: dict[str, Facts] | None = None,
) -> tuple[list[Result], list[ScanError]]:
    """Run checks over facts. Crashes and missing facts become unknown results."""
    results: list[Result] = []
    errors: list[ScanError] = []
    listed = list(checks)
    for number, registered in enumerate(listed, start=1):
        if progress:
            progress(f"check {registered.id}", number, len(listed))
        ctx = CheckContext(
            registered.id,
            facts,
            traits,
            settings=settings or {},
            environment=environment,
            production=production,
            environments=environments or {},
        )
        try:
            produced = list(registered.func(ctx))
        except MissingFacts as exc:
            # Evidence nobody was asked to collect gives no opinion; evidence whose
            # collector failed makes the check's items unknown.
            produced = (
                []
                if not exc.failed
                else [
                    ctx.unknown(item, f"evidence unavailable: {exc.reason}")
                    for item in registered.items
                ]
            )
        except Exception as exc:  # a crashing check makes its items unknown, not the scan fail
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reason = (
                f"check crashed: {type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            )
            errors.append(ScanError(registered.id, reason, "checks"))
            produced = [ctx.unknown(item, reason) for item in registered.items]
        for result in produced:
            if result.item_id not in registered.items:
                errors.append(
                    ScanError(
                        registered.id,
                        f"returned a result for {result.item_id!r}, which it does "
                        f"not declare in items=[...] ({registered.module})",
                        "checks",
                    )
                )
                continue
            results.append(result)
    return results, errors


def _waivers(target: Target, facts: Facts) -> list[Waiver]:
    found = list(target.waivers)
    if facts.has(AnnotationFacts):
        for inline in facts.get(AnnotationFacts).waivers:
            found.append(
                Waiver(
                    id=inline.id,
                    reason=inline.reason,
                    owner=inline.owner,
                    expires=inline.expires,
                    source=f"{inline.path}:{inline.line}",
                )
            )
    return found


def assess_items(
    checklist: Checklist,
    stage: Stage,
    results: list[Result],
    traits: frozenset[str],
    traits_declared: bool,
    waivers: list[Waiver],
    today: dt.date,
) -> tuple[list[ItemAssessment], list[Waiver], list[Waiver]]:
    """Map results onto every item and apply applicability and waivers."""
    by_item: dict[str, list[Result]] = {}
    for result in results:
        by_item.setdefault(result.item_id, []).append(result)
    active = [w for w in waivers if not w.expired(today)]
    expired = [w for w in waivers if w.expired(today)]
    used: set[int] = set()
    items = []
    for ref in checklist:
        item = _assess(ref, stage, by_item.get(ref.id, []), traits, traits_declared)
        for number, waiver in enumerate(active):
            if item.status not in (Status.FAIL, Status.UNKNOWN):
                continue
            failing = [r for r in item.results if r.status in (Status.FAIL, Status.UNKNOWN)]
            covers_item = waiver.id == ref.id
            covers_checks = bool(failing) and all(r.check_id == waiver.id for r in failing)
            if covers_item or covers_checks:
                item.waiver = AppliedWaiver(
                    waiver.id,
                    waiver.reason,
                    waiver.source,
                    waiver.owner,
                    waiver.expires.isoformat() if waiver.expires else None,
                )
                used.add(number)
                break
        items.append(item)
    known_ids = {ref.id for ref in checklist} | {r.check_id for r in results}
    unused = [w for n, w in enumerate(active) if n not in used and w.id not in known_ids]
    return items, expired, unused


def _assess(
    ref: ItemRef, stage: Stage, results: list[Result], traits: frozenset[str], traits_declared: bool
) -> ItemAssessment:
    severity = ref.item.severity_at(stage)
    wanted = {t.value for t in ref.item.applies_when}
    if wanted and traits_declared and not wanted & traits:
        listed = ", ".join(sorted(wanted))
        return ItemAssessment(
            ref,
            severity,
            Status.NOT_APPLICABLE,
            Source.VERIFIED,
            f"applies to services with: {listed}; this service has none of them",
            results,
        )
    live = [r for r in results if r.live]
    repo = [r for r in results if not r.live]
    # Every piece of evidence counts: a live pass for one component (the database)
    # must not hide a file failure about another (the load balancer). When files
    # and the running system disagree, the failing side decides and the
    # disagreement is reported beside the verdict.
    status = combine(results)
    disagreement = ""
    repo_status, live_status = combine(repo), combine(live)
    if repo_status and live_status and {repo_status, live_status} == {Status.PASS, Status.FAIL}:
        disagreement = (
            f" — files and live systems disagree: repository evidence says "
            f"{repo_status.value}, the live system says {live_status.value}"
        )
    fields: dict[str, Any] = {}
    for result in [*repo, *live]:
        fields.update(result.fields)
    if status is None:
        return ItemAssessment(
            ref,
            severity,
            Status.UNKNOWN,
            Source.NONE,
            "not verified by any check; needs evidence or an answer",
        )
    deciding = [r for r in results if r.status is status]
    message = "; ".join(dict.fromkeys(r.message for r in deciding)) + disagreement
    source = (
        Source.DRILL if any(r.check_id.startswith("drill.") for r in deciding) else Source.VERIFIED
    )
    if status is Status.UNKNOWN:
        source = Source.NONE
    return ItemAssessment(ref, severity, status, source, message, results, fields=fields)


def run_scan(options: ScanOptions, progress: Progress | None = None) -> Assessment:
    """Scan the repository at ``options.root`` and return its assessment."""
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    root = options.root.resolve()
    target = load_target(root, options.target_file)
    checklist = load_checklist(options.checklist or _checklist_ref(target, root))
    stage = options.stage or target.stage
    collectors = options.collectors
    if collectors is None:
        collectors = sorted(load_builtin_collectors().values(), key=lambda c: c.name)
    facts, files = collect_facts(root, target, collectors, progress)
    declared = frozenset(t.value for t in target.traits or ())
    traits = declared | frozenset(facts.traits)
    checks = options.checks if options.checks is not None else load_builtin_checks().values()
    wanted = [c for c in checks if any(item in checklist for item in c.items)]
    repo_checks = [c for c in wanted if c.scope == "repository"]
    check_settings = {"target": target}
    results, check_errors = run_checks(
        repo_checks, facts, traits, progress, settings=check_settings
    )
    live_errors: list[ScanError] = []
    environments: list[str] = []
    if options.live:
        environments = _environments(target, options.environments)
        live_classes = options.live_collectors
        if live_classes is None:
            live_classes = sorted(load_builtin_live_collectors().values(), key=lambda c: c.name)
        if progress:
            progress("live: " + ", ".join(environments), 0, 1)
        live = collect_live(target, environments, live_classes, options.live_limits)
        live_errors = [e for env_facts in live.values() for e in env_facts.errors]
        for name, env_facts in live.items():
            env_results, env_errors = run_checks(
                [c for c in wanted if c.scope == "environment"],
                env_facts,
                traits,
                settings=check_settings,
                environment=name,
                production=target.environments[name].production,
            )
            results += env_results
            check_errors += env_errors
        if len(live) >= 2:
            cross, cross_errors = run_checks(
                [c for c in wanted if c.scope == "environments"],
                Facts(),
                traits,
                settings=check_settings,
                environments=live,
            )
            results += cross
            check_errors += cross_errors
    notes: list[str] = []
    drill_url = options.drill_store_url or _drill_store(root)
    if drill_url:
        drilled, notes = _drill_results(drill_url, target.service, options)
        results += drilled
    items, expired, unused = assess_items(
        checklist,
        stage,
        results,
        traits,
        target.traits is not None,
        _waivers(target, facts),
        options.today or dt.date.today(),
    )
    return Assessment(
        target=target,
        checklist=checklist,
        stage=stage,
        root=str(root),
        items=items,
        errors=[*facts.errors, *live_errors, *check_errors],
        started_at=started,
        duration_s=time.perf_counter() - clock,
        commit=_git_commit(root),
        traits=traits,
        checks_run=len(wanted),
        files_indexed=files,
        expired_waivers=expired,
        unused_waivers=unused,
        environments=environments,
        facts=facts,
        notes=notes,
    )


def _drill_store(root: Path) -> str | None:
    import os

    from prr.store.db import DATABASE_ENV

    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    local = root / ".prr" / "prr.db"
    return f"sqlite:///{local}" if local.is_file() else None


def _drill_results(url: str, service: str, options: ScanOptions) -> tuple[list[Result], list[str]]:
    """Fresh drill outcomes from the store; a store that cannot be read is a note, not a failure."""
    from prr.drills.evidence import fresh_results
    from prr.errors import PrrError
    from prr.store.db import Store

    try:
        store = Store(url)
    except PrrError as exc:
        return [], [f"drill results not read: {exc}"]
    try:
        return fresh_results(
            store, service, today=options.today, max_age_days=options.drill_max_age_days
        )
    finally:
        store.close()


def _environments(target: Target, wanted: list[str] | None) -> list[str]:
    known = list(target.environments)
    if not known:
        raise TargetError(
            [Problem("--live needs environments: none are described in prr.yaml", "prr.yaml")]
        )
    if not wanted:
        return known
    unknown = [name for name in wanted if name not in target.environments]
    if unknown:
        raise TargetError(
            [
                Problem(
                    f"no environment {unknown[0]!r} in prr.yaml; known: {', '.join(known)}",
                    "prr.yaml",
                )
            ]
        )
    return list(dict.fromkeys(wanted))


def _checklist_ref(target: Target, root: Path) -> str:
    ref = target.checklist
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        return str((root / ref).resolve())
    return ref
