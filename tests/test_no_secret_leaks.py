"""A repository full of secrets: no secret value appears in any output format."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

FORMATS = ("json", "sarif", "junit", "markdown", "table")


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.fixture
def secret_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    rng = random.Random(7)
    upper_digits = string.ascii_uppercase + string.digits
    b64 = string.ascii_letters + string.digits + "+/"
    alnum = string.ascii_letters + string.digits
    secrets = {
        "aws_id": "AKIA" + _token(rng, upper_digits, 16),
        "aws_secret": _token(rng, b64, 40),
        "github": "ghp_" + _token(rng, alnum, 36),
        "gitlab": "glpat-" + _token(rng, alnum, 20),
        "slack": "xoxb-"
        + "-".join(_token(rng, string.digits, 12) for _ in range(2))
        + "-"
        + _token(rng, alnum, 24),
        "stripe": "sk_live_" + _token(rng, alnum, 24),
        "password": _token(rng, alnum + "!#%", 22),
        "db_password": _token(rng, alnum, 18),
    }
    root = tmp_path / "leaky"
    (root / "app").mkdir(parents=True)
    (root / "prr.yaml").write_text("service: leaky\n")
    (root / "app" / "settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{secrets["aws_id"]}"\nAWS_SECRET_ACCESS_KEY = "{secrets["aws_secret"]}"\n'
        f'GITHUB_TOKEN = "{secrets["github"]}"\nSTRIPE_KEY = "{secrets["stripe"]}"\n'
        f'password = "{secrets["password"]}"\n'
    )
    (root / "app" / "notify.js").write_text(
        f'const token = "{secrets["slack"]}";\nconst gl = "{secrets["gitlab"]}";\n'
    )
    (root / "docker-compose.yml").write_text(
        f"services:\n  api:\n    environment:\n      DATABASE_URL: postgres://app:{secrets['db_password']}@db:5432/app\n"
    )
    key_body = _token(rng, b64, 64)
    (root / "deploy.key").write_text(
        f"-----BEGIN RSA PRIVATE KEY-----\n{key_body}\n-----END RSA PRIVATE KEY-----\n"
    )
    return root, [*secrets.values(), key_body]


def test_no_secret_value_in_any_output(secret_repo: tuple[Path, list[str]], cli) -> None:
    root, values = secret_repo
    for fmt in FORMATS:
        run = cli("scan", str(root), "--format", fmt, "--fail-on", "never", "--all")
        assert run.exit_code == 0, run.stderr
        for value in values:
            assert value not in run.stdout, f"secret leaked in {fmt}"
            assert value not in run.stderr
            for part in (value[:12], value[-12:]):
                assert part not in run.stdout, f"part of a secret leaked in {fmt}"


def test_secrets_are_found(secret_repo: tuple[Path, list[str]], cli) -> None:
    import json

    root, _ = secret_repo
    data = json.loads(cli("scan", str(root), "-f", "json", "--fail-on", "never").stdout)
    item = next(
        i
        for i in data["items"]
        if i["id"] == "security.secrets-management.no-hardcoded-secrets-in-code"
    )
    assert item["status"] == "fail" and item["blocker"]
    places = {(e.get("path"), e.get("line")) for e in item["evidence"]}
    assert (
        ("app/settings.py", 1) in places
        and ("app/notify.js", 1) in places
        and ("deploy.key", 1) in places
    )


def test_sarif_keeps_every_finding(secret_repo: tuple[Path, list[str]], cli) -> None:
    import json

    root, _ = secret_repo
    data = json.loads(cli("scan", str(root), "-f", "sarif", "--fail-on", "never").stdout)
    item = "security.secrets-management.no-hardcoded-secrets-in-code"
    results = [r for r in data["runs"][0]["results"] if r["ruleId"] == item]
    places = {
        (
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"].get("region", {}).get("startLine"),
        )
        for r in results
        for loc in [*r["locations"], *r.get("relatedLocations", [])]
    }
    assert {
        ("app/settings.py", 1),
        ("app/settings.py", 2),
        ("app/notify.js", 1),
        ("deploy.key", 1),
    } <= places
