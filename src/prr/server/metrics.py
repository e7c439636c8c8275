"""Prometheus metrics of the server, served at ``/metrics``.

Requests are counted and timed by route *template* (``/api/v1/reviews/{review_id}``),
never by raw path, so the number of series stays bounded. Reviews by state are
read from the store at scrape time, so every process reports the same figure.
Each app has its own registry (several apps in one process do not collide).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from prr.store.schema import Review

if TYPE_CHECKING:
    from prr.store.db import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _ReviewStates(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("prr_reviews", "Reviews in the store by state", labels=["state"])
        try:
            with self.store.transaction() as session:
                rows = session.execute(
                    select(Review.state, func.count()).group_by(Review.state)
                ).all()
        except Exception:  # the store is down: /readyz says so; metrics still answer
            rows = []
        for state, count in rows:
            family.add_metric([str(state)], float(count))
        yield family


class Metrics:
    """The server's metrics and their exposition."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "prr_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "prr_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.scans = Counter(
            "prr_scans_ingested", "Scans stored, by verdict", ["verdict"], registry=self.registry
        )
        self.registry.register(_ReviewStates(store))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
