"""Hard-coded credentials in the repository's files: where they are, never what they are.

The scanner is prr's own: a rule per well-known token format (AWS, GCP, Azure,
GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, npm, PyPI, private keys,
JWTs, passwords in URLs) and generic rules for secret-named assignments with
an entropy threshold: quoted values in every file, unquoted ones in settings
files (``.env``, ``.properties``, YAML …) and in Dockerfiles' ``ARG`` and
``ENV``, and ``AWS_SECRET_ACCESS_KEY=…`` anywhere. Placeholders are not
reported; :func:`looks_like_placeholder` is the test, for other collectors too.

A finding carries only the path, the line, the rule id and a fingerprint (the
first 12 hex digits of the value's SHA-256) so that the same secret can be
recognised across files and runs. The value itself never leaves the function
that matched it: not in facts, messages, exceptions or logs.

Speed matters: a scan reads every text file of the repository. A batch of
files is read, as bytes, into one buffer; a few searches over it find where
each rule could match (see "Anchors" below), and a rule runs only on the files
that hold its anchor. Nothing is decoded. Large repositories are split across
processes.

A finding is suppressed, not dropped, by ``prr:ignore secrets.<rule>
reason="..."`` (or ``prr:ignore secrets reason="..."`` for every rule) in a
comment on the same line or the line above; a suppression without a reason is
not honoured.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
_REFERENCE_START = (b"$", b"%", b"{", b"env:", b"vault:", b"secret:", b"ref+")
_YAML_REFERENCE = re.compile(rb"[*&!][A-Za-z_][A-Za-z0-9_.\-]*")
"""A YAML alias (``*name``), anchor (``&name``) or tag (``!Ref``): syntax, not a value."""


def looks_like_placeholder(value: str | bytes, *, quoted: bool = False) -> bool:
    """True when ``value`` is obviously not a real credential.

    Placeholders (``changeme``, ``<password>``, ``xxxx``, ``your-token-here``,
    examples, redacted values), template and variable references (``${VAR}``,
    ``{{ .Values.x }}``, ``%(name)s``, ``env:NAME``, ``vault:path``) and, unless
    the value was written between quotes, a YAML alias such as ``*db_password``.
    The secrets scanner decides with it; other collectors should too, so that
    every check agrees on what is a placeholder.
    """
    raw = value.encode("utf-8", "replace") if isinstance(value, str) else value
    return _is_placeholder(raw, quoted)


def _is_placeholder(value: bytes, quoted: bool = False) -> bool:
    low = value.lower()
    if low in _PLACEHOLDER_WHOLE or low.startswith(_REFERENCE_START):
        return True
    if not quoted and _YAML_REFERENCE.fullmatch(value):
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
Span = tuple[int, int]
"""[start, end) offsets: of a line in a file, or of a file in a batch buffer."""
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
        if host.startswith(_LOCAL_HOSTS) or host.endswith((b".example", b".test")):
            continue
        if host.endswith(b".local") and not host.endswith(b".cluster.local"):
            continue  # mDNS names are on the developer's network; *.svc.cluster.local is not
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
# Possessive quantifiers (``?+``, ``{m,n}+``) never give back what they matched: here no
# shorter match could succeed (a quote must follow), so they only spare the backtracking.
_QUOTED_TAIL = rb">?+[ \t]{0,3}+(['\"`])(?=[^'\"`\s]{0,200}?[0-9])([^'\"`\s]{8,200}+)\1"
_QUOTED_ASSIGNMENT = re.compile(rb"[=:]" + _QUOTED_TAIL)
_SECRET_KEY = (
    rb"[A-Za-z0-9_.\-]*(?:passw|pwd|secret|token|api[-_]?key|apikey"
    rb"|credential|private[-_]?key|access[-_]?key|auth[-_]?key)[A-Za-z0-9_.\-]*"
)
_CONFIG_ASSIGNMENT = re.compile(
    rb"^[ \t]*(?:(?:export|arg|env)[ \t]+)?(" + _SECRET_KEY + rb")"
    rb"[ \t]*[=:][ \t]*([^\s'\"#\[{|>][^\s#]{7,200})[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
"""``KEY=value`` or ``key: value`` on a line of its own (``export``, and a Dockerfile's
``ARG`` and ``ENV``, before it)."""
_DOCKER_ENV = re.compile(
    rb"^[ \t]*env[ \t]+(" + _SECRET_KEY + rb")[ \t]+([^\s'\"#\[{|>=][^\s#]{7,200})[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
"""A Dockerfile's older ``ENV KEY value``."""
_CONFIG_SUFFIXES = frozenset({".env", ".properties", ".ini", ".cfg", ".conf", ".yaml", ".yml"})
_CONFIG_NAMES = ("credentials", ".env", "env", ".envrc")
_AWS_SECRET_VALUE = re.compile(rb"[A-Za-z0-9/+]{40}")
_VALUE_NOT_SECRET = re.compile(
    rb"^(?:https?://|/|\./|\.\./|[\w.-]+@[\w.-]+$|v?\d+(?:\.\d+)+$|\d{4}-\d{2}-\d{2}"
    rb"|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*:\d{1,5}$|\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$)"
)
"""URLs, paths, e-mail addresses, versions, dates and ``host:port`` addresses."""
_IDENTIFIER = re.compile(rb"^(?:[a-z]+(?:[_.-][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$")


def _generic_rule(key: bytes, value: bytes, quoted: bool) -> str | None:
    """The rule id for ``key = value`` when it looks like a real secret, else None."""
    lowered = key.lower().decode("ascii", "replace").rstrip("\"'] ")
    if not _KEYWORDS.search(lowered.encode()):
        return None
    bare = lowered.replace("-", "_").replace(".", "_")
    if bare.endswith(_NOT_SECRET_KEY_ENDINGS) and not bare.endswith(("secret", "token", "key")):
        return None
    aws_key = "secret_access_key" in bare.replace("secretaccesskey", "secret_access_key")
    placeholder = _is_placeholder(value, quoted)
    if aws_key and _AWS_SECRET_VALUE.fullmatch(value) and not placeholder:
        return "aws-secret-access-key"
    if placeholder or _VALUE_NOT_SECRET.match(value) or _IDENTIFIER.match(value):
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
        rule = _generic_rule(key, match.group(2), True)
        if rule:
            yield match.start(2), rule, _fingerprint(match.group(2))


def _settings_file(path: str) -> int:
    """1 for files of ``KEY=value`` settings, 2 for Dockerfiles, else 0.

    In these, unquoted values are read as well: elsewhere ``password = get()`` is code.
    """
    name = path[path.rfind("/") + 1 :].lower()
    if name.startswith(("dockerfile", "containerfile")) or name.endswith(".dockerfile"):
        return 2
    dot = name.rfind(".")
    suffix = name[dot:] if 0 < dot < len(name) - 1 else ""
    return int(
        suffix in _CONFIG_SUFFIXES
        or name in _CONFIG_NAMES
        or name.startswith(".env")
        or name.endswith(".env")
        or ".env." in name
    )


_SECRET_STEMS = (b"passw", b"pwd", b"secret", b"token", b"key", b"credential")
"""Every alternative of ``_KEYWORDS`` contains one of these."""


def _secret_word_lines(data: bytes) -> list[Span]:
    """The lines that contain a secret word in any case, as [start, end) offsets."""
    low = data.lower()
    starts: set[int] = set()
    for stem in _SECRET_STEMS:
        at = low.find(stem)
        while at >= 0:
            starts.add(low.rfind(b"\n", 0, at) + 1)
            at = low.find(stem, at + 1)
    lines: list[Span] = []
    for start in sorted(starts):
        end = data.find(b"\n", start)
        lines.append((start, len(data) if end < 0 else end))
    return lines


def _generic_config(data: bytes, path: str) -> Iterable[Hit]:
    kind = _settings_file(path)
    if not kind:
        return
    # The patterns span one line and start at its beginning: trying them on the lines that
    # hold a secret word finds what a search of the whole file would, many times faster.
    for start, end in _secret_word_lines(data):
        match = _CONFIG_ASSIGNMENT.match(data, start, end)
        if match is None and kind == 2:
            match = _DOCKER_ENV.match(data, start, end)
        if match is None:
            continue
        value = match.group(2)
        rule = _generic_rule(match.group(1), value, False)
        if rule and (rule == "aws-secret-access-key" or any(c in value for c in b"0123456789")):
            yield match.start(2), rule, _fingerprint(value)


_AWS_SECRET_NAME = re.compile(
    rb"[Ss]ecret[_-]?Access[_-]?Key|SECRET[_-]?ACCESS[_-]?KEY|secret[_-]access[_-]key"
)
"""The name as written in environment variables, AWS's files, JSON and YAML and on command lines."""
_AWS_SECRET_ASSIGNED = re.compile(
    rb"([A-Za-z0-9_.\-]+)[\"'\]]*[ \t]*[=:][ \t]{0,3}+([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)


def _aws_assigned(data: bytes, path: str) -> Iterable[Hit]:
    """``AWS_SECRET_ACCESS_KEY=<40 characters>`` unquoted, in any file (a README, a Dockerfile).

    Elsewhere unquoted values are read only in settings files, but a value of exactly
    this shape under this name is a secret key wherever it is written.
    """
    lines: set[int] = set()
    for name in _AWS_SECRET_NAME.finditer(data):
        start = data.rfind(b"\n", 0, name.start()) + 1
        if start in lines:
            continue
        lines.add(start)
        end = data.find(b"\n", name.end())
        for match in _AWS_SECRET_ASSIGNED.finditer(data, start, len(data) if end < 0 else end):
            value = match.group(2)
            if _generic_rule(match.group(1), value, False) == "aws-secret-access-key":
                yield match.start(2), "aws-secret-access-key", _fingerprint(value)


_SCANNERS: dict[str, tuple[_Scanner, ...]] = {
    "aws": (_aws,),
    "aws_secret": (_aws_assigned,),
    "pem": (_gcp, _private_key),
    "github": (_token_rule("github-token", rb"gh[pousr]_[A-Za-z0-9]{36,251}"),),
    "github_pat": (_token_rule("github-token", rb"github_pat_[A-Za-z0-9_]{40,255}"),),
    "gitlab": (
        _token_rule("gitlab-token", rb"gl(?:pat|dt|rt|ptt|ft|soat|cbt)-[A-Za-z0-9_\-]{20,64}"),
    ),
    "slack": (_token_rule("slack-token", rb"xox[abposr]-[A-Za-z0-9-]{10,250}"),),
    "slack_webhook": (
        _token_rule(
            "slack-webhook", rb"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,120}"
        ),
    ),
    "stripe": (_stripe,),
    "twilio": (_twilio,),
    "sendgrid": (_token_rule("sendgrid-api-key", rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),),
    "npm": (_token_rule("npm-token", rb"npm_[A-Za-z0-9]{36}"),),
    "npmrc": (_npmrc,),
    "pypi": (_token_rule("pypi-token", rb"pypi-AgE[A-Za-z0-9_-]{60,}"),),
    "azure_account": (
        _token_rule("azure-storage-account-key", rb"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
    ),
    "azure_sas": (
        _token_rule("azure-shared-access-key", rb"SharedAccessKey=[A-Za-z0-9+/]{20,}={0,2}"),
    ),
    "jwt": (_jwt,),
    "url": (_url_password,),
}
"""The token-format rules, by the anchor that every one of their matches contains."""

# ---------------------------------------------------------------------------
# Anchors: which rules can match in which file
#
# Python's ``re`` searches quickly only for a pattern that begins with one
# literal byte: it skips from one occurrence of that byte to the next. A
# pattern that begins with an alternation or a character class is tried at
# every position instead, 10-20 times slower. So the token formats are not
# searched one by one: a few patterns, each led by a byte that several formats
# share (``_`` for ``ghp_``, ``npm_``, ``k_live_``, ``_authToken`` …), find the
# anchors of all of them, and ``bytes.find`` (memchr) finds the rarest ones.
# These run once over a whole batch of files joined in one buffer, so there is
# no per-file, per-rule overhead; a rule then runs only on the files that
# contain its anchor. The generic assignment rule is searched the same way,
# led by ``=`` and by ``:``.

_ANCHORS: tuple[re.Pattern[bytes], ...] = (
    re.compile(
        rb"A(?:(?:KIA|SIA|BIA|CCA)(?P<aws>)|ccountKey=(?P<azure_account>)"
        rb"|ccessKey=(?<=SharedAccessKey=)(?P<azure_sas>)|gE(?<=pypi-AgE)(?P<pypi>)"
        rb"|CCESS[_-]?KEY(?P<aws_secret>)|ccess[_-]?Key(?P<aws_secret_camel>))"
    ),
    re.compile(
        rb"_(?:live_(?<=k_live_)(?P<stripe>)|authToken(?P<npmrc>)|access[_-]key(?P<aws_secret_snake>)"
        rb"|pat_(?<=github_pat_)(?P<github_pat>)|(?<=gh[pousr]_|npm_)(?P<github_npm>))"
    ),
    re.compile(
        rb"-(?:----BEGIN(?P<pem>)|access[_-]key(?P<aws_secret_kebab>)"
        rb"|(?<=gl[a-z]{2}-|xox[abposr]-)(?P<gitlab_slack>)"
        rb"|(?<=gl[a-z]{3}-)(?P<gitlab>)|(?<=gl[a-z]{4}-)(?P<gitlab_4>))"
    ),
)
"""Searches led by one byte, each finding the anchors of several token formats.

Lookbehinds of the same width are merged (one test per ``_`` or ``-``), so an
anchor may stand for two rules; both then run.
"""
_ANCHOR_GATES: dict[str, tuple[str, ...]] = {
    "github_npm": ("github", "npm"),
    "gitlab_slack": ("gitlab", "slack"),
    "gitlab_4": ("gitlab",),
    "aws_secret_camel": ("aws_secret",),
    "aws_secret_snake": ("aws_secret",),
    "aws_secret_kebab": ("aws_secret",),
}
_ASSIGNED = (re.compile(rb"=" + _QUOTED_TAIL), re.compile(rb":" + _QUOTED_TAIL))
"""``_QUOTED_ASSIGNMENT`` split by its first byte, so that each search skips to it."""

Buffer = bytes | bytearray
Candidate = tuple[int, int, bytes, int]
"""A quoted assignment with a secret word before it: (start, window start, value, value start)."""


@dataclass
class _Plan:
    """What to run on one file of a batch, from the anchors found in it."""

    gates: set[str] = field(default_factory=set)
    assigned: list[Candidate] = field(default_factory=list)
    exact: bool = False
    """Assignments overlap in this file: rerun the generic rule the plain way."""


def _pivots(buf: Buffer, byte: bytes, end: int) -> Iterator[int]:
    """Offsets of a rare byte, found by ``bytes.find`` (memchr): far faster than ``re``."""
    offset = buf.find(byte, 0, end)
    while offset >= 0:
        yield offset
        offset = buf.find(byte, offset + 1, end)


def _plans(buf: Buffer, spans: Sequence[Span]) -> dict[int, _Plan]:
    """Anchors of every rule in the buffer, by the index of the span (file) they fall in."""
    starts = [start for start, _ in spans]
    end = spans[-1][1] if spans else 0
    plans: dict[int, _Plan] = {}

    def plan(offset: int) -> _Plan:
        index = bisect.bisect_right(starts, offset) - 1
        found = plans.get(index)
        if found is None:
            found = plans[index] = _Plan()
        return found

    for anchor in _ANCHORS:
        for match in anchor.finditer(buf, 0, end):
            name = match.lastgroup or ""
            plan(match.start()).gates.update(_ANCHOR_GATES.get(name, (name,)))
    for offset in _pivots(buf, b"K", end):
        if buf[offset - 1 : offset] == b"S" and _TWILIO.match(buf, offset - 1, end):
            plan(offset).gates.add("twilio")
    for offset in _pivots(buf, b"G", end):
        if buf.startswith(b"SG.", offset - 1):
            plan(offset).gates.add("sendgrid")
    for offset in _pivots(buf, b"J", end):
        if buf[offset - 2 : offset] == b"ey":
            plan(offset).gates.add("jwt")
    for offset in _pivots(buf, b"@", end):  # user:password@host: a :// at most 200 bytes before
        if buf.rfind(b"://", max(0, offset - 200), offset) >= 0:
            plan(offset).gates.add("url")
    offset = buf.find(b"hooks.slack.com/", 0, end)
    while offset >= 0:
        plan(offset).gates.add("slack_webhook")
        offset = buf.find(b"hooks.slack.com/", offset + 1, end)

    keywords, rfind = _KEYWORDS.search, buf.rfind
    for assigned in _ASSIGNED:
        for match in assigned.finditer(buf, 0, end):
            start, stop = match.start(), match.end()
            if buf[stop - 2] in b"=:>" and _overlapped(buf, stop, end):
                plan(start).exact = True
            floor = start - 120 if start > 120 else 0
            window = rfind(b"\n", floor, start) + 1
            if window < floor:
                window = floor
            if keywords(buf[window:start].lower()):
                plan(start).assigned.append((start, window, match.group(2), match.start(2)))
    return plans


def _overlapped(buf: Buffer, stop: int, end: int) -> bool:
    """Whether a second quoted assignment starts inside the one that ends at ``stop``.

    Only a value ending in ``=``, ``:`` (or ``=>``, ``:>``) can hold one, using the
    closing quote as its opening quote. The plain left-to-right search then decides
    which of the two counts, so the file is scanned that way.
    """
    inner = stop - 3 if buf[stop - 2] == 0x3E else stop - 2
    return buf[inner] in b"=:" and _QUOTED_ASSIGNMENT.match(buf, inner, end) is not None


def _scan_planned(data: bytes, path: str, base: int, work: _Plan) -> list[Hit]:
    """Run the rules that the anchors allow on one file (``base``: its offset in the batch)."""
    hits: list[Hit] = []
    scanners: list[_Scanner] = []
    for gate in sorted(work.gates):
        scanners.extend(s for s in _SCANNERS[gate] if s not in scanners)
    for scanner in scanners:
        hits.extend(scanner(data, path))
    if work.exact:
        hits.extend(_generic_quoted(data, path))
        return hits
    for start, window, value, value_start in work.assigned:
        key = _key_before(data[window - base : start - base])
        if not key:
            continue
        rule = _generic_rule(key, value, True)
        if rule:
            hits.append((value_start - base, rule, _fingerprint(value)))
    return hits


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


def _rows(data: bytes, hits: list[Hit]) -> list[Row]:
    """Hits in line order, deduplicated per line and rule, with their suppressions."""
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


def _scan_buffer(buf: Buffer, spans: Sequence[Span], paths: Sequence[str]) -> list[list[Row] | str]:
    """Findings of each file of a batch buffer, or the name of the error a rule raised."""
    try:
        plans = _plans(buf, spans)
    except Exception as exc:  # never let a failure carry content out, nor lose the batch
        return [type(exc).__name__] * len(spans)
    out: list[list[Row] | str] = []
    for index, ((start, end), path) in enumerate(zip(spans, paths, strict=True)):
        work = plans.get(index)
        config = _settings_file(path)
        if work is None and not config:
            out.append([])
            continue
        data = bytes(buf[start:end])
        try:
            hits = _scan_planned(data, path, start, work or _Plan())
            if config:
                hits.extend(_generic_config(data, path))
            out.append(_rows(data, hits))
        except Exception as exc:  # never let a rule's failure carry content out
            out.append(type(exc).__name__)
    return out


def scan_bytes(data: bytes, path: str) -> list[Row]:
    """Every finding in one file's content, in line order, deduplicated per line and rule."""
    result = _scan_buffer(data, [(0, len(data))], [path])[0]
    if isinstance(result, str):
        raise RuntimeError(f"secrets rule failed ({result}) on {path}")
    return result


def _read_into(path: str, view: memoryview, size: int) -> int:
    """Read a file of ``size`` bytes (when indexed) into ``view``; the number of bytes read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        got = 0
        while got < len(view):
            if _READV:
                count = os.readv(fd, [view[got:]])
            else:
                chunk = os.read(fd, len(view) - got)
                count = len(chunk)
                view[got : got + count] = chunk
            got += count
            if not count or got >= size:
                break  # no second read just to see the end of the file
        return got
    finally:
        os.close(fd)


_READV = hasattr(os, "readv")
_BATCH_BYTES = 8 * 1024 * 1024
"""A batch's files are read into one buffer of about this size."""

Job = tuple[str, str, int]
"""(repository path, absolute path, size) of one file to scan."""
FileResult = tuple[str, list[Row] | None, str | None]
"""(path, findings or None, error reason) of a file with findings or an error."""


@dataclass
class BatchResult:
    """What a worker sends back: totals, and only the files with something to report."""

    scanned: int = 0
    scanned_bytes: int = 0
    binary: int = 0
    files: list[FileResult] = field(default_factory=list)


def scan_files(jobs: Sequence[Job]) -> BatchResult:
    """Scan a batch of files; a worker process runs this. Errors name the file only."""
    result = BatchResult()
    buf = bytearray(sum(min(max(size, 0), _MAX_READ) + 2 for _, _, size in jobs))
    view = memoryview(buf)
    spans: list[Span] = []
    paths: list[str] = []
    offset = 0
    for rel, abspath, size in jobs:
        try:
            want = min(max(size, 0), _MAX_READ)
            got = _read_into(abspath, view[offset : offset + want + 1], want)
        except OSError as exc:
            result.files.append((rel, None, f"cannot read: {exc.strerror or 'I/O error'}"))
            continue
        if buf.find(b"\x00", offset, offset + got) >= 0:
            result.binary += 1
            continue
        spans.append((offset, offset + got))
        paths.append(rel)
        offset += got
        buf[offset] = 0x0A  # a newline between files: no rule's match spans one
        offset += 1
    view.release()
    for rel, (start, end), rows in zip(paths, spans, _scan_buffer(buf, spans, paths), strict=True):
        if isinstance(rows, str):
            result.files.append((rel, None, f"scanner failed ({rows})"))
            continue
        result.scanned += 1
        result.scanned_bytes += end - start
        if rows:
            result.files.append((rel, rows, None))
    return result


def _batches(jobs: list[Job], count: int) -> list[list[Job]]:
    """Split jobs into ``count`` batches of similar total size."""
    batches: list[list[Job]] = [[] for _ in range(count)]
    loads = [0] * count
    for job in sorted(jobs, key=lambda j: -j[2]):
        target = loads.index(min(loads))
        batches[target].append(job)
        loads[target] += job[2] + 2048
    return [b for b in batches if b]


def _run(jobs: list[Job], workers: int) -> list[BatchResult]:
    count = max(1, -(-sum(size for _, _, size in jobs) // _BATCH_BYTES))
    if workers <= 1 or len(jobs) <= PARALLEL_THRESHOLD:
        return [scan_files(batch) for batch in _batches(jobs, count)]
    import multiprocessing  # here: a small repository need not pay for importing these
    import threading
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform == "linux":
        method = "fork"  # cheapest, and safe while this process has a single thread
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    batches = _batches(jobs, max(count, workers * 4))
    try:
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(scan_files, batches))
    except (OSError, RuntimeError, ImportError):
        # no subprocesses here (sandbox, frozen app): scan serially
        return [scan_files(batch) for batch in batches]


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
        for batch in _run(jobs, workers):
            scanned += batch.scanned
            scanned_bytes += batch.scanned_bytes
            binary += batch.binary
            for rel, rows, error in batch.files:
                if rows is None:
                    unscanned.append(UnscannedFile(rel, error or "not scanned"))
                    continue
                fixture = is_test_path(rel, allow)
                for line, rule, fingerprint, reason in rows:
                    findings.append(
                        SecretFinding(
                            rel, line, rule, fingerprint, reason is not None, reason, fixture
                        )
                    )
        for item in unscanned:
            ctx.error(item.path, f"not scanned for secrets: {item.reason}", NAME)
        findings.sort(key=lambda f: (f.path, f.line, f.rule))
        unscanned.sort(key=lambda u: u.path)
        return SecretFacts(tuple(findings), scanned, scanned_bytes, tuple(unscanned), binary)
