"""The alert-fires drill against a real service, Redis, Prometheus, Alertmanager and webhook sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from prr.drills.alert_fires import (
    AVAILABILITY,
    HEALTH,
    ROUTING,
    AlertFiresDrill,
    command_argv,
    down_marker,
    shown_command,
)
from prr.drills.base import DrillContext, DrillRefused, execute, load_builtin_drills
from prr.drills.evidence import fresh_results, save_outcome
from prr.model.evidence import Status
from prr.model.target import Environment, Target
from prr.store.db import Store

if TYPE_CHECKING:
    from tests.drills.alerting_rig import AlertingRig

pytestmark = pytest.mark.slow

FAST = {
    "health_within": 5.0,
    "margin": 3.0,
    "recover_within": 15.0,
    "command_timeout": 5.0,
    "poll_interval": 0.2,
    "request_timeout": 2.0,
}


def _context(
    rig: AlertingRig, name: str, *, timeout: float = 45.0, **options: Any
) -> tuple[DrillContext, Path]:
    breaking, restoring, marker = rig.commands(name)
    spec = Environment.model_validate(rig.environment())
    target = Target(service="shop", environments={"staging": spec})
    values = {"break_command": breaking, "restore_command": restoring, **FAST, **options}
    return DrillContext("staging", spec, target, values, timeout_s=timeout), marker


def _wait(what: str, ready: Callable[[], Any], timeout: float = 10.0) -> None:
    from tests.drills.alerting_rig import wait_for

    wait_for(what, lambda: bool(ready()), timeout)


def test_alert_fires_reaches_the_webhook_and_recovers(rig: AlertingRig, tmp_path: Path) -> None:
    rig.quiet()
    ctx, marker = _context(rig, "pass", alert="DependencyDown", expected_receiver="shop-webhook")
    drill = AlertFiresDrill()
    plan = drill.plan(ctx)
    assert plan.changes_state and plan.max_requests
    assert f"kill -STOP {rig.redis_pid}" in plan.touches[0]
    assert f"kill -CONT {rig.redis_pid} && echo restored >> {marker}" in plan.touches[0]
    assert "without a shell" in plan.steps[1] and "/bin/sh -c" in plan.steps[-1]

    outcome = asyncio.run(execute(drill, ctx))

    log = "\n".join(outcome.log)
    assert outcome.passed, f"{outcome.summary}\n{log}"
    results = {r.item_id: r for r in outcome.results}
    assert set(results) == {AVAILABILITY, ROUTING, HEALTH}
    assert all(r.status is Status.PASS for r in results.values())
    assert "HTTP 503" in results[HEALTH].message
    assert "expected receiver shop-webhook" in results[ROUTING].message
    m = outcome.measurements
    assert 0 < m["time_to_health_failure_s"] < m["time_to_firing_s"] <= m["time_to_alertmanager_s"]
    assert m["time_to_firing_s"] >= m["rule_for_s"] == 2.0
    assert m["receiver"] == "shop-webhook" and m["route"] == "route.routes[0]"
    assert m["alert_class"] == "availability" and m["time_to_recovery_s"] is not None
    assert m["break_exit_code"] == 0 and m["restore_exit_code"] == 0
    assert marker.read_text() == "restored\n" and rig.redis_running()
    # Alertmanager delivered it to the webhook receiver, and the resolution after the restore.
    _wait("the firing notification", lambda: rig.deliveries("DependencyDown"))
    _wait("the resolved notification", lambda: rig.deliveries("DependencyDown", "resolved"))

    store = Store(f"sqlite:///{tmp_path / 'prr.db'}")
    save_outcome(store, "shop", outcome)
    counted, stale = fresh_results(store, "shop")
    store.close()
    assert not stale and {r.item_id for r in counted} == set(results)
    assert all("verified by drill on" in r.message for r in counted)


def test_alert_that_never_fires_fails_with_the_wait_and_still_restores(rig: AlertingRig) -> None:
    rig.quiet()
    ctx, marker = _context(rig, "never", alert="RedisDown")

    outcome = asyncio.run(execute(AlertFiresDrill(), ctx))

    assert not outcome.passed
    results = {r.item_id: r for r in outcome.results}
    assert set(results) == {AVAILABILITY, HEALTH}, "nothing reached Alertmanager: routing undecided"
    assert results[HEALTH].status is Status.PASS
    alert = results[AVAILABILITY]
    assert alert.status is Status.FAIL and alert.remediation
    assert "did not fire within 5s of the break (for 2s + margin 3s)" in alert.message
    assert "did not fire within 5s" in outcome.summary
    m = outcome.measurements
    assert m["time_to_firing_s"] is None and m["firing_window_s"] == 5.0
    assert m["time_to_alertmanager_s"] is None and m["time_to_recovery_s"] is not None
    assert marker.read_text() == "restored\n" and rig.redis_running()


def test_interrupted_drill_restores_the_dependency(rig: AlertingRig) -> None:
    rig.quiet()
    ctx, marker = _context(rig, "interrupted", alert="DependencyDown", margin=30.0)
    paused: list[bool] = []

    async def scenario() -> None:
        task = asyncio.create_task(AlertFiresDrill().run(ctx))
        for _ in range(200):
            if any("break_command `kill -STOP" in line for line in ctx.log):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # mid-wait: polling health and Prometheus
        paused.append(not rig.redis_running())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())

    assert paused == [True], "the dependency was broken when the drill was cancelled"
    assert marker.read_text() == "restored\n" and rig.redis_running()
    assert any("interrupted: restoring" in line for line in ctx.log)
    assert any("restore_command `kill -CONT" in line and "exited 0" in line for line in ctx.log)


def test_refusals_leave_everything_untouched(rig: AlertingRig, cli, tmp_path: Path) -> None:
    rig.quiet()
    drill = AlertFiresDrill()
    ctx, marker = _context(rig, "refused", alert="ShopAlwaysFiring")
    drill.plan(ctx)  # the configuration is fine; the starting state is not
    with pytest.raises(DrillRefused, match=r"ShopAlwaysFiring.* already firing"):
        asyncio.run(execute(drill, ctx))
    missing, _ = _context(rig, "missing", alert="NoSuchAlert")
    with pytest.raises(DrillRefused, match="no alerting rule"):
        asyncio.run(execute(drill, missing))
    assert not marker.exists() and rig.redis_running(), "nothing was broken, nothing restored"

    bare = Environment.model_validate({"endpoints": [{"url": rig.service_url}]})
    empty = DrillContext("staging", bare, Target(service="shop"), {"restore_command": "nosuch-x"})
    with pytest.raises(DrillRefused) as refused:
        drill.plan(empty)
    for needed in ("break_command is required", "'nosuch-x' is not an executable", "-o alert="):
        assert needed in str(refused.value)
    assert "no prometheus.url" in str(refused.value) and "no alertmanager.url" in str(refused.value)

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prr.yaml").write_text(
        json.dumps({"service": "shop", "environments": {"staging": rig.environment()}})
    )
    breaking, restoring, cli_marker = rig.commands("cli")
    run = cli(
        "drill", "run", "alert-fires", str(repo), "-e", "staging", "--yes",
        "-o", f"break_command={breaking}", "-o", f"restore_command={restoring}",
        "-o", "alert=ShopAlwaysFiring", "--database", f"sqlite:///{tmp_path / 'prr.db'}",
    )  # fmt: skip
    assert run.exit_code == 2 and "already firing" in run.stderr
    assert "touches: the dependency: break_command `kill -STOP" in run.stdout
    assert not cli_marker.exists()
    listed = cli("drill", "list")
    assert "alert-fires" in listed.stdout and "-o restore_command=" in listed.stdout
    assert "alert-fires" in load_builtin_drills()


def test_commands_and_health_bodies() -> None:
    assert command_argv("kill -STOP 42") == ["kill", "-STOP", "42"]
    assert command_argv("redis-cli -p 1 'debug sleep 5'") == [
        "redis-cli",
        "-p",
        "1",
        "debug sleep 5",
    ]
    assert command_argv("a && b")[:2] == ["/bin/sh", "-c"]
    assert command_argv("X=1 run")[:2] == ["/bin/sh", "-c"]
    shown = shown_command("redis-cli -u redis://:hunter2@cache:6379/0 shutdown")
    assert "hunter2" not in shown and shown.endswith("cache:6379/0 shutdown")
    assert down_marker(b'{"status": "ok", "checks": {"redis": "down"}}') == "checks.redis=down"
    assert down_marker(b'{"status": "DOWN"}') == "status=DOWN"
    assert (
        down_marker(b'{"components": {"db": {"healthy": false}}}') == "components.db.healthy=false"
    )
    assert down_marker(b'{"status": "UP", "checks": [{"name": "db", "status": "up"}]}') is None
    assert down_marker(b"OK") is None
