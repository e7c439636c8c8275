"""Databases and caches as they run: TLS on the connection, authentication, the role's rights.

Decided from the live PostgreSQL and Redis collectors: ``ssl`` and whether
prr's own connection was encrypted (``pg_stat_ssl``), pg_hba.conf rules when
the role may see them, whether the server asked for a password at all, the
connecting role's attributes; for Redis, TLS, whether a connection without
credentials may run commands, and ``protected-mode``. These results speak for
the data-store hops only; the HTTP hops are decided by the endpoint checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from prr.checks.infrastructure.live_datastores import (
    Finding,
    both,
    pg_evidence,
    pg_label,
    pg_stores,
    redis_evidence,
    redis_label,
    results,
    unreadable_pg,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.live.postgres import Q_HBA, Q_ROLE, Q_SSL, HbaRule, PostgresFacts, PostgresStore
from prr.collectors.live.redis import RedisFacts, RedisStore
from prr.model.evidence import Evidence, Result, Status

IN_TRANSIT = "security.data-security.data-encrypted-in-transit"
NOT_EXPOSED = "security.network-security.internal-services-not-exposed"
MINIMAL_PERMISSIONS = "security.secrets-management.service-accounts-minimal-permissions"
VERIFYING_SSLMODES = frozenset({"verify-ca", "verify-full"})
WEAK_METHODS = {"trust": "no authentication", "password": "clear-text password"}


def _loopback(address: str | None) -> bool:
    if not address:
        return False
    if address in {"localhost", "samehost"}:
        return True
    try:
        return ipaddress.ip_network(address, strict=False).is_loopback
    except ValueError:
        return False


def _plain_tcp_rules(rules: Iterable[HbaRule]) -> list[HbaRule]:
    """Rules that admit TCP connections without TLS from beyond this host."""
    return [
        r
        for r in rules
        if r.type in {"host", "hostnossl"} and r.method != "reject" and not _loopback(r.address)
    ]


def _pg_tls(store: PostgresStore) -> Finding:
    ssl = store.setting("ssl")
    used = f"used {store.ssl_protocol or 'TLS'}" if store.ssl_in_use else "was not encrypted"
    ev: list[Evidence] = [
        pg_evidence(
            store,
            f"ssl = {ssl.display()}; this connection {used} (sslmode={store.sslmode})",
            f"SHOW ssl; {Q_SSL}",
            {"ssl": ssl.value, "ssl_in_use": store.ssl_in_use, "protocol": store.ssl_protocol},
        )
    ]
    problems: list[str] = []
    fixes: list[str] = []
    if not ssl.on:
        problems.append("ssl is off: the server cannot encrypt connections")
        fixes.append(
            "# postgresql.conf\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'"
            "\nssl_min_protocol_version = 'TLSv1.2'"
        )
    elif not store.ssl_in_use:
        problems.append(f"prr's connection was not encrypted (sslmode={store.sslmode})")
        fixes.append(
            "# Clients: connect with sslmode=verify-full (and sslrootcert=<CA file>) in the URL"
        )
    plain = _plain_tcp_rules(store.hba or ())
    if plain:
        problems.append(
            "pg_hba.conf admits unencrypted TCP connections ("
            + "; ".join(r.describe() for r in plain[:3])
            + ")"
        )
        ev.append(
            pg_evidence(
                store,
                "rules admitting TCP without TLS: " + "; ".join(r.describe() for r in plain[:5]),
                Q_HBA,
            )
        )
        fixes.append(
            "# pg_hba.conf: use hostssl instead of host for remote clients, and reject the rest\n"
            "hostssl all all 10.0.0.0/8 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject"
        )
    if problems:
        return Finding(
            Status.FAIL, f"{pg_label(store)}: " + "; ".join(problems), tuple(ev), "\n".join(fixes)
        )
    verify = (
        ""
        if store.sslmode in VERIFYING_SSLMODES
        else f" (prr's URL did not verify the certificate: sslmode={store.sslmode}; applications "
        "should use sslmode=verify-full)"
    )
    hba = "" if store.hba is not None else "; pg_hba.conf not visible to this role"
    return Finding(
        Status.PASS,
        f"{pg_label(store)}: ssl on and this connection used {store.ssl_protocol or 'TLS'}"
        f"{verify}{hba}",
        tuple(ev),
    )


def _redis_tls(store: RedisStore) -> Finding:
    port = store.plaintext_port
    ev = redis_evidence(
        store,
        f"connected with {'TLS (rediss://)' if store.tls else 'plain TCP (redis://)'}"
        + (f"; CONFIG GET port = {port}" if port is not None else ""),
        "CONFIG GET port, CONFIG GET tls-port",
        {
            "tls": store.tls,
            "port": store.config.get("port"),
            "tls-port": store.config.get("tls-port"),
        },
    )
    if not store.tls:
        return Finding(
            Status.FAIL,
            f"{redis_label(store)}: the connection is not encrypted (redis:// URL, plain TCP)",
            (ev,),
            "# redis.conf: serve TLS only, and connect with rediss://\n"
            "port 0\ntls-port 6379\ntls-cert-file /etc/redis/tls/redis.crt\n"
            "tls-key-file /etc/redis/tls/redis.key\ntls-ca-cert-file /etc/redis/tls/ca.crt",
        )
    if port:
        return Finding(
            Status.FAIL,
            f"{redis_label(store)}: TLS is served, but plain TCP is still open on port {port}",
            (ev,),
            "# redis.conf: close the unencrypted port\nport 0",
        )
    note = (
        ""
        if store.tls_verified
        else " (prr's URL did not verify the certificate: ssl_cert_reqs; applications should)"
    )
    return Finding(Status.PASS, f"{redis_label(store)}: TLS (rediss://) in use{note}", (ev,))


@check(
    "live.datastore.tls",
    items=[IN_TRANSIT],
    needs=[PostgresFacts, RedisFacts],
    scope="environment",
)
def datastore_tls(ctx: CheckContext) -> Iterable[Result]:
    """Connections to PostgreSQL and Redis are encrypted; the servers refuse plain ones."""
    findings = both(ctx, _pg_tls, _redis_tls)
    yield from results(ctx, {IN_TRANSIT: findings})


def _pg_auth(store: PostgresStore) -> Finding:
    ev: list[Evidence] = []
    problems: list[str] = []
    fixes: list[str] = []
    credential = store.password_requested or store.client_certificate or store.gssapi
    ev.append(
        pg_evidence(
            store,
            "the server "
            + (
                "asked for a password"
                if store.password_requested
                else "accepted a client certificate"
                if store.client_certificate
                else "authenticated with GSSAPI"
                if store.gssapi
                else "let prr in without asking for any credential"
            ),
            "connection start-up (PQconnectionUsedPassword)",
            {
                "password_requested": store.password_requested,
                "client_certificate": store.client_certificate,
            },
        )
    )
    if not credential:
        problems.append("the server let prr in without asking for a password (trust)")
    if store.hba is not None:
        weak = [r for r in store.hba if r.method in WEAK_METHODS]
        if weak:
            problems.append(
                "pg_hba.conf has "
                + "; ".join(f"{r.describe()} ({WEAK_METHODS[r.method]})" for r in weak[:3])
            )
            ev.append(
                pg_evidence(
                    store,
                    "trust/password rules: " + "; ".join(r.describe() for r in weak[:5]),
                    Q_HBA,
                )
            )
    encryption = store.setting("password_encryption")
    if (encryption.value or "").lower() == "md5":
        problems.append("password_encryption = md5 (weak, deprecated)")
    if problems:
        fixes.append(
            "# pg_hba.conf: require a password (or a client certificate) from every client\n"
            "hostssl all all 10.0.0.0/8 scram-sha-256\n"
            "# postgresql.conf\npassword_encryption = 'scram-sha-256'\n"
            "# then reset each role's password so it is stored as SCRAM, and reload"
        )
        return Finding(
            Status.FAIL, f"{pg_label(store)}: " + "; ".join(problems), tuple(ev), "\n".join(fixes)
        )
    hba = (
        "no trust or clear-text password rules in pg_hba.conf"
        if store.hba is not None
        else "pg_hba.conf not visible to this role"
    )
    return Finding(
        Status.PASS,
        f"{pg_label(store)}: requires a credential to connect; {hba}",
        tuple(ev),
    )


def _redis_auth(store: RedisStore) -> Finding:
    protected = store.protected_mode
    ev = redis_evidence(
        store,
        (store.auth_evidence or "authentication requirement not visible")
        + (f"; protected-mode {'yes' if protected else 'no'}" if protected is not None else ""),
        "ACL GETUSER default (flags only); PING without credentials; CONFIG GET protected-mode",
        {
            "auth_required": store.auth_required,
            "default_user_flags": list(store.default_user_flags or ()),
            "protected_mode": protected,
        },
    )
    label = redis_label(store)
    if store.auth_required is None:
        reasons = "; ".join(f"{k}: {v}" for k, v in store.unreadable.items())
        return Finding(
            Status.UNKNOWN,
            f"{label}: whether authentication is required could not be read ({reasons})",
            (ev,),
        )
    if not store.auth_required:
        exposed = (
            " and protected-mode is off, so any network peer may use it"
            if protected is False
            else ""
        )
        return Finding(
            Status.FAIL,
            f"{label} runs commands without authentication{exposed}",
            (ev,),
            "# redis.conf: require a password (or ACL users) and keep protected mode on\n"
            "requirepass <long random secret from the secret store>\n"
            "# or: user default off   and   user app on >secret ~app:* +@read +@write\n"
            "protected-mode yes",
        )
    return Finding(Status.PASS, f"{label} requires authentication ({store.auth_evidence})", (ev,))


@check(
    "live.datastore.authentication",
    items=[NOT_EXPOSED],
    needs=[PostgresFacts, RedisFacts],
    scope="environment",
)
def datastore_authentication(ctx: CheckContext) -> Iterable[Result]:
    """Databases and caches answer only to authenticated clients (no trust, no open Redis)."""
    findings = both(ctx, _pg_auth, _redis_auth)
    yield from results(ctx, {NOT_EXPOSED: findings})


def _role_finding(store: PostgresStore) -> Finding:
    role = store.role
    if role is None:
        reason = store.unreadable.get("pg_roles", "not read")
        return Finding(
            Status.UNKNOWN,
            f"{pg_label(store)}: the role's attributes could not be read ({reason})",
            (pg_evidence(store, f"pg_roles: {reason}", Q_ROLE),),
        )
    rights = [
        name
        for name, held in (
            ("SUPERUSER", role.superuser),
            ("CREATEROLE", role.createrole),
            ("BYPASSRLS", role.bypassrls),
            ("REPLICATION", role.replication),
        )
        if held
    ]
    memberships = [] if role.superuser else list(role.admin_roles)
    ev = pg_evidence(
        store,
        f"role {role.name}: superuser={role.superuser}, createrole={role.createrole}, "
        f"bypassrls={role.bypassrls}, replication={role.replication}, createdb={role.createdb}"
        + (f", member of {', '.join(memberships)}" if memberships else ""),
        Q_ROLE,
        {
            "role": role.name,
            "superuser": role.superuser,
            "createrole": role.createrole,
            "bypassrls": role.bypassrls,
            "replication": role.replication,
            "createdb": role.createdb,
            "admin_roles": memberships,
        },
    )
    if rights or memberships:
        held = ", ".join(rights + memberships)
        return Finding(
            Status.FAIL,
            f"{pg_label(store)}: the role prr connects as ({role.name}) holds {held}",
            (ev,),
            f"-- Give the application its own role with only what it uses, e.g.:\n"
            f"ALTER ROLE {role.name} NOSUPERUSER NOCREATEROLE NOBYPASSRLS NOREPLICATION;\n"
            + "".join(f"REVOKE {m} FROM {role.name};\n" for m in memberships)
            + "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA <schema> "
            + f"TO {role.name};",
        )
    return Finding(
        Status.PASS,
        f"{pg_label(store)}: role {role.name} has no SUPERUSER, CREATEROLE, BYPASSRLS or "
        "REPLICATION and no administrator role memberships (this is the role in prr's URL: use "
        "the application's own role there)",
        (ev,),
    )


@check(
    "live.database.role-privileges",
    items=[MINIMAL_PERMISSIONS],
    needs=[PostgresFacts],
    scope="environment",
)
def database_role_privileges(ctx: CheckContext) -> Iterable[Result]:
    """The database role in the URL is not a superuser and cannot create roles or bypass RLS."""
    findings = [
        _role_finding(store) if store.ok else unreadable_pg(store) for store in pg_stores(ctx)
    ]
    yield from results(ctx, {MINIMAL_PERMISSIONS: findings})
