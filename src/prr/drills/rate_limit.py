"""``rate-limit``: burst one endpoint until the rate limiter answers 429, then check health.

A bounded burst (``requests`` at ``concurrency``, GET unless ``method=POST`` with
an empty body is asked for) goes to the endpoint's ``rate_limit_path`` (or
``path``, else ``/``). The drill passes when a 429 arrives within
``expect_limit_within`` requests and carries ``Retry-After``, and the health
path, asked right after the burst, is not limited. It records where the first
429 came (in send order), the Retry-After value and the ``X-RateLimit-*`` /
``RateLimit-*`` headers, and stops sending once ``stop_after`` answers in a row
were 429. Every request has a timeout; the whole run is bounded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from prr.collectors.live import tls
from prr.collectors.live.guard import AddressGuard, redact_url
from prr.drills.base import (
    Drill,
    DrillContext,
    DrillOption,
    DrillOutcome,
    DrillPlan,
    DrillRefused,
    register_drill,
)
from prr.drills.load import auth_line, pick_endpoint, target_url
from prr.errors import CollectorError
from prr.model.evidence import Evidence
from prr.model.target import Endpoint

RATE_LIMITING = "security.authorization.api-rate-limiting-enabled"
MAX_REQUESTS = 1000
MAX_CONCURRENCY = 100
MAX_HEALTH_CHECKS = 10
MAX_TIMEOUT_S = 60.0
BODY_BYTES = 64 * 1024
HEADER_VALUE_CHARS = 200
_LIMIT_HEADER = re.compile(r"^(x-)?rate-?limit|^retry-after$", re.IGNORECASE)


@dataclass
class Answer:
    """One request of the burst: its place in send order and what came back."""

    seq: int
    status: int | None
    ms: float
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def limit_headers(headers: httpx.Headers) -> dict[str, str]:
    """The rate-limit headers of an answer (``X-RateLimit-*``, ``RateLimit-*``, Retry-After)."""
    return {
        name.lower(): value[:HEADER_VALUE_CHARS]
        for name, value in headers.items()
        if _LIMIT_HEADER.match(name)
    }


def limit_per_minute(headers: dict[str, str]) -> int | None:
    """Requests per minute from a policy with a window (``RateLimit-Policy: 100;w=60``)."""
    for name in ("ratelimit-policy", "x-ratelimit-policy", "ratelimit-limit", "ratelimit"):
        value = headers.get(name)
        if not value:
            continue
        window = re.search(r"\bw=(\d+)", value)
        quota = re.search(r"\bq=(\d+)", value) or re.match(r"\s*(\d+)\s*[;,]", value)
        if quota and window and int(window.group(1)) > 0:
            return max(1, round(int(quota.group(1)) * 60 / int(window.group(1))))
    return None


@dataclass
class _Settings:
    endpoint: Endpoint
    url: str
    shown: str
    health_url: str
    health_shown: str
    method: str
    requests: int
    concurrency: int
    timeout: float
    expect_within: int
    stop_after: int
    health_checks: int
    auth: tuple[str, str] | None

    @property
    def worst_case_s(self) -> float:
        """Every request taking its whole timeout."""
        rounds = math.ceil(self.requests / self.concurrency)
        return (rounds + self.health_checks) * self.timeout + 5


def _option(ctx: DrillContext, name: str) -> Any:
    option = next(o for o in RateLimitDrill.options if o.name == name)
    return ctx.options.get(name, option.default)


def _settings(ctx: DrillContext) -> _Settings:
    endpoint = pick_endpoint(ctx, str(_option(ctx, "endpoint") or ""))
    path = str(_option(ctx, "path") or "") or endpoint.rate_limit_path or "/"
    url = target_url(endpoint, path)
    health_url = target_url(endpoint, endpoint.health_path)
    method = str(_option(ctx, "method")).upper()
    if method not in {"GET", "POST"}:
        raise DrillRefused("method must be GET or POST (POST is sent with an empty body)")
    requests = int(_option(ctx, "requests"))
    if not 1 <= requests <= MAX_REQUESTS:
        raise DrillRefused(f"requests must be between 1 and {MAX_REQUESTS}")
    concurrency = int(_option(ctx, "concurrency"))
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise DrillRefused(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    timeout = float(_option(ctx, "timeout"))
    if not 0 < timeout <= MAX_TIMEOUT_S:
        raise DrillRefused(f"timeout must be between 0 and {MAX_TIMEOUT_S:g} seconds")
    within = int(_option(ctx, "expect_limit_within")) or requests
    if not 1 <= within <= requests:
        raise DrillRefused("expect_limit_within must be between 1 and requests (0: requests)")
    stop_after = int(_option(ctx, "stop_after"))
    if stop_after < 1:
        raise DrillRefused("stop_after must be at least 1")
    checks = int(_option(ctx, "health_checks"))
    if not 0 <= checks <= MAX_HEALTH_CHECKS:
        raise DrillRefused(f"health_checks must be between 0 and {MAX_HEALTH_CHECKS}")
    s = _Settings(
        endpoint,
        url,
        redact_url(url),
        health_url,
        redact_url(health_url),
        method,
        requests,
        concurrency,
        timeout,
        within,
        stop_after,
        checks,
        auth_line(endpoint) if bool(_option(ctx, "auth")) else None,
    )
    return s


def _statuses(answers: list[Answer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        key = str(answer.status) if answer.status is not None else (answer.error or "error")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} × {k}" for k, n in counts.items())


class _Burst:
    """The burst's shared state: next sequence number, answers, when to stop."""

    def __init__(self, s: _Settings, client: httpx.AsyncClient, deadline: float) -> None:
        self.s = s
        self.client = client
        self.deadline = deadline
        """Loop time after which no request is sent (room is left for the health checks)."""
        self.out_of_time = False
        self.sent = 0
        self.answers: list[Answer] = []
        self.in_a_row = 0
        self.stopped_early = False

    async def request(self, method: str, url: str, seq: int) -> Answer:
        loop = asyncio.get_running_loop()
        started = loop.time()
        headers = {self.s.auth[0]: self.s.auth[1]} if self.s.auth else {}
        try:
            async with asyncio.timeout(self.s.timeout):
                request = self.client.build_request(
                    method, url, headers=headers, content=b"" if method == "POST" else None
                )
                response = await self.client.send(request, stream=True)
                try:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= BODY_BYTES:
                            break
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Answer(seq, None, (loop.time() - started) * 1000, "timeout")
        except httpx.ConnectError:
            return Answer(seq, None, (loop.time() - started) * 1000, "connect error")
        except httpx.HTTPError as exc:
            return Answer(seq, None, (loop.time() - started) * 1000, type(exc).__name__)
        return Answer(
            seq,
            response.status_code,
            (loop.time() - started) * 1000,
            headers=limit_headers(response.headers),
        )

    async def worker(self) -> None:
        s = self.s
        loop = asyncio.get_running_loop()
        while not self.stopped_early and self.sent < s.requests:
            if loop.time() >= self.deadline:
                self.out_of_time = True
                return
            self.sent += 1
            answer = await self.request(s.method, s.url, self.sent)
            self.answers.append(answer)
            self.in_a_row = self.in_a_row + 1 if answer.status == 429 else 0
            if self.in_a_row >= s.stop_after and not self.stopped_early:
                self.stopped_early = self.sent < s.requests


@register_drill
class RateLimitDrill(Drill):
    """Burst an endpoint until it answers 429 with Retry-After; health must stay exempt."""

    name = "rate-limit"
    title = "Burst an endpoint until rate limiting answers 429"
    items: ClassVar[tuple[str, ...]] = (RATE_LIMITING,)
    options: ClassVar[tuple[DrillOption, ...]] = (
        DrillOption("endpoint", str, "", "endpoint name; empty: the first"),
        DrillOption("path", str, "", "path to burst; empty: rate_limit_path, else /"),
        DrillOption("requests", int, 60, f"requests in the burst (at most {MAX_REQUESTS})"),
        DrillOption("concurrency", int, 10, f"requests in flight (at most {MAX_CONCURRENCY})"),
        DrillOption("timeout", float, 5.0, "seconds per request"),
        DrillOption("method", str, "GET", "GET, or POST with an empty body"),
        DrillOption(
            "expect_limit_within", int, 0, "the first 429 must come by this request (0: requests)"
        ),
        DrillOption("stop_after", int, 5, "stop after this many 429 answers in a row"),
        DrillOption("health_checks", int, 3, "GETs of the health path right after the burst"),
        DrillOption("auth", bool, False, "send the endpoint's auth_header (per-key limits)"),
    )

    def plan(self, ctx: DrillContext) -> DrillPlan:
        s = _settings(ctx)
        body = " with an empty body" if s.method == "POST" else ""
        steps = (
            f"{s.method}{body} {s.shown} up to {s.requests} times, {s.concurrency} at a time, "
            f"each with a {s.timeout:g}s timeout",
            f"stop once {s.stop_after} answers in a row are 429",
            f"pass when a 429 with Retry-After comes within {s.expect_within} requests",
            f"then GET {s.health_shown} {s.health_checks} times: it must not answer 429",
        )
        return DrillPlan(
            self.name,
            ctx.environment,
            tuple(dict.fromkeys((f"{s.method} {s.shown}", f"GET {s.health_shown}"))),
            steps,
            min(s.worst_case_s, ctx.timeout_s),
            s.requests + s.health_checks,
        )

    async def run(self, ctx: DrillContext) -> DrillOutcome:
        s = _settings(ctx)
        started = dt.datetime.now(dt.UTC)
        try:
            addresses = await AddressGuard().check_url(s.url, timeout=min(s.timeout, 10.0))
        except CollectorError as exc:
            return self._outcome(ctx, s, started, None, [], False, f"{s.shown}: {exc.args[0]}")
        ctx.note(f"{s.shown} resolves to {', '.join(addresses)}")
        context = tls.verifying_context(True, tls.ca_bundle())
        transport = httpx.AsyncHTTPTransport(
            verify=context,
            limits=httpx.Limits(
                max_connections=s.concurrency, max_keepalive_connections=s.concurrency
            ),
        )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(s.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "prr-drill-rate-limit"},
        )
        reserve = (s.health_checks + 1) * s.timeout + 2
        deadline = asyncio.get_running_loop().time() + max(1.0, ctx.timeout_s - reserve)
        burst = _Burst(s, client, deadline)
        health: list[Answer] = []
        try:
            ctx.note(f"burst: {s.method} {s.shown}, {s.requests} requests, {s.concurrency} at once")
            workers = [asyncio.create_task(burst.worker()) for _ in range(s.concurrency)]
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            ctx.note(
                f"burst: {burst.sent} sent, {_tally(_statuses(burst.answers))}"
                + (f"; stopped after {s.stop_after} × 429 in a row" if burst.stopped_early else "")
                + ("; stopped sending at the drill's time limit" if burst.out_of_time else "")
            )
            for index in range(s.health_checks):
                health.append(await burst.request("GET", s.health_url, index + 1))
            if health:
                ctx.note(f"health {s.health_shown}: {_tally(_statuses(health))}")
        except asyncio.CancelledError:
            ctx.note(
                f"interrupted after {burst.sent} of {s.requests} requests: stopped sending, "
                "connections closed"
            )
            raise
        finally:
            await client.aclose()
        return self._outcome(ctx, s, started, burst, health, True, "")

    def _outcome(
        self,
        ctx: DrillContext,
        s: _Settings,
        started: dt.datetime,
        burst: _Burst | None,
        health: list[Answer],
        ran: bool,
        reason: str,
    ) -> DrillOutcome:
        answers = sorted(burst.answers, key=lambda a: a.seq) if burst else []
        statuses = _statuses(answers)
        first = next((a for a in answers if a.status == 429), None)
        ok_answers = [a for a in answers if a.status is not None and 200 <= a.status < 400]
        baseline = ok_answers[0].headers if ok_answers else {}
        limited = first.headers if first else {}
        retry_after = limited.get("retry-after")
        health_limited = [a for a in health if a.status == 429]
        measurements: dict[str, Any] = {
            "url": s.shown,
            "method": s.method,
            "requests_sent": burst.sent if burst else 0,
            "concurrency": s.concurrency,
            "statuses": statuses,
            "first_429_at": first.seq if first else None,
            "allowed_before_limit": (
                sum(1 for a in ok_answers if a.seq < first.seq) if first else len(ok_answers)
            ),
            "expect_limit_within": s.expect_within,
            "retry_after": retry_after,
            "rate_limit_headers": {**baseline, **limited},
            "stopped_early": bool(burst and burst.stopped_early),
            "stopped_at_time_limit": bool(burst and burst.out_of_time),
            "health_path": s.health_shown,
            "health_statuses": _statuses(health),
            "health_exempt": None if not health else not health_limited,
        }
        problems: list[str] = []
        answered = [a for a in answers if a.status is not None]
        if not ran:
            problems.append(reason)
        elif not answered:
            problems.append(
                f"could not measure: none of {len(answers)} requests got an answer "
                f"({_tally(statuses)})"
            )
        elif first is None:
            other = next((a for a in answers if a.status in (503, 420) and a.seq > 1), None)
            problems.append(
                f"no 429 in {len(answers)} requests at concurrency {s.concurrency}: "
                f"{_tally(statuses)}"
                + (
                    f" (it answered {other.status} from request {other.seq}: limiting may be "
                    "on but should answer 429)"
                    if other
                    else ""
                )
                + (
                    f" (stopped at the drill's time limit after {len(answers)} of {s.requests})"
                    if burst and burst.out_of_time
                    else ""
                )
            )
        else:
            if first.seq > s.expect_within:
                problems.append(
                    f"the first 429 came at request {first.seq}, not within {s.expect_within}"
                )
            if not retry_after:
                problems.append("the 429 has no Retry-After header")
        if health_limited:
            problems.append(
                f"the health path {s.health_shown} answered 429 {len(health_limited)} of "
                f"{len(health)} times right after the burst: health checks are rate limited"
            )
        passed = not problems
        if passed and first is not None:
            message = (
                f"{s.method} {s.shown}: 429 from request {first.seq} "
                f"({measurements['allowed_before_limit']} allowed first) with Retry-After: "
                f"{retry_after}"
                + (
                    f"; health {s.health_shown} not limited ({_tally(_statuses(health))})"
                    if health
                    else ""
                )
            )
        else:
            message = f"{s.method} {s.shown}: " + "; ".join(problems)
        health_errors = [a for a in health if a.status is None or a.status >= 500]
        if health_errors:
            message += f" (health path: {_tally(_statuses(health_errors))})"
        fields: dict[str, Any] = {}
        per_minute = limit_per_minute({**baseline, **limited})
        if per_minute is not None:
            fields["default_limit_per_minute"] = per_minute
            measurements["limit_per_minute"] = per_minute
        evidence = Evidence(
            f"{len(answers)} × {s.method} {s.shown} at concurrency {s.concurrency}: "
            f"{_tally(statuses) or 'nothing sent'}"
            + (f"; first 429 at request {first.seq}, Retry-After {retry_after}" if first else ""),
            url=s.shown,
            query=f"{s.method} {s.shown} × {len(answers)}, {s.concurrency} at a time",
            value=measurements,
        )
        result = self.result(
            RATE_LIMITING,
            passed,
            message,
            evidence,
            environment=ctx.environment,
            fields=fields,
        )
        return DrillOutcome(
            self.name,
            ctx.environment,
            passed,
            message,
            started,
            dt.datetime.now(dt.UTC),
            measurements,
            [result],
            list(ctx.log),
        )
