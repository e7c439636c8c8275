"""``prr serve``, ``prr push`` and ``prr admin``: the organisation's server and its accounts.

- ``serve`` runs the API with uvicorn; SIGTERM/SIGINT stop it gracefully (in-flight
  requests finish, then the store closes). ``--workers N`` runs N stateless processes
  on one port, so that pages and ingest use every core.
- ``push`` uploads a scan (a JSON file, or a repository it scans first) with an API
  token. Exit 0 stored, 1 the server refused it, 2 usage or configuration error,
  3 the run failed (network, server error, scan crashed).
- ``admin`` creates users and tokens directly in the store (the server need not run).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from prr.cli._output import EXIT_OK, EXIT_RUN_FAILED, EXIT_THRESHOLD, EXIT_USAGE, console

SERVER_ENV = "PRR_SERVER"
TOKEN_ENV = "PRR_TOKEN"

admin_app = typer.Typer(
    help="Manage the server's users and API tokens.", no_args_is_help=True, add_completion=False
)

Database = Annotated[
    str | None,
    typer.Option("--database", help="Store URL (default: PRR_DATABASE_URL, else ./.prr/prr.db)."),
]


def _error(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Database = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (about one per core); they share "
            "PRR_SESSION_SECRET, drawn at start when unset.",
        ),
    ] = 1,
) -> None:
    """Run the organisation's API server (JSON API, /healthz, /readyz, /metrics)."""
    import uvicorn

    from prr.errors import PrrError
    from prr.server import ServerSettings, create_app

    if workers > 1:
        # The workers are fresh processes that build the app from the environment: they
        # must agree on the store and on the key that signs sessions.
        if database:
            os.environ["PRR_DATABASE_URL"] = database
        if not os.environ.get("PRR_SESSION_SECRET"):
            import secrets

            os.environ["PRR_SESSION_SECRET"] = secrets.token_urlsafe(32)
    settings = ServerSettings.from_env()
    try:
        app = create_app(database, settings)  # also migrates, once, before any worker starts
    except PrrError as exc:
        raise _error(str(exc)) from None
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,  # the app logs one JSON line per request itself
        "log_level": "info",
        "timeout_graceful_shutdown": settings.graceful_shutdown_s,
        "proxy_headers": True,
        "server_header": False,
    }
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        app.state.store.close()
        config = uvicorn.Config("prr.server:create_app", factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[_listen(host, port)]).run()
        return
    uvicorn.Server(uvicorn.Config(app, **options)).run()


def _listen(host: str, port: int) -> Any:
    """The workers' shared listening socket, made TCP explicitly: asyncio sets TCP_NODELAY
    only on connections whose socket says IPPROTO_TCP, and uvicorn's own (protocol 0) does
    not, so every keep-alive answer would wait ~40 ms for a delayed ACK."""
    import logging
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _error(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_RUN_FAILED) from None
    sock.set_inheritable(True)
    logging.getLogger("uvicorn.error").info(
        "listening on http://%s:%d", host, sock.getsockname()[1]
    )
    return sock


# -- push --------------------------------------------------------------------------------
def _token(value: str | None) -> str | None:
    if value is None:
        return os.environ.get(TOKEN_ENV) or None
    if value.startswith("env:"):
        return os.environ.get(value[4:]) or None
    return value


def _payload(source: Path) -> dict[str, Any]:
    if source.is_dir():
        from prr.engine.scan import ScanOptions, run_scan
        from prr.errors import PrrError
        from prr.reports.scan_json import scan_dict

        try:
            return scan_dict(run_scan(ScanOptions(root=source)))
        except PrrError as exc:
            raise _error(str(exc)) from None
        except Exception as exc:
            raise _error(f"the scan failed: {type(exc).__name__}", EXIT_RUN_FAILED) from None
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(f"{source}: no such file or directory") from None
    except (OSError, ValueError) as exc:
        raise _error(f"{source}: not a JSON scan ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise _error(f"{source}: not a JSON scan")
    return data


def push(
    source: Annotated[
        Path, typer.Argument(help="A scan's JSON file, or a repository to scan and push.")
    ] = Path(),
    server: Annotated[
        str | None, typer.Option("--server", help=f"Server URL (default: {SERVER_ENV}).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help=f"API token, or env:VAR to read it (default: {TOKEN_ENV})."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 60.0,
) -> None:
    """Upload a scan to the organisation's server (from CI, with a CI token)."""
    import httpx

    url = server or os.environ.get(SERVER_ENV)
    if not url:
        raise _error(f"no server: pass --server URL or set {SERVER_ENV}")
    secret = _token(token)
    if not secret:
        raise _error(f"no token: pass --token env:VAR or set {TOKEN_ENV}")
    payload = _payload(source)
    try:
        response = httpx.post(
            url.rstrip("/") + "/api/v1/scans",
            json=payload,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise _error(f"cannot reach {url}: {type(exc).__name__}", EXIT_RUN_FAILED) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {"detail": response.text[:500]}
    if response.status_code == 201:
        drifted = answer.get("drifted_reviews") or []
        typer.echo(
            f"stored scan {answer.get('id')} of {answer.get('service')}: {answer.get('verdict')}, "
            f"{answer.get('blockers')} blocker(s), {answer.get('issues')} issue(s)"
        )
        if drifted:
            typer.echo(f"approved reviews drifted: {', '.join(str(d) for d in drifted)}")
        raise typer.Exit(EXIT_OK)
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    if isinstance(detail, list):
        detail = "; ".join(str(d) for d in detail)
    code = EXIT_RUN_FAILED if response.status_code >= 500 else EXIT_THRESHOLD
    raise _error(f"the server refused the scan ({response.status_code}): {detail}", code)


# -- admin -------------------------------------------------------------------------------
def _accounts(database: str | None) -> Any:
    from prr.errors import PrrError
    from prr.store.db import open_store
    from prr.store.users import Accounts

    try:
        return Accounts(open_store(url=database))
    except PrrError as exc:
        raise _error(str(exc)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@admin_app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="User name (e.g. an email address).")],
    role: Annotated[str, typer.Option(help="viewer, contributor, reviewer or admin.")] = "viewer",
    signoff_role: Annotated[
        list[str] | None,
        typer.Option("--signoff-role", help="A sign-off role the user holds (repeatable)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="A token-only user (e.g. for CI).")
    ] = False,
    database: Database = None,
) -> None:
    """Create a user; prompts for the password twice unless --password-stdin."""
    from prr.store.users import AccountError, Role

    if role not in {r.value for r in Role}:
        raise typer.BadParameter(f"{role!r} is not one of {', '.join(Role)}", param_hint="--role")
    accounts = _accounts(database)
    password = None if no_password else _read_password(password_stdin)
    try:
        user_id = accounts.create_user(
            name, role=Role(role), password=password, signoff_roles=signoff_role or ()
        )
    except AccountError as exc:
        raise _error(str(exc)) from None
    finally:
        accounts.store.close()
    roles = f", sign-off roles: {', '.join(signoff_role)}" if signoff_role else ""
    typer.echo(f"created user {name} (id {user_id}, role {role}{roles})")


@admin_app.command("create-token")
def create_token(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    service: Annotated[
        list[str] | None,
        typer.Option("--service", help="A service the token may act on (repeatable; default *)."),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Days until it expires.")
    ] = None,
    ci: Annotated[
        bool, typer.Option("--ci", help="A CI token rather than a personal one.")
    ] = False,
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    database: Database = None,
) -> None:
    """Create an API token and print it once (it cannot be shown again)."""
    import datetime as dt

    from prr.store.users import AccountError, TokenKind

    accounts = _accounts(database)
    try:
        token_id, secret = accounts.create_token(
            user,
            kind=TokenKind.CI if ci else TokenKind.PERSONAL,
            services=service or ["*"],
            expires_in=dt.timedelta(days=expires_days) if expires_days else None,
            label=label,
        )
    except AccountError as exc:
        raise _error(str(exc)) from None
    finally:
        accounts.store.close()
    typer.echo(f"token {token_id} for {user} (shown once; store it as a secret):", err=True)
    typer.echo(secret)


@admin_app.command("revoke-token")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id.")],
    database: Database = None,
) -> None:
    """Revoke an API token; requests with it are refused from now on."""
    from prr.store.users import AccountError

    accounts = _accounts(database)
    try:
        accounts.revoke_token(token_id)
    except AccountError as exc:
        raise _error(str(exc)) from None
    finally:
        accounts.store.close()
    typer.echo(f"revoked token {token_id}")


__all__ = ["admin_app", "push", "serve"]
