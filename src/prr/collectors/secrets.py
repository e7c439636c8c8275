"""Hard-coded credentials in the repository's files: where they are, never what they are.

The scanner is prr's own: a rule per well-known token format (AWS, GCP, Azure,
GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, npm, PyPI, private keys,
JWTs, passwords in URLs) and a generic rule for secret-named assignments with
an entropy threshold. Placeholders (``changeme``, ``${VAR}``, ``{{ }}``,
``<...>``, ``xxxx``, examples …) are not reported.

A finding carries only the path, the line, the rule id and a fingerprint (the
first 12 hex digits of the value's SHA-256) so that the same secret can be
recognised across files and runs. The value itself never leaves the function
that matched it: not in facts, messages, exceptions or logs.

Speed matters: a scan reads every text file of the repository. Files are read
as bytes, each rule is a regular expression that starts with a literal (which
the regex engine finds with a fast scan) or is tried only where a cheap literal
check says it can match, and large repositories are split across processes.

A finding is suppressed, not dropped, by ``prr:ignore secrets.<rule>
reason="..."`` (or ``prr:ignore secrets reason="..."`` for every rule) in a
comment on the same line or the line above; a suppression without a reason is
not honoured.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import multiprocessing
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from prr.collectors.base import CollectContext, Collector, register

NAME = "secrets"
PARALLEL_THRESHOLD = 2000
"""Indexes with more candidate files than this are scanned by several processes."""
_MAX_READ = 64 * 1024 * 1024

# ---------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class SecretFinding:
    """One credential-like value: where it is and which rule matched; never the value."""

    path: str
    line: int
    rule: str
    fingerprint: str
    """First 12 hex digits of the SHA-256 of the value."""
    suppressed: bool = False
    """An inline ``prr:ignore`` with a reason covers it."""
    reason: str | None = None
    """The suppression's reason, as written."""
    test_fixture: bool = False
    """The file is test data or an allow-listed path; reported but marked."""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class UnscannedFile:
    """A file that could not be scanned, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SecretFacts:
    """The result of scanning every readable text file of the repository."""

    findings: tuple[SecretFinding, ...] = ()
    files_scanned: int = 0
    bytes_scanned: int = 0
    unscanned: tuple[UnscannedFile, ...] = ()
    binary_skipped: int = 0

    @property
    def active(self) -> tuple[SecretFinding, ...]:
        """Findings that count: not suppressed and not in test data."""
        return tuple(f for f in self.findings if not f.suppressed and not f.test_fixture)

    @property
    def suppressed(self) -> tuple[SecretFinding, ...]:
        return tuple(f for f in self.findings if f.suppressed)

    @property
    def in_test_data(self) -> tuple[SecretFinding, ...]:
        return tuple(f for f in self.findings if f.test_fixture and not f.suppressed)


RULE_TITLES: dict[str, str] = {
    "aws-access-key-id": "AWS access key id",
    "aws-secret-access-key": "AWS secret access key",
    "gcp-service-account-key": "GCP service account private key",
    "azure-storage-account-key": "Azure storage account key",
    "azure-shared-access-key": "Azure shared access key",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "slack-webhook": "Slack incoming webhook URL",
    "stripe-live-key": "Stripe live secret key",
    "twilio-api-key": "Twilio API key",
    "sendgrid-api-key": "SendGrid API key",
    "npm-token": "npm access token",
    "pypi-token": "PyPI upload token",
    "private-key": "private key",
    "jwt": "JSON Web Token",
    "password-in-url": "password in a connection string",
    "password-assignment": "hard-coded password",
    "generic-secret": "hard-coded secret or token",
}
"""Every rule id the scanner reports, with a short human title."""

# ---------------------------------------------------------------------------
# Value filters

_PLACEHOLDER_WORDS = (
    b"changeme",
    b"change_me",
    b"change-me",
    b"changeit",
    b"example",
    b"dummy",
    b"placeholder",
    b"xxxx",
    b"your_",
    b"your-",
    b"yourkey",
    b"yourtoken",
    b"yourpass",
    b"redacted",
    b"replace",
    b"fake",
    b"sample",
    b"test",
    b"foobar",
    b"insert",
    b"todo",
    b"notreal",
    b"not-a-real",
    b"not_a_real",
    b"secret123",
    b"password1",
    b"12345678",
    b"abcdefgh",
    b"...",
    b"****",
    b"<",
    b">",
    b"${",
    b"{{",
    b"}}",
    b"%(",
    b"$(",
    b"#{",
    b"%{",
    b"%s",
    b"@@",
    b"[[",
)
_PLACEHOLDER_WHOLE = frozenset(
    {
        b"password",
        b"passwd",
        b"secret",
        b"token",
        b"none",
        b"null",
        b"nil",
        b"true",
        b"false",
        b"undefined",
        b"empty",
        b"default",
        b"required",
        b"optional",
        b"string",
    }
)
_REFERENCE_START = (b"$", b"%", b"{", b"!", b"&", b"*", b"env:", b"vault:", b"secret:", b"ref+")


def _is_placeholder(value: bytes) -> bool:
    """True when ``value`` is obviously not a real credential."""
    low = value.lower()
    if low in _PLACEHOLDER_WHOLE or low.startswith(_REFERENCE_START):
        return True
    if len(set(low)) <= 2:  # xxxxxxxx, 00000000, abababab
        return True
    return any(word in low for word in _PLACEHOLDER_WORDS)


def _entropy(value: bytes) -> float:
    """Shannon entropy in bits per byte."""
    length = len(value)
    if not length:
        return 0.0
    return -sum((n / length) * math.log2(n / length) for n in Counter(value).values())


def _fingerprint(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:12]


# ---------------------------------------------------------------------------
# Rules: each yields (offset, rule id, fingerprint) for one file's bytes.

Hit = tuple[int, str, str]
_Scanner = Callable[[bytes, str], Iterable[Hit]]

_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _bounded(data: bytes, start: int, end: int) -> bool:
    """The match is not part of a longer word."""
    before = data[start - 1] if start > 0 else 32
    after = data[end] if end < len(data) else 32
    return before not in _WORD and after not in _WORD


def _token_rule(rule: str, pattern: bytes, min_entropy: float = 3.0) -> _Scanner:
    """A rule for a token format that begins with a fixed prefix."""
    regex = re.compile(pattern)

    def scan(data: bytes, path: str) -> Iterable[Hit]:
        for match in regex.finditer(data):
            value = match.group(0)
            if not _bounded(data, match.start(), match.end()):
                continue
            if _is_placeholder(value) or _entropy(value) < min_entropy:
                continue
            yield match.start(), rule, _fingerprint(value)

    return scan


_AWS_KEY_ID = re.compile(rb"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}")
_AWS_SECRET_NEAR = re.compile(rb"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _aws(data: bytes, path: str) -> Iterable[Hit]:
    """Access key ids, and a 40-character secret on the lines around one (the pair)."""
    for match in _AWS_KEY_ID.finditer(data):
        start, end = match.span()
        value = match.group(0)
        if not _bounded(data, start, end) or _is_placeholder(value):
            continue
        yield start, "aws-access-key-id", _fingerprint(value)
        lo = start
        for _ in range(4):
            lo = data.rfind(b"\n", 0, lo - 1) if lo > 0 else -1
            if lo < 0:
                lo = 0
                break
        hi = end
        for _ in range(4):
            nxt = data.find(b"\n", hi + 1)
            if nxt < 0:
                hi = len(data)
                break
            hi = nxt
        for near in _AWS_SECRET_NEAR.finditer(data, lo, hi):
            secret = near.group(0)
            if (
                not _is_placeholder(secret)
                and _entropy(secret) >= 4.0
                and any(c in secret for c in b"0123456789")
                and secret.upper() != secret
            ):
                yield near.start(), "aws-secret-access-key", _fingerprint(secret)


_GCP_KEY = re.compile(rb'"private_key"\s*:\s*"(-----BEGIN[^"]{64,}?)"')


def _gcp(data: bytes, path: str) -> Iterable[Hit]:
    if b"service_account" not in data:
        return
    for match in _GCP_KEY.finditer(data):
        value = match.group(1)
        if not _is_placeholder(value):
            yield match.start(), "gcp-service-account-key", _fingerprint(value)


_PRIVATE_KEY = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,20})PRIVATE KEY( BLOCK)?-----")
_KEY_BODY = re.compile(rb"[A-Za-z0-9+/=]")


def _private_key(data: bytes, path: str) -> Iterable[Hit]:
    for match in _PRIVATE_KEY.finditer(data):
        end_marker = data.find(b"-----END", match.end(), match.end() + 20000)
        if end_marker < 0:
            continue
        body = data[match.end() : end_marker]
        if b"..." in body or len(_KEY_BODY.findall(body)) < 64:
            continue  # an abbreviated key in documentation
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        if b'"private_key"' in data[line_start : match.start()] and b"service_account" in data:
            continue  # reported by the GCP rule
        yield match.start(), "private-key", _fingerprint(body.strip())


_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
_JWT_EXAMPLES = (b"john doe", b'"role":"anon"', b'"role": "anon"', b"1234567890")


def _jwt(data: bytes, path: str) -> Iterable[Hit]:
    import base64
    import binascii

    for match in _JWT.finditer(data):
        if not _bounded(data, match.start(), match.end()):
            continue
        value = match.group(0)
        payload = value.split(b".")[1]
        try:
            decoded = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)).lower()
        except (binascii.Error, ValueError):
            continue
        if not decoded.startswith(b"{") or any(mark in decoded for mark in _JWT_EXAMPLES):
            continue
        yield match.start(), "jwt", _fingerprint(value)


_URL_PASSWORD = re.compile(
    rb"://([^\s:/@'\"<>{}\[\]()\\]{1,64}):([^\s@/'\"<>{}\[\]()\\]{1,128})@([A-Za-z0-9.\-_]{1,253})"
)
_LOCAL_HOSTS = (b"localhost", b"127.0.0.1", b"0.0.0.0", b"host.docker.internal", b"example.")


def _url_password(data: bytes, path: str) -> Iterable[Hit]:
    for match in _URL_PASSWORD.finditer(data):
        password, host = match.group(2), match.group(3).lower()
        if host.startswith(_LOCAL_HOSTS) or host.endswith((b".example", b".local", b".test")):
            continue
        if len(password) < 4 or _is_placeholder(password) or password in {b"pass", b"pwd"}:
            continue
        if password.lower() == match.group(1).lower():
            continue  # user:user@ style demo credentials
        yield match.start(2), "password-in-url", _fingerprint(password)


_TWILIO = re.compile(rb"SK[0-9a-fA-F]{32}")


def _twilio(data: bytes, path: str) -> Iterable[Hit]:
    matches = [m for m in _TWILIO.finditer(data) if _bounded(data, m.start(), m.end())]
    if not matches or not (b"twilio" in data or b"TWILIO" in data or b"Twilio" in data):
        return
    for match in matches:
        value = match.group(0)
        if not _is_placeholder(value):
            yield match.start(), "twilio-api-key", _fingerprint(value)


_STRIPE = re.compile(rb"k_live_[A-Za-z0-9]{20,}")


def _stripe(data: bytes, path: str) -> Iterable[Hit]:
    for match in _STRIPE.finditer(data):
        start = match.start() - 1
        if start < 0 or data[start] not in b"sr" or not _bounded(data, start, match.end()):
            continue
        value = data[start : match.end()]
        if not _is_placeholder(value):
            yield start, "stripe-live-key", _fingerprint(value)


_NPMRC_AUTH = re.compile(rb"_authToken\s*=\s*([^\s'\"]{8,})")


def _npmrc(data: bytes, path: str) -> Iterable[Hit]:
    for match in _NPMRC_AUTH.finditer(data):
        value = match.group(1)
        if not _is_placeholder(value):
            yield match.start(1), "npm-token", _fingerprint(value)


# The generic rules: an assignment whose key names a secret.
_KEYWORDS = re.compile(
    rb"passw|pwd|secret|token|api[-_]?key|credential|private[-_]?key|access[-_]?key|auth[-_]?key"
)
_KEY_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _key_before(window: bytes) -> bytes:
    """The identifier just before an assignment operator (``"db_password"`` → db_password)."""
    window = window.rstrip(b" \t\"'`]")
    end = len(window)
    start = end
    while start > 0 and end - start < 80 and window[start - 1] in _KEY_CHARS:
        start -= 1
    return window[start:end]


_NOT_SECRET_KEY_ENDINGS = (
    "name",
    "file",
    "path",
    "url",
    "uri",
    "type",
    "field",
    "header",
    "env",
    "var",
    "ref",
    "len",
    "length",
    "size",
    "ttl",
    "timeout",
    "expiry",
    "expires",
    "expiration",
    "endpoint",
    "prefix",
    "suffix",
    "format",
    "pattern",
    "regex",
    "label",
    "hash",
    "mode",
    "policy",
    "version",
    "count",
    "dir",
    "keyid",
    "key_id",
    "method",
    "source",
    "provider",
    "class",
    "kind",
    "template",
    "placeholder",
    "hint",
    "message",
    "error",
    "title",
    "description",
    "text",
    "help",
    "lifetime",
    "output",
    "id",
    "scope",
    "scopes",
    "store",
    "manager",
    "location",
    "usage",
    "selector",
)
_QUOTED_ASSIGNMENT = re.compile(
    rb"[=:]>?[ \t]{0,3}(['\"`])(?=[^'\"`\s]{0,200}?[0-9])([^'\"`\s]{8,200})\1"
)
_CONFIG_ASSIGNMENT = re.compile(
    rb"^[ \t]*(?:export[ \t]+)?([A-Za-z0-9_.\-]*(?:passw|pwd|secret|token|api[-_]?key|apikey"
    rb"|credential|private[-_]?key|access[-_]?key|auth[-_]?key)[A-Za-z0-9_.\-]*)"
    rb"[ \t]*[=:][ \t]*([^\s'\"#\[{|>][^\s#]{7,200})[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
_CONFIG_SUFFIXES = frozenset({".env", ".properties", ".ini", ".cfg", ".conf", ".yaml", ".yml"})
_CONFIG_NAMES = ("credentials", ".env", "env", ".envrc")
_AWS_SECRET_VALUE = re.compile(rb"[A-Za-z0-9/+]{40}")
_VALUE_NOT_SECRET = re.compile(
    rb"^(?:https?://|/|\./|\.\./|[\w.-]+@[\w.-]+$|v?\d+(?:\.\d+)+$|\d{4}-\d{2}-\d{2})"
)
_IDENTIFIER = re.compile(rb"^(?:[a-z]+(?:[_.-][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$")


def _generic_rule(key: bytes, value: bytes) -> str | None:
    """The rule id for ``key = value`` when it looks like a real secret, else None."""
    lowered = key.lower().decode("ascii", "replace").rstrip("\"'] ")
    if not _KEYWORDS.search(lowered.encode()):
        return None
    bare = lowered.replace("-", "_").replace(".", "_")
    if bare.endswith(_NOT_SECRET_KEY_ENDINGS) and not bare.endswith(("secret", "token", "key")):
        return None
    aws_key = "secret_access_key" in bare.replace("secretaccesskey", "secret_access_key")
    if aws_key and _AWS_SECRET_VALUE.fullmatch(value) and not _is_placeholder(value):
        return "aws-secret-access-key"
    if _is_placeholder(value) or _VALUE_NOT_SECRET.match(value) or _IDENTIFIER.match(value):
        return None
    if value.startswith(b"eyJ") and value.count(b".") == 2:
        return None  # a JWT: the jwt rule decides (it knows the published examples)
    if _entropy(value) < 3.0:
        return None
    return "password-assignment" if ("pass" in bare or "pwd" in bare) else "generic-secret"


def _generic_quoted(data: bytes, path: str) -> Iterable[Hit]:
    for match in _QUOTED_ASSIGNMENT.finditer(data):
        start = match.start()
        floor = max(0, start - 120)
        window = data[max(floor, data.rfind(b"\n", floor, start) + 1) : start]
        if not _KEYWORDS.search(window.lower()):
            continue
        key = _key_before(window)
        if not key:
            continue
        rule = _generic_rule(key, match.group(2))
        if rule:
            yield match.start(2), rule, _fingerprint(match.group(2))


def _generic_config(data: bytes, path: str) -> Iterable[Hit]:
    name = path.rsplit("/", 1)[-1].lower()
    suffix = PurePosixPath(name).suffix
    if not (
        suffix in _CONFIG_SUFFIXES
        or name in _CONFIG_NAMES
        or name.startswith(".env")
        or name.endswith(".env")
        or ".env." in name
    ):
        return
    for match in _CONFIG_ASSIGNMENT.finditer(data):
        value = match.group(2)
        rule = _generic_rule(match.group(1), value)
        if rule and (rule == "aws-secret-access-key" or any(c in value for c in b"0123456789")):
            yield match.start(2), rule, _fingerprint(value)


_SCANNERS: tuple[_Scanner, ...] = (
    _aws,
    _gcp,
    _private_key,
    _token_rule("github-token", rb"gh[pousr]_[A-Za-z0-9]{36,251}"),
    _token_rule("github-token", rb"github_pat_[A-Za-z0-9_]{40,255}"),
    _token_rule("gitlab-token", rb"gl(?:pat|dt|rt|ptt|ft|soat|cbt)-[A-Za-z0-9_\-]{20,64}"),
    _token_rule("slack-token", rb"xox[abposr]-[A-Za-z0-9-]{10,250}"),
    _token_rule(
        "slack-webhook", rb"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,120}"
    ),
    _stripe,
    _twilio,
    _token_rule("sendgrid-api-key", rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    _token_rule("npm-token", rb"npm_[A-Za-z0-9]{36}"),
    _npmrc,
    _token_rule("pypi-token", rb"pypi-AgE[A-Za-z0-9_-]{60,}"),
    _token_rule("azure-storage-account-key", rb"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
    _token_rule("azure-shared-access-key", rb"SharedAccessKey=[A-Za-z0-9+/]{20,}={0,2}"),
    _jwt,
    _url_password,
    _generic_quoted,
    _generic_config,
)

# ---------------------------------------------------------------------------
# Suppression and test data

_IGNORE = re.compile(
    rb"prr:ignore[ \t]+secrets(?:\.([a-z0-9-]+))?(?:[ \t]+reason=(?:\"([^\"\n]*)\"|'([^'\n]*)'))?"
)


def _suppression(data: bytes, offset: int, rule: str) -> str | None:
    """The reason of a ``prr:ignore`` covering ``rule`` on this line or the one above."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    prev_start = data.rfind(b"\n", 0, max(0, line_start - 1)) + 1 if line_start else 0
    line_end = data.find(b"\n", offset)
    window = data[prev_start : line_end if line_end >= 0 else len(data)]
    if b"prr:ignore" not in window:
        return None
    for match in _IGNORE.finditer(window):
        named = match.group(1)
        reason = match.group(2) or match.group(3)
        if (named is None or named.decode() == rule) and reason and reason.strip():
            return reason.strip().decode("utf-8", "replace")[:200]
    return None


_TEST_DIRS = frozenset(
    {
        "test",
        "tests",
        "__tests__",
        "spec",
        "specs",
        "testdata",
        "test_data",
        "test-data",
        "fixtures",
        "fixture",
        "__fixtures__",
        "__mocks__",
        "mocks",
        "testing",
        "e2e",
    }
)
_TEST_FILES = (
    "test_*",
    "*_test.*",
    "*.test.*",
    "*.spec.*",
    "*_spec.*",
    "*tests.*",
    "conftest.py",
)


def is_test_path(path: str, extra: Sequence[str] = ()) -> bool:
    """True for test code and fixtures (findings there are reported but marked)."""
    parts = path.lower().split("/")
    if any(part in _TEST_DIRS for part in parts[:-1]):
        return True
    name = parts[-1]
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in _TEST_FILES):
        return True
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in extra)


# ---------------------------------------------------------------------------
# Scanning

_GENERIC_RULES = frozenset({"generic-secret", "password-assignment"})
Row = tuple[int, str, str, str | None]
"""(line, rule, fingerprint, suppression reason) — what a worker sends back."""


def scan_bytes(data: bytes, path: str) -> list[Row]:
    """Every finding in one file's content, in line order, deduplicated per line and rule."""
    hits: list[Hit] = []
    for scanner in _SCANNERS:
        hits.extend(scanner(data, path))
    if not hits:
        return []
    hits.sort()
    located: list[tuple[int, int, str, str]] = []
    line, counted = 1, 0
    for offset, rule, fingerprint in hits:
        line += data.count(b"\n", counted, offset)
        counted = offset
        located.append((line, offset, rule, fingerprint))
    specific = {line for line, _, rule, _ in located if rule not in _GENERIC_RULES}
    rows: list[Row] = []
    seen: set[tuple[int, str]] = set()
    for line, offset, rule, fingerprint in located:
        if (line, rule) in seen or (rule in _GENERIC_RULES and line in specific):
            continue  # one report per line and rule; a named format beats the generic rule
        seen.add((line, rule))
        rows.append((line, rule, fingerprint, _suppression(data, offset, rule)))
    return rows


def _read(path: str, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        want = min(max(size, 0), _MAX_READ) + 1
        while want > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


Job = tuple[str, str, int]
"""(repository path, absolute path, size) of one file to scan."""
FileResult = tuple[str, list[Row] | None, str | None, int]
"""(path, findings or None, error reason, bytes read)."""


def scan_files(jobs: Sequence[Job]) -> list[FileResult]:
    """Scan a batch of files; a worker process runs this. Errors name the file only."""
    results: list[FileResult] = []
    for rel, abspath, size in jobs:
        try:
            data = _read(abspath, size)
        except OSError as exc:
            results.append((rel, None, f"cannot read: {exc.strerror or 'I/O error'}", 0))
            continue
        if b"\x00" in data:
            results.append((rel, [], "binary", len(data)))
            continue
        try:
            rows = scan_bytes(data, rel)
        except Exception as exc:  # never let a rule's failure carry content out
            results.append((rel, None, f"scanner failed ({type(exc).__name__})", len(data)))
            continue
        results.append((rel, rows, None, len(data)))
    return results


def _batches(jobs: list[Job], count: int) -> list[list[Job]]:
    """Split jobs into ``count`` batches of similar total size."""
    batches: list[list[Job]] = [[] for _ in range(count)]
    loads = [0] * count
    for job in sorted(jobs, key=lambda j: -j[2]):
        target = loads.index(min(loads))
        batches[target].append(job)
        loads[target] += job[2] + 2048
    return [b for b in batches if b]


def _run(jobs: list[Job], workers: int) -> list[FileResult]:
    if workers <= 1 or len(jobs) <= PARALLEL_THRESHOLD:
        return scan_files(jobs)
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform == "linux":
        method = "fork"  # cheapest, and safe while this process has a single thread
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    try:
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(scan_files, _batches(jobs, workers * 4)))
    except (OSError, RuntimeError, ImportError):
        return scan_files(jobs)  # no subprocesses here (sandbox, frozen app): scan serially
    return [result for part in parts for result in part]


_BINARY_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".tar",
        ".jar",
        ".war",
        ".whl",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".bin",
        ".o",
        ".a",
        ".class",
        ".pyc",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".webm",
        ".wav",
        ".ogg",
        ".flac",
        ".psd",
        ".sqlite",
        ".db",
        ".parquet",
        ".avro",
        ".onnx",
        ".pt",
        ".h5",
        ".pkl",
        ".npy",
    ]
)


@register
class SecretsCollector(Collector):
    """Scans every readable text file for hard-coded credentials."""

    name = NAME
    facts_type = SecretFacts

    def collect(self, ctx: CollectContext) -> SecretFacts:
        options: dict[str, Any] = ctx.settings.get("secrets") or {}
        allow = tuple(str(p) for p in options.get("allow_paths") or ())
        workers = int(options.get("workers") or min(os.cpu_count() or 1, 8))
        jobs: list[Job] = []
        unscanned: list[UnscannedFile] = []
        binary = 0
        for entry in ctx.files:
            if entry.binary:
                binary += 1
            elif entry.skipped:
                if entry.suffix not in _BINARY_SUFFIXES:
                    unscanned.append(UnscannedFile(entry.path, entry.skipped))
            else:
                jobs.append((entry.path, str(entry.abspath), entry.size))
        findings: list[SecretFinding] = []
        scanned = scanned_bytes = 0
        for rel, rows, error, size in _run(jobs, workers):
            if error == "binary":
                binary += 1
                continue
            if rows is None:
                unscanned.append(UnscannedFile(rel, error or "not scanned"))
                continue
            scanned += 1
            scanned_bytes += size
            fixture = is_test_path(rel, allow)
            for line, rule, fingerprint, reason in rows:
                findings.append(
                    SecretFinding(rel, line, rule, fingerprint, reason is not None, reason, fixture)
                )
        for item in unscanned:
            ctx.error(item.path, f"not scanned for secrets: {item.reason}", NAME)
        findings.sort(key=lambda f: (f.path, f.line, f.rule))
        unscanned.sort(key=lambda u: u.path)
        return SecretFacts(tuple(findings), scanned, scanned_bytes, tuple(unscanned), binary)
