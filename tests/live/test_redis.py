"""Live Redis collector and its checks, against real throwaway redis-server processes.

Servers per module: an open one (no password, protected-mode off, no memory
limit), a hardened one (TLS only, password, an ACL user without admin rights,
maxmemory with allkeys-lru), one with CONFIG renamed away, and a primary with a
replica watched by a Sentinel. Failures (wrong password, refused port, a server
that never answers, a certificate that does not verify) end quickly, clearly,
and make the items unknown.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from prr.collectors.base import Facts
from prr.collectors.live.base import LiveLimits
from prr.collectors.live.redis import RedisCollector, RedisFacts, RedisStore, support_status
from prr.model.evidence import Result, Status
from tests.helpers import by_item, run_live_check
from tests.live.pg import TlsFiles, make_tls
from tests.live.redisserver import (
    APP_PASSWORD,
    APP_USER,
    PRIMARY_PASSWORD,
    RedisNode,
    redis_server,
    sentinel,
    silent_server,
    wait_until,
)
from tests.live.servers import collect_live, free_port

CACHE = "infrastructure.caching.cache-layer-provisioned"
EVICTION = "infrastructure.caching.eviction-policies-set"
FAILOVER = "infrastructure.caching.failover-configured"
IN_TRANSIT = "security.data-security.data-encrypted-in-transit"
EXPOSED = "security.network-security.internal-services-not-exposed"
CHECKS = (
    "live.cache.provisioned",
    "live.cache.eviction",
    "live.cache.failover",
    "live.datastore.tls",
    "live.datastore.authentication",
)
FAST = LiveLimits(timeout_s=1.0, total_timeout_s=20.0)
READ_ONLY_COMMANDS = {"info", "config|get", "acl|getuser", "ping", "sentinel|master"}


@dataclass(frozen=True)
class Servers:
    tls: TlsFiles
    open: RedisNode
    secure: RedisNode
    noconfig: RedisNode
    primary: RedisNode
    replica: RedisNode
    sentinel: RedisNode


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("redis")
    tls = make_tls(folder)
    acl_user = ["--user", APP_USER, "on", f">{APP_PASSWORD}", "~*", "+@all", "-@admin"]
    with (
        redis_server(folder, "--protected-mode", "no", label="open") as open_,
        redis_server(
            folder,
            "--maxmemory",
            "64mb",
            "--maxmemory-policy",
            "allkeys-lru",
            *acl_user,
            tls=tls,
            password=PRIMARY_PASSWORD,
            label="secure",
        ) as secure,
        redis_server(
            folder, "--rename-command", "CONFIG", "", password=PRIMARY_PASSWORD, label="noconfig"
        ) as noconfig,
        redis_server(
            folder,
            "--repl-diskless-sync-delay",
            "0",
            "--maxmemory",
            "32mb",
            "--maxmemory-policy",
            "volatile-lru",
            password=PRIMARY_PASSWORD,
            label="primary",
        ) as primary,
        redis_server(
            folder,
            "--replicaof",
            "127.0.0.1",
            str(primary.port),
            "--masterauth",
            PRIMARY_PASSWORD,
            password=PRIMARY_PASSWORD,
            label="replica",
        ) as replica,
    ):

        def linked() -> bool:
            with replica.client() as client:
                return bool(client.info("replication").get("master_link_status") == "up")

        wait_until(linked, what="replica link up")
        with sentinel(folder, primary, replicas=[replica], password=PRIMARY_PASSWORD) as watcher:
            yield Servers(tls, open_, secure, noconfig, primary, replica, watcher)


def _collect(
    monkeypatch: pytest.MonkeyPatch, limits: LiveLimits | None = None, **urls: str
) -> tuple[RedisFacts, Facts, list[str]]:
    stores = []
    for name, url in urls.items():
        var = f"PRR_TEST_REDIS_{name.upper()}"
        monkeypatch.setenv(var, url)
        stores.append({"name": name, "url": f"env:{var}"})
    facts, ctx = collect_live(RedisCollector, {"redis": stores}, limits=limits)
    bag = Facts(list(ctx.errors))
    bag.add(facts)
    return facts, bag, [str(e) for e in ctx.errors]


def _run(bag: Facts, production: bool = True) -> dict[str, Result]:
    out: dict[str, Result] = {}
    for check_id in CHECKS:
        out.update(by_item(run_live_check(check_id, bag, "production", production)))
    return out


def _text(facts: RedisFacts) -> str:
    return json.dumps(dataclasses.asdict(facts), default=str)


def test_open_server_findings(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, bag, errors = _collect(monkeypatch, cache=servers.open.url())
    assert errors == []
    (store,) = facts.stores
    assert store.auth_required is False and store.default_user_flags == ("on", "nopass")
    assert store.maxmemory == 0 and store.maxmemory_policy == "noeviction"
    assert store.protected_mode is False and not store.tls
    results = _run(bag)
    assert results[EXPOSED].status is Status.FAIL
    assert "without authentication and protected-mode is off" in results[EXPOSED].message
    assert "requirepass" in (results[EXPOSED].remediation or "")
    assert results[EVICTION].status is Status.FAIL
    assert "maxmemory 0" in results[EVICTION].message and "noeviction" in results[EVICTION].message
    assert "maxmemory-policy allkeys-lru" in (results[EVICTION].remediation or "")
    assert results[FAILOVER].status is Status.FAIL
    assert "single node" in results[FAILOVER].message
    assert results[IN_TRANSIT].status is Status.FAIL
    supported, _ = support_status(store.version)
    assert results[CACHE].status is (Status.PASS if supported else Status.FAIL)
    assert store.version and store.version in results[CACHE].message


def test_hardened_server(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, bag, errors = _collect(monkeypatch, cache=servers.secure.url())
    assert errors == []
    (store,) = facts.stores
    assert store.tls and store.config["port"] == "0"
    assert store.auth_required is True
    assert "has a password" in store.auth_evidence
    results = _run(bag)
    for item in (EXPOSED, EVICTION, IN_TRANSIT):
        assert results[item].status is Status.PASS, (item, results[item].message)
    assert "maxmemory 64.0 MiB, policy allkeys-lru" in results[EVICTION].message
    assert store.tls_verified and "did not verify" not in results[IN_TRANSIT].message
    json.dumps([r.to_dict() for r in results.values()])
    assert results[FAILOVER].status is Status.FAIL
    assert not re.search(r"[0-9a-f]{64}", _text(facts)), "ACL password hashes are not kept"
    assert PRIMARY_PASSWORD not in _text(facts)


def test_user_without_admin_rights(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, bag, errors = _collect(monkeypatch, cache=servers.secure.url(APP_PASSWORD, APP_USER))
    assert errors == []
    (store,) = facts.stores
    assert store.config == {}
    assert store.unreadable["CONFIG GET"] == "not visible: this user has no permission for it"
    assert store.unreadable["ACL GETUSER default"].startswith("not visible")
    assert store.auth_required is True
    assert store.auth_evidence == "PING without credentials was refused (NOAUTH)"
    results = _run(bag)
    assert results[EXPOSED].status is Status.PASS
    assert results[EVICTION].status is Status.PASS, "INFO memory still tells the policy"
    assert "INFO memory" in (results[EVICTION].evidence[0].query or "")


def test_config_renamed_is_not_visible_not_an_error(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts, bag, errors = _collect(monkeypatch, cache=servers.noconfig.url())
    assert errors == []
    (store,) = facts.stores
    assert store.ok
    assert store.unreadable["CONFIG GET"] == "not visible: the command is disabled or renamed"
    assert store.protected_mode is None
    results = _run(bag)
    assert results[EVICTION].status is Status.FAIL, "noeviction read from INFO memory"
    assert results[EXPOSED].status is Status.PASS


def test_replica_without_sentinel_is_unknown(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts, bag, _ = _collect(monkeypatch, cache=servers.primary.url())
    (store,) = facts.stores
    assert store.replicas_connected == 1 and store.replicas_online == 1
    result = by_item(run_live_check("live.cache.failover", bag))[FAILOVER]
    assert result.status is Status.UNKNOWN
    assert "no Sentinel or cluster mode is visible" in result.message
    assert "sentinel://" in (result.remediation or "")


def test_sentinel_shows_failover(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    port = servers.sentinel.port
    facts, bag, errors = _collect(
        monkeypatch,
        cache=f"sentinel://:{PRIMARY_PASSWORD}@127.0.0.1:{port}/mymaster",
        info=f"redis://:{PRIMARY_PASSWORD}@127.0.0.1:{port}/0",
    )
    assert errors == []
    for store in facts.stores:
        assert store.sentinel is not None and store.sentinel.replicas == 1
        assert store.sentinel.master_name == "mymaster" and store.role == "master"
        assert store.maxmemory_policy == "volatile-lru", "the primary behind the Sentinel was read"
    result = by_item(run_live_check("live.cache.failover", bag))[FAILOVER]
    assert result.status is Status.PASS
    assert "Sentinel 'mymaster' fails over to 1 replica(s)" in result.message
    assert "only 1 Sentinel(s)" in result.message
    assert "PostgreSQL" not in result.message and "Redis info" in result.message
    assert facts.stores[1].sentinel.asked == "SENTINEL MASTER mymaster"  # type: ignore[union-attr]
    assert facts.parity()["redis.cache.sentinel"] is True


# --- failures ----------------------------------------------------------------------------------


def _assert_all_unknown(bag: Facts, reason: str) -> None:
    results = _run(bag)
    assert set(results) == {CACHE, EVICTION, FAILOVER, IN_TRANSIT, EXPOSED}
    for item, result in results.items():
        assert result.status is Status.UNKNOWN, (item, result.status)
        assert reason in result.message


def test_wrong_password(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Not-The-Pw-77"
    facts, bag, errors = _collect(monkeypatch, cache=servers.secure.url(secret))
    reason = "authentication failed: wrong user name or password (or the user is disabled)"
    assert facts.stores[0].error == reason
    assert len(errors) == 1 and errors[0].endswith(f"{reason} (redis)")
    _assert_all_unknown(bag, reason)
    everything = _text(facts) + json.dumps(errors)
    everything += json.dumps([r.to_dict() for r in _run(bag).values()])
    assert secret not in everything


def test_no_credentials_against_a_password(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts, _, _ = _collect(monkeypatch, cache=servers.secure.url(None))
    assert facts.stores[0].error == (
        "the server requires authentication and the URL has no credentials"
    )


def test_refused_port(monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    facts, bag, _ = _collect(monkeypatch, limits=FAST, cache=f"redis://127.0.0.1:{free_port()}/0")
    assert time.monotonic() - started < 5
    assert facts.stores[0].error == "unreachable: connection refused"
    _assert_all_unknown(bag, "connection refused")


def test_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_server() as port:
        started = time.monotonic()
        facts, bag, _ = _collect(monkeypatch, limits=FAST, cache=f"redis://127.0.0.1:{port}/0")
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert facts.stores[0].error == "no answer within 1s (INFO server)"
    _assert_all_unknown(bag, "no answer within 1s")


def test_certificate_that_does_not_verify(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts, bag, _ = _collect(monkeypatch, cache=servers.secure.url(ca=servers.tls.other_ca))
    reason = "TLS handshake failed: the server's certificate could not be verified"
    assert facts.stores[0].error == reason
    _assert_all_unknown(bag, reason)


def test_bad_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    facts, _, _ = _collect(
        monkeypatch,
        limits=FAST,
        scheme="memcached://127.0.0.1:11211",
        meta="redis://169.254.169.254:6379/0",
        db="redis://127.0.0.1:6379/zero",
    )
    errors = {s.name: s.error for s in facts.stores}
    assert errors["scheme"] == "not a redis://, rediss:// or sentinel:// URL"
    assert "cloud metadata address" in (errors["meta"] or "")
    assert errors["db"] == "the database in the URL path must be a number"


# --- read-only ----------------------------------------------------------------------------------


def test_scan_runs_only_read_commands_and_changes_nothing(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = servers.open
    with node.client() as client:
        client.set("prr:test:key", "value-kept")
        config_before = client.config_get("*")
        keys_before = client.dbsize()
        client.config_resetstat()
        facts, _, _ = _collect(monkeypatch, cache=node.url())
        stats = client.info("commandstats")
        assert client.config_get("*") == config_before
        assert client.dbsize() == keys_before
        assert client.get("prr:test:key") == "value-kept"
    assert facts.stores[0].ok
    used = {name.removeprefix("cmdstat_") for name in stats}
    assert used - {"config|resetstat"} <= READ_ONLY_COMMANDS, used


# --- data and parity ----------------------------------------------------------------------------


def test_support_table_is_data() -> None:
    assert support_status("7.2.4")[0] is True
    assert support_status("7.0.15")[0] is False
    assert support_status("5.0.7")[0] is False
    assert support_status("9.1.0")[0] is True
    assert support_status(None)[0] is None


def test_parity_view(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, _, _ = _collect(monkeypatch, cache=servers.secure.url())
    view = facts.parity()
    (store,) = facts.stores
    assert view["redis.cache.version"] == ".".join(store.version.split(".")[:2])  # type: ignore[union-attr]
    assert view["redis.cache.maxmemory-policy"] == "allkeys-lru"
    assert view["redis.cache.size.maxmemory"] == 64 * 1024 * 1024
    assert view["redis.cache.tls"] is True and view["redis.cache.auth_required"] is True
    assert "127.0.0.1" not in json.dumps(view)


def test_unreadable_store_keeps_no_parity() -> None:
    facts = RedisFacts((RedisStore("c", "redis://x:6379/0", "t", error="timeout"),))
    assert facts.parity() == {}
