"""The API against its own OpenAPI document: schemathesis fuzzes the real server.

On each store backend (SQLite, PostgreSQL) every operation gets a bounded, seeded
run of generated requests: as an admin, schemathesis' boundary cases plus valid and
invalid random ones; as a viewer, a shorter random run, so the 403 answers are
exercised too. No answer may be a server error, and every answer must be one the
document declares: status code, content type, headers and body.

Tests are made per operation from the document the app builds; a separate test
checks that the running server serves exactly that document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prr.server import create_app
from prr.store.users import Role
from tests.server.conftest import ALL_SIGNOFF, SETTINGS, Running
from tests.server.test_api import _service_with_review

SEED = 20261123
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    """The API's OpenAPI document, built without a server so tests can be made per operation."""
    app = create_app("sqlite://", SETTINGS)
    try:
        return app.openapi()
    finally:
        app.state.store.close()


def _schema(examples: int, *, boundaries: bool) -> schemathesis.BaseSchema:
    """The document as schemathesis sees it: ``examples`` random cases per operation, seeded."""
    config = {
        "seed": SEED,
        # the run is bounded by max-examples; timing-based health checks would only make
        # the outcome depend on how busy the machine is
        "suppress-health-check": ["all"],
        "generation": {"max-examples": examples, "deterministic": True, "database": "none"},
        "phases": {
            "coverage": {
                "enabled": boundaries,
                "unexpected-methods": [],
                "generation": {"mode": "positive"},
            }
        },
    }
    return schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(config))


DOCUMENT = _document()
as_admin = _schema(25, boundaries=True)
as_viewer = _schema(10, boundaries=False)


@dataclass
class Caller:
    """A user with a token, and one HTTP session for all of its requests."""

    running: Running
    name: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, case: Case[Any]) -> None:
        case.call_and_validate(
            base_url=self.running.url,
            session=self.session,
            headers={"Authorization": f"Bearer {self.token}"},
            checks=CHECKS,
        )
        if case.method == "DELETE" and self.running.accounts.authenticate(self.token) is None:
            # the fuzzed id was this very token's: carry on with a new one
            _, self.token = self.running.accounts.create_token(self.name, services=["*"])


def _caller(running: Running, role: Role, signoff: tuple[str, ...] = ()) -> Iterator[Caller]:
    name, token = running.user(role, signoff=signoff)
    caller = Caller(running, name, token)
    yield caller
    caller.session.close()


@pytest.fixture(scope="module")
def seeded(running: Running, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A service with a scan and an open review, so generated ids also hit real rows."""
    _service_with_review(running, tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def admin(running: Running, seeded: None) -> Iterator[Caller]:
    yield from _caller(running, Role.ADMIN, ALL_SIGNOFF)


@pytest.fixture(scope="module")
def viewer(running: Running, seeded: None) -> Iterator[Caller]:
    yield from _caller(running, Role.VIEWER)


@as_admin.parametrize()
def test_admin_answers_are_documented(case: Case[Any], admin: Caller) -> None:
    admin.call(case)


@as_viewer.parametrize()
def test_viewer_answers_are_documented(case: Case[Any], viewer: Caller) -> None:
    viewer.call(case)


def test_the_server_serves_this_document(running: Running) -> None:
    _, token = running.user(Role.VIEWER)
    with running.client(token) as client:
        assert client.get("/api/v1/openapi.json").json() == DOCUMENT


def test_every_operation_declares_its_errors_and_auth() -> None:
    assert DOCUMENT["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if method == "post" and path in ("/api/v1/auth/login", "/api/v1/auth/tokens"):
                assert "security" not in operation, path
                assert {"401", "423", "429"} <= codes, path
            else:
                assert operation["security"] == [{"token": []}], (method, path)
                assert "401" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= codes, (method, path)
            for code in codes - {"200", "201", "204"}:
                shape = operation["responses"][code]["content"]["application/json"]["schema"]
                assert shape == {"$ref": "#/components/schemas/Problem"}, (method, path, code)
