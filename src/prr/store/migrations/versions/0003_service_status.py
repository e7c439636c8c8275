"""Per-scan category summaries and the latest status of each service (the scoreboard's rows).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:30:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TREND_POINTS = 12


def _categories(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, str):
        payload = json.loads(payload)
    rows = payload.get("categories", []) if isinstance(payload, dict) else []
    return [
        {k: c.get(k) for k in ("id", "title", "status", "blockers", "issues")}
        for c in rows
        if isinstance(c, dict)
    ]


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=True))
    op.create_table(
        "service_status",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("blockers", sa.Integer(), nullable=False),
        sa.Column("issues", sa.Integer(), nullable=False),
        sa.Column("verified_share", sa.Float(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("trend", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scan.id"], name=op.f("fk_service_status_scan_id_scan")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_service_status_service_id_service")
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_service_status")),
    )
    with op.batch_alter_table("service_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_status_stage"), ["stage"], unique=False)
    _backfill()


def _backfill() -> None:
    """Summaries for scans stored before this revision, and each service's latest status."""
    bind = op.get_bind()
    scan = sa.table(
        "scan",
        sa.column("id", sa.Integer),
        sa.column("service_id", sa.Integer),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("stage", sa.String),
        sa.column("verdict", sa.String),
        sa.column("blockers", sa.Integer),
        sa.column("issues", sa.Integer),
        sa.column("verified_share", sa.Float),
        sa.column("payload", sa.JSON),
        sa.column("categories", sa.JSON),
    )
    status = sa.table(
        "service_status",
        *(sa.column(c.name, c.type) for c in scan.columns if c.name not in ("id", "payload")),
        sa.column("scan_id", sa.Integer),
        sa.column("trend", sa.JSON),
    )
    history: dict[int, list[Any]] = {}
    latest: dict[int, Any] = {}
    rows = bind.execute(sa.select(scan).order_by(scan.c.service_id, scan.c.started_at, scan.c.id))
    for row in rows:
        categories = _categories(row.payload)
        bind.execute(scan.update().where(scan.c.id == row.id).values(categories=categories))
        history.setdefault(row.service_id, []).append(
            [row.started_at.date().isoformat(), row.blockers, row.issues]
        )
        latest[row.service_id] = (row, categories)
    for service_id, (row, categories) in latest.items():
        bind.execute(
            status.insert().values(
                service_id=service_id,
                scan_id=row.id,
                started_at=row.started_at,
                stage=row.stage,
                verdict=row.verdict,
                blockers=row.blockers,
                issues=row.issues,
                verified_share=row.verified_share,
                categories=categories,
                trend=history[service_id][-TREND_POINTS:],
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("service_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_status_stage"))
    op.drop_table("service_status")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("categories")
