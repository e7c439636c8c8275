"""Response times and static-asset delivery as the running endpoints show them.

Latency is a sequential sample of ``limits.latency_samples`` GETs of each
endpoint's health path (p50/p95/max), not a load test: the message says so.
The p95 is compared with the item's ``p95`` field when the caller passes one
(``settings["fields"][item]["p95"]``), else with the service's own objective in
``prr.yaml`` (``slo: {latency_p95: 300ms}``, read from ``settings["target"]``),
else with a default of 500 ms; the message names which. Static assets (an
endpoint's ``static_path``) are judged by their Cache-Control lifetime,
compression and signs of a CDN in the answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from prr.checks.registry import CheckContext, check
from prr.checks.security.live_http import (
    Finding,
    decide,
    endpoints,
    exchange_evidence,
    label,
    unreadable,
)
from prr.collectors.live.http import EndpointFacts
from prr.model.evidence import Evidence, Result, Status
from prr.model.fields import format_duration, parse_duration
from prr.model.target import Target

RESPONSE_TIMES = "performance.load-testing.response-times-acceptable"
STATIC = "performance.optimization.static-assets-cdn-d"
DEFAULT_P95_MS = 500.0
LONG_CACHE_S = 86400
CDN_HEADERS = (
    "via",
    "x-cache",
    "cf-ray",
    "cf-cache-status",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "x-served-by",
    "x-fastly-request-id",
    "akamai-cache-status",
    "x-azure-ref",
    "x-cdn",
    "age",
)
_COMPRESSIBLE = re.compile(r"text/|javascript|json|xml|svg|css|wasm", re.I)

LATENCY_FIX = (
    "Find where the time goes (tracing or server timing), cache or precompute the slow "
    "part, and set a latency SLO with an alert on p95; then confirm under load with "
    "`prr drill load`."
)
STATIC_FIX = """\
# nginx (or the CDN's cache policy) for content-hashed assets
location /static/ {
    gzip_static on;            # serve precompressed .gz (brotli_static with ngx_brotli)
    gzip on;
    gzip_types text/css application/javascript application/json image/svg+xml;
    add_header Cache-Control "public, max-age=31536000, immutable" always;
}
# and serve /static/ through the CDN in front of this origin"""


def _threshold(ctx: CheckContext) -> tuple[float, str]:
    """(p95 target in ms, where it came from): the item's field, prr.yaml's SLO, or the default."""
    fields: Any = ctx.settings.get("fields") or {}
    given = fields.get(RESPONSE_TIMES, {}).get("p95") if isinstance(fields, dict) else None
    if isinstance(given, dt.timedelta):
        return given.total_seconds() * 1000, "the item's p95 target"
    if isinstance(given, str):
        try:
            return parse_duration(given).total_seconds() * 1000, "the item's p95 target"
        except ValueError:
            pass
    target = ctx.settings.get("target")
    if isinstance(target, Target) and target.slo.latency_p95 is not None:
        return (
            target.slo.latency_p95.total_seconds() * 1000,
            "the target in prr.yaml (slo.latency_p95)",
        )
    return DEFAULT_P95_MS, "the default threshold (no p95 target in prr.yaml or for the item)"


def _ms(value: float) -> str:
    return format_duration(dt.timedelta(milliseconds=round(value, 1)))


@check(
    "live.performance.latency",
    items=[RESPONSE_TIMES],
    needs=[EndpointFacts],
    scope="environment",
)
def latency(ctx: CheckContext) -> Iterable[Result]:
    """p95 of a sequential sample of health-path GETs is under the target (500 ms by default)."""
    limit, source = _threshold(ctx)
    findings = []
    worst: float | None = None
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        sample = e.latency
        if sample is None:
            reason = e.health.error if e.health and e.health.error else "health path not answered"
            findings.append(Finding(Status.UNKNOWN, f"{label(e)}: not sampled ({reason})"))
            continue
        evidence = Evidence(
            f"{sample.samples} sequential GETs of {sample.url} from {sample.at}: "
            f"p50 {sample.p50_ms} ms, p95 {sample.p95_ms} ms, max {sample.max_ms} ms",
            url=sample.url,
            query=f"GET {sample.url} × {sample.requested}",
            value={
                "at": sample.at,
                "samples": sample.samples,
                "p50_ms": sample.p50_ms,
                "p95_ms": sample.p95_ms,
                "max_ms": sample.max_ms,
                "statuses": list(sample.statuses),
                "error": sample.error,
            },
        )
        if sample.error or sample.p95_ms is None:
            findings.append(
                Finding(
                    Status.UNKNOWN,
                    f"{label(e)}: sampling stopped after {sample.samples} of "
                    f"{sample.requested} ({sample.error})",
                    (evidence,),
                )
            )
            continue
        worst = max(worst or 0.0, sample.p95_ms)
        within = sample.p95_ms < limit
        findings.append(
            Finding(
                Status.PASS if within else Status.FAIL,
                f"{label(e)}: p95 {_ms(sample.p95_ms)} over {sample.samples} sequential "
                f"requests (p50 {_ms(sample.p50_ms or 0)}, max {_ms(sample.max_ms or 0)}) is "
                f"{'under' if within else 'over'} {_ms(limit)}, {source}; measured without load",
                (evidence,),
            )
        )
    fields = {"p95": _ms(worst)} if worst is not None else None
    yield from decide(ctx, RESPONSE_TIMES, findings, remediation=LATENCY_FIX, fields=fields)


def _max_age(cache_control: str) -> int | None:
    match = re.search(r"(?:s-maxage|max-age)\s*=\s*\"?(\d+)", cache_control, re.I)
    return int(match.group(1)) if match else None


@check(
    "live.performance.static-assets",
    items=[STATIC],
    needs=[EndpointFacts],
    scope="environment",
)
def static_assets(ctx: CheckContext) -> Iterable[Result]:
    """A named static asset is cached for long, compressed, and served through a CDN."""
    findings = []
    for e in endpoints(ctx):
        asset = e.static
        if asset is None:
            continue  # no static asset named for this endpoint
        if e.error:
            findings.append(unreadable(e))
            continue
        evidence = (
            exchange_evidence(
                "static asset (Accept-Encoding: gzip, br)",
                asset,
                "cache-control",
                "content-encoding",
                "content-type",
                *CDN_HEADERS,
            ),
        )
        if not asset.ok or asset.status != 200:
            why = asset.error or f"answered {asset.status}"
            findings.append(Finding(Status.UNKNOWN, f"{label(e)}: {asset.url} {why}", evidence))
            continue
        cache = asset.header("cache-control") or ""
        age = _max_age(cache)
        problems = []
        if "no-store" in cache.lower() or "no-cache" in cache.lower():
            problems.append(f"Cache-Control: {cache} prevents caching")
        elif age is None or age < LONG_CACHE_S:
            problems.append(
                f"cache lifetime {'not set' if age is None else f'{age}s'} (want ≥ {LONG_CACHE_S}s)"
            )
        content_type = asset.header("content-type") or ""
        encoding = asset.header("content-encoding")
        if _COMPRESSIBLE.search(content_type) and not encoding:
            problems.append(f"{content_type or 'content'} sent uncompressed")
        cdn = [h for h in CDN_HEADERS if asset.header(h)]
        if problems:
            findings.append(Finding(Status.FAIL, f"{label(e)}: {'; '.join(problems)}", evidence))
        elif not cdn:
            findings.append(
                Finding(
                    Status.UNKNOWN,
                    f"{label(e)}: {asset.url} is cached (max-age={age}) and compressed, but no "
                    "header shows a CDN (Via, X-Cache, CF-Ray …)",
                    evidence,
                )
            )
        else:
            findings.append(
                Finding(
                    Status.PASS,
                    f"{label(e)}: {asset.url} cached for {age}s, {encoding or 'not'} compressed, "
                    f"through a CDN ({', '.join(cdn)})",
                    evidence,
                )
            )
    yield from decide(ctx, STATIC, findings, remediation=STATIC_FIX)
