"""Refuse to send requests where a scan must never reach: cloud metadata and link-local.

A URL in ``prr.yaml`` could point at ``169.254.169.254`` and make prr read a
machine's cloud credentials (server-side request forgery through the tool).
Every live collector asks :class:`AddressGuard` before connecting; it resolves
the host and refuses link-local and metadata addresses unless explicitly allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from prr.errors import CollectorError

_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "metadata.azure.com", "instance-data"}
)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class ForbiddenAddress(CollectorError):
    """The target resolves to an address prr refuses to contact."""


@dataclass(frozen=True)
class AddressGuard:
    """Decides whether a host may be contacted. Loopback and private ranges are allowed."""

    allow_link_local: bool = False

    def check_ip(self, address: str, source: str) -> None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip in _METADATA_ADDRESSES:
            raise ForbiddenAddress(f"{ip} is a cloud metadata address; refused", source=source)
        if ip.is_link_local and not self.allow_link_local:
            raise ForbiddenAddress(
                f"{ip} is link-local; refused (set live.allow_link_local to allow)", source=source
            )
        if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            raise ForbiddenAddress(f"{ip} is not a unicast host address; refused", source=source)

    async def check_host(
        self, host: str, port: int, source: str, timeout: float = 5.0
    ) -> list[str]:
        """Resolve ``host`` and check every address; returns the addresses."""
        if host.lower().rstrip(".") in _METADATA_HOSTS:
            raise ForbiddenAddress(f"{host} is a cloud metadata host; refused", source=source)
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout
            )
        except TimeoutError:
            raise CollectorError(
                f"resolving {host} timed out after {timeout:g}s", source=source
            ) from None
        except OSError as exc:
            raise CollectorError(
                f"cannot resolve {host}: {exc.strerror or exc}", source=source
            ) from None
        addresses = sorted({str(info[4][0]) for info in infos})
        for address in addresses:
            self.check_ip(address, source)
        return addresses

    async def check_url(self, url: str, timeout: float = 5.0) -> list[str]:
        """Check the host of ``url`` (http, https, postgresql, redis …)."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise CollectorError("the URL has no host", source=redact_url(url))
        default = {
            "https": 443,
            "http": 80,
            "postgresql": 5432,
            "postgres": 5432,
            "redis": 6379,
            "rediss": 6379,
        }.get(parts.scheme, 0)
        return await self.check_host(
            parts.hostname, parts.port or default, redact_url(url), timeout
        )


def redact_url(url: str) -> str:
    """``url`` without its password (and without query parameters that may hold one)."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "<unparsed url>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = (
            f"{parts.username}:***@{netloc}" if parts.password else f"{parts.username}@{netloc}"
        )
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"
