"""Bearer-token authentication and scope-based authorization.

Customers sign in through the Cognito user pool (password policy, MFA and
lockout are configured there, see infra/terraform/main.tf). The API only
verifies the resulting access tokens: signature (JWKS), issuer, audience,
expiry, and the scopes a route requires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import jwt
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.settings import Settings, get_settings

_bearer = HTTPBearer(auto_error=False)
_JWKS_CACHE: dict[str, object] = {"keys": None, "fetched": 0.0}
_JWKS_TTL_S = 600


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    roles: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return "support" in self.roles or "admin" in self.roles


def _jwks(settings: Settings) -> jwt.PyJWKSet:
    now = time.monotonic()
    if _JWKS_CACHE["keys"] is None or now - float(_JWKS_CACHE["fetched"]) > _JWKS_TTL_S:  # type: ignore[arg-type]
        response = httpx.get(settings.jwks_url, timeout=3.0)
        response.raise_for_status()
        _JWKS_CACHE["keys"] = jwt.PyJWKSet.from_dict(response.json())
        _JWKS_CACHE["fetched"] = now
    return _JWKS_CACHE["keys"]  # type: ignore[return-value]


def current_principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    settings: Settings = Depends(get_settings),
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials
    try:
        header = jwt.get_unverified_header(token)
        key = _jwks(settings)[header["kid"]]
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=["RS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub"]},
            leeway=30,
        )
    except (jwt.PyJWTError, KeyError) as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    return Principal(
        subject=claims["sub"],
        scopes=frozenset(str(claims.get("scope", "")).split()),
        roles=frozenset(claims.get("cognito:groups", [])),
    )


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    """Route dependency: the token must carry `scope` (RBAC via Cognito groups → scopes)."""

    def checker(principal: Principal = Depends(current_principal)) -> Principal:
        if scope not in principal.scopes:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing scope {scope}")
        return principal

    return checker


def ensure_owner(principal: Principal, customer_id: str) -> None:
    """Resource-level permission: customers see only their own orders; support staff see all."""
    if principal.subject != customer_id and not principal.is_staff:
        # 404, not 403: do not reveal that the order exists
        raise HTTPException(status.HTTP_404_NOT_FOUND, "order not found")
