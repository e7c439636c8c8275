"""Health endpoints as the running service answers them (``prr scan --live``).

The endpoint's ``health_path`` must answer 200 within the per-call timeout.
Whether the answer reports dependencies (a JSON body with keys such as
``checks``, ``dependencies``, ``db``, ``redis``) is recorded in the message:
a health check that ignores the database keeps sending traffic to instances
that cannot serve it.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from prr.model.evidence import Result, Status

HEALTH = "infrastructure.compute.health-checks-configured"

HEALTH_FIX = """\
Expose a cheap liveness endpoint and a readiness endpoint that checks the dependencies
the instance needs, answer 200 only when ready, and point the probes at them:
  livenessProbe:  {httpGet: {path: /healthz, port: http}, periodSeconds: 10}
  readinessProbe: {httpGet: {path: /readyz,  port: http}, periodSeconds: 5, failureThreshold: 3}
(nginx in front: `location = /healthz { proxy_pass http://app; }` with no auth or caching)"""


@check(
    "live.reliability.health-endpoint",
    items=[HEALTH],
    needs=[EndpointFacts],
    scope="environment",
)
def health_endpoint(ctx: CheckContext) -> Iterable[Result]:
    """The health path of every endpoint answers 200 within the timeout."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        health = e.health
        if health is None:
            continue
        evidence = (exchange_evidence("health check", health, "content-type", "cache-control"),)
        if not health.ok:
            findings.append(
                Finding(
                    Status.UNKNOWN,
                    f"{label(e)}: {health.url} gave no answer ({health.error})",
                    evidence,
                )
            )
        elif health.status != 200:
            findings.append(
                Finding(Status.FAIL, f"{label(e)}: {health.url} answered {health.status}", evidence)
            )
        else:
            deps = (
                f"reports dependencies: {', '.join(e.health_dependencies)}"
                if e.health_dependencies
                else "does not report its dependencies (no JSON checks/dependencies)"
            )
            findings.append(
                Finding(
                    Status.PASS,
                    f"{label(e)}: {health.url} answered 200 in {health.elapsed_ms:g} ms; {deps}",
                    evidence,
                )
            )
    yield from decide(ctx, HEALTH, findings, remediation=HEALTH_FIX)
