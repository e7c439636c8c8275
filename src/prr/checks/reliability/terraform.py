"""Backup and recovery items decided from Terraform: automated backups, retention,
point-in-time recovery, cross-region copies and file storage protection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prr.checks.infrastructure.terraform import (
    BUCKETS,
    DATABASES,
    Finding,
    as_list,
    db_backups,
    decide,
    found,
    linked,
    new_block,
    number,
    patch,
    primary_databases,
    shown,
    text,
    truth,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.terraform import TerraformFacts, TerraformResource
from prr.model.evidence import Result, Status

_MIN_RETENTION_DAYS = 7
_DYNAMODB_PITR_DAYS = 35


@dataclass(frozen=True)
class _Plan:
    """An AWS Backup rule that covers a resource."""

    rule: dict[str, Any]
    plan: TerraformResource
    selection: TerraformResource


def _tags_match(resource: TerraformResource, selection: TerraformResource) -> bool:
    tags = resource.get("tags")
    if not isinstance(tags, dict):
        return False
    for condition in selection.blocks("selection_tag"):
        key, value = text(condition.get("key")), text(condition.get("value"))
        if key is not None and text(tags.get(key)) == value:
            return True
    return False


def backup_plans(facts: TerraformFacts, resource: TerraformResource) -> list[_Plan]:
    """AWS Backup rules whose selection names ``resource`` (by reference, ``*`` or tag)."""
    found_plans: list[_Plan] = []
    plans = facts.of_type("aws_backup_plan", production=False)
    for selection in facts.of_type("aws_backup_selection", production=False):
        if selection.scope != resource.scope:
            continue
        listed = as_list(selection.get("resources"))
        covers = (
            selection.refers_to(resource)
            or "*" in [text(x) for x in listed]
            or _tags_match(resource, selection)
        )
        if not covers:
            continue
        for plan in plans:
            if selection.refers_to(plan):
                found_plans.extend(_Plan(rule, plan, selection) for rule in plan.blocks("rule"))
    return found_plans


def _plan_days(rule: dict[str, Any]) -> int | None:
    lifecycle = rule.get("lifecycle")
    body = lifecycle[0] if isinstance(lifecycle, list) and lifecycle else lifecycle
    if isinstance(body, dict):
        days = number(body.get("delete_after"))
        return int(days) if days is not None else None
    return None


def _cron_frequency(schedule: Any) -> str | None:
    """``cron(0 5 ? * * *)`` → ``1d``; hourly and weekly patterns too."""
    literal = text(schedule)
    match = re.fullmatch(r"cron\((.+)\)", (literal or "").strip())
    if not match:
        return None
    fields = match.group(1).split()
    if len(fields) < 6:
        return None
    minute, hour, dom, _month, dow = fields[:5]
    if hour == "*" or hour.startswith("*/") or hour.startswith("0/"):
        step = hour.split("/")[1] if "/" in hour else "1"
        return f"{step}h"
    if dom in ("*", "?") and dow in ("*", "?"):
        return "1d"
    if dom in ("*", "?") and dow not in ("*", "?"):
        return "7d"
    if minute.isdigit() and dom.isdigit():
        return "30d"
    return None


def _pitr(r: TerraformResource) -> tuple[Finding, int | None]:
    """Point-in-time recovery of a database and its window in days."""
    if r.type in ("aws_db_instance", "aws_rds_cluster"):
        finding, days = db_backups(r)
        if finding.status is not Status.PASS or not days:
            return (
                found(
                    Status.FAIL if finding.status is Status.FAIL else Status.UNKNOWN,
                    r,
                    "cannot be restored to a point in time: automated backups are off",
                    "backup_retention_period",
                    patch(r, "backup_retention_period = 14"),
                ),
                None,
            )
        return found(
            Status.PASS,
            r,
            f"can be restored to any second of the last {days} day(s)",
            "backup_retention_period" if r.has("backup_retention_period") else None,
        ), days
    if r.type == "google_sql_database_instance":
        version = (text(r.get("database_version")) or "").upper()
        key = (
            "binary_log_enabled"
            if version.startswith("MYSQL")
            else "point_in_time_recovery_enabled"
        )
        value = r.get("settings", "backup_configuration", key)
        state = truth(value)
        if value is not None and state is None:
            return found(Status.UNKNOWN, r, f"sets {key} = {shown(value)}", "settings"), None
        if not state:
            return (
                found(
                    Status.FAIL,
                    r,
                    f"has no point-in-time recovery ({key} is not true)",
                    "settings",
                    patch(
                        r,
                        f"settings {{\n  backup_configuration {{\n    enabled = true\n"
                        f"    {key} = true\n"
                        "    transaction_log_retention_days = 7\n  }\n}",
                    ),
                ),
                None,
            )
        kept = number(r.get("settings", "backup_configuration", "transaction_log_retention_days"))
        days = int(kept) if kept is not None else 7
        return found(
            Status.PASS, r, f"has point-in-time recovery over {days} day(s)", "settings"
        ), days
    if r.type == "azurerm_cosmosdb_account":
        kind = text(r.get("backup", "type")) or "Periodic"
        if kind.lower() == "continuous":
            return found(
                Status.PASS, r, "has continuous backup (point-in-time restore)", "backup"
            ), 30
        return (
            found(
                Status.FAIL,
                r,
                f'has "{kind}" backups, which cannot restore to a point in time',
                "backup" if r.has("backup") else None,
                patch(r, 'backup {\n  type = "Continuous"\n  tier = "Continuous30Days"\n}'),
            ),
            None,
        )
    if r.type.startswith("azurerm_"):
        finding, days = db_backups(r)
        if finding.status is not Status.PASS:
            return finding, None
        return found(
            Status.PASS, r, f"can be restored to any point of the last {days} day(s)"
        ), days
    return found(Status.UNKNOWN, r, "has no known point-in-time recovery setting"), None


def _dynamodb_pitr(r: TerraformResource) -> tuple[Finding, int | None]:
    value = r.get("point_in_time_recovery", "enabled")
    state = truth(value)
    if value is not None and state is None:
        return found(Status.UNKNOWN, r, f"sets point_in_time_recovery = {shown(value)}"), None
    if state:
        return found(
            Status.PASS,
            r,
            "has point-in-time recovery over 35 days",
            "point_in_time_recovery",
        ), _DYNAMODB_PITR_DAYS
    return (
        found(
            Status.FAIL,
            r,
            "has point-in-time recovery off",
            "point_in_time_recovery" if r.has("point_in_time_recovery") else None,
            patch(r, "point_in_time_recovery {\n  enabled = true\n}"),
        ),
        None,
    )


@check(
    "reliability.terraform.backups",
    items=[
        "reliability.backup-recovery.database-backups-automated",
        "reliability.backup-recovery.backup-retention-policy",
        "reliability.backup-recovery.point-in-time-recovery",
    ],
    needs=[TerraformFacts],
)
def backups(ctx: CheckContext) -> Iterator[Result]:
    """Production databases are backed up automatically, kept long enough, and can be
    restored to a point in time."""
    facts = ctx.get(TerraformFacts)
    databases = primary_databases(facts)
    tables = facts.of_type("aws_dynamodb_table")
    unparsed = facts.unparsed_for(*DATABASES, "aws_dynamodb_table", "aws_backup_*")
    automated: list[Finding] = []
    retention: list[Finding] = []
    pitr: list[Finding] = []
    frequencies: list[str] = []
    kept: list[int] = []
    windows: list[int] = []
    for r in databases:
        finding, days = db_backups(r)
        plans = backup_plans(facts, r)
        if finding.status is Status.FAIL and plans:
            finding = found(
                Status.PASS, plans[0].selection, f"backs up {r.address} with AWS Backup", "plan_id"
            )
        automated.append(finding)
        if finding.status is Status.PASS:
            frequencies.append(_plan_frequency(plans) or "1d")
        days = max([d for d in [days, *(_plan_days(p.rule) for p in plans)] if d], default=days)
        retention.append(_retention(r, days))
        if days:
            kept.append(days)
        window_finding, window = _pitr(r)
        pitr.append(window_finding)
        if window:
            windows.append(window)
    for table in tables:
        window_finding, window = _dynamodb_pitr(table)
        plans = backup_plans(facts, table)
        pitr.append(window_finding)
        if window:
            windows.append(window)
        if window_finding.status is Status.PASS or plans:
            automated.append(
                found(Status.PASS, table, "is backed up continuously (PITR) or by AWS Backup")
            )
            frequencies.append(_plan_frequency(plans) or "continuous")
        else:
            automated.append(
                found(
                    Status.FAIL,
                    table,
                    "has no point-in-time recovery and no AWS Backup plan",
                    None,
                    patch(table, "point_in_time_recovery {\n  enabled = true\n}"),
                )
            )
    distinct = set(frequencies)
    frequency = distinct.pop() if len(distinct) == 1 else None
    yield from decide(
        ctx,
        "reliability.backup-recovery.database-backups-automated",
        automated,
        unparsed,
        passed="Production databases are backed up automatically",
        failed="Production databases without automated backups",
        fields={"backup_frequency": frequency} if frequency and frequency != "continuous" else None,
    )
    yield from decide(
        ctx,
        "reliability.backup-recovery.backup-retention-policy",
        retention,
        unparsed if retention else [],
        passed="Backup retention is defined for production databases",
        failed="Backup retention too short or undefined",
        fields={"backup_retention": f"{min(kept)}d"} if kept else None,
    )
    yield from decide(
        ctx,
        "reliability.backup-recovery.point-in-time-recovery",
        pitr,
        unparsed,
        passed="Production databases support point-in-time recovery",
        failed="Production databases without point-in-time recovery",
        fields={"pitr_window": f"{min(windows)}d"} if windows else None,
    )


def _plan_frequency(plans: list[_Plan]) -> str | None:
    for plan in plans:
        frequency = _cron_frequency(plan.rule.get("schedule"))
        if frequency:
            return frequency
    return None


def _retention(r: TerraformResource, days: int | None) -> Finding:
    if days is None:
        return found(Status.UNKNOWN, r, "has a computed backup retention")
    key = {
        "aws_db_instance": "backup_retention_period",
        "aws_rds_cluster": "backup_retention_period",
        "azurerm_postgresql_flexible_server": "backup_retention_days",
        "azurerm_mysql_flexible_server": "backup_retention_days",
    }.get(r.type)
    explicit = key is not None and r.has(key)
    if days == 0:
        return found(
            Status.FAIL, r, "keeps no backups", key, patch(r, f"{key or 'retention'} = 14")
        )
    if days < _MIN_RETENTION_DAYS:
        how = "" if explicit else " (provider default)"
        fix = (
            patch(r, f"{key} = 14")
            if key
            else patch(
                r,
                "settings {\n  backup_configuration {\n    backup_retention_settings {\n"
                "      retained_backups = 14\n    }\n  }\n}",
            )
        )
        return found(
            Status.FAIL,
            r,
            f"keeps backups {days} day(s){how}: less than a week to notice a bad write",
            key if explicit else None,
            fix,
            days,
        )
    return found(
        Status.PASS, r, f"keeps backups {days} days", key if explicit else None, value=days
    )


# --- cross-region ---------------------------------------------------------------------


def _cross_region(facts: TerraformFacts, r: TerraformResource) -> Finding | None:
    plans = backup_plans(facts, r)
    copies = [p for p in plans if p.rule.get("copy_action") is not None]
    if copies:
        return found(
            Status.PASS,
            copies[0].plan,
            f"copies backups of {r.address} to another vault (copy_action)",
            "rule",
        )
    if r.type == "aws_db_instance":
        replication = linked(facts, r, "aws_db_instance_automated_backups_replication")
        if not replication:
            replication = [
                x
                for x in facts.of_type("aws_db_instance_automated_backups_replication")
                if x.refers_to(r)
            ]
        if replication:
            return found(
                Status.PASS, replication[0], f"replicates backups of {r.address} to another region"
            )
    if r.type in ("aws_db_instance", "aws_rds_cluster"):
        return found(
            Status.FAIL,
            r,
            "keeps its backups only in its own region",
            None,
            new_block(
                r.path,
                "aws_db_instance_automated_backups_replication",
                r.name,
                "provider               = aws.backup_region\n"
                f"source_db_instance_arn = aws_db_instance.{r.name}.arn\n"
                "retention_period       = 14",
            )
            if r.type == "aws_db_instance"
            else new_block(
                r.path,
                "aws_backup_plan",
                f"{r.name}_cross_region",
                'name = "cross-region"\nrule {\n  rule_name         = "daily"\n'
                "  target_vault_name = aws_backup_vault.main.name\n"
                '  schedule          = "cron(0 5 ? * * *)"\n'
                "  copy_action {\n"
                "    destination_vault_arn = aws_backup_vault.other_region.arn\n  }\n}",
            ),
        )
    if r.type in ("azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server"):
        value = r.get("geo_redundant_backup_enabled")
        if value is not None and truth(value) is None:
            return found(Status.UNKNOWN, r, f"sets geo_redundant_backup_enabled = {shown(value)}")
        if truth(value):
            return found(
                Status.PASS, r, "stores backups geo-redundantly", "geo_redundant_backup_enabled"
            )
        return found(
            Status.FAIL,
            r,
            "keeps backups in its own region (geo_redundant_backup_enabled is not true)",
            "geo_redundant_backup_enabled" if r.has("geo_redundant_backup_enabled") else None,
            patch(r, "geo_redundant_backup_enabled = true"),
        )
    if r.type == "google_sql_database_instance":
        if truth(r.get("settings", "backup_configuration", "enabled")) is not True:
            return None  # no backups at all: the backups check fails it
        value = r.get("settings", "backup_configuration", "location")
        location = text(value)
        if value is not None and location is None:
            return found(Status.UNKNOWN, r, f"stores backups in {shown(value)}", "settings")
        if location is None:
            return found(
                Status.PASS,
                r,
                "stores backups in the multi-region nearest to it (Cloud SQL default)",
                "settings",
            )
        if re.fullmatch(r"[a-z]+", location):
            return found(
                Status.PASS, r, f'stores backups in the multi-region "{location}"', "settings"
            )
        return found(
            Status.FAIL,
            r,
            f'keeps backups in the single region "{location}"',
            "settings",
            patch(r, 'settings {\n  backup_configuration {\n    location = "eu"\n  }\n}'),
        )
    return None


@check(
    "reliability.terraform.cross-region-backup",
    items=["reliability.backup-recovery.cross-region-backup"],
    needs=[TerraformFacts],
)
def cross_region_backup(ctx: CheckContext) -> Iterator[Result]:
    """Backups of production databases are copied to a second region."""
    facts = ctx.get(TerraformFacts)
    findings = [f for r in primary_databases(facts) if (f := _cross_region(facts, r)) is not None]
    yield from decide(
        ctx,
        "reliability.backup-recovery.cross-region-backup",
        findings,
        facts.unparsed_for(*DATABASES, "aws_backup_*", "aws_db_instance_automated_*")
        if findings
        else [],
        passed="Database backups are copied to another region",
        failed="Database backups kept in one region only",
    )


# --- file storage ---------------------------------------------------------------------


def _bucket_protection(facts: TerraformFacts, bucket: TerraformResource) -> Finding:
    if bucket.type == "aws_s3_bucket":
        for versioning in linked(facts, bucket, "aws_s3_bucket_versioning"):
            status = versioning.get("versioning_configuration", "status")
            literal = text(status)
            if status is not None and literal is None:
                return found(Status.UNKNOWN, versioning, f"sets status = {shown(status)}")
            if literal == "Enabled":
                return found(
                    Status.PASS,
                    versioning,
                    f"keeps previous versions of {bucket.address}",
                    "versioning_configuration",
                )
            return found(
                Status.FAIL,
                versioning,
                f'leaves versioning of {bucket.address} "{literal}"',
                "versioning_configuration",
                patch(versioning, 'versioning_configuration {\n  status = "Enabled"\n}'),
            )
        if truth(bucket.get("versioning", "enabled")):
            return found(Status.PASS, bucket, "has versioning enabled", "versioning")
        if linked(facts, bucket, "aws_s3_bucket_replication_configuration") or bucket.blocks(
            "replication_configuration"
        ):
            return found(Status.PASS, bucket, "is replicated to another bucket")
        if backup_plans(facts, bucket):
            return found(Status.PASS, bucket, "is backed up by AWS Backup")
        return found(
            Status.FAIL,
            bucket,
            "has no versioning, replication or backup: a delete or overwrite is final",
            None,
            new_block(
                bucket.path,
                "aws_s3_bucket_versioning",
                bucket.name,
                f"bucket = aws_s3_bucket.{bucket.name}.id\n"
                'versioning_configuration {\n  status = "Enabled"\n}',
            ),
        )
    if bucket.type == "google_storage_bucket":
        if truth(bucket.get("versioning", "enabled")):
            return found(Status.PASS, bucket, "has versioning enabled", "versioning")
        seconds = number(bucket.get("soft_delete_policy", "retention_duration_seconds"))
        if seconds == 0:
            return found(
                Status.FAIL,
                bucket,
                "disables soft delete and has no versioning",
                "soft_delete_policy",
                patch(bucket, "versioning {\n  enabled = true\n}"),
            )
        kept = f"{int(seconds // 86400)} days" if seconds else "7 days (default)"
        return found(
            Status.PASS,
            bucket,
            f"keeps deleted and overwritten objects for {kept} (soft delete)",
            "soft_delete_policy" if bucket.has("soft_delete_policy") else None,
        )
    props = bucket.get("blob_properties")
    body = props[0] if isinstance(props, list) and props else props
    if isinstance(body, dict) and (
        truth(body.get("versioning_enabled")) or body.get("delete_retention_policy") is not None
    ):
        return found(Status.PASS, bucket, "keeps blob versions or deleted blobs", "blob_properties")
    return found(
        Status.FAIL,
        bucket,
        "has neither blob versioning nor soft delete",
        "blob_properties" if bucket.has("blob_properties") else None,
        patch(
            bucket,
            "blob_properties {\n  versioning_enabled = true\n"
            "  delete_retention_policy {\n    days = 30\n  }\n}",
        ),
    )


def _volume_protection(facts: TerraformFacts, volume: TerraformResource) -> Finding:
    if backup_plans(facts, volume):
        return found(Status.PASS, volume, "is backed up by AWS Backup")
    if volume.type == "aws_efs_file_system":
        for policy in linked(facts, volume, "aws_efs_backup_policy"):
            status = text(policy.get("backup_policy", "status"))
            if status == "ENABLED":
                return found(Status.PASS, policy, f"backs up {volume.address} daily")
        return found(
            Status.FAIL,
            volume,
            "has no backup policy",
            None,
            new_block(
                volume.path,
                "aws_efs_backup_policy",
                volume.name,
                f"file_system_id = aws_efs_file_system.{volume.name}.id\n"
                'backup_policy {\n  status = "ENABLED"\n}',
            ),
        )
    if facts.of_type("aws_dlm_lifecycle_policy"):
        return found(Status.PASS, volume, "is covered by a DLM snapshot policy")
    return found(
        Status.FAIL,
        volume,
        "has no snapshot schedule (AWS Backup or DLM)",
        None,
        new_block(
            volume.path,
            "aws_backup_selection",
            volume.name,
            f'name         = "{volume.name}"\niam_role_arn = aws_iam_role.backup.arn\n'
            "plan_id      = aws_backup_plan.main.id\n"
            f"resources    = [aws_ebs_volume.{volume.name}.arn]",
        ),
    )


@check(
    "reliability.terraform.file-storage-backups",
    items=["reliability.backup-recovery.file-storage-backups"],
    needs=[TerraformFacts],
)
def file_storage_backups(ctx: CheckContext) -> Iterator[Result]:
    """Buckets and volumes are protected by versioning, soft delete, replication or backups."""
    facts = ctx.get(TerraformFacts)
    findings = [_bucket_protection(facts, b) for b in facts.of_type(*BUCKETS)]
    findings += [
        _volume_protection(facts, v) for v in facts.of_type("aws_efs_file_system", "aws_ebs_volume")
    ]
    yield from decide(
        ctx,
        "reliability.backup-recovery.file-storage-backups",
        findings,
        facts.unparsed_for(
            *BUCKETS, "aws_s3_bucket_*", "aws_efs_*", "aws_ebs_volume", "aws_backup_*"
        )
        if findings
        else [],
        passed="Production files and objects can be restored",
        failed="Production storage without versioning or backups",
    )
