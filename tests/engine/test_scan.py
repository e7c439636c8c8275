"""The engine over fake facts: mapping, applicability, waivers, crashes, stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prr.checks.registry import Check, CheckContext
from prr.collectors.annotations import AnnotationCollector
from prr.collectors.base import CollectContext, Collector, StaticCollector
from prr.engine.scan import ScanOptions, run_scan
from prr.engine.status import Verdict
from prr.model.checklist import Stage
from prr.model.evidence import Evidence, Result, Source, Status

RATE = "security.authorization.api-rate-limiting-enabled"
PROBES = "infrastructure.compute.health-checks-configured"
CDN = "infrastructure.networking.cdn-configured"
DB = "infrastructure.database.connection-pooling-configured"


@dataclass(frozen=True)
class Flags:
    rate_limited: bool
    probes: bool


def _rate(ctx: CheckContext) -> Iterable[Result]:
    flags = ctx.get(Flags)
    evidence = Evidence("ingress.yaml has no limit-rps annotation", path="k8s/ingress.yaml", line=4)
    if flags.rate_limited:
        yield ctx.passed(RATE, "rate limited", evidence)
    else:
        yield ctx.failed(
            RATE, "no rate limiting on the ingress", evidence, remediation="add limit-rps"
        )
    yield ctx.failed(CDN, "no CDN")


def _probes(ctx: CheckContext) -> Iterable[Result]:
    flags = ctx.get(Flags)
    yield (ctx.passed if flags.probes else ctx.failed)(
        PROBES, "probes", Evidence("deploy", path="d.yaml")
    )
    yield ctx.passed(DB, "pool")


def _crash(ctx: CheckContext) -> Iterable[Result]:
    raise ZeroDivisionError("secret=hunter2")


def _stray(ctx: CheckContext) -> Iterable[Result]:
    yield ctx.passed(RATE, "not mine to decide")


CHECKS = [
    Check("test.rate", "rate", (RATE, CDN), (Flags,), _rate, __name__),
    Check("test.probes", "probes", (PROBES, DB), (Flags,), _probes, __name__),
]


def scan(tmp_path: Path, flags: Flags, checks: list[Check] = CHECKS, collectors=None, **kw):
    collectors = collectors or [_static(flags), AnnotationCollector]
    options = ScanOptions(root=tmp_path, collectors=collectors, checks=checks, **kw)
    return run_scan(options)


def _static(flags: Flags) -> type[Collector]:
    class FlagCollector(StaticCollector):
        name = "flags"
        facts_type = Flags

        def __init__(self) -> None:
            super().__init__(flags, "flags")

    return FlagCollector


def test_results_map_onto_items_and_verdict(tmp_path: Path) -> None:
    good = scan(tmp_path, Flags(True, True))
    assert good.verdict is Verdict.CONDITIONAL  # CDN fails (medium) and criticals stay unknown
    bad = scan(tmp_path, Flags(False, True))
    assert bad.verdict is Verdict.NOT_READY
    rate = next(i for i in bad.items if i.id == RATE)
    assert rate.status is Status.FAIL and rate.source is Source.VERIFIED and rate.is_blocker
    assert rate.results[0].remediation == "add limit-rps"
    untouched = next(i for i in bad.items if i.id == "reliability.alerting.error-rate-alerts")
    assert (
        untouched.status is Status.UNKNOWN
        and untouched.source is Source.NONE
        and untouched.is_issue
    )
    assert len(bad.items) == 158


def test_stage_changes_severity(tmp_path: Path) -> None:
    beta = scan(tmp_path, Flags(False, True), stage=Stage.BETA)
    rate = next(i for i in beta.items if i.id == RATE)
    assert not rate.is_blocker and rate.is_issue


def test_traits_make_items_not_applicable_only_when_declared(tmp_path: Path) -> None:
    undeclared = scan(tmp_path, Flags(True, True))
    assert next(i for i in undeclared.items if i.id == DB).status is Status.PASS
    (tmp_path / "prr.yaml").write_text("service: s\ntraits: [http_api]\n")
    declared = scan(tmp_path, Flags(True, True))
    db = next(i for i in declared.items if i.id == DB)
    assert db.status is Status.NOT_APPLICABLE and "database" in db.message


def test_waivers_from_prr_yaml_and_inline(tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text(
        f"service: s\nwaivers:\n  - id: {RATE}\n    reason: edge proxy limits\n    owner: '@lead'\n"
        f"  - id: {CDN}\n    reason: old\n    expires: 2020-01-01\n  - id: no.such.id\n    reason: typo\n"
    )
    (tmp_path / "deploy.yaml").write_text(
        '# prr:ignore test.probes reason="probes come from the mesh"\n'
    )
    assessment = scan(tmp_path, Flags(False, False), today=dt.date(2026, 11, 23))
    rate = next(i for i in assessment.items if i.id == RATE)
    assert rate.waiver and rate.waiver.reason == "edge proxy limits" and not rate.is_blocker
    probes = next(i for i in assessment.items if i.id == PROBES)
    assert probes.waiver and probes.waiver.source == "deploy.yaml:1"
    cdn = next(i for i in assessment.items if i.id == CDN)
    assert cdn.waiver is None and cdn.is_issue, "an expired waiver stops applying"
    assert [w.id for w in assessment.expired_waivers] == [CDN]
    assert [w.id for w in assessment.unused_waivers] == ["no.such.id"]
    assert assessment.verdict is Verdict.CONDITIONAL


def test_inline_waiver_without_reason_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.tf").write_text("# prr:ignore test.rate\n")
    assessment = scan(tmp_path, Flags(False, True))
    assert next(i for i in assessment.items if i.id == RATE).is_blocker
    assert any(
        "no reason" in e.reason and e.source == "x.tf" and e.line == 1 for e in assessment.errors
    )


def test_crashing_check_and_stray_result(tmp_path: Path) -> None:
    checks = [
        Check("test.crash", "crash", (RATE,), (Flags,), _crash, __name__),
        Check("test.stray", "stray", (PROBES,), (), _stray, __name__),
    ]
    assessment = scan(tmp_path, Flags(True, True), checks=checks)
    rate = next(i for i in assessment.items if i.id == RATE)
    assert rate.status is Status.UNKNOWN and "ZeroDivisionError" in rate.message
    assert "hunter2" not in rate.message, "exception messages may hold data and are not shown"
    assert any("does not declare" in e.reason for e in assessment.errors)


def test_crashing_collector_makes_its_items_unknown(tmp_path: Path) -> None:
    class Broken(Collector):
        name = "broken"
        facts_type = Flags

        def collect(self, ctx: CollectContext) -> Flags:
            raise OSError("disk on fire")

    assessment = scan(tmp_path, Flags(True, True), collectors=[Broken])
    rate = next(i for i in assessment.items if i.id == RATE)
    assert rate.status is Status.UNKNOWN and "collector crashed" in rate.message
    assert any(e.collector == "broken" for e in assessment.errors)
