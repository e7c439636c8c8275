"""Secret rotation beyond Terraform: written procedures and External Secrets.

A rotation plan is either automated (an External Secrets generator that mints a
new password or token every ``refreshInterval``) or documented step by step (a
"Rotating secrets" section that names the secrets, where they live, how the
service picks the new value up and what happens to the old one). ExternalSecrets
that merely sync from a secret manager show that a rotated value reaches the
cluster, not that anyone rotates it: alone they decide nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from prr.checks.operations.docs import MAX_EVIDENCE, best, describe, shortfall, unit_evidence
from prr.checks.registry import CheckContext, check
from prr.collectors.base import MissingFacts
from prr.collectors.docs import DocsFacts
from prr.collectors.kubernetes import K8sObject, KubernetesFacts
from prr.model.evidence import Evidence, Result
from prr.model.fields import format_duration, parse_duration

ROTATION = "security.secrets-management.secrets-rotation-plan"

ROTATING_GENERATORS = frozenset(
    {
        "Password",
        "VaultDynamicSecret",
        "ECRAuthorizationToken",
        "GCRAccessToken",
        "ACRAccessToken",
        "STSSessionToken",
        "GithubAccessToken",
        "QuayAccessToken",
        "Webhook",
    }
)
"""External Secrets generators that produce a new credential on every refresh."""

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
DEFAULT_REFRESH = 3600.0
"""External Secrets Operator's refresh interval when none is set."""


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration (``1h30m``, ``720h``, ``0``); None when it is not one."""
    text = text.strip()
    if text == "0":
        return 0.0
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class ExternalSecret:
    """An ExternalSecret (or ClusterExternalSecret) and how its values are refreshed."""

    name: str
    path: str
    line: int | None
    refresh: str
    """As written, or ``1h (default)``."""
    seconds: float | None
    """None when ``refreshInterval`` is not a duration."""
    generators: tuple[str, ...]
    """Rotating generators it takes values from (``Password``, ``VaultDynamicSecret`` …)."""
    once: bool = False
    """``refreshPolicy: CreatedOnce``: never refreshed."""

    @property
    def refreshes(self) -> bool:
        return not self.once and bool(self.seconds)

    @property
    def rotates(self) -> bool:
        return self.refreshes and bool(self.generators)

    def evidence(self) -> Evidence:
        if self.rotates:
            what = f"{', '.join(self.generators)} generator renewed every {self.refresh}"
        elif self.refreshes:
            what = f"synced from the secret manager every {self.refresh}"
        else:
            what = "never refreshed (" + ("CreatedOnce" if self.once else self.refresh) + ")"
        return Evidence(f"ExternalSecret {self.name}: {what}", self.path, self.line)


def external_secrets(kube: KubernetesFacts) -> list[ExternalSecret]:
    """ExternalSecrets as deployed (one per source location)."""
    found: dict[tuple[str, int | None], ExternalSecret] = {}
    for obj in kube.objects:
        if obj.group != "external-secrets.io":
            continue
        keys: tuple[str, ...]
        if obj.kind == "ExternalSecret":
            keys = ("spec",)
        elif obj.kind == "ClusterExternalSecret":
            keys = ("spec", "externalSecretSpec")
        else:
            continue
        spec = obj.get(*keys)
        if not isinstance(spec, dict):
            continue
        found.setdefault(obj.locate(*keys), _external_secret(obj, spec, keys))
    return list(found.values())


def _external_secret(
    obj: K8sObject, spec: dict[str, object], keys: tuple[str, ...]
) -> ExternalSecret:
    raw = spec.get("refreshInterval")
    seconds: float | None
    if raw is None:
        refresh, seconds = "1h (default)", DEFAULT_REFRESH
    else:
        refresh = str(raw)
        seconds = go_duration(refresh)
    generators = []
    data_from = spec.get("dataFrom")
    for entry in data_from if isinstance(data_from, list) else []:
        ref = entry.get("sourceRef") if isinstance(entry, dict) else None
        generator = ref.get("generatorRef") if isinstance(ref, dict) else None
        kind = generator.get("kind") if isinstance(generator, dict) else None
        if isinstance(kind, str) and kind in ROTATING_GENERATORS:
            generators.append(kind)
    path, line = obj.locate(*keys, "refreshInterval") if raw is not None else obj.locate()
    return ExternalSecret(
        obj.source_name,
        path,
        line,
        refresh,
        seconds,
        tuple(dict.fromkeys(generators)),
        once=spec.get("refreshPolicy") == "CreatedOnce",
    )


def _days(seconds: float) -> str:
    return format_duration(dt.timedelta(seconds=seconds))


_TEMPLATE = (
    "Add a section to {path} (or a runbook of its own):\n\n"
    "## Rotating secrets\n\n"
    "| Secret | Owner | Where | Interval |\n|---|---|---|---|\n"
    "| database password | <team> | secret manager `app/db` | 90 days |\n\n"
    "1. Create the new value in the secret manager (keep the old one valid).\n"
    "2. Sync it: `kubectl -n <ns> annotate externalsecret <name> force-sync=$(date +%s) "
    "--overwrite`.\n"
    "3. Restart: `kubectl -n <ns> rollout restart deploy/<app>` and watch the error rate.\n"
    "4. Revoke the old value.\n\n"
    "For a leaked secret: rotate at once, then review the access logs."
)


@check(
    "security.secret-rotation",
    items=[ROTATION],
    needs=[DocsFacts],
    title="Secrets rotate automatically or by a written procedure",
)
def secret_rotation(ctx: CheckContext) -> Iterator[Result]:
    """A rotation procedure with steps is written down, or External Secrets generators rotate."""
    docs = ctx.get(DocsFacts)
    try:
        kube: KubernetesFacts | None = ctx.get(KubernetesFacts)
    except MissingFacts:
        kube = None
    synced = external_secrets(kube) if kube is not None else []
    rotating = [e for e in synced if e.rotates]
    units = best(docs.of("secret-rotation"))
    procedures = [u for u in units if u.substantive]
    intervals: list[float] = [e.seconds for e in rotating if e.seconds]
    stated = [v for v in docs.values_of("rotation-interval") if isinstance(v.value, str)]
    for value in stated:
        try:
            intervals.append(parse_duration(str(value.value)).total_seconds())
        except ValueError:
            continue
    fields = {"rotation_interval": _days(max(intervals))} if intervals else None
    refreshing = [e for e in synced if e.refreshes and not e.rotates]
    if procedures or rotating:
        parts = [
            f"procedure at {describe(u)} ({u.steps} steps, covers {', '.join(sorted(u.topics))})"
            for u in procedures[:2]
        ]
        parts += [f"ExternalSecret {e.name} renews {', '.join(e.generators)}" for e in rotating[:2]]
        if stated:
            parts.append(
                "interval stated: " + ", ".join(f"{v.value} ({v.location})" for v in stated[:2])
            )
        if refreshing:
            parts.append(
                "rotated values reach the cluster within "
                + ", ".join(sorted({e.refresh for e in refreshing}))
                + " (ExternalSecret refreshInterval)"
            )
        yield ctx.passed(
            ROTATION,
            "Secrets rotation: " + "; ".join(parts),
            *(unit_evidence(u) for u in procedures[:3]),
            *(e.evidence() for e in [*rotating, *refreshing][:MAX_EVIDENCE]),
            *(Evidence(f"rotation interval {v.value}", v.path, v.line) for v in stated[:2]),
            fields=fields,
        )
        return
    problems = docs.unreadable_of("secret-rotation")
    if problems:
        yield ctx.unknown(
            ROTATION,
            "The secret rotation procedure could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    if not units:
        return  # ExternalSecrets alone sync values; they say nothing about rotating them
    remediation = _TEMPLATE.format(path=units[0].path)
    reasons = "; ".join(f"{describe(u)} {shortfall(u)}" for u in units[:3])
    if all(u.stub for u in units):
        yield ctx.failed(
            ROTATION,
            f"The secret rotation procedure is empty: {reasons}",
            *(unit_evidence(u) for u in units[:MAX_EVIDENCE]),
            remediation=remediation,
        )
        return
    yield ctx.unknown(
        ROTATION,
        f"A secret rotation section exists but is not a usable procedure: {reasons}",
        *(unit_evidence(u) for u in units[:MAX_EVIDENCE]),
        *(e.evidence() for e in synced[:3]),
        remediation=remediation,
    )
