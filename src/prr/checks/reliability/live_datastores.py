"""Point-in-time recovery as the database runs it: WAL archiving on, working and recent.

Decided from ``archive_mode``, ``archive_command``/``archive_library`` and
``pg_stat_archiver`` read live. Archiving is the half of PITR the server can
show; the other half — base backups, their retention and a restore that
works — is not visible from SQL, so "Database backups automated" is left to
repository evidence and the backup-restore drill (``prr drill backup-restore``),
and the recovery window is not claimed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from prr.checks.infrastructure.live_datastores import (
    Finding,
    pg_evidence,
    pg_label,
    pg_stores,
    results,
    unreadable_pg,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.live.postgres import Q_ARCHIVER, PostgresFacts, PostgresStore
from prr.model.evidence import Result, Status

PITR = "reliability.backup-recovery.point-in-time-recovery"
STALE_AFTER = dt.timedelta(hours=24)
DRILL_HINT = "archiving alone is not a backup: prove a restore with `prr drill backup-restore`"
ARCHIVE_FIX = (
    "# postgresql.conf (or the provider's PITR / backup-retention setting):\n"
    "wal_level = replica\n"
    "archive_mode = on\n"
    "archive_command = 'pgbackrest --stanza=main archive-push %p'   # or wal-g wal-push %p\n"
    "archive_timeout = 300\n"
    "# plus scheduled base backups (pgbackrest/wal-g backup), an alert on "
    "pg_stat_archiver.failed_count growing, and a restore drill"
)


def _pitr_finding(store: PostgresStore, now: dt.datetime) -> Finding:
    mode = store.setting("archive_mode")
    command = store.setting("archive_command")
    library = store.setting("archive_library")
    archiver = store.archiver
    configured = bool((command.value or "").strip() and command.value != "(disabled)") or bool(
        (library.value or "").strip()
    )
    value = {
        "archive_mode": mode.value,
        "archive_command_set": configured if command.value is not None else None,
        "wal_level": store.setting("wal_level").value,
        "archived_count": archiver.archived_count if archiver else None,
        "last_archived_time": archiver.last_archived_time.isoformat()
        if archiver and archiver.last_archived_time
        else None,
        "failed_count": archiver.failed_count if archiver else None,
        "last_failed_time": archiver.last_failed_time.isoformat()
        if archiver and archiver.last_failed_time
        else None,
    }
    summary = (
        f"archive_mode={mode.display()}, archive command "
        f"{'set' if configured else 'not set' if command.value is not None else 'not visible'}"
    )
    if archiver:
        summary += (
            f"; pg_stat_archiver: {archiver.archived_count} archived, last "
            f"{archiver.last_archived_time:%Y-%m-%d %H:%M:%S %Z}"
            if archiver.last_archived_time
            else f"; pg_stat_archiver: {archiver.archived_count} archived"
        )
        summary += f", {archiver.failed_count} failed"
    ev = pg_evidence(
        store,
        summary,
        "SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', "
        f"'archive_command', 'archive_library'); {Q_ARCHIVER}",
        value,
    )
    label = pg_label(store)
    if store.in_recovery and (mode.value or "").lower() != "always":
        return Finding(
            Status.UNKNOWN,
            f"{label} is a standby (archive_mode={mode.display()} archives only on the primary); "
            "point prr at the primary",
            (ev,),
        )
    if not mode.on:
        return Finding(
            Status.FAIL,
            f"{label}: archive_mode is off: no continuous WAL archive, so the database can only "
            "be restored to its last base backup",
            (ev,),
            ARCHIVE_FIX,
        )
    if command.value is not None and not configured:
        return Finding(
            Status.FAIL,
            f"{label}: archive_mode is on but neither archive_command nor archive_library is set: "
            "WAL is kept, not archived",
            (ev,),
            ARCHIVE_FIX,
        )
    if archiver is None:
        reason = store.unreadable.get("pg_stat_archiver", "not read")
        return Finding(
            Status.UNKNOWN, f"{label}: pg_stat_archiver could not be read ({reason})", (ev,)
        )
    if archiver.failing:
        return Finding(
            Status.FAIL,
            f"{label}: WAL archiving is failing: the last attempt "
            f"({archiver.last_failed_wal}) failed at {archiver.last_failed_time:%Y-%m-%d %H:%M}"
            f" and {archiver.failed_count} attempt(s) failed in all",
            (ev,),
            "Fix the archive command (see the server log for its error) and alert when "
            "pg_stat_archiver.failed_count grows.\n" + ARCHIVE_FIX,
        )
    if archiver.last_archived_time is None or archiver.archived_count == 0:
        return Finding(
            Status.UNKNOWN,
            f"{label}: archiving is configured but no WAL segment has been archived yet "
            f"(since {archiver.stats_reset:%Y-%m-%d} )"
            if archiver.stats_reset
            else f"{label}: archiving is configured but no WAL segment has been archived yet",
            (ev,),
            "Force one (SELECT pg_switch_wal(); as an administrator) or wait for traffic, then "
            "scan again; set archive_timeout so idle periods are archived too.",
        )
    age = now - archiver.last_archived_time
    if age > STALE_AFTER:
        return Finding(
            Status.UNKNOWN,
            f"{label}: the last WAL segment was archived {age.days} day(s) ago "
            f"({archiver.last_archived_time:%Y-%m-%d %H:%M}); confirm the archive is current "
            "(an idle database archives nothing unless archive_timeout is set)",
            (ev,),
        )
    return Finding(
        Status.PASS,
        f"{label}: WAL archiving on and healthy, last segment archived "
        f"{archiver.last_archived_time:%Y-%m-%d %H:%M:%S %Z}, no failure since; the recovery "
        f"window depends on base-backup retention, which the server does not show; {DRILL_HINT}",
        (ev,),
    )


@check(
    "live.database.pitr",
    items=[PITR],
    needs=[PostgresFacts],
    scope="environment",
)
def database_pitr(ctx: CheckContext) -> Iterable[Result]:
    """WAL is archived continuously and the archiver is healthy and recent."""
    now = dt.datetime.now(dt.UTC)
    findings = [
        _pitr_finding(store, now) if store.ok else unreadable_pg(store) for store in pg_stores(ctx)
    ]
    yield from results(ctx, {PITR: findings})
