"""The hard-coded secrets check: fail with locations, never values; pass only on a full scan."""

from __future__ import annotations

import json
import random
from pathlib import Path

from prr.collectors.secrets import SecretsCollector
from prr.model.evidence import Status
from tests.collectors.test_secrets import ALNUM, _pem, _rand, plant
from tests.helpers import by_item, collect, run_check

CHECK = "security.hardcoded-secrets"
ITEM = "security.secrets-management.no-hardcoded-secrets-in-code"


def _everything(results: list) -> str:  # type: ignore[type-arg]
    return json.dumps([r.to_dict() for r in results]) + repr(results)


def test_fails_with_file_line_and_rule_but_never_the_value(tmp_path: Path) -> None:
    repo = plant(tmp_path)
    results = run_check(CHECK, collect(tmp_path, SecretsCollector))
    result = by_item(results)[ITEM]
    assert result.status is Status.FAIL
    locations = {(e.path, e.line) for e in result.evidence}
    assert ("deploy/aws-credentials.ini", 2) in locations
    assert ("src/billing/settings.py", 3) in locations
    assert any("github-token" in e.summary for e in result.evidence)
    assert "prr:ignore secrets." in (result.remediation or "")
    text = _everything(results)
    for value in repo.values:
        assert value not in text
        assert value[:12] not in text


def test_passes_when_every_file_was_scanned_and_notes_suppressed_and_test_data(
    tmp_path: Path,
) -> None:
    rng = random.Random(2)
    token = "ghp_" + _rand(rng, ALNUM, 36)
    (tmp_path / "app.py").write_text(
        f'DEMO = "{token}"  # prr:ignore secrets.github-token reason="revoked, kept for docs"\n'
        'PASSWORD = os.environ["PASSWORD"]\n',
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "key.pem").write_text(_pem(rng), encoding="utf-8")
    results = run_check(CHECK, collect(tmp_path, SecretsCollector))
    result = by_item(results)[ITEM]
    assert result.status is Status.PASS
    assert "1 suppressed" in result.message and "1 in test data" in result.message
    assert any(
        e.path == "app.py" and "revoked, kept for docs" in e.summary for e in result.evidence
    )
    assert token not in _everything(results)


def test_unknown_when_a_file_could_not_be_scanned(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n", encoding="utf-8")
    (tmp_path / "dump.sql").write_bytes(b"insert into t values (1);\n" * 100_000)
    result = by_item(run_check(CHECK, collect(tmp_path, SecretsCollector)))[ITEM]
    assert result.status is Status.UNKNOWN
    assert "dump.sql" in result.message


def test_a_finding_fails_even_when_other_files_were_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "dump.sql").write_bytes(b"insert into t values (1);\n" * 100_000)
    (tmp_path / "deploy.key").write_text(_pem(random.Random(4)), encoding="utf-8")
    result = by_item(run_check(CHECK, collect(tmp_path, SecretsCollector)))[ITEM]
    assert result.status is Status.FAIL
    assert [(e.path, e.line) for e in result.evidence] == [("deploy.key", 1)]


def test_no_opinion_on_a_repository_without_text_files(tmp_path: Path) -> None:
    (tmp_path / "logo.bin").write_bytes(b"\x00\x01\x02")
    assert run_check(CHECK, collect(tmp_path, SecretsCollector)) == []
