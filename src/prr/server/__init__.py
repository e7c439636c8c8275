"""The organisation's server: the JSON API (and later the dashboard) over the store.

``create_app`` builds the FastAPI application; ``prr serve`` runs it with uvicorn.
"""

from __future__ import annotations

from prr.server.app import create_app
from prr.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
