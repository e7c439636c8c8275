"""Security evidence from documents: API specs' security requirements, legal pages.

An OpenAPI/Swagger spec shows which operations declare a security requirement
(globally or per operation); operations that opt out are listed, except the
routes that are public by design (health, metrics, login …). Privacy policy and
terms of service pass only with real content, not a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prr.checks.operations.docs import MAX_EVIDENCE, doc_item
from prr.checks.registry import CheckContext, check
from prr.collectors.docs import ApiSpec, DocsFacts, Operation
from prr.model.evidence import Evidence, Result

PUBLIC_FIRST = frozenset(
    {"health", "healthz", "healthcheck", "livez", "readyz", "ready", "live", "liveness"}
    | {"readiness", "ping", "metrics", "version", "status", "openapi", "openapi.json"}
    | {"openapi.yaml", "swagger", "swagger.json", "swagger-ui", "docs", "login", "logout"}
    | {"signin", "sign-in", "signup", "sign-up", "register", "token", "oauth", "oauth2"}
    | {".well-known", "forgot-password", "reset-password", "password-reset"}
)
"""First path segments (after ``/api`` and ``/v1``) of routes that are public by design."""
AUTH_ACTIONS = frozenset(
    {"login", "logout", "signin", "signup", "register", "token", "callback", "authorize"}
    | {"refresh", "forgot-password", "reset-password"}
)
_PREFIX = re.compile(r"api|v\d+(\.\d+)?", re.IGNORECASE)


def is_public_by_design(operation: Operation) -> bool:
    """Health, metrics, docs and login-type routes (``/healthz``, ``/v1/auth/token`` …)."""
    segments = [s.lower() for s in operation.path.split("/") if s]
    while segments and _PREFIX.fullmatch(segments[0]):
        segments.pop(0)
    if not segments:
        return False
    if len(segments) == 2 and segments[1].startswith("{"):
        return False  # ``/status/{orderId}`` is a resource, not a probe
    if segments[0] in PUBLIC_FIRST:
        return len(segments) <= 2
    return len(segments) == 2 and segments[1] in AUTH_ACTIONS


def _op(operation: Operation) -> str:
    name = f" ({operation.operation_id})" if operation.operation_id else ""
    return f"{operation.method} {operation.path}{name}"


def _why_open(operation: Operation) -> str:
    """Why an operation counts as unprotected, in words for the message."""
    if operation.problem:
        return f" ({operation.problem})"
    if operation.optional_auth:
        return " (security: [{}] allows anonymous calls)"
    return ""


def _schemes(spec: ApiSpec) -> str:
    described = [f"{name}: {kind}" for name, kind in spec.scheme_types]
    return ", ".join(described) or "none defined"


@check(
    "security.openapi-auth",
    items=["security.authorization.all-endpoints-protected"],
    needs=[DocsFacts],
)
def openapi_auth(ctx: CheckContext) -> Iterator[Result]:
    """Every operation in the API specs declares a security requirement, except public routes."""
    item = "security.authorization.all-endpoints-protected"
    docs = ctx.get(DocsFacts)
    specs = [s for s in docs.api_specs if s.format in {"openapi", "swagger"}]
    problems = docs.unreadable_of("api")
    open_ops: list[tuple[ApiSpec, Operation]] = []
    public: list[tuple[ApiSpec, Operation]] = []
    total = 0
    for spec in specs:
        for operation in spec.operations:
            total += 1
            if operation.secured:
                continue
            (public if is_public_by_design(operation) else open_ops).append((spec, operation))
    if open_ops:
        spec = open_ops[0][0]
        scheme = spec.schemes[0] if spec.schemes else "bearerAuth"
        described = [_op(o) + _why_open(o) for _, o in open_ops[:8]]
        yield ctx.failed(
            item,
            f"{len(open_ops)} of {total} API operation(s) declare no usable security requirement: "
            + "; ".join(described)
            + (f" and {len(open_ops) - 8} more" if len(open_ops) > 8 else ""),
            *(
                Evidence(
                    f"{_op(o)} has no usable security requirement{_why_open(o)}; "
                    f"schemes {_schemes(s)}",
                    s.path,
                    o.line,
                )
                for s, o in open_ops[:MAX_EVIDENCE]
            ),
            remediation=_remediation(spec, scheme),
        )
        return
    unresolved = [(s, p) for s in specs for p in s.unresolved]
    if problems or unresolved:
        reasons = [f"{p.path}: {p.reason}" for p in problems[:3]] + [
            f"{s.path}: path {p} is a $ref that could not be followed" for s, p in unresolved[:3]
        ]
        yield ctx.unknown(
            item,
            "API operations could not all be read: " + "; ".join(reasons),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:4]),
            *(Evidence(f"unresolved $ref for {p}", s.path, s.line) for s, p in unresolved[:4]),
        )
        return
    if total:
        note = f"; public by design: {', '.join(_op(o) for _, o in public[:5])}" if public else ""
        used = {n for s in specs for o in s.operations if o.secured for n in o.requirements}
        yield ctx.passed(
            item,
            f"All {total - len(public)} non-public operation(s) in "
            + ", ".join(s.path for s in specs[:3])
            + " declare a security requirement ("
            + ", ".join(
                sorted({f"{n}: {k}" for s in specs for n, k in s.scheme_types if n in used})
            )
            + f"){note}",
            *(_spec_evidence(s) for s in specs[:MAX_EVIDENCE]),
        )


def _spec_evidence(spec: ApiSpec) -> Evidence:
    required = f", required globally: {', '.join(spec.global_security)}"
    return Evidence(
        f"{spec.format} {spec.version}: {len(spec.operations)} operation(s), schemes "
        + _schemes(spec)
        + (required if spec.global_security else ""),
        spec.path,
        spec.line,
    )


def _remediation(spec: ApiSpec, scheme: str) -> str:
    if spec.format == "swagger":
        return (
            f"In {spec.path}, define the scheme and require it globally, opting public routes "
            "out with `security: []`:\n\nsecurityDefinitions:\n  "
            f"{scheme}:\n    type: apiKey\n    in: header\n    name: Authorization\n"
            f"security:\n  - {scheme}: []\n"
        )
    return (
        f"In {spec.path}, require authentication globally and opt only public routes out "
        "(and enforce the same in the server or gateway):\n\ncomponents:\n  securitySchemes:\n"
        f"    {scheme}:\n      type: http\n      scheme: bearer\nsecurity:\n  - {scheme}: []\n"
        "paths:\n  /healthz:\n    get:\n      security: []   # public by design\n"
    )


@check(
    "security.legal-docs",
    items=[
        "security.compliance.privacy-policy-published",
        "security.compliance.terms-of-service-published",
    ],
    needs=[DocsFacts],
)
def legal_docs(ctx: CheckContext) -> Iterator[Result]:
    """The privacy policy and terms of service in the repository have real content."""
    docs = ctx.get(DocsFacts)
    yield from doc_item(
        ctx,
        "security.compliance.privacy-policy-published",
        docs,
        "privacy",
        "Privacy policy",
        absent_fails=False,
    )
    yield from doc_item(
        ctx,
        "security.compliance.terms-of-service-published",
        docs,
        "terms",
        "Terms of service",
        absent_fails=False,
    )
