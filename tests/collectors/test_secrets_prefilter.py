"""The fast path finds exactly what running every rule on every file would.

The scanner reads a batch of files into one buffer, finds the anchors of all
rules there in a few searches, and runs a rule only on the files holding its
anchor. These tests compare it, on many generated files, with a plain
reference: every rule on every file, and the generic rules searched the
straightforward way. Values are generated at run time from seeded random
sources, so this file holds no token-shaped text.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

from prr.collectors import secrets as scanner
from prr.collectors.secrets import Row, SecretFacts, SecretsCollector, scan_bytes, scan_files
from tests.helpers import collect

UPPER = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


def reference(data: bytes, path: str) -> list[Row]:
    """Every rule on the whole file, without anchors, line gates or batch buffers."""
    hits: list[tuple[int, str, str]] = []
    for rules in scanner._SCANNERS.values():
        for rule in rules:
            hits.extend(rule(data, path))
    hits.extend(scanner._generic_quoted(data, path))
    kind = scanner._settings_file(path)
    if kind:
        patterns = [scanner._CONFIG_ASSIGNMENT] + ([scanner._DOCKER_ENV] if kind == 2 else [])
        taken: set[int] = set()
        for pattern in patterns:
            for match in pattern.finditer(data):
                line_start = data.rfind(b"\n", 0, match.start()) + 1
                if line_start in taken:
                    continue  # the Dockerfile form is tried only where the other fails
                taken.add(line_start)
                value = match.group(2)
                rule = scanner._generic_rule(match.group(1), value, False)
                if rule and (
                    rule == "aws-secret-access-key" or any(c in b"0123456789" for c in value)
                ):
                    hits.append((match.start(2), rule, scanner._fingerprint(value)))
    return scanner._rows(data, hits)


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _jwt(rng: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    tail = base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256'})}.{part({'sub': _rand(rng, ALNUM, 8)})}.{tail}"


def _fragment(rng: random.Random) -> str:
    """A piece of text: a token, an assignment part, a separator or filler."""
    kind = rng.randrange(24)
    if kind == 0:
        return "AKIA" + _rand(rng, UPPER, 16)
    if kind == 1:
        return _rand(rng, B64, rng.choice((38, 40, 40, 41)))
    if kind == 2:
        return rng.choice(("ghp_", "gho_", "ghs_")) + _rand(rng, ALNUM, 36)
    if kind == 3:
        return rng.choice(("glpat-", "gldt-", "glsoat-", "xoxb-", "xoxp-")) + _rand(
            rng, ALNUM + "-", 24
        )
    if kind == 4:
        return rng.choice(("sk_", "rk_")) + "live_" + _rand(rng, ALNUM, 24)
    if kind == 5:
        return "SK" + _rand(rng, HEX, 32) + rng.choice(("", " twilio", " Twilio"))
    if kind == 6:
        return "SG." + _rand(rng, ALNUM, 22) + "." + _rand(rng, ALNUM, 43)
    if kind == 7:
        return rng.choice(("npm_", "_authToken=", "pypi-AgE", "AccountKey=", "SharedAccessKey="))
    if kind == 8:
        return _rand(rng, ALNUM, rng.choice((36, 40, 64, 70)))
    if kind == 9:
        body = base64.b64encode(rng.randbytes(rng.choice((30, 200)))).decode()
        return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    if kind == 10:
        return _jwt(rng)
    if kind == 11:
        host = rng.choice(("db.internal", "localhost", "x.svc.cluster.local", "a.local"))
        return f"postgres://{_rand(rng, ALNUM, 6)}:{_rand(rng, ALNUM, 12)}@{host}:5432/db"
    if kind == 12:
        return "https://hooks.slack.com/services/T" + _rand(rng, UPPER, 20)
    if kind == 13:
        return rng.choice(
            (
                *("password", "db_password", "API_KEY", "Token", "secret", "auth-key", "x_token"),
                *("AWS_SECRET_ACCESS_KEY", "secretAccessKey", "aws_secret-access_key"),
            )
        )
    if kind == 14:
        return rng.choice(("=", ":", "=>", ": ", " = ", "=\t", ":  ", "==", "::"))
    if kind == 15:
        return rng.choice(('"', "'", "`"))
    if kind == 16:  # a value that may end in = or : and open a second assignment
        return _rand(rng, ALNUM, rng.randrange(4, 14)) + rng.choice(("", "=", ":", "=>", "_token="))
    if kind == 17:
        return rng.choice(("${DB_PASSWORD}", "changeme", "*alias", "<key>", "notification.x:4976"))
    if kind == 18:
        return rng.choice(("ARG ", "ENV ", "export ", "  ", "- "))
    if kind == 19:
        return '# prr:ignore secrets reason="fixture"'
    if kind == 20:
        return rng.choice(("eyJ", "@", "://", "J", "K", "G", "S", "A", "-", "_"))
    if kind in (21, 22):  # a whole settings line
        key = rng.choice(
            ("DB_PASSWORD", "api_key", "Secret", "AUTH_TOKEN_URL", "name", "AWS_SECRET_ACCESS_KEY")
        )
        value = rng.choice((_rand(rng, ALNUM + "!&*%", 14), _rand(rng, B64, 40), "changeme"))
        prefix = rng.choice(("", "  ", "export ", "ARG ", "env "))
        operator = rng.choice(("=", ": ", " = ", " "))
        return f"\n{prefix}{key}{operator}{value}{rng.choice(('', ' ', chr(13)))}\n"
    return rng.choice(("\n", "\n", " ", "\t", ",", "(", ")", "{", "}", "x", "\r\n"))


def _files(rng: random.Random, count: int) -> dict[str, bytes]:
    names = ("app.py", "README.md", ".env", "values.yaml", "Dockerfile", "a.conf", "main.go")
    files = {}
    for number in range(count):
        text = "".join(_fragment(rng) for _ in range(rng.randrange(0, 120)))
        files[f"d{number % 7}/{number}-{rng.choice(names)}"] = text.encode()
    return files


def test_batches_find_what_every_rule_on_every_file_finds(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    files = _files(rng, 400)
    jobs = []
    for rel, data in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        jobs.append((rel, str(target), len(data)))
    batch = scan_files(jobs)
    assert (batch.scanned, batch.scanned_bytes) == (len(files), sum(map(len, files.values())))
    assert all(error is None for _, _, error in batch.files)
    expected = {rel: reference(data, rel) for rel, data in files.items()}
    assert {rel: rows for rel, rows, _ in batch.files} == {
        rel: rows for rel, rows in expected.items() if rows
    }
    assert sum(len(rows) for rows in expected.values()) > 300  # the case has findings
    for rel, data in list(files.items())[:50]:
        assert scan_bytes(data, rel) == expected[rel]


def test_an_assignment_inside_another_is_consumed_as_a_plain_search_would() -> None:
    rng = random.Random(8)
    inner = _rand(rng, ALNUM, 6) + "7_token"
    value = _rand(rng, string.ascii_letters, 8) + "42"
    # The first value ends in `=`, so its closing quote can open a second value: a
    # left-to-right search takes the first assignment and never sees the second.
    for operator in (":", "="):
        data = f'password{operator} "{inner}="{value}"\n'.encode()
        rows = scan_bytes(data, "app.py")
        assert [(line, rule) for line, rule, _, _ in rows] == [(1, "password-assignment")]
        assert rows == reference(data, "app.py")
    # The first assignment hides the second even when it is not reported itself ...
    assert scan_bytes(f'name: "{inner}="{value}"\n'.encode(), "app.py") == []
    # ... and without it the second is found.
    rows = scan_bytes(f'name: {inner}="{value}"\n'.encode(), "app.py")
    assert [(line, rule) for line, rule, _, _ in rows] == [(1, "generic-secret")]


def test_files_of_a_batch_do_not_run_into_each_other(tmp_path: Path) -> None:
    rng = random.Random(9)
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + base64.b64encode(rng.randbytes(300)).decode()
    (tmp_path / "a.pem").write_text(key + "\n", encoding="utf-8")  # its END is missing
    (tmp_path / "b.txt").write_text("-----END RSA PRIVATE KEY-----\n", encoding="utf-8")
    (tmp_path / "c.py").write_text('password = "', encoding="utf-8")
    (tmp_path / "d.py").write_text(_rand(rng, ALNUM, 12) + '7"\n', encoding="utf-8")
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    assert facts.findings == ()
    assert facts.files_scanned == 4
