"""The secrets scanner: planted credentials are found, placeholders are not, values never leak.

Every credential here is generated at run time from a seeded random source, so
this file itself holds no token-shaped text.
"""

from __future__ import annotations

import base64
import json
import random
import string
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from prr.collectors import secrets as scanner
from prr.collectors.secrets import SecretFacts, SecretsCollector, scan_bytes
from tests.helpers import collect

UPPER = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_letters + string.digits + "+/"


@dataclass
class Planted:
    """A repository full of credentials, and what the scanner must say about it."""

    root: Path
    values: list[str] = field(default_factory=list)
    expected: set[tuple[str, str]] = field(default_factory=set)
    """(path, rule) pairs that must be reported."""

    def secret(self, value: str) -> str:
        self.values.append(value)
        return value

    def write(self, path: str, text: str, *expect: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        for rule in expect:
            self.expected.add((path, rule))


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        if not mixed or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
            return value


def _pem(rng: random.Random, label: str = "RSA PRIVATE KEY") -> str:
    body = base64.b64encode(rng.randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def _jwt(rng: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': 'svc-billing', 'iat': 1700000000})}.{signature}"


def plant(root: Path) -> Planted:
    """Write a realistic service repository with one credential of every kind."""
    rng = random.Random(20240611)
    repo = Planted(root)
    key_id = repo.secret("AKIA" + _rand(rng, UPPER, 16))
    aws_secret = repo.secret(_rand(rng, B64, 40))
    repo.write(
        "deploy/aws-credentials.ini",
        f"""
        [default]
        aws_access_key_id = {key_id}
        aws_secret_access_key = {aws_secret}
        region = eu-west-1
        """,
        "aws-access-key-id",
        "aws-secret-access-key",
    )
    gcp_key = _pem(rng, "PRIVATE KEY")
    repo.secret(gcp_key.split("\n")[1])
    repo.write(
        "config/gcp-sa.json",
        json.dumps(
            {
                "type": "service_account",
                "project_id": "billing-prod",
                "private_key_id": _rand(rng, "0123456789abcdef", 40),
                "private_key": gcp_key,
                "client_email": "billing@billing-prod.iam.gserviceaccount.com",
            },
            indent=2,
        ),
        "gcp-service-account-key",
    )
    azure = repo.secret(_rand(rng, B64, 86) + "==")
    repo.write(
        "src/Billing/appsettings.json",
        f"""
        {{
          "Storage": "DefaultEndpointsProtocol=https;AccountName=billingprod;AccountKey={azure};EndpointSuffix=core.windows.net"
        }}
        """,
        "azure-storage-account-key",
    )
    github = repo.secret("ghp_" + _rand(rng, ALNUM, 36))
    gitlab = repo.secret("glpat-" + _rand(rng, ALNUM, 20))
    slack = repo.secret(
        "xoxb-"
        + "-".join(_rand(rng, string.digits, 12) for _ in range(2))
        + "-"
        + _rand(rng, ALNUM, 24)
    )
    webhook = repo.secret(
        "https://hooks.slack.com/services/T"
        + _rand(rng, UPPER, 8)
        + "/B"
        + _rand(rng, UPPER, 8)
        + "/"
        + _rand(rng, ALNUM, 24)
    )
    stripe = repo.secret("sk_" + "live_" + _rand(rng, ALNUM, 24))
    twilio = repo.secret("SK" + _rand(rng, "0123456789abcdef", 32))
    sendgrid = repo.secret("SG." + _rand(rng, ALNUM, 22) + "." + _rand(rng, ALNUM, 43))
    repo.write(
        "src/billing/settings.py",
        f"""
        import os

        GITHUB_TOKEN = "{github}"
        GITLAB_TOKEN = "{gitlab}"
        SLACK_BOT_TOKEN = "{slack}"
        SLACK_WEBHOOK = "{webhook}"
        STRIPE_KEY = "{stripe}"
        # Twilio REST client
        TWILIO_API_KEY = "{twilio}"
        SENDGRID = "{sendgrid}"
        DATABASE_URL = os.environ["DATABASE_URL"]
        """,
        "github-token",
        "gitlab-token",
        "slack-token",
        "slack-webhook",
        "stripe-live-key",
        "twilio-api-key",
        "sendgrid-api-key",
    )
    npm = repo.secret("npm_" + _rand(rng, ALNUM, 36))
    repo.write(".npmrc", f"//registry.npmjs.org/:_authToken={npm}\n", "npm-token")
    pypi = repo.secret("pypi-AgEIcHlwaS5vcmc" + _rand(rng, ALNUM + "-_", 70))
    repo.write(".pypirc", f"[pypi]\nusername = __token__\npassword = {pypi}\n", "pypi-token")
    pem = _pem(rng)
    repo.secret(pem.split("\n")[1])
    repo.write("deploy/tls/server.key", pem, "private-key")
    jwt = repo.secret(_jwt(rng))
    repo.write(
        "web/src/api.ts",
        f"""
        export const client = axios.create({{
          headers: {{ Authorization: "Bearer {jwt}" }},
        }});
        """,
        "jwt",
    )
    db_password = repo.secret(_rand(rng, ALNUM, 18))
    repo.write(
        "docker-compose.prod.yml",
        f"""
        services:
          api:
            environment:
              DATABASE_URL: postgres://billing:{db_password}@db.internal.billing.net:5432/billing
        """,
        "password-in-url",
    )
    password = repo.secret(_rand(rng, ALNUM, 14) + "!")
    token = repo.secret(_rand(rng, ALNUM, 32))
    repo.write(
        "src/billing/db.py",
        f"""
        def connect():
            db_password = "{password}"
            return Client(password=db_password)
        """,
        "password-assignment",
    )
    repo.write(".env.production", f"API_TOKEN={token}\nLOG_LEVEL=info\n", "generic-secret")
    return repo


PLACEHOLDERS = """
import os

password = "changeme"
api_key = "<your-api-key>"
secret = "{{ .Values.secret }}"
db_password = os.environ["DB_PASSWORD"]
token = os.getenv("API_TOKEN")
DATABASE_URL = "postgres://user:password@localhost:5432/app"
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
STRIPE = "sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxx"
conn = "%(db_password)s"
PASSWORD_FIELD = "password"
token_url = "https://auth.example.com/oauth/token2"
secret_name = "billing-db-credentials-v2"
"""


def test_every_planted_credential_is_found_at_its_line(tmp_path: Path) -> None:
    repo = plant(tmp_path)
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    found = {(f.path, f.rule) for f in facts.findings}
    assert repo.expected <= found, repo.expected - found
    settings = {f.rule: f.line for f in facts.findings if f.path == "src/billing/settings.py"}
    assert settings["github-token"] == 3
    assert settings["twilio-api-key"] == 9
    aws = {f.rule: f.line for f in facts.findings if f.path == "deploy/aws-credentials.ini"}
    assert aws == {"aws-access-key-id": 2, "aws-secret-access-key": 3}
    # a named format is not reported a second time by the generic rule on the same line
    assert not any(
        f.rule in {"generic-secret", "password-assignment"}
        for f in facts.findings
        if f.path == "src/billing/settings.py"
    )
    assert all(len(f.fingerprint) == 12 for f in facts.findings)
    assert facts.files_scanned == len({p for p, _ in repo.expected})
    assert not facts.unscanned


def test_no_secret_value_appears_in_facts_or_errors(tmp_path: Path) -> None:
    repo = plant(tmp_path)
    (tmp_path / "big.log").write_bytes(b"x" * (2 * 1024 * 1024 + 10))
    facts_bag = collect(tmp_path, SecretsCollector)
    facts = facts_bag.get(SecretFacts)
    text = repr(facts) + repr(facts_bag.errors) + "".join(str(e) for e in facts_bag.errors)
    assert facts.findings
    for value in repo.values:
        assert value not in text
        assert value[:16] not in text


def test_placeholders_env_lookups_and_examples_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "config.py").write_text(PLACEHOLDERS, encoding="utf-8")
    (tmp_path / "values.yaml").write_text(
        "db:\n  password: ${DB_PASSWORD}\n  apiKey: '{{ .Values.apiKey }}'\n", encoding="utf-8"
    )
    (tmp_path / ".env.example").write_text("API_TOKEN=your-token-here\n", encoding="utf-8")
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    assert facts.findings == ()
    assert facts.files_scanned == 3


def test_inline_suppression_needs_a_reason_and_is_recorded(tmp_path: Path) -> None:
    rng = random.Random(7)
    first = "ghp_" + _rand(rng, ALNUM, 36)
    second = "ghp_" + _rand(rng, ALNUM, 36)
    third = "ghp_" + _rand(rng, ALNUM, 36)
    (tmp_path / "demo.py").write_text(
        f'A = "{first}"  # prr:ignore secrets.github-token reason="revoked demo token"\n'
        '# prr:ignore secrets reason="public sandbox token"\n'
        f'B = "{second}"\n'
        f'C = "{third}"  # prr:ignore secrets.github-token\n',
        encoding="utf-8",
    )
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    by_line = {f.line: f for f in facts.findings}
    assert by_line[1].suppressed and by_line[1].reason == "revoked demo token"
    assert by_line[3].suppressed and by_line[3].reason == "public sandbox token"
    assert not by_line[4].suppressed  # no reason given: not honoured
    assert facts.active == (by_line[4],)


def test_suppression_for_another_rule_does_not_apply(tmp_path: Path) -> None:
    token = "ghp_" + _rand(random.Random(3), ALNUM, 36)
    (tmp_path / "a.py").write_text(
        f'A = "{token}"  # prr:ignore secrets.slack-token reason="wrong rule"\n', encoding="utf-8"
    )
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    assert [f.suppressed for f in facts.findings] == [False]


def test_test_fixtures_are_reported_but_marked(tmp_path: Path) -> None:
    pem = _pem(random.Random(5))
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    (tmp_path / "tests" / "fixtures" / "server.key").write_text(pem, encoding="utf-8")
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "dev.key").write_text(pem, encoding="utf-8")
    facts = collect(
        tmp_path, SecretsCollector, settings={"secrets": {"allow_paths": ["certs/*"]}}
    ).get(SecretFacts)
    assert {(f.path, f.test_fixture) for f in facts.findings} == {
        ("tests/fixtures/server.key", True),
        ("certs/dev.key", True),
    }
    assert facts.active == ()
    assert len(facts.in_test_data) == 2


def test_binary_oversized_and_invalid_utf8_files(tmp_path: Path) -> None:
    token = "ghp_" + _rand(random.Random(11), ALNUM, 36)
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + token.encode())
    (tmp_path / "huge.txt").write_bytes(b"a" * (2 * 1024 * 1024 + 1))
    (tmp_path / "photo.png").write_bytes(b"\x89PNG" + b"\x00" * (2 * 1024 * 1024 + 1))
    (tmp_path / "latin1.cfg").write_bytes(b"caf\xe9\nTOKEN = '" + token.encode() + b"'\n")
    (tmp_path / "empty.py").write_bytes(b"")
    bag = collect(tmp_path, SecretsCollector)
    facts = bag.get(SecretFacts)
    assert [(f.path, f.line, f.rule) for f in facts.findings] == [("latin1.cfg", 2, "github-token")]
    assert [u.path for u in facts.unscanned] == ["huge.txt"]  # the PNG is not text anyway
    assert facts.binary_skipped == 1
    assert any(e.source == "huge.txt" and e.collector == "secrets" for e in bag.errors)


def test_a_failing_rule_reports_the_file_without_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(key: bytes, value: bytes, quoted: bool) -> str | None:
        raise ValueError(value.decode())

    value = "hunter2-" + _rand(random.Random(1), ALNUM, 20)
    (tmp_path / "a.py").write_text(f'PASSWORD = "{value}"\n', encoding="utf-8")
    (tmp_path / "b.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.setattr(scanner, "_generic_rule", broken)
    bag = collect(tmp_path, SecretsCollector)
    facts = bag.get(SecretFacts)
    assert [u.path for u in facts.unscanned] == ["a.py"]
    assert "ValueError" in facts.unscanned[0].reason
    assert facts.files_scanned == 1  # the other file of the batch is scanned as usual
    assert value not in repr(facts) + repr(bag.errors)
    with pytest.raises(RuntimeError) as failed:
        scan_bytes((tmp_path / "a.py").read_bytes(), "a.py")
    assert value not in str(failed.value)


def test_parallel_scan_matches_serial_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plant(tmp_path)
    for i in range(30):
        (tmp_path / "pkg" / f"m{i}.py").parent.mkdir(exist_ok=True)
        (tmp_path / "pkg" / f"m{i}.py").write_text(f"X = {i}\n", encoding="utf-8")
    serial = collect(tmp_path, SecretsCollector, settings={"secrets": {"workers": 1}})
    monkeypatch.setattr(scanner, "PARALLEL_THRESHOLD", 0)
    parallel = collect(tmp_path, SecretsCollector, settings={"secrets": {"workers": 2}})
    assert serial.get(SecretFacts) == parallel.get(SecretFacts)


def test_scan_bytes_of_keys_in_docs_and_example_jwts() -> None:
    doc = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n"
    assert scan_bytes(doc, "README.md") == []
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(b'{"sub":"1234567890","name":"John Doe"}').rstrip(b"=")
    example = header + b"." + payload + b".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    assert scan_bytes(b"token = '" + example + b"'\n", "docs/auth.md") == []
