"""Accounts of the organisation's server: users with roles, and API tokens.

Passwords are hashed with argon2 (never stored or logged in clear). An API token
is 32 random bytes shown once; only its SHA-256 digest is stored, so a copy of
the database does not hand out working tokens. Tokens are scoped to services
(a list, or ``*`` for all), may expire, and can be revoked.

Five failed logins in a row lock an account for 15 minutes (defaults; see
:class:`Accounts`). The lock lives in the database, so it holds across server
processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from prr.errors import PrrError
from prr.store.schema import Base, utcnow

if TYPE_CHECKING:
    from prr.store.db import Store

TOKEN_PREFIX = "prr_"
ALL_SERVICES = "*"


class Role(StrEnum):
    """What a user may do, each role including the ones before it."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class TokenKind(StrEnum):
    PERSONAL = "personal"
    CI = "ci"


class User(Base):
    """A person (or a CI system) who signs in to the server."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    signoff_roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sessions_after: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Sessions issued at or before this moment are refused (set by signing out)."""


class ApiToken(Base):
    """An API token: its SHA-256 digest, owner, service scope, expiry and revocation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    services: Mapped[list[Any]] = mapped_column(JSON, default=list)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountError(PrrError):
    """A user or token could not be created, found or changed."""


class LockedOut(PrrError):
    """Too many failed logins: the account is locked for a while."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"account locked; try again in {retry_after} s")


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what their credential allows."""

    user_id: int
    name: str
    role: Role
    signoff_roles: tuple[str, ...]
    services: tuple[str, ...] = (ALL_SERVICES,)
    token_id: int | None = None
    sessions_after: float | None = None
    """POSIX time: web sessions issued at or before it are no longer valid."""

    def may_access(self, service: str) -> bool:
        return ALL_SERVICES in self.services or service in self.services


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    kind: str
    label: str | None
    services: tuple[str, ...]
    expires_at: dt.datetime | None
    revoked: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def token_digest(secret: str) -> str:
    """SHA-256 hex digest of a token: what the database stores."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything here is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _hasher(time_cost: int = 3, memory_kib: int = 65536) -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


class Accounts:
    """Users and tokens over a store."""

    def __init__(
        self,
        store: Store,
        *,
        max_failures: int = 5,
        lockout: dt.timedelta | None = None,
        hash_time_cost: int = 3,
        hash_memory_kib: int = 65536,
    ) -> None:
        """``hash_*``: argon2 cost of new password hashes (RFC 9106's second choice by default)."""
        self.store = store
        self.max_failures = max_failures
        self.lockout = lockout or dt.timedelta(minutes=15)
        self._ph = _hasher(hash_time_cost, hash_memory_kib)
        self._dummy: str | None = None

    # -- users ---------------------------------------------------------------------------
    def create_user(
        self,
        name: str,
        *,
        role: Role,
        password: str | None = None,
        signoff_roles: list[str] | tuple[str, ...] = (),
    ) -> int:
        """Add a user; a user without a password can only use tokens (e.g. CI)."""
        name = name.strip()
        if not name:
            raise AccountError("a user needs a name")
        if password is not None and len(password) < 12:
            raise AccountError("a password needs at least 12 characters")
        with self.store.transaction() as session:
            if session.scalars(select(User).where(User.name == name)).first() is not None:
                raise AccountError(f"user {name!r} already exists")
            user = User(
                name=name,
                role=Role(role).value,
                password_hash=self._ph.hash(password) if password is not None else None,
                signoff_roles=list(dict.fromkeys(signoff_roles)),
                failed_logins=0,
            )
            session.add(user)
            session.flush()
            return user.id

    def principal(self, name: str) -> Principal:
        with self.store.transaction() as session:
            user = session.scalars(select(User).where(User.name == name)).first()
            if user is None:
                raise AccountError(f"no user {name!r}")
            return _principal(user)

    def end_sessions(self, name: str, *, now: dt.datetime | None = None) -> None:
        """Refuse every web session of ``name`` issued until now (signing out, everywhere)."""
        with self.store.transaction() as session:
            user = session.scalars(select(User).where(User.name == name)).first()
            if user is None:
                raise AccountError(f"no user {name!r}")
            user.sessions_after = now or utcnow()

    def login(self, name: str, password: str, *, now: dt.datetime | None = None) -> Principal:
        """Check a password. Raises :class:`LockedOut` or :class:`AccountError` on failure."""
        from argon2.exceptions import VerificationError

        now = now or utcnow()
        with self.store.transaction() as session:
            user = session.scalars(select(User).where(User.name == name).with_for_update()).first()
            if user is None or user.password_hash is None:
                # Spend the time a real check takes, so timing does not tell whether
                # the name exists.
                if self._dummy is None:
                    self._dummy = self._ph.hash(secrets.token_urlsafe(16))
                with contextlib.suppress(VerificationError):
                    self._ph.verify(self._dummy, password)
                raise AccountError("wrong name or password")
            locked = _aware(user.locked_until)
            if locked is not None and locked > now:
                raise LockedOut(max(1, int((locked - now).total_seconds()) + 1))
            try:
                self._ph.verify(user.password_hash, password)
            except VerificationError:
                user.failed_logins = (user.failed_logins or 0) + 1
                if user.failed_logins >= self.max_failures:
                    user.locked_until, user.failed_logins = now + self.lockout, 0
                failed = True
            else:
                user.failed_logins, user.locked_until = 0, None
                failed = False
        if failed:
            raise AccountError("wrong name or password")
        return _principal(user)

    # -- tokens --------------------------------------------------------------------------
    def create_token(
        self,
        user: str,
        *,
        kind: TokenKind = TokenKind.PERSONAL,
        services: list[str] | tuple[str, ...] = (ALL_SERVICES,),
        expires_in: dt.timedelta | None = None,
        label: str | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[int, str]:
        """A new token for ``user``: returns its id and the secret (shown once, never stored)."""
        if not services:
            raise AccountError("a token needs at least one service (or '*')")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now or utcnow()
        with self.store.transaction() as session:
            owner = session.scalars(select(User).where(User.name == user)).first()
            if owner is None:
                raise AccountError(f"no user {user!r}")
            token = ApiToken(
                user_id=owner.id,
                kind=TokenKind(kind).value,
                label=label,
                digest=token_digest(secret),
                services=list(dict.fromkeys(services)),
                expires_at=now + expires_in if expires_in else None,
            )
            session.add(token)
            session.flush()
            return token.id, secret

    def authenticate(self, secret: str, *, now: dt.datetime | None = None) -> Principal | None:
        """The principal a token stands for, or None if unknown, expired or revoked."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        now = now or utcnow()
        with self.store.transaction() as session:
            token = session.scalars(
                select(ApiToken).where(ApiToken.digest == token_digest(secret))
            ).first()
            if token is None or token.revoked_at is not None:
                return None
            expires = _aware(token.expires_at)
            if expires is not None and expires <= now:
                return None
            user = session.get(User, token.user_id)
            if user is None:
                return None
            last = _aware(token.last_used_at)
            if last is None or now - last > dt.timedelta(minutes=1):
                token.last_used_at = now  # at most one write a minute per token
            base = _principal(user)
            return Principal(
                base.user_id,
                base.name,
                base.role,
                base.signoff_roles,
                tuple(str(s) for s in token.services),
                token.id,
            )

    def revoke_token(self, token_id: int, *, owner: str | None = None) -> None:
        """Revoke a token (only ``owner``'s, when given)."""
        with self.store.transaction() as session:
            token = session.get(ApiToken, token_id)
            if token is None:
                raise AccountError(f"no token {token_id}")
            if owner is not None:
                user = session.get(User, token.user_id)
                if user is None or user.name != owner:
                    raise AccountError(f"no token {token_id}")
            if token.revoked_at is None:
                token.revoked_at = utcnow()

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        with self.store.transaction() as session:
            query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            if user is not None:
                query = query.where(User.name == user)
            return [
                TokenInfo(
                    t.id,
                    u.name,
                    t.kind,
                    t.label,
                    tuple(t.services),
                    _aware(t.expires_at),
                    t.revoked_at is not None,
                    t.created_at,
                    _aware(t.last_used_at),
                )
                for t, u in session.execute(query.order_by(ApiToken.id)).all()
            ]


def _principal(user: User) -> Principal:
    after = _aware(user.sessions_after)
    return Principal(
        user.id,
        user.name,
        Role(user.role),
        tuple(user.signoff_roles or ()),
        sessions_after=after.timestamp() if after else None,
    )


__all__ = [
    "ALL_SERVICES",
    "AccountError",
    "Accounts",
    "ApiToken",
    "LockedOut",
    "Principal",
    "Role",
    "TokenInfo",
    "TokenKind",
    "User",
    "token_digest",
]
