"""Rollback documentation: the procedure, the database's way back, and the time target."""

from __future__ import annotations

from collections.abc import Iterator

from prr.checks.operations.docs import (
    MAX_EVIDENCE,
    best,
    describe,
    doc_item,
    template,
    unit_evidence,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.docs import DocsFacts, DocUnit
from prr.model.evidence import Evidence, Result


@check(
    "deployment.rollback-docs",
    items=[
        "deployment.rollback.rollback-procedure-documented",
        "deployment.rollback.database-rollback-plan",
        "deployment.rollback.rollback-time-target",
    ],
    needs=[DocsFacts],
)
def rollback_docs(ctx: CheckContext) -> Iterator[Result]:
    """A step-by-step rollback procedure exists, covers the database, and states a time target."""
    docs = ctx.get(DocsFacts)
    rollbacks = best(docs.of("rollback"))
    guides = [u for u in best(docs.of("deployment")) if not u.stub]
    yield from doc_item(
        ctx,
        "deployment.rollback.rollback-procedure-documented",
        docs,
        "rollback",
        "Rollback procedure",
        context=guides or None,
    )
    yield from _database(ctx, docs)
    yield from _time_target(ctx, docs, rollbacks)


def _database(ctx: CheckContext, docs: DocsFacts) -> Iterator[Result]:
    item = "deployment.rollback.database-rollback-plan"
    if docs.of("database-rollback") or docs.unreadable_of("database-rollback"):
        yield from doc_item(ctx, item, docs, "database-rollback", "Database rollback plan")
        return
    rollbacks = [u for u in best(docs.of("rollback")) if u.substantive]
    if not rollbacks:
        return
    way_back = [u for u in rollbacks if "database-way-back" in u.topics]
    if way_back:
        yield ctx.passed(
            item,
            f"The rollback procedure {describe(way_back[0])} covers the database (down "
            "migrations, expand/contract or a restore point)",
            *(unit_evidence(u) for u in way_back[:MAX_EVIDENCE]),
        )
        return
    covering = [u for u in rollbacks if "data" in u.topics]
    if covering:
        yield ctx.failed(
            item,
            f"The rollback procedure {describe(covering[0])} mentions the database but gives no "
            "way back for schema changes (down migration, expand/contract, or a restore point)",
            unit_evidence(covering[0]),
            remediation=template("database-rollback", docs),
        )
        return
    yield ctx.failed(
        item,
        f"The rollback procedure {describe(rollbacks[0])} covers only the application; nothing "
        "says how database migrations are undone",
        unit_evidence(rollbacks[0]),
        remediation=template("database-rollback", docs),
    )


def _time_target(ctx: CheckContext, docs: DocsFacts, rollbacks: list[DocUnit]) -> Iterator[Result]:
    item = "deployment.rollback.rollback-time-target"
    values = [v for v in docs.values_of("rollback-time") if isinstance(v.value, str)]
    if values:
        first = values[0]
        yield ctx.passed(
            item,
            f"Rollback time target {first.value} stated at {first.location}: {first.text!r}",
            *(
                Evidence(f"rollback within {v.value}", v.path, v.line)
                for v in values[:MAX_EVIDENCE]
            ),
            fields={"target": first.value},
        )
        return
    existing = [u for u in rollbacks if not u.stub]
    if existing:
        yield ctx.failed(
            item,
            f"The rollback procedure {describe(existing[0])} sets no time target for a rollback",
            unit_evidence(existing[0]),
            remediation=(
                f"State the target in {existing[0].path}, e.g. 'Target: production runs the "
                "previous version within 15 minutes of the decision to roll back', and record "
                "the measured duration of each rollback test."
            ),
        )
