"""Who must sign off, who may accept which risks: the organisation's review policy as data.

Defaults follow the readiness assessment's sign-off table (Engineering Lead,
Security, Operations, Product) and never allow a critical gap to be waived.
An organisation replaces them with a YAML file (``PRR_POLICY_FILE`` or
``policy:`` in prr.yaml).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prr.errors import Problem
from prr.model.checklist import Severity
from prr.model.target import TargetError
from prr.model.yamlsource import YamlProblem, load_yaml

POLICY_ENV = "PRR_POLICY_FILE"
DEFAULT_ROLES = ("Engineering Lead", "Security", "Operations", "Product")


class Policy(BaseModel):
    """The rules every review is held to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required_roles: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_ROLES
    """Roles that must all approve before a review is approved."""
    waiver_approvers: dict[Severity, tuple[str, ...]] = Field(
        default_factory=lambda: {
            Severity.HIGH: ("Engineering Lead", "Security", "Operations"),
            Severity.MEDIUM: DEFAULT_ROLES,
            Severity.LOW: DEFAULT_ROLES,
        }
    )
    """Which roles may approve a risk acceptance, by the item's severity."""
    critical_waivable: bool = False
    """Whether a critical item may ever be risk-accepted (default: never)."""
    max_waiver_days: Annotated[int, Field(ge=1)] = 180
    """A risk acceptance expires after at most this many days."""
    default_freshness_days: Annotated[int, Field(ge=1)] | None = None
    """Expiry of attested answers for items that set no ``freshness_days``."""

    def approvers_for(self, severity: Severity) -> tuple[str, ...]:
        if severity is Severity.CRITICAL and not self.critical_waivable:
            return ()
        return self.waiver_approvers.get(severity, ())


def load_policy(path: Path | None = None) -> Policy:
    """The policy from ``path``, else ``PRR_POLICY_FILE``, else the defaults."""
    if path is None:
        env = os.environ.get(POLICY_ENV)
        path = Path(env) if env else None
    if path is None:
        return Policy()
    try:
        doc = load_yaml(path)
    except YamlProblem as exc:
        raise TargetError([exc.problem]) from None
    try:
        return Policy.model_validate(doc.data or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            line, column = doc.where(tuple(error["loc"]))
            where = ".".join(str(p) for p in error["loc"])
            problems.append(Problem(f"{where}: {error['msg']}", str(path), line, column))
        raise TargetError(problems) from None
