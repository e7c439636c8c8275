# ruff: noqa: E501, SIM905  (templates read better unwrapped; word lists as split strings)
"""Generate a large, realistic repository for the repository-scan benchmark.

Run: ``python bench/gen_repo.py OUT_DIR [--files 20000] [--mb 200] [--seed 1] [--force]``

The repository is a monorepo of services (Python, Go, TypeScript, Java) with
Kubernetes manifests (bases and overlays, multi-document files), Terraform,
GitHub workflows, Dockerfiles, docs, configuration, a few large generated files
(vendored JS bundles, JSON fixtures, protobuf output; none over 2 MB) and PNG
images. The same arguments always produce the same bytes: every random value
comes from ``random.Random`` seeded with ``--seed`` (per file: seed and path).

Into it go about 200 fake secrets of common kinds (AWS key pairs, GitHub,
GitLab, Slack and Stripe tokens, Slack webhooks, private keys, passwords in
connection strings and assignments, JWTs) and about 100 decoys that a good
scanner must not report (placeholders, ``${VAR}``, templates, environment
look-ups, public keys, digests). No secret is planted in test code or fixtures.
The values are random: none is a real credential or a documentation example.

The ground truth goes to ``OUT_DIR/../planted.json``: a list of
``{"path", "line", "end_line", "kind", "decoy"}`` (``line`` is 1-based; a
private key spans ``line``..``end_line``). ``OUT_DIR/../repo-stats.json`` holds
the arguments and what was written. Never used in tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import shutil
import struct
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

# ---------------------------------------------------------------------------
# Vocabulary

NOUNS = (
    "account address agent alert allocation amount archive asset audit balance basket batch "
    "billing binding bucket budget cache campaign card cart catalog category channel charge "
    "checkout claim client cluster comment config contract coupon credit currency customer "
    "dataset delivery deposit device discount dispatch document domain draft entry event "
    "export feature feed file filter fulfillment gateway grant group histogram identity "
    "image import incident inventory invoice item job journal key ledger limit listing "
    "location lock member merchant message metric mode node note notification offer order "
    "owner package page partner payment payout period permission plan policy pool price "
    "product profile promotion quota quote rate receipt record refund region release report "
    "request reservation resource return review role route rule schedule schema search "
    "segment session settlement shipment signal sku slot snapshot source statement status "
    "stock store subscription supplier task tax template tenant threshold ticket token "
    "transfer trigger usage user variant vendor version voucher wallet warehouse webhook "
    "window workflow zone"
).split()
VERBS = (
    "apply approve archive assign attach build calculate cancel capture check clean close "
    "collect compute confirm convert create decode delete deliver detect dispatch emit "
    "enqueue ensure estimate evaluate expire export fetch filter finalize find flush format "
    "generate get handle import index list load lock log map mark merge migrate normalize "
    "notify open parse persist prepare process publish purge query queue read reconcile "
    "record refresh register reject release reload remove render repair replay reserve "
    "reset resolve restore retry revoke rotate route save schedule scan send serialize "
    "settle split start stop store submit sync track transform update upsert validate "
    "verify watch write"
).split()
ADJECTIVES = (
    "active pending stale expired primary internal external default current previous "
    "partial total raw cached remote local signed unsigned daily hourly monthly failed "
    "blocked archived visible hidden recent legacy shared regional global batched"
).split()
SERVICE_WORDS = (
    "orders payments checkout catalog inventory shipping billing accounts identity search "
    "recommendations notifications pricing promotions reviews cart fulfillment returns "
    "invoicing ledger fraud risk analytics reporting gateway auth profile media uploads "
    "messaging email sms scheduler workflow audit compliance tax loyalty gift-cards "
    "subscriptions partners vendors warehouse routing tracking geo maps feeds exports "
    "imports webhooks events metrics experiments flags config"
).split()
KEYWORDS = frozenset(
    "import return global package default class interface new switch case type var func range "
    "map select go chan const break continue delete export in is with async await for if else "
    "try while yield static public private final protected enum void this super string int "
    "float bool error object function let from as pass def lambda not and or assert del finally "
    "except raise nonlocal true false null none goto defer struct throw throws extends implements "
    "abstract native transient volatile synchronized module declare namespace require "
    "constructor instanceof typeof keyof readonly symbol any never unknown number boolean record "
    "lock".split()
)
"""Words never used alone as an identifier (keywords or types in one of the four languages)."""
IDENT_NOUNS = tuple(n for n in NOUNS if n not in KEYWORDS)
SERVICE_SUFFIXES = ("api", "service", "worker", "consumer", "sync", "web", "admin", "jobs")
ENVS = ("dev", "staging", "prod")
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1", "eu-central-1")
COMPANY = "northwind"

SECRET_NAMES = {
    "aws": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "github-token": ("GITHUB_TOKEN", "GH_TOKEN", "GH_PAT", "RELEASE_GITHUB_TOKEN"),
    "gitlab-token": ("GITLAB_TOKEN", "GITLAB_API_TOKEN", "CI_PUSH_TOKEN"),
    "slack-token": ("SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_API_TOKEN"),
    "slack-webhook": ("SLACK_WEBHOOK_URL", "SLACK_ALERTS_WEBHOOK", "SLACK_WEBHOOK"),
    "stripe-key": ("STRIPE_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_KEY"),
    "private-key": ("TLS_PRIVATE_KEY", "SIGNING_KEY", "JWT_PRIVATE_KEY", "SSH_PRIVATE_KEY"),
    "connection-string": ("DATABASE_URL", "DB_DSN", "REDIS_URL", "MONGO_URI", "AMQP_URL"),
    "password": (
        "DB_PASSWORD",
        "ADMIN_PASSWORD",
        "SMTP_PASSWORD",
        "REDIS_PASSWORD",
        "LDAP_BIND_PASSWORD",
        "KEYSTORE_PASSWORD",
        "PASSWORD",
    ),
    "jwt": ("SERVICE_TOKEN", "API_JWT", "AUTH_TOKEN", "INTERNAL_API_TOKEN"),
}
DECOY_NAMES = (
    "DB_PASSWORD",
    "ADMIN_PASSWORD",
    "API_KEY",
    "SECRET_KEY",
    "API_TOKEN",
    "SMTP_PASSWORD",
    "CLIENT_SECRET",
    "REDIS_PASSWORD",
)

# ---------------------------------------------------------------------------
# Helpers


class Gen:
    """Random helpers over one ``Random``."""

    def __init__(self, rng: Random) -> None:
        self.r = rng
        self.seen: set[tuple[str, str]] = set()

    def fresh(self, make: Callable[[], str], scope: str = "") -> str:
        """A value of ``make()`` not returned before for ``scope`` (keys must be unique)."""
        for _ in range(50):
            value = make()
            if (scope, value) not in self.seen:
                break
        else:
            value = f"{make()}_{len(self.seen)}"
        self.seen.add((scope, value))
        return value

    def noun(self) -> str:
        return self.r.choice(IDENT_NOUNS)

    def verb(self) -> str:
        return self.r.choice(VERBS)

    def adj(self) -> str:
        return self.r.choice(ADJECTIVES)

    def snake(self, parts: int = 2) -> str:
        words = [self.r.choice(IDENT_NOUNS) for _ in range(parts)]
        if parts > 1 and self.r.random() < 0.4:
            words[0] = self.adj()
        return "_".join(words)

    def camel(self, parts: int = 2) -> str:
        words = self.snake(parts).split("_")
        return words[0] + "".join(w.title() for w in words[1:])

    def pascal(self, parts: int = 2) -> str:
        return "".join(w.title() for w in self.snake(parts).split("_"))

    def sentence(self, words: int = 0) -> str:
        n = words or self.r.randint(6, 16)
        pool = (NOUNS, VERBS, ADJECTIVES, ("the", "a", "of", "to", "and", "for", "when", "is"))
        text = " ".join(self.r.choice(self.r.choice(pool)) for _ in range(n))
        return text[0].upper() + text[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.r.randint(2, 6)))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choices(alphabet, k=n))


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
PASSWORD_CHARS = ALNUM + "!%^&*()-_=+.,;~"


def is_test_path(path: str) -> bool:
    """Test code or fixtures: no secret is planted there."""
    parts = path.lower().split("/")
    tests = {"test", "tests", "__tests__", "testdata", "fixtures", "e2e", "spec", "mocks"}
    if any(p in tests for p in parts[:-1]):
        return True
    name = parts[-1]
    return (
        name.startswith("test_")
        or "_test." in name
        or ".test." in name
        or ".spec." in name
        or name.endswith("test.java")
        or name.endswith("tests.java")
    )


# ---------------------------------------------------------------------------
# Secret values (random; shaped like the real formats)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_block(g: Gen, label: str, lines: int) -> str:
    header = {
        "RSA PRIVATE KEY": b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00",
        "PRIVATE KEY": b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7",
        "EC PRIVATE KEY": b"\x30\x77\x02\x01\x01\x04\x20",
        "OPENSSH PRIVATE KEY": b"openssh-key-v1\x00\x00\x00\x00\x04none",
        "PUBLIC KEY": b"\x30\x82\x01\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01",
        "CERTIFICATE": b"\x30\x82\x03\x5a\x30\x82\x02\x42\xa0\x03\x02\x01\x02\x02\x09\x00",
    }[label]
    raw = header + g.r.randbytes(lines * 48 - len(header))
    body = base64.b64encode(raw).decode()
    rows = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *rows, f"-----END {label}-----"])


def secret_value(g: Gen, kind: str) -> str:
    r = g.r
    if kind == "aws-access-key-id":
        return "AKIA" + g.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    if kind == "aws-secret-access-key":
        while True:
            value = g.chars(B64, 40)
            if any(c.isdigit() for c in value) and any(c.islower() for c in value):
                return value
    if kind == "github-token":
        return "ghp_" + g.chars(ALNUM, 36)
    if kind == "gitlab-token":
        return "glpat-" + g.chars(ALNUM + "-_", 20)
    if kind == "slack-token":
        return f"xoxb-{r.randint(10**10, 10**11 - 1)}-{r.randint(10**11, 10**12 - 1)}-" + g.chars(
            ALNUM, 24
        )
    if kind == "slack-webhook":
        return (
            "https://hooks.slack.com/services/T"
            + g.chars(UPPER_DIGITS, 8)
            + "/B"
            + g.chars(UPPER_DIGITS, 10)
            + "/"
            + g.chars(ALNUM, 24)
        )
    if kind == "stripe-key":
        return "sk_live_" + g.chars(ALNUM, r.choice((24, 99)))
    if kind == "private-key":
        label = r.choice(
            ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY")
        )
        return pem_block(g, label, 4 if label == "EC PRIVATE KEY" else r.randint(20, 27))
    if kind == "connection-string":
        scheme = r.choice(("postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp"))
        user = r.choice(("app", "svc_orders", "admin", "reporting", "etl", "api", g.noun()))
        password = g.chars(ALNUM, r.randint(16, 28))
        if scheme == "mongodb+srv":
            host = f"cluster0.{g.chars('abcdefghijklmnopqrstuvwxyz0123456789', 5)}.mongodb.net"
        else:
            host = r.choice(
                (
                    f"{g.noun()}-db.{g.chars('abcdefghijklmnopqrstuvwxyz0123456789', 12)}."
                    f"{r.choice(REGIONS)}.rds.amazonaws.com",
                    f"{g.noun()}-{r.choice(ENVS)}.{COMPANY}.internal",
                    f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                    f"{g.noun()}-primary.{r.choice(ENVS)}.svc.cluster.local",
                )
            )
        port = {"postgres": 5432, "postgresql": 5432, "mysql": 3306, "redis": 6379}.get(scheme)
        where = f"{host}:{port}" if port else host
        return f"{scheme}://{user}:{password}@{where}/{g.noun()}s"
    if kind == "password":
        while True:
            value = g.chars(PASSWORD_CHARS, r.randint(16, 28))
            if sum(c.isdigit() for c in value) >= 2 and sum(c.isalpha() for c in value) >= 6:
                return value
    if kind == "jwt":
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        now = 1_700_000_000 + r.randint(0, 60_000_000)
        claims = {
            "sub": f"svc-{r.choice(SERVICE_WORDS)}",
            "iss": f"https://auth.{COMPANY}.io",
            "aud": r.choice(("internal-api", "partner-api", "admin")),
            "iat": now,
            "exp": now + r.choice((3600 * 24 * 365, 3600 * 24 * 3650)),
            "scope": " ".join(r.sample(("read", "write", "admin", "billing", "orders"), 2)),
        }
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{payload}.{b64url(r.randbytes(32))}"
    raise ValueError(kind)


# ---------------------------------------------------------------------------
# Plans

SECRET_PLAN = {  # kind: (count, {style: weight})
    "aws": (
        20,
        {
            "py": 4,
            "env": 3,
            "tf": 3,
            "yaml2": 2,
            "properties": 2,
            "go": 1,
            "ts": 1,
            "md": 1,
            "dockerfile": 1,
            "java": 1,
        },
    ),
    "github-token": (
        20,
        {"yaml2": 4, "env": 2, "py": 2, "dockerfile": 2, "md": 1, "ts": 1, "go": 1, "sh": 2},
    ),
    "gitlab-token": (12, {"env": 2, "yaml2": 2, "py": 2, "md": 1, "dockerfile": 1, "sh": 2}),
    "slack-token": (12, {"py": 3, "ts": 2, "go": 2, "env": 2, "k8s": 2, "java": 1}),
    "slack-webhook": (12, {"yaml2": 3, "py": 2, "ts": 2, "k8s": 2, "yaml0": 2, "env": 1}),
    "stripe-key": (15, {"ts": 4, "jsmin": 2, "py": 2, "env": 2, "java": 1, "go": 1}),
    "private-key": (20, {"pem": 8, "py": 2, "k8s": 3, "go": 1, "tf": 1, "md": 1}),
    "connection-string": (
        25,
        {
            "env": 3,
            "yaml0": 3,
            "k8s": 3,
            "py": 2,
            "go": 2,
            "properties": 2,
            "ts": 1,
            "java": 1,
            "tfvars": 1,
        },
    ),
    "password": (
        30,
        {
            "tf": 4,
            "tfvars": 3,
            "yaml0": 3,
            "properties": 2,
            "py": 3,
            "env": 2,
            "k8s": 2,
            "java": 2,
            "go": 1,
            "ts": 1,
            "dockerfile": 1,
        },
    ),
    "jwt": (14, {"ts": 3, "py": 2, "env": 2, "yaml0": 2, "md": 1, "k8s": 1, "java": 1}),
}
DECOY_PLAN = {
    "changeme": (
        12,
        {"py": 2, "env": 2, "yaml0": 2, "properties": 2, "k8s": 2, "tfvars": 1, "dockerfile": 1},
    ),
    "env-reference": (12, {"yaml0": 3, "k8s": 3, "properties": 2, "dockerfile": 2, "md": 2}),
    "angle-placeholder": (8, {"md": 3, "yaml0": 2, "env": 1, "properties": 1, "py": 1}),
    "empty": (5, {"py": 2, "ts": 1, "yaml0": 1, "env": 1}),
    "redacted": (5, {"yaml0": 2, "md": 1, "py": 1, "properties": 1}),
    "env-lookup": (10, {"py": 3, "go": 2, "ts": 2, "java": 2, "tf": 1}),
    "template": (8, {"k8s": 4, "yaml2": 4}),
    "aws-placeholder": (5, {"md": 2, "env": 2, "py": 1}),
    "github-placeholder": (5, {"md": 2, "yaml2": 2, "env": 1}),
    "stripe-placeholder": (4, {"ts": 2, "md": 1, "env": 1}),
    "connection-env": (6, {"env": 2, "yaml0": 2, "k8s": 1, "py": 1}),
    "public-key": (5, {"pem": 4, "md": 1}),
    "slack-webhook-placeholder": (3, {"md": 2, "yaml0": 1}),
    "your-key": (7, {"py": 2, "ts": 2, "yaml0": 2, "env": 1}),
    "digest": (5, {"dockerfile": 3, "k8s": 2}),
}


@dataclass
class Plant:
    kind: str
    decoy: bool
    name: str
    values: list[tuple[str, str]]
    """(ground-truth kind, value) pairs: two for an AWS key pair, else one."""


@dataclass
class Spec:
    path: str
    style: str
    """Which renderer writes it (and how a planted value is written into it)."""
    size: int = 0
    service: str = ""
    plants: list[Plant] = field(default_factory=list)
    text: str = ""
    """Content decided by the plan (kustomization files list their folder's files)."""


# ---------------------------------------------------------------------------
# Snippets: how a planted value is written in each style


def upper_to_camel(name: str) -> str:
    parts = name.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def key_for(style: str, name: str) -> str:
    if style == "go":
        return upper_to_camel(name)
    if style in ("tf", "tfvars", "yaml0"):
        return name.lower()
    if style == "properties":
        return name.lower().replace("_", ".")
    return name


def assign(style: str, key: str, value: str, g: Gen) -> str:
    """One assignment line (or lines) of ``key`` to the literal ``value``."""
    multiline = "\n" in value
    if style == "py":
        return f'{key} = """{value}\n"""' if multiline else f'{key} = "{value}"'
    if style == "go":
        return f"var {key} = `{value}\n`" if multiline else f'var {key} = "{value}"'
    if style == "ts":
        return (
            f"export const {key} = `{value}\n`;"
            if multiline
            else f'export const {key} = "{value}";'
        )
    if style == "java":
        if multiline:
            body = "\n".join("        " + line for line in value.splitlines())
            return f'    private static final String {key} = """\n{body}\n        """;'
        return f'    private static final String {key} = "{value}";'
    if style == "tf":
        return f"  {key} = <<-EOT\n{value}\n  EOT" if multiline else f'  {key} = "{value}"'
    if style == "tfvars":
        return f'{key} = "{value}"'
    if style in ("env", "sh"):
        prefix = "export " if style == "sh" or g.r.random() < 0.2 else ""
        return f"{prefix}{key}={value}"
    if style == "properties":
        return f"{key}={value}"
    if style == "yaml0":
        if multiline:
            return f"{key}: |\n" + "\n".join("  " + line for line in value.splitlines())
        plain = value[:1].isalnum() and ": " not in value and " #" not in value
        return f"{key}: {value}" if plain and g.r.random() < 0.5 else f'{key}: "{value}"'
    if style == "yaml2":
        return f"  {key}: {value}"
    if style == "dockerfile":
        return f"{g.r.choice(('ENV', 'ARG'))} {key}={value}"
    if style == "jsmin":
        return f'window.__{key}__="{value}";'
    raise ValueError(style)


def snippet(style: str, plant: Plant, g: Gen, service: str) -> str:
    """Text inserted between two blocks of a file of ``style``; it ends with a newline."""
    r = g.r
    values = plant.values
    names = SECRET_NAMES["aws"] if len(values) == 2 else (plant.name,)
    if style == "k8s":
        if plant.kind == "digest":
            return (
                f"---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {service}-cleanup\n"
                f'spec:\n  schedule: "{r.randint(0, 59)} 3 * * *"\n  jobTemplate:\n    spec:\n'
                f"      template:\n        spec:\n          restartPolicy: OnFailure\n"
                f"          containers:\n            - name: cleanup\n"
                f"              image: {values[0][1]}\n"
            )
        secret = r.random() < 0.5
        lines = [
            "---",
            "apiVersion: v1",
            f"kind: {'Secret' if secret else 'ConfigMap'}",
            "metadata:",
            f"  name: {service}-{r.choice(('credentials', 'runtime', 'env', 'settings'))}-{g.chars(HEX, 5)}",
            f"  namespace: {service}",
        ]
        if secret:
            lines.append("type: Opaque")
        lines.append("stringData:" if secret else "data:")
        for name, (_, value) in zip(names, values, strict=True):
            if "\n" in value:
                lines.append(f"  {name.lower().replace('_', '.')}: |")
                lines.extend("    " + v for v in value.splitlines())
            else:
                lines.append(f'  {name}: "{value}"')
        return "\n".join(lines) + "\n"
    if style == "tf":
        if len(values) == 2:
            return (
                f'\nprovider "aws" {{\n  alias      = "legacy"\n  region     = "{r.choice(REGIONS)}"\n'
                f'  access_key = "{values[0][1]}"\n  secret_key = "{values[1][1]}"\n}}\n'
            )
        value = values[0][1]
        if plant.kind in ("password", "env-lookup"):
            rendered = f'"{value}"' if plant.kind == "password" else value
            return (
                f'\nresource "aws_db_instance" "{g.noun()}_{r.choice(("replica", "legacy", "reporting"))}" {{\n'
                f'  identifier        = "{service}-{g.noun()}"\n  engine            = "postgres"\n'
                f'  engine_version    = "15.4"\n  instance_class    = "db.t3.medium"\n'
                f"  allocated_storage = {r.choice((20, 50, 100))}\n"
                f'  username          = "{r.choice(("app", "admin", "dbadmin"))}"\n'
                f"  password          = {rendered}\n  skip_final_snapshot = true\n}}\n"
            )
        return "\nlocals {\n" + assign("tf", key_for("tf", plant.name), value, g) + "\n}\n"
    if style == "md":
        body = "\n".join(
            assign("env", n, v, g) if "\n" not in v else v
            for n, (_, v) in zip(names, values, strict=True)
        )
        lang = "" if "\n" in values[0][1] else "sh"
        intro = r.choice(
            (
                "For local debugging use:",
                "The staging credentials (rotate after the migration):",
                "Configure the client like this:",
                "Set these before running the script:",
            )
        )
        return f"\n{intro}\n\n```{lang}\n{body}\n```\n"
    if style == "pem":
        return values[0][1] + "\n"
    text = "\n".join(
        assign(style, key_for(style, n), v, g) for n, (_, v) in zip(names, values, strict=True)
    )
    if style in ("py", "go", "ts", "java", "tfvars", "properties", "yaml0"):
        return "\n" + text + "\n"
    return text + "\n"


def decoy_value(g: Gen, kind: str, name: str, style: str) -> str:
    r = g.r
    if kind == "changeme":
        return r.choice(("changeme", "change-me", "CHANGEME"))
    if kind == "env-reference":
        return "${" + name + "}"
    if kind == "angle-placeholder":
        return r.choice(("<password>", "<your-password>", "<api-key>", "<secret>"))
    if kind == "empty":
        return ""
    if kind == "redacted":
        return "********"
    if kind == "template":
        if style == "yaml2":
            return "${{ secrets." + name + " }}"
        return "{{ .Values." + upper_to_camel(name) + " }}"
    if kind == "aws-placeholder":
        return "AKIA" + "X" * 16
    if kind == "github-placeholder":
        return "ghp_" + "x" * 36
    if kind == "stripe-placeholder":
        return "sk_live_" + "X" * 24
    if kind == "connection-env":
        return "postgres://app:${PGPASSWORD}@" + f"{g.noun()}-db:5432/{g.noun()}s"
    if kind == "public-key":
        return pem_block(g, r.choice(("PUBLIC KEY", "CERTIFICATE")), r.randint(6, 18))
    if kind == "slack-webhook-placeholder":
        return "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX"
    if kind == "your-key":
        return r.choice(("your-api-key-here", "YOUR_API_KEY", "your_secret_here"))
    if kind == "env-lookup":
        return name  # written as the language's environment look-up of ``name``
    if kind == "digest":
        image = r.choice(("nginx", "postgres", "redis", "python", "node", "golang"))
        return f"docker.io/library/{image}@sha256:{g.chars(HEX, 64)}"
    raise ValueError(kind)


def decoy_snippet(style: str, plant: Plant, g: Gen, service: str) -> str:
    """A decoy in ``style``; environment look-ups are written in each language's idiom."""
    name = plant.name
    if plant.kind == "env-lookup":
        line = {
            "py": f'{name} = os.environ.get("{name}", "")',
            "go": f'var {upper_to_camel(name)} = os.Getenv("{name}")',
            "ts": f'export const {name} = process.env.{name} ?? "";',
            "java": f'    private static final String {name} = System.getenv("{name}");',
        }.get(style)
        if line is None:  # tf
            return snippet(
                style, Plant("env-lookup", True, name, [("x", "var.db_password")]), g, service
            )
        return "\n" + line + "\n"
    if plant.kind == "digest" and style == "dockerfile":
        return f"FROM {plant.values[0][1]} AS runtime-base\n"
    return snippet(style, plant, g, service)


# ---------------------------------------------------------------------------
# Source renderers: each returns (blocks, lo, hi); plants go between blocks lo..hi.

Blocks = tuple[list[str], int, int]


def py_body(g: Gen, depth: int = 1) -> list[str]:
    r = g.r
    ind = "    " * depth
    lines = []
    for _ in range(r.randint(2, 9)):
        v, a, b = g.snake(1), g.noun(), g.noun()
        t = r.randrange(9)
        if t == 0:
            lines.append(f'{ind}{v} = {a}.get("{b}", {r.choice(("None", "0", "[]", "{}"))})')
        elif t == 1:
            lines.append(f"{ind}if {v} is None:")
            lines.append(f'{ind}    raise {g.pascal(1)}Error(f"{a} {{{v}!r}} not found")')
        elif t == 2 and depth < 3:
            lines.append(f"{ind}for {a} in {b}s:")
            lines.append(f"{ind}    if {a}.{g.snake(1)}:")
            lines.append(f"{ind}        {v}.append({a}.{g.snake(2)})")
        elif t == 3:
            lines.append(f'{ind}logger.info("{g.verb()} {a}", extra={{"{b}": {v}}})')
        elif t == 4:
            lines.append(
                f"{ind}{v} = [{a[0]}.{g.snake(1)} for {a[0]} in {b}s if {a[0]}.{g.snake(1)} > {r.randint(0, 500)}]"
            )
        elif t == 5 and depth < 3:
            lines.append(f"{ind}with self._{g.snake(1)}.begin() as {g.snake(1)}:")
            lines.extend(py_body(g, depth + 1))
        elif t == 6:
            lines.append(
                f"{ind}{v} = await self._{a}.{g.verb()}_{b}({g.snake(1)}, timeout={r.randint(1, 30)})"
            )
        elif t == 7:
            lines.append(f"{ind}# {g.sentence()}")
            lines.append(f"{ind}{v} += {r.randint(1, 100)}")
        else:
            lines.append(f"{ind}{v} = {g.pascal(2)}({a}={a}, {b}={g.snake(1)})")
    lines.append(f"{ind}return {g.snake(1)}")
    return lines


def render_py(g: Gen, size: int, service: str) -> Blocks:
    r = g.r
    pkg = service.replace("-", "_")
    imports = sorted(
        r.sample(
            [
                "import asyncio",
                "import json",
                "import logging",
                "import os",
                "import time",
                "from dataclasses import dataclass, field",
                "from datetime import datetime, timedelta, timezone",
                "from typing import Any",
                "from collections.abc import Iterable, Sequence",
                "import httpx",
                "from pydantic import BaseModel, Field",
                "from sqlalchemy import select",
                "from sqlalchemy.orm import Session",
            ],
            r.randint(3, 7),
        )
    )
    header = (
        f'"""{g.sentence()}\n\n{g.paragraph()}\n"""\n\nfrom __future__ import annotations\n\n'
        + "\n".join(imports)
        + f"\n\nfrom {pkg}.{g.snake(1)} import {g.pascal(2)}, {g.pascal(1)}\n"
        f"from {pkg}.errors import {g.pascal(1)}Error\n\nlogger = logging.getLogger(__name__)\n"
        f"{g.snake(2).upper()} = {r.randint(1, 1000)}\n"
    )
    blocks = [header]
    total = len(header)
    while total < size:
        if r.random() < 0.3:
            name = g.pascal(2)
            parts = [f'\n\n@dataclass\nclass {name}:\n    """{g.sentence()}"""\n\n']
            parts.extend(
                f"    {g.snake(1)}: {r.choice(('str', 'int', 'float', 'bool', 'datetime', 'list[str]'))}\n"
                for _ in range(r.randint(2, 6))
            )
            for _ in range(r.randint(1, 4)):
                parts.append(
                    f"\n    def {g.verb()}_{g.snake(1)}(self, {g.snake(1)}: {g.pascal(1)}) -> {g.pascal(1)}:\n"
                    f'        """{g.sentence()}"""\n' + "\n".join(py_body(g, 2)) + "\n"
                )
            block = "".join(parts)
        else:
            is_async = "async " if r.random() < 0.3 else ""
            params = ", ".join(
                f"{g.snake(1)}: {r.choice(('str', 'int', 'Session', 'dict[str, Any]'))}"
                for _ in range(r.randint(0, 4))
            )
            block = (
                f"\n\n{is_async}def {g.verb()}_{g.snake(2)}({params}) -> {r.choice(('None', 'int', 'str', 'list[dict[str, Any]]', g.pascal(1)))}:\n"
                f'    """{g.sentence()}\n\n    {g.sentence()}\n    """\n'
                + "\n".join(py_body(g))
                + "\n"
            )
        blocks.append(block)
        total += len(block)
    return blocks, 1, len(blocks)


def go_body(g: Gen, depth: int = 1) -> list[str]:
    r = g.r
    ind = "\t" * depth
    lines = []
    for _ in range(r.randint(2, 8)):
        v, a = g.camel(1), g.noun()
        t = r.randrange(7)
        if t == 0:
            lines.append(f"{ind}{v}, err := s.{g.camel(1)}.{g.pascal(2)}(ctx, {a})")
            lines.append(f"{ind}if err != nil {{")
            lines.append(f'{ind}\treturn nil, fmt.Errorf("{g.verb()} {a}: %w", err)')
            lines.append(f"{ind}}}")
        elif t == 1 and depth < 3:
            lines.append(f"{ind}for _, {a} := range {g.camel(1)}s {{")
            lines.append(f"{ind}\tif {a}.{g.pascal(1)} == nil {{\n{ind}\t\tcontinue\n{ind}\t}}")
            lines.append(f"{ind}\t{v} = append({v}, {a}.{g.pascal(2)})")
            lines.append(f"{ind}}}")
        elif t == 2:
            lines.append(f'{ind}s.logger.Info("{g.verb()} {a}", "{g.snake(1)}", {v})')
        elif t == 3:
            lines.append(
                f"{ind}{v} := make(map[string]{r.choice(('int', 'string', 'bool', '*' + g.pascal(1)))}, {r.randint(0, 64)})"
            )
        elif t == 4:
            lines.append(f"{ind}// {g.sentence()}")
            lines.append(f"{ind}{v} := time.Duration({r.randint(1, 600)}) * time.Second")
        elif t == 5:
            lines.append(
                f"{ind}ctx, cancel := context.WithTimeout(ctx, {r.randint(1, 30)}*time.Second)"
            )
            lines.append(f"{ind}defer cancel()")
        else:
            lines.append(
                f"{ind}{v} := &{g.pascal(2)}{{{g.pascal(1)}: {a}, {g.pascal(1)}: {r.randint(0, 99)}}}"
            )
    return lines


def render_go(g: Gen, size: int, service: str) -> Blocks:
    r = g.r
    pkg = g.noun()
    header = (
        f'// Package {pkg} {g.sentence().lower()}\npackage {pkg}\n\nimport (\n\t"context"\n\t"errors"\n'
        f'\t"fmt"\n\t"log/slog"\n\t"time"\n\n\t"github.com/{COMPANY}/{service}/internal/{g.noun()}"\n)\n'
    )
    blocks = [header]
    total = len(header)
    while total < size:
        if r.random() < 0.25:
            name = g.pascal(2)
            fields = "\n".join(
                f'\t{g.pascal(1)} {r.choice(("string", "int64", "bool", "time.Time", "[]string", "*" + g.pascal(1)))} `json:"{g.snake(1)}"`'
                for _ in range(r.randint(2, 8))
            )
            block = f"\n// {name} {g.sentence().lower()}\ntype {name} struct {{\n{fields}\n}}\n"
        else:
            name = g.pascal(2)
            block = (
                f"\n// {g.verb().title()}{name} {g.sentence().lower()}\n"
                f"func (s *{g.pascal(1)}Service) {g.verb().title()}{name}(ctx context.Context, {g.camel(1)} string) (*{g.pascal(1)}, error) {{\n"
                + "\n".join(go_body(g))
                + f'\n\tif {g.camel(1)} == nil {{\n\t\treturn nil, errors.New("{g.noun()} not found")\n\t}}\n\treturn nil, nil\n}}\n'
            )
        blocks.append(block)
        total += len(block)
    return blocks, 1, len(blocks)


def ts_body(g: Gen, depth: int = 1) -> list[str]:
    r = g.r
    ind = "  " * depth
    lines = []
    for _ in range(r.randint(2, 8)):
        v, a = g.camel(1), g.noun()
        t = r.randrange(6)
        if t == 0:
            lines.append(f"{ind}const {v} = await this.{g.camel(1)}.{g.verb()}{g.pascal(1)}({a});")
        elif t == 1:
            lines.append(
                f"{ind}if (!{v}) {{\n{ind}  throw new NotFoundError(`{a} ${{{v}}} not found`);\n{ind}}}"
            )
        elif t == 2 and depth < 3:
            lines.append(f"{ind}for (const {a} of {g.camel(1)}s) {{")
            lines.append(f"{ind}  {v}.push({{ id: {a}.id, {g.camel(1)}: {a}.{g.camel(1)} }});")
            lines.append(f"{ind}}}")
        elif t == 3:
            lines.append(f'{ind}logger.info({{ {a}: {v} }}, "{g.verb()} {a}");')
        elif t == 4:
            lines.append(f"{ind}// {g.sentence()}")
            lines.append(
                f"{ind}const {v} = {g.camel(1)}s.filter((x) => x.{g.camel(1)} > {r.randint(0, 100)}).map((x) => x.{g.camel(1)});"
            )
        else:
            lines.append(
                f"{ind}const {v}: {g.pascal(2)} = {{ ...{g.camel(1)}, {g.camel(1)}: {r.choice(('true', 'false', 'null', str(r.randint(0, 99))))} }};"
            )
    return lines


def render_ts(g: Gen, size: int, service: str) -> Blocks:
    r = g.r
    header = (
        f'import {{ {g.pascal(2)}, {g.pascal(1)} }} from "../{g.noun()}";\n'
        f'import {{ logger }} from "../logger";\nimport {{ NotFoundError }} from "../errors";\n'
        f'import type {{ {g.pascal(2)} }} from "@{COMPANY}/{g.noun()}-client";\n'
    )
    blocks = [header]
    total = len(header)
    while total < size:
        t = r.random()
        if t < 0.25:
            fields = "\n".join(
                f"  {g.camel(1)}{r.choice(('', '?'))}: {r.choice(('string', 'number', 'boolean', 'Date', 'string[]', g.pascal(1)))};"
                for _ in range(r.randint(2, 9))
            )
            block = f"\n/** {g.sentence()} */\nexport interface {g.pascal(2)} {{\n{fields}\n}}\n"
        elif t < 0.5:
            methods = "".join(
                f"\n  async {g.verb()}{g.pascal(1)}({g.camel(1)}: string): Promise<{g.pascal(1)}> {{\n"
                + "\n".join(ts_body(g, 2))
                + f"\n    return {g.camel(1)};\n  }}\n"
                for _ in range(r.randint(1, 4))
            )
            block = (
                f"\nexport class {g.pascal(2)}Service {{\n  constructor(private readonly {g.camel(1)}: {g.pascal(1)}) {{}}\n"
                + methods
                + "}\n"
            )
        else:
            block = (
                f"\nexport async function {g.verb()}{g.pascal(2)}({g.camel(1)}: {g.pascal(1)}): Promise<{g.pascal(1)}[]> {{\n"
                + "\n".join(ts_body(g))
                + f"\n  return {g.camel(1)};\n}}\n"
            )
        blocks.append(block)
        total += len(block)
    return blocks, 1, len(blocks)


def java_body(g: Gen) -> list[str]:
    r = g.r
    ind = "        "
    lines = []
    for _ in range(r.randint(2, 8)):
        v, a = g.camel(1), g.noun()
        t = r.randrange(5)
        if t == 0:
            lines.append(
                f'{ind}var {v} = {g.camel(1)}Repository.findBy{g.pascal(1)}({a}).orElseThrow(() -> new NotFoundException("{a}"));'
            )
        elif t == 1:
            lines.append(
                f"{ind}for (var {a} : {g.camel(1)}s) {{\n{ind}    {v}.add({a}.get{g.pascal(1)}());\n{ind}}}"
            )
        elif t == 2:
            lines.append(f'{ind}log.info("{g.verb()} {a} {{}}", {v});')
        elif t == 3:
            lines.append(f"{ind}// {g.sentence()}")
            lines.append(f"{ind}{v}.set{g.pascal(1)}({r.randint(0, 999)});")
        else:
            lines.append(
                f'{ind}if ({v} == null) {{\n{ind}    throw new IllegalStateException("{g.noun()} missing");\n{ind}}}'
            )
    return lines


def render_java(g: Gen, size: int, service: str, cls: str) -> Blocks:
    r = g.r
    pkg = f"com.{COMPANY}.{service.replace('-', '')}.{g.noun()}"
    header = (
        f"package {pkg};\n\nimport java.time.Instant;\nimport java.util.ArrayList;\nimport java.util.List;\n"
        f"import java.util.Optional;\nimport org.slf4j.Logger;\nimport org.slf4j.LoggerFactory;\n"
        f"import org.springframework.stereotype.Service;\n\n/**\n * {g.sentence()}\n */\n@Service\n"
        f"public class {cls} {{\n\n    private static final Logger log = LoggerFactory.getLogger({cls}.class);\n"
    )
    blocks = [header]
    total = len(header)
    while total < size:
        block = (
            f"\n    /**\n     * {g.sentence()}\n     */\n    public {r.choice(('void', 'List<' + g.pascal(1) + '>', g.pascal(1), 'Optional<' + g.pascal(1) + '>'))} "
            f"{g.verb()}{g.pascal(2)}({g.pascal(1)} {g.camel(1)}) {{\n"
            + "\n".join(java_body(g))
            + "\n    }\n"
        )
        blocks.append(block)
        total += len(block)
    blocks.append("}\n")
    return blocks, 1, len(blocks) - 1


# ---------------------------------------------------------------------------
# Infrastructure renderers


def k8s_doc(g: Gen, kind: str, service: str, env: str | None) -> str:
    r = g.r
    ns = service if env is None else f"{service}-{env}"
    labels = f"    app.kubernetes.io/name: {service}\n    app.kubernetes.io/part-of: {COMPANY}\n"
    if kind == "Deployment":
        image = f"registry.{COMPANY}.io/{service}:{r.randint(1, 9)}.{r.randint(0, 40)}.{r.randint(0, 20)}"
        envs = "".join(
            f'            - name: {g.fresh(lambda: g.snake(2).upper(), "env" + service)}\n              value: "{r.choice((str(r.randint(1, 500)), g.noun(), "true", "false"))}"\n'
            for _ in range(r.randint(1, 6))
        )
        return (
            f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {service}\n  namespace: {ns}\n"
            f"  labels:\n{labels}spec:\n  replicas: {r.choice((2, 3, 4, 6))}\n  revisionHistoryLimit: 5\n"
            f"  selector:\n    matchLabels:\n      app.kubernetes.io/name: {service}\n"
            f"  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 25%\n      maxUnavailable: 0\n"
            f"  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {service}\n"
            f'      annotations:\n        prometheus.io/scrape: "true"\n        prometheus.io/port: "9090"\n'
            f"    spec:\n      serviceAccountName: {service}\n      terminationGracePeriodSeconds: 30\n"
            f"      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n"
            f"      containers:\n        - name: {service}\n          image: {image}\n"
            f"          ports:\n            - name: http\n              containerPort: 8080\n"
            f"            - name: metrics\n              containerPort: 9090\n"
            f"          env:\n{envs}          envFrom:\n            - configMapRef:\n                name: {service}-config\n"
            f"          resources:\n            requests:\n              cpu: {r.choice((100, 250, 500))}m\n"
            f"              memory: {r.choice((128, 256, 512))}Mi\n            limits:\n"
            f"              memory: {r.choice((512, 1024, 2048))}Mi\n"
            f"          readinessProbe:\n            httpGet:\n              path: /healthz/ready\n              port: http\n"
            f"            periodSeconds: 10\n          livenessProbe:\n            httpGet:\n"
            f"              path: /healthz/live\n              port: http\n            initialDelaySeconds: 15\n"
            f"          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n"
        )
    if kind == "Service":
        return (
            f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {service}\n  namespace: {ns}\n  labels:\n{labels}"
            f"spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: {service}\n  ports:\n"
            f"    - name: http\n      port: 80\n      targetPort: http\n    - name: metrics\n      port: 9090\n      targetPort: metrics\n"
        )
    if kind == "Ingress":
        host = f"{service}.{env or 'prod'}.{COMPANY}.io"
        return (
            f"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {service}\n  namespace: {ns}\n"
            f"  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\n    nginx.ingress.kubernetes.io/proxy-body-size: {r.choice((1, 8, 50))}m\n"
            f"spec:\n  ingressClassName: nginx\n  tls:\n    - hosts: [{host}]\n      secretName: {service}-tls\n"
            f"  rules:\n    - host: {host}\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n"
            f"            backend:\n              service:\n                name: {service}\n                port:\n                  name: http\n"
        )
    if kind == "HorizontalPodAutoscaler":
        low = r.choice((2, 3))
        return (
            f"---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {service}\n  namespace: {ns}\n"
            f"spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {service}\n"
            f"  minReplicas: {low}\n  maxReplicas: {low * r.choice((3, 5, 10))}\n  metrics:\n    - type: Resource\n"
            f"      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: {r.choice((60, 70, 75, 80))}\n"
        )
    if kind == "PodDisruptionBudget":
        return (
            f"---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {service}\n  namespace: {ns}\n"
            f"spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {service}\n"
        )
    if kind == "ServiceAccount":
        return f"---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {service}\n  namespace: {ns}\n"
    if kind == "NetworkPolicy":
        return (
            f"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {service}-ingress\n  namespace: {ns}\n"
            f"spec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: {service}\n  policyTypes: [Ingress]\n"
            f"  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              name: ingress-nginx\n"
        )
    # ConfigMap
    data = "".join(
        f'  {g.fresh(lambda: g.snake(2).upper(), "cm" + ns)}: "{r.choice((str(r.randint(1, 9999)), g.noun(), "true", "false", f"{g.noun()}.{COMPANY}.internal:{r.randint(1000, 9999)}"))}"\n'
        for _ in range(r.randint(4, 30))
    )
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {service}-config\n  namespace: {ns}\ndata:\n{data}"


def render_k8s(g: Gen, kinds: list[str], service: str, env: str | None) -> Blocks:
    blocks = [k8s_doc(g, kind, service, env) for kind in kinds]
    return blocks, 0, len(blocks)


TF_MODULES = (
    "network",
    "database",
    "cache",
    "storage",
    "iam",
    "loadbalancer",
    "monitoring",
    "kms",
    "queue",
    "dns",
)
TF_TYPES = (
    "aws_db_instance",
    "aws_s3_bucket",
    "aws_security_group",
    "aws_lb",
    "aws_lb_target_group",
    "aws_lb_listener",
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_key",
    "aws_cloudwatch_metric_alarm",
    "aws_elasticache_replication_group",
    "variable",
    "output",
    "module",
)


def tf_block(g: Gen, kind: str, service: str, modules: str) -> str:
    r = g.r
    name = g.fresh(lambda: g.snake(1), "tf" + kind)
    tags = f'  tags = {{\n    Service = "{service}"\n    Owner   = "team-{g.noun()}"\n    Env     = var.environment\n  }}\n'
    if kind == "aws_db_instance":
        return (
            f'\nresource "aws_db_instance" "{name}" {{\n  identifier              = "${{var.environment}}-{service}"\n'
            f'  engine                  = "postgres"\n  engine_version          = "{r.choice(("14.9", "15.4", "16.1"))}"\n'
            f'  instance_class          = "{r.choice(("db.t3.medium", "db.r6g.large", "db.r6g.xlarge"))}"\n'
            f"  allocated_storage       = {r.choice((50, 100, 200))}\n  storage_encrypted       = {r.choice(('true', 'true', 'false'))}\n"
            f"  multi_az                = {r.choice(('true', 'false'))}\n  backup_retention_period = {r.choice((0, 1, 7, 14, 30))}\n"
            f"  deletion_protection     = {r.choice(('true', 'false'))}\n  username                = var.db_username\n"
            f"  manage_master_user_password = true\n  db_subnet_group_name    = aws_db_subnet_group.{name}.name\n"
            f"  vpc_security_group_ids  = [aws_security_group.{name}_db.id]\n{tags}}}\n"
        )
    if kind == "aws_s3_bucket":
        return (
            f'\nresource "aws_s3_bucket" "{name}" {{\n  bucket = "{COMPANY}-${{var.environment}}-{service}-{g.noun()}"\n{tags}}}\n'
            f'\nresource "aws_s3_bucket_versioning" "{name}" {{\n  bucket = aws_s3_bucket.{name}.id\n'
            f'  versioning_configuration {{\n    status = "{r.choice(("Enabled", "Suspended"))}"\n  }}\n}}\n'
            f'\nresource "aws_s3_bucket_public_access_block" "{name}" {{\n  bucket                  = aws_s3_bucket.{name}.id\n'
            f"  block_public_acls       = true\n  block_public_policy     = true\n  ignore_public_acls      = true\n  restrict_public_buckets = true\n}}\n"
        )
    if kind == "aws_security_group":
        rules = "".join(
            f'  ingress {{\n    description = "{g.noun()}"\n    from_port   = {p}\n    to_port     = {p}\n    protocol    = "tcp"\n'
            f'    cidr_blocks = ["{r.choice(("10.0.0.0/8", "0.0.0.0/0", "172.16.0.0/12"))}"]\n  }}\n'
            for p in r.sample((22, 80, 443, 5432, 6379, 8080, 9090), r.randint(1, 3))
        )
        return (
            f'\nresource "aws_security_group" "{name}" {{\n  name   = "{service}-{name}"\n  vpc_id = var.vpc_id\n{rules}'
            f'  egress {{\n    from_port   = 0\n    to_port     = 0\n    protocol    = "-1"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n{tags}}}\n'
        )
    if kind == "aws_lb":
        return (
            f'\nresource "aws_lb" "{name}" {{\n  name               = "{service[:20]}-{name[:10]}"\n  internal           = {r.choice(("true", "false"))}\n'
            f'  load_balancer_type = "application"\n  security_groups    = [aws_security_group.{name}.id]\n  subnets            = var.subnet_ids\n'
            f"  enable_deletion_protection = {r.choice(('true', 'false'))}\n  drop_invalid_header_fields = true\n{tags}}}\n"
        )
    if kind == "aws_lb_target_group":
        return (
            f'\nresource "aws_lb_target_group" "{name}" {{\n  name     = "{service}-{name}"\n  port     = 8080\n  protocol = "HTTP"\n'
            f'  vpc_id   = var.vpc_id\n  health_check {{\n    path                = "/healthz/ready"\n    healthy_threshold   = 2\n'
            f"    unhealthy_threshold = 3\n    interval            = {r.choice((10, 15, 30))}\n  }}\n}}\n"
        )
    if kind == "aws_lb_listener":
        return (
            f'\nresource "aws_lb_listener" "{name}" {{\n  load_balancer_arn = aws_lb.{name}.arn\n  port              = 443\n'
            f'  protocol          = "HTTPS"\n  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"\n  certificate_arn   = var.certificate_arn\n'
            f'  default_action {{\n    type             = "forward"\n    target_group_arn = aws_lb_target_group.{name}.arn\n  }}\n}}\n'
        )
    if kind == "aws_iam_role":
        return (
            f'\nresource "aws_iam_role" "{name}" {{\n  name = "{service}-{name}"\n  assume_role_policy = jsonencode({{\n'
            f'    Version = "2012-10-17"\n    Statement = [{{\n      Effect    = "Allow"\n      Action    = "sts:AssumeRoleWithWebIdentity"\n'
            f"      Principal = {{ Federated = var.oidc_provider_arn }}\n    }}]\n  }})\n}}\n"
        )
    if kind == "aws_iam_policy":
        action = r.choice(
            (
                '"s3:GetObject", "s3:PutObject"',
                '"sqs:*"',
                '"*"',
                '"dynamodb:Query", "dynamodb:GetItem"',
            )
        )
        return (
            f'\nresource "aws_iam_policy" "{name}" {{\n  name = "{service}-{name}"\n  policy = jsonencode({{\n    Version = "2012-10-17"\n'
            f'    Statement = [{{\n      Effect   = "Allow"\n      Action   = [{action}]\n      Resource = ["*"]\n    }}]\n  }})\n}}\n'
        )
    if kind == "aws_iam_role_policy_attachment":
        return (
            f'\nresource "aws_iam_role_policy_attachment" "{name}" {{\n  role       = aws_iam_role.{name}.name\n'
            f"  policy_arn = aws_iam_policy.{name}.arn\n}}\n"
        )
    if kind == "aws_kms_key":
        return (
            f'\nresource "aws_kms_key" "{name}" {{\n  description             = "{g.sentence(5)}"\n'
            f"  deletion_window_in_days = 30\n  enable_key_rotation     = {r.choice(('true', 'false'))}\n}}\n"
        )
    if kind == "aws_cloudwatch_metric_alarm":
        return (
            f'\nresource "aws_cloudwatch_metric_alarm" "{name}" {{\n  alarm_name          = "{service}-{name}-high"\n'
            f'  comparison_operator = "GreaterThanThreshold"\n  evaluation_periods  = {r.randint(1, 5)}\n'
            f'  metric_name         = "{r.choice(("CPUUtilization", "HTTPCode_Target_5XX_Count", "TargetResponseTime"))}"\n'
            f'  namespace           = "AWS/{r.choice(("RDS", "ApplicationELB", "EC2"))}"\n  period              = 60\n'
            f'  statistic           = "Average"\n  threshold           = {r.randint(1, 90)}\n  alarm_actions       = [var.sns_topic_arn]\n}}\n'
        )
    if kind == "aws_elasticache_replication_group":
        return (
            f'\nresource "aws_elasticache_replication_group" "{name}" {{\n  replication_group_id       = "{service}-{name}"\n'
            f'  description                = "{g.sentence(5)}"\n  node_type                  = "cache.t4g.medium"\n'
            f"  num_cache_clusters         = {r.randint(1, 3)}\n  automatic_failover_enabled = {r.choice(('true', 'false'))}\n"
            f"  at_rest_encryption_enabled = true\n  transit_encryption_enabled = {r.choice(('true', 'false'))}\n}}\n"
        )
    if kind == "variable":
        return (
            f'\nvariable "{g.snake(2)}" {{\n  description = "{g.sentence(6)}"\n  type        = {r.choice(("string", "number", "bool", "list(string)"))}\n'
            + (f'  default     = "{g.noun()}"\n' if r.random() < 0.4 else "")
            + "}\n"
        )
    if kind == "output":
        return f'\noutput "{g.snake(2)}" {{\n  value = aws_{g.snake(1)}.{name}.{r.choice(("id", "arn", "name"))}\n}}\n'
    return (
        f'\nmodule "{name}" {{\n  source      = "{modules}/{r.choice(TF_MODULES)}"\n  environment = var.environment\n'
        f'  service     = "{service}"\n  vpc_id      = var.vpc_id\n}}\n'
    )


def render_tf(g: Gen, service: str, path: str) -> Blocks:
    r = g.r
    if path.startswith("infra/terraform/modules/"):
        modules = ".."
    elif path.startswith("infra/terraform/envs/"):
        modules = "../../../modules"
    else:
        modules = "../../../infra/terraform/modules"
    blocks = [f"# {g.sentence()}\n"]
    for _ in range(r.randint(2, 9)):
        kinds = TF_TYPES[:-1] if modules == ".." else TF_TYPES  # modules call no module: no cycles
        blocks.append(tf_block(g, r.choice(kinds), service, modules))
    return blocks, 1, len(blocks)


def render_workflow(g: Gen, service: str) -> Blocks:
    r = g.r
    lang = r.choice(("python", "go", "node", "java"))
    setup = {
        "python": "      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n      - run: pip install -e '.[dev]'\n      - run: pytest -q\n",
        "go": '      - uses: actions/setup-go@v5\n        with:\n          go-version: "1.22"\n      - run: go test ./...\n',
        "node": "      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n      - run: npm ci\n      - run: npm test\n",
        "java": '      - uses: actions/setup-java@v4\n        with:\n          distribution: temurin\n          java-version: "21"\n      - run: ./mvnw -B verify\n',
    }[lang]
    blocks = [
        f'name: {service}\n\non:\n  push:\n    branches: [main]\n    paths: ["services/{service}/**"]\n  pull_request:\n    paths: ["services/{service}/**"]\n\n',
        "env:\n",
        f"  SERVICE: {service}\n",
        f"  REGISTRY: registry.{COMPANY}.io\n",
        (
            f"\njobs:\n  test:\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: services/{service}\n"
            f"    steps:\n      - uses: actions/checkout@v4\n{setup}"
            f"  deploy:\n    needs: test\n    if: github.ref == 'refs/heads/main'\n    runs-on: ubuntu-latest\n    environment: production\n"
            f"    steps:\n      - uses: actions/checkout@v4\n      - run: docker build -t $REGISTRY/{service}:${{{{ github.sha }}}} services/{service}\n"
            f"      - run: kubectl apply -k services/{service}/k8s/overlays/prod\n"
        ),
    ]
    return blocks, 2, 4


def render_dockerfile(g: Gen, service: str, lang: str) -> Blocks:
    base = {
        "py": "python:3.12-slim",
        "go": "golang:1.22-bookworm",
        "ts": "node:20-bookworm-slim",
        "java": "eclipse-temurin:21-jre",
    }[lang]
    blocks = [
        f"# syntax=docker/dockerfile:1.7\nFROM {base} AS build\n",
        "WORKDIR /app\n",
        "COPY . .\n",
        f"RUN {g.r.choice(('pip install --no-cache-dir .', 'go build -o /out/app ./cmd/' + service, 'npm ci && npm run build', './mvnw -B package -DskipTests'))}\n",
        f"ENV PORT=8080 SERVICE_NAME={service}\n",
        "USER 10001\n",
        "EXPOSE 8080\n",
        f'CMD ["/app/{service}"]\n',
    ]
    return blocks, 1, len(blocks) - 1


def render_md(g: Gen, size: int, title: str) -> Blocks:
    r = g.r
    blocks = [f"# {title}\n\n{g.paragraph()}\n"]
    total = len(blocks[0])
    while total < size:
        t = r.random()
        if t < 0.5:
            block = f"\n## {g.sentence(4)[:-1]}\n\n{g.paragraph()}\n\n{g.paragraph()}\n"
        elif t < 0.75:
            block = "\n" + "\n".join(f"- {g.sentence()}" for _ in range(r.randint(2, 7))) + "\n"
        else:
            cmd = r.choice(("kubectl", "make", "curl", "terraform", "psql"))
            block = f"\n```sh\n{cmd} {g.noun()} --{g.noun()}={g.noun()}\n{cmd} {g.verb()} {g.noun()}\n```\n"
        blocks.append(block)
        total += len(block)
    return blocks, 1, len(blocks)


def render_env(g: Gen, service: str) -> Blocks:
    r = g.r
    lines = [
        f"# {service} runtime configuration\n",
        f"SERVICE_NAME={service}\n",
        "LOG_LEVEL=info\n",
    ]
    for _ in range(r.randint(4, 20)):
        lines.append(
            f"{g.fresh(lambda: g.snake(2).upper())}={r.choice((str(r.randint(1, 9999)), g.noun(), 'true', 'false'))}\n"
        )
    return lines, 1, len(lines)


def render_properties(g: Gen, service: str) -> Blocks:
    r = g.r
    lines = [f"# {service}\n", f"spring.application.name={service}\n", "server.port=8080\n"]
    for _ in range(r.randint(6, 30)):
        lines.append(
            f"{g.fresh(lambda: f'{g.noun()}.{g.noun()}.{g.noun()}')}={r.choice((str(r.randint(1, 9999)), g.noun(), 'true', 'false'))}\n"
        )
    return lines, 1, len(lines)


def render_yaml0(g: Gen, service: str) -> Blocks:
    r = g.r
    blocks = [f"# {service} settings\nservice: {service}\n"]
    for _ in range(r.randint(3, 10)):
        section = g.fresh(lambda: g.snake(1))
        body = "".join(
            f"  {g.fresh(lambda: g.snake(1), section)}: {r.choice((str(r.randint(1, 9999)), g.noun(), 'true', 'false'))}\n"
            for _ in range(r.randint(2, 8))
        )
        blocks.append(f"{section}:\n{body}")
    return blocks, 1, len(blocks)


def render_tfvars(g: Gen, env: str) -> Blocks:
    r = g.r
    lines = [f'environment = "{env}"\n', f'region      = "{r.choice(REGIONS)}"\n']
    for _ in range(r.randint(3, 12)):
        lines.append(
            f"{g.fresh(lambda: g.snake(2))} = {r.choice((str(r.randint(1, 500)), chr(34) + g.noun() + chr(34), 'true'))}\n"
        )
    return lines, 1, len(lines)


def render_sh(g: Gen, service: str) -> Blocks:
    r = g.r
    blocks = ["#!/usr/bin/env bash\nset -euo pipefail\n\n"]
    for _ in range(r.randint(3, 10)):
        blocks.append(
            f'echo "{g.verb()} {g.noun()}"\n{r.choice(("kubectl", "aws", "curl -fsS", "psql"))} {g.noun()} --{g.noun()} "${{{g.snake(1).upper()}}}"\n'
        )
    return blocks, 1, len(blocks)


# ---------------------------------------------------------------------------
# Large generated files


def render_bundle(g: Gen, size: int) -> Blocks:
    r = g.r
    blocks = [
        f"/*! {g.noun()}-bundle v{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)} | MIT */\n"
    ]
    total = len(blocks[0])
    while total < size:
        parts = []
        n = 0
        target = r.randint(4000, 32000)
        while n < target:
            a, b, c = g.chars("abcdefghijklmnopqrstuvwxyz", 1), g.chars("etnriosa", 1), g.camel(1)
            piece = r.choice(
                (
                    f"function {a}({b},{c}){{return {b}.{g.camel(1)}({c})||{r.randint(0, 99)}}}",
                    f"var {a}={b}.{c}||{{}};",
                    f'{a}.prototype.{c}=function(){{return this._{g.camel(1)}?"{g.noun()}":null}};',
                    f'Object.defineProperty({a},"{c}",{{enumerable:!0,get:function(){{return {b}}}}});',
                    f"for(var {b}=0;{b}<{a}.length;{b}++){a}[{b}].{c}&&{a}[{b}].{g.camel(1)}();",
                    f'"use strict";{a}.exports={{{c}:{b}}};',
                )
            )
            parts.append(piece)
            n += len(piece)
        block = "".join(parts) + "\n"
        blocks.append(block)
        total += len(block)
    return blocks, 1, len(blocks)


def render_fixture(g: Gen, size: int) -> Blocks:
    r = g.r
    blocks = ["[\n"]
    total = 2
    while total < size:
        uid = f"{g.chars(HEX, 8)}-{g.chars(HEX, 4)}-4{g.chars(HEX, 3)}-{g.chars('89ab', 1)}{g.chars(HEX, 3)}-{g.chars(HEX, 12)}"
        record = (
            f'  {{"id": "{uid}", "{g.noun()}": "{g.noun()}", "status": "{g.adj()}", '
            f'"amount": {r.randint(0, 99999) / 100}, "currency": "{r.choice(("EUR", "USD", "GBP"))}", '
            f'"created_at": "2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z", '
            f'"tags": ["{g.noun()}", "{g.noun()}"]}},\n'
        )
        blocks.append(record)
        total += len(record)
    blocks[-1] = blocks[-1].rstrip(",\n") + "\n"
    blocks.append("]\n")
    return blocks, 1, 1


def render_pb(g: Gen, size: int, go: bool) -> Blocks:
    r = g.r
    if go:
        blocks = [
            f"// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: {g.noun()}/v1/{g.noun()}.proto\n\n"
            f"package {g.noun()}v1\n\nvar file_{g.snake(2)}_proto_rawDesc = []byte{{\n"
        ]
        total = len(blocks[0])
        while total < size:
            row = "\t" + ", ".join(f"0x{b:02x}" for b in r.randbytes(16)) + ",\n"
            blocks.append(row)
            total += len(row)
        blocks.append("}\n")
        return blocks, 1, 1
    blocks = [
        "# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n"
        "from google.protobuf import descriptor_pool as _descriptor_pool\n\n"
    ]
    total = len(blocks[0])
    while total < size:
        chunk = "".join(f"\\x{b:02x}" for b in r.randbytes(2000))
        row = f"_descriptor_pool.Default().AddSerializedFile(b'{chunk}')\n"
        blocks.append(row)
        total += len(row)
    return blocks, 1, 1


def render_lock(g: Gen, size: int) -> Blocks:
    r = g.r
    blocks = ['{\n  "name": "web",\n  "lockfileVersion": 3,\n  "packages": {\n']
    total = len(blocks[0])
    while total < size:
        name = f"{g.noun()}-{g.noun()}"
        block = (
            f'    "node_modules/{name}": {{\n      "version": "{r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",\n'
            f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",\n'
            f'      "integrity": "sha512-{base64.b64encode(r.randbytes(64)).decode()}"\n    }},\n'
        )
        blocks.append(block)
        total += len(block)
    blocks.append('    "": {}\n  }\n}\n')
    return blocks, 1, 1


def png_bytes(rng: Random, size: int) -> bytes:
    width = rng.choice((64, 128, 256, 512))
    height = max(1, size // (width * 3))
    rows = []
    for _ in range(height):  # mostly noise with flat runs: compresses a little, like a screenshot
        row = bytearray(rng.randbytes(width * 3))
        start = rng.randrange(width * 3)
        row[start : start + width] = bytes([rng.randrange(256)]) * len(row[start : start + width])
        rows.append(b"\x00" + bytes(row))
    raw = b"".join(rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------
# The plan: which files exist


@dataclass
class Service:
    name: str
    lang: str
    weight: float


K8sKinds = dict[str, tuple[list[str], str | None]]


def plan(files: int, seed: int) -> tuple[list[Spec], list[Service], K8sKinds]:
    g = Gen(Random(f"{seed}:plan"))
    r = g.r
    scale = files / 20000
    n_services = max(4, round(80 * scale))
    services: list[Service] = []
    used: set[str] = set()
    while len(services) < n_services:
        name = f"{r.choice(SERVICE_WORDS)}-{r.choice(SERVICE_SUFFIXES)}"
        if name in used:
            continue
        used.add(name)
        lang = r.choices(("py", "go", "ts", "java"), weights=(35, 25, 25, 15))[0]
        services.append(Service(name, lang, r.lognormvariate(0, 0.7)))
    specs: list[Spec] = []
    paths: set[str] = set()

    def add(path: str, style: str, service: str = "", size: int = 0) -> Spec | None:
        if path in paths:
            return None
        paths.add(path)
        spec = Spec(path, style, size, service)
        specs.append(spec)
        return spec

    # Root files
    add("README.md", "md:Northwind platform monorepo", size=6000)
    add("CONTRIBUTING.md", "md:Contributing", size=4000)
    add(".gitignore", "raw:gitignore")
    add(".editorconfig", "raw:editorconfig")
    add("CODEOWNERS", "raw:codeowners")
    add("Makefile", "raw:makefile")
    add("docker-compose.yml", "raw:compose")

    # Kubernetes: bases, per-service overlays, cluster-wide platform manifests
    n_k8s = round(2000 * scale)
    k8s_files: list[tuple[str, list[str], str, str | None]] = []
    base_files = {
        "deployment.yaml": ["Deployment"],
        "service.yaml": ["Service"],
        "hpa.yaml": ["HorizontalPodAutoscaler", "PodDisruptionBudget"],
        "configmap.yaml": ["ConfigMap"],
        "ingress.yaml": ["Ingress"],
        "rbac.yaml": ["ServiceAccount", "NetworkPolicy"],
    }
    for svc in services:
        for fname, kinds in base_files.items():
            k8s_files.append((f"services/{svc.name}/k8s/base/{fname}", kinds, svc.name, None))
    overlay_files = {
        "deployment-patch.yaml": ["Deployment"],
        "configmap.yaml": ["ConfigMap"],
        "ingress.yaml": ["Ingress"],
        "hpa.yaml": ["HorizontalPodAutoscaler"],
        "all.yaml": ["Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"],
    }
    for env in ENVS:
        for svc in services:
            for fname, kinds in overlay_files.items():
                # the patch names the base's Deployment (same namespace) so that it applies
                where = None if fname == "deployment-patch.yaml" else env
                k8s_files.append(
                    (f"services/{svc.name}/k8s/overlays/{env}/{fname}", kinds, svc.name, where)
                )
    for env in ENVS:
        for svc in services:
            k8s_files.append(
                (
                    f"deploy/{env}/{svc.name}/release.yaml",
                    ["Deployment", "Service", "ConfigMap"],
                    svc.name,
                    env,
                )
            )
    number = 0
    while len(k8s_files) < n_k8s:
        number += 1
        svc = r.choice(services)
        k8s_files.append(
            (
                f"platform/clusters/{r.choice(ENVS)}/{svc.name}-{number:03d}.yaml",
                ["NetworkPolicy", "ConfigMap"],
                svc.name,
                None,
            )
        )
    r.shuffle(k8s_files)
    k8s_files = sorted(k8s_files[:n_k8s])
    k8s_kinds: K8sKinds = {}
    for path, kinds, svc_name, env in k8s_files:
        add(path, "k8s", svc_name)
        k8s_kinds[path] = (kinds, env)
    kustomized: dict[str, list[str]] = {}
    for path, *_ in k8s_files:
        if "/k8s/" in path:
            folder, name = path.rsplit("/", 1)
            kustomized.setdefault(folder, []).append(name)
    for folder, names in sorted(kustomized.items()):
        spec = add(f"{folder}/kustomization.yaml", "raw:kustomization", folder.split("/")[1])
        if spec is not None:
            spec.text = kustomization(folder, names, kustomized)

    # Terraform: shared modules, environment stacks, per-service stacks
    n_tf = round(500 * scale)
    tf_paths: list[tuple[str, str]] = []
    for module in TF_MODULES:  # always present: every module block points at one of them
        add(f"infra/terraform/modules/{module}/main.tf", "tf", "platform")
        for fname in ("variables.tf", "outputs.tf", "versions.tf"):
            tf_paths.append((f"infra/terraform/modules/{module}/{fname}", "platform"))
    stacks = ["network", "data", "edge", "observability", "identity"]
    for env in ENVS:
        for stack in stacks:
            for fname in ("main.tf", "variables.tf", "outputs.tf", "backend.tf", "providers.tf"):
                tf_paths.append((f"infra/terraform/envs/{env}/{stack}/{fname}", "platform"))
    for svc in services:
        for fname in ("main.tf", "rds.tf", "s3.tf", "iam.tf", "alb.tf", "alarms.tf"):
            tf_paths.append((f"services/{svc.name}/terraform/{fname}", svc.name))
    r.shuffle(tf_paths)
    for path, svc_name in sorted(tf_paths[: n_tf - len(TF_MODULES)]):
        add(path, "tf", svc_name)
    for env in ENVS:
        for stack in stacks:
            add(f"infra/terraform/envs/{env}/{stack}/terraform.tfvars", f"tfvars:{env}")

    # CI, Dockerfiles, config, docs
    for svc in services:
        if r.random() < 0.6:
            add(f".github/workflows/{svc.name}.yml", "yaml2", svc.name)
        add(f"services/{svc.name}/Dockerfile", f"dockerfile:{svc.lang}", svc.name)
        if r.random() < 0.2:
            add(f"services/{svc.name}/Dockerfile.dev", f"dockerfile:{svc.lang}", svc.name)
        add(f"services/{svc.name}/README.md", f"md:{svc.name}", svc.name, r.randint(1500, 9000))
        add(f"services/{svc.name}/config/settings.yaml", "yaml0", svc.name)
        if r.random() < 0.5:
            add(f"services/{svc.name}/config/{r.choice(ENVS)}.env", "env", svc.name)
        if r.random() < 0.3:
            add(f"services/{svc.name}/.env.example", "env", svc.name)
        if r.random() < 0.3:
            add(
                f"services/{svc.name}/scripts/{r.choice(('deploy', 'release', 'backfill', 'seed'))}.sh",
                "sh",
                svc.name,
            )
        build = {
            "py": ["raw:pyproject", "raw:requirements"],
            "go": ["raw:gomod", "raw:gosum"],
            "ts": ["raw:packagejson", "raw:tsconfig"],
            "java": ["raw:pom"],
        }[svc.lang]
        for style in build:
            name = {
                "raw:pyproject": "pyproject.toml",
                "raw:requirements": "requirements.txt",
                "raw:gomod": "go.mod",
                "raw:gosum": "go.sum",
                "raw:packagejson": "package.json",
                "raw:tsconfig": "tsconfig.json",
                "raw:pom": "pom.xml",
            }[style]
            add(f"services/{svc.name}/{name}", style, svc.name)
        if svc.lang == "java":
            add(
                f"services/{svc.name}/src/main/resources/application.properties",
                "properties",
                svc.name,
            )
        if svc.lang == "ts" and r.random() < 0.5:
            add(
                f"services/{svc.name}/package-lock.json",
                "lock",
                svc.name,
                r.randint(40_000, 400_000),
            )
    add(".github/workflows/lint.yml", "yaml2", "monorepo")
    add(".github/workflows/terraform.yml", "yaml2", "infra")
    n_docs = round(600 * scale)
    number = 0
    while sum(1 for s in specs if s.style.startswith("md:")) < n_docs:
        number += 1
        where = r.choice(
            ("docs/adr", "docs/runbooks", "docs/architecture", "docs/guides", "docs/postmortems")
        )
        title = g.sentence(4)[:-1]
        slug = "-".join(title.lower().split())
        add(
            f"{where}/{number:04d}-{slug}.md",
            f"md:{title}",
            size=int(min(60_000, r.lognormvariate(math.log(4000), 0.8))),
        )

    # Binary and large generated files
    n_png = round(250 * scale)
    for number in range(n_png):
        where = r.choice(
            (
                "docs/images",
                "docs/architecture/diagrams",
                f"services/{r.choice(services).name}/assets",
            )
        )
        add(
            f"{where}/{g.snake(2).replace('_', '-')}-{number}.png",
            "png",
            size=int(min(400_000, r.lognormvariate(math.log(25_000), 1.0))),
        )
    n_large = max(4, round(45 * scale))
    for number in range(n_large):
        svc = r.choice(services)
        size = r.randint(100_000, 1_100_000)
        kind = r.choice(("bundle", "bundle", "fixture", "pb-go", "pb-py"))
        if kind == "bundle":
            path = f"services/{svc.name}/web/vendor/{g.noun()}-{g.noun()}.{number}.min.js"
        elif kind == "fixture":
            path = f"services/{svc.name}/tests/fixtures/{g.snake(2)}-{number}.json"
        elif kind == "pb-go":
            path = f"gen/go/{g.noun()}/v1/{g.noun()}_{number}.pb.go"
        else:
            path = f"gen/python/{g.noun()}/v1/{g.noun()}_{number}_pb2.py"
        add(
            path,
            {"bundle": "jsmin", "fixture": "fixture", "pb-go": "pb-go", "pb-py": "pb-py"}[kind],
            svc.name,
            size,
        )
    n_pem = SECRET_PLAN["private-key"][0] // 2 + DECOY_PLAN["public-key"][0]
    for number in range(n_pem):
        svc = r.choice(services)
        add(f"services/{svc.name}/deploy/certs/{g.noun()}-{number}.pem", "pem", svc.name)

    # Source files fill the rest
    remaining = files - len(specs)
    weights = [s.weight for s in services]
    counters: Counter[str] = Counter()
    while remaining > 0:
        svc = r.choices(services, weights=weights)[0]
        counters[svc.name] += 1
        path = source_path(g, svc)
        if add(path, svc.lang, svc.name) is not None:
            remaining -= 1
    return specs, services, k8s_kinds


def kustomization(folder: str, names: list[str], folders: dict[str, list[str]]) -> str:
    """A kustomization that ``kustomize build`` accepts: a base lists its files; an overlay
    builds on the base, adds its own objects and patches the base's Deployment."""
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    base = folder.rsplit("/overlays/", 1)[0] + "/base" if "/overlays/" in folder else None
    if base is None:
        lines.extend(f"  - {name}" for name in sorted(names))
        return "\n".join(lines) + "\n"
    if base in folders:
        lines.append("  - ../../base")
    # all.yaml repeats the objects of configmap.yaml and hpa.yaml: an alternative, not listed
    own = [n for n in sorted(names) if n not in ("deployment-patch.yaml", "all.yaml")]
    lines.extend(f"  - {name}" for name in own)
    if "deployment-patch.yaml" in names and "deployment.yaml" in folders.get(base or "", []):
        lines.extend(["patches:", "  - path: deployment-patch.yaml"])
    return "\n".join(lines) + "\n"


def source_path(g: Gen, svc: Service) -> str:
    r = g.r
    base = f"services/{svc.name}"
    test = r.random() < 0.25
    if svc.lang == "py":
        pkg = svc.name.replace("-", "_")
        depth = "/".join(g.noun() for _ in range(r.randint(0, 2)))
        sub = f"{depth}/" if depth else ""
        if test:
            return f"{base}/tests/{sub}test_{g.snake(2)}.py"
        return f"{base}/src/{pkg}/{sub}{g.snake(r.randint(1, 2))}.py"
    if svc.lang == "go":
        top = r.choice(("internal", "internal", "pkg", "cmd"))
        folder = f"{base}/{top}/{g.noun()}"
        return f"{folder}/{g.snake(r.randint(1, 2))}{'_test' if test else ''}.go"
    if svc.lang == "ts":
        folder = f"{base}/src/{r.choice(('api', 'services', 'components', 'lib', 'handlers', 'models'))}/{g.noun()}"
        ext = r.choice((".ts", ".ts", ".tsx"))
        return f"{folder}/{g.camel(r.randint(1, 2))}{'.test' if test else ''}{ext}"
    cls = g.pascal(2)
    tree = "test" if test else "main"
    return f"{base}/src/{tree}/java/com/{COMPANY}/{svc.name.replace('-', '')}/{g.noun()}/{cls}{'Test' if test else ''}.java"


# ---------------------------------------------------------------------------
# Raw files


def render_raw(g: Gen, what: str, service: str) -> str:
    r = g.r
    if what == "gitignore":
        return (
            "node_modules/\n.terraform/\n__pycache__/\n*.pyc\ndist/\nbuild/\ntarget/\n.DS_Store\n"
        )
    if what == "editorconfig":
        return "root = true\n\n[*]\nindent_style = space\nindent_size = 2\n\n[*.{py,java}]\nindent_size = 4\n\n[*.go]\nindent_style = tab\n"
    if what == "codeowners":
        return "".join(f"/services/{g.noun()}-*/ @{COMPANY}/team-{g.noun()}\n" for _ in range(30))
    if what == "makefile":
        return ".PHONY: test lint\ntest:\n\t./scripts/test-all.sh\nlint:\n\t./scripts/lint-all.sh\n"
    if what == "compose":
        return (
            "services:\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n"
            '    ports: ["5432:5432"]\n  redis:\n    image: redis:7\n    ports: ["6379:6379"]\n'
        )
    if what == "kustomization":
        return (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + "".join(f"  - {x}.yaml\n" for x in ("deployment", "service", "configmap"))
            + f"commonLabels:\n  app.kubernetes.io/name: {service}\n"
        )
    if what == "pyproject":
        deps = "".join(
            f'    "{d}>={r.randint(1, 9)}.{r.randint(0, 20)}",\n'
            for d in r.sample(
                (
                    "fastapi",
                    "sqlalchemy",
                    "pydantic",
                    "httpx",
                    "structlog",
                    "redis",
                    "boto3",
                    "celery",
                    "alembic",
                    "uvicorn",
                ),
                5,
            )
        )
        return f'[project]\nname = "{service}"\nversion = "1.{r.randint(0, 40)}.0"\nrequires-python = ">=3.11"\ndependencies = [\n{deps}]\n'
    if what == "requirements":
        return "".join(
            f"{d}=={r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}\n"
            for d in ("fastapi", "sqlalchemy", "pydantic", "httpx", "uvicorn", "redis")
        )
    if what == "gomod":
        return f"module github.com/{COMPANY}/{service}\n\ngo 1.22\n\nrequire (\n\tgithub.com/jackc/pgx/v5 v5.5.{r.randint(0, 5)}\n\tgo.opentelemetry.io/otel v1.24.0\n)\n"
    if what == "gosum":
        return "".join(
            f"github.com/{g.noun()}/{g.noun()} v{r.randint(0, 3)}.{r.randint(0, 20)}.{r.randint(0, 9)} h1:{base64.b64encode(r.randbytes(32)).decode()}\n"
            for _ in range(r.randint(20, 120))
        )
    if what == "packagejson":
        return (
            json.dumps(
                {
                    "name": f"@{COMPANY}/{service}",
                    "version": "1.0.0",
                    "private": True,
                    "scripts": {"build": "tsc -p .", "test": "vitest run"},
                    "dependencies": {"express": "^4.19.2", "zod": "^3.23.0", "pino": "^9.0.0"},
                },
                indent=2,
            )
            + "\n"
        )
    if what == "tsconfig":
        return (
            json.dumps(
                {
                    "compilerOptions": {
                        "target": "ES2022",
                        "module": "NodeNext",
                        "strict": True,
                        "outDir": "dist",
                    },
                    "include": ["src"],
                },
                indent=2,
            )
            + "\n"
        )
    if what == "pom":
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
            f"  <groupId>com.{COMPANY}</groupId>\n  <artifactId>{service}</artifactId>\n  <version>1.0.0</version>\n"
            "  <parent>\n    <groupId>org.springframework.boot</groupId>\n    <artifactId>spring-boot-starter-parent</artifactId>\n"
            "    <version>3.2.5</version>\n  </parent>\n</project>\n"
        )
    raise ValueError(what)


# ---------------------------------------------------------------------------
# Planting


def keys(plant: Plant) -> set[str]:
    """The names a plant assigns (no file gets the same key twice)."""
    return set(SECRET_NAMES["aws"]) if plant.name == "AWS" else {plant.name}


def make_plant(g: Gen, kind: str, decoy: bool, style: str) -> Plant:
    r = g.r
    if decoy:
        name = {
            "aws-placeholder": "AWS_ACCESS_KEY_ID",
            "github-placeholder": "GITHUB_TOKEN",
            "stripe-placeholder": "STRIPE_SECRET_KEY",
            "connection-env": "DATABASE_URL",
            "slack-webhook-placeholder": "SLACK_WEBHOOK_URL",
            "digest": "IMAGE",
        }.get(kind) or r.choice(
            ("API_KEY", "API_TOKEN", "CLIENT_SECRET") if kind == "your-key" else DECOY_NAMES
        )
        return Plant(kind, True, name, [(kind, decoy_value(g, kind, name, style))])
    if kind == "aws":
        pair = [
            ("aws-access-key-id", secret_value(g, "aws-access-key-id")),
            ("aws-secret-access-key", secret_value(g, "aws-secret-access-key")),
        ]
        return Plant(kind, False, "AWS", pair)
    name = r.choice(SECRET_NAMES[kind])
    value = secret_value(g, kind)
    if kind == "connection-string":
        schemes = {"mongodb+srv": "MONGO_URI", "redis": "REDIS_URL", "amqp": "AMQP_URL"}
        name = schemes.get(value.split("://")[0]) or r.choice(("DATABASE_URL", "DB_DSN"))
    return Plant(kind, False, name, [(kind, value)])


def assign_plants(specs: list[Spec], seed: int) -> None:
    g = Gen(Random(f"{seed}:plants"))
    r = g.r
    hosts: dict[str, list[Spec]] = {}
    for spec in specs:
        style = spec.style.split(":")[0]
        if is_test_path(spec.path) or style in ("fixture", "pb-go", "pb-py", "lock", "png", "raw"):
            continue
        if spec.path.endswith("-patch.yaml"):
            continue  # every document of a kustomize patch file must patch something
        if spec.path.startswith(".github/workflows/") and style == "yaml2":
            hosts.setdefault("yaml2", []).append(spec)
        elif style == "jsmin":
            hosts.setdefault("jsmin", []).append(spec)
        else:
            hosts.setdefault(style, []).append(spec)
    pem_hosts = hosts.get("pem", [])
    for decoy, plan_ in ((False, SECRET_PLAN), (True, DECOY_PLAN)):
        for kind, (count, styles) in plan_.items():
            for _ in range(count):
                cap = 2  # plants per file; raised only when a small repository runs out of hosts
                while True:
                    choices = [
                        s
                        for s in styles
                        if (s == "pem" and any(not h.plants for h in pem_hosts))
                        or (s != "pem" and any(len(h.plants) < cap for h in hosts.get(s, ())))
                    ]
                    if choices:
                        break
                    cap += 1
                style = r.choices(choices, weights=[styles[s] for s in choices])[0]
                plant = make_plant(g, kind, decoy, style)
                if style == "pem":
                    host = next(h for h in pem_hosts if not h.plants)
                else:
                    fits = [
                        h
                        for h in hosts[style]
                        if len(h.plants) < cap
                        and not keys(plant) & {k for p in h.plants for k in keys(p)}
                    ]
                    host = r.choice(fits or [h for h in hosts[style] if len(h.plants) < cap])
                host.plants.append(plant)
    for spec in pem_hosts:  # a .pem host with nothing planted holds a public certificate
        if not spec.plants:
            spec.plants.append(
                Plant("public-key", True, "CERT", [("public-key", pem_block(g, "CERTIFICATE", 14))])
            )


# ---------------------------------------------------------------------------
# Writing


def render(spec: Spec, seed: int, k8s_kinds: K8sKinds) -> tuple[bytes, list[dict[str, object]]]:
    """The file's bytes and the ground-truth rows of what was planted in it."""
    rng = Random(f"{seed}:{spec.path}")
    g = Gen(rng)
    style, _, arg = spec.style.partition(":")
    svc = spec.service or "platform"
    if style == "png":
        return png_bytes(rng, spec.size), []
    if style == "raw":
        return (spec.text or render_raw(g, arg, svc)).encode(), []
    if style == "py":
        blocks, lo, hi = render_py(g, spec.size, svc)
    elif style == "go":
        blocks, lo, hi = render_go(g, spec.size, svc)
    elif style == "ts":
        blocks, lo, hi = render_ts(g, spec.size, svc)
    elif style == "java":
        blocks, lo, hi = render_java(
            g, spec.size, svc, spec.path.rsplit("/", 1)[-1].removesuffix(".java")
        )
    elif style == "k8s":
        kinds, env = k8s_kinds[spec.path]
        blocks, lo, hi = render_k8s(g, kinds, svc, env)
    elif style == "tf":
        blocks, lo, hi = render_tf(g, svc, spec.path)
    elif style == "tfvars":
        blocks, lo, hi = render_tfvars(g, arg)
    elif style == "yaml2":
        blocks, lo, hi = render_workflow(g, svc)
    elif style == "dockerfile":
        blocks, lo, hi = render_dockerfile(g, svc, arg)
    elif style == "md":
        blocks, lo, hi = render_md(g, spec.size or 3000, arg)
    elif style == "env":
        blocks, lo, hi = render_env(g, svc)
    elif style == "properties":
        blocks, lo, hi = render_properties(g, svc)
    elif style == "yaml0":
        blocks, lo, hi = render_yaml0(g, svc)
    elif style == "sh":
        blocks, lo, hi = render_sh(g, svc)
    elif style == "jsmin":
        blocks, lo, hi = render_bundle(g, spec.size)
    elif style == "fixture":
        blocks, lo, hi = render_fixture(g, spec.size)
    elif style in ("pb-go", "pb-py"):
        blocks, lo, hi = render_pb(g, spec.size, style == "pb-go")
    elif style == "lock":
        blocks, lo, hi = render_lock(g, spec.size)
    elif style == "pem":
        blocks, lo, hi = [], 0, 0
    else:
        raise ValueError(spec.style)
    # Insert plants (from the last position to the first so indexes stay valid)
    inserts: list[tuple[int, Plant, str]] = []
    for plant in spec.plants:
        text = (decoy_snippet if plant.decoy else snippet)(style, plant, g, svc)
        inserts.append((rng.randint(lo, hi), plant, text))
    inserts.sort(key=lambda item: item[0])
    marks: list[tuple[int, Plant, str]] = []  # (block index in the final list, plant, text)
    for shift, (position, plant, text) in enumerate(inserts):
        marks.append((position + shift, plant, text))
    for index, _, text in marks:
        blocks.insert(index, text)
    rows: list[dict[str, object]] = []
    if marks:
        line_at = []
        line = 1
        for block in blocks:
            line_at.append(line)
            line += block.count("\n")
        for index, plant, text in marks:
            snippet_lines = text.split("\n")
            for kind, value in plant.values:
                first = value.split("\n")[0] if value else None
                last = value.split("\n")[-1] if value else None
                if plant.kind == "env-lookup":
                    first = last = plant.name if style != "tf" else "var.db_password"
                if first is None:  # empty value: the assignment line of the name
                    key = key_for(style, plant.name)
                    first = last = key
                offset = next(i for i, s in enumerate(snippet_lines) if first in s)
                end = offset + next(i for i, s in enumerate(snippet_lines[offset:]) if last in s)
                rows.append(
                    {
                        "path": spec.path,
                        "line": line_at[index] + offset,
                        "end_line": line_at[index] + end,
                        "kind": kind if not plant.decoy else f"decoy:{plant.kind}",
                        "decoy": plant.decoy,
                    }
                )
    return "".join(blocks).encode(), rows


def size_targets(specs: list[Spec], budget: int, seed: int) -> None:
    """Give source files lognormal sizes that add up to ``budget`` bytes."""
    rng = Random(f"{seed}:sizes")
    sources = [s for s in specs if s.style in ("py", "go", "ts", "java")]
    raw = []
    for spec in sources:
        median = 2500 if is_test_path(spec.path) else 5000
        raw.append(rng.lognormvariate(math.log(median), 1.0))
    total = sum(raw)
    factor = max(budget, len(sources) * 400) / total if total else 1.0
    for spec, value in zip(sources, raw, strict=True):
        spec.size = int(min(300_000, max(300, value * factor)))


def generate(out: Path, files: int, mb: float, seed: int) -> dict[str, object]:
    started = time.perf_counter()
    specs, services, k8s_kinds = plan(files, seed)
    assign_plants(specs, seed)
    truth: list[dict[str, object]] = []
    written = 0
    largest = 0
    by_style: Counter[str] = Counter()
    bytes_by_style: Counter[str] = Counter()

    def write(spec: Spec) -> None:
        nonlocal written, largest
        data, rows = render(spec, seed, k8s_kinds)
        if len(data) >= 2_000_000:
            raise SystemExit(f"{spec.path}: {len(data)} bytes, over the 2 MB cap")
        target = out / spec.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        truth.extend(rows)
        written += len(data)
        largest = max(largest, len(data))
        style = spec.style.split(":")[0]
        by_style[style] += 1
        bytes_by_style[style] += len(data)

    sources = [s for s in specs if s.style in ("py", "go", "ts", "java")]
    for spec in specs:
        if spec not in sources:
            write(spec)
    budget = int(mb * 1_000_000) - written - 350 * len(sources)  # each overshoots ~half a block
    size_targets(specs, budget, seed)
    for spec in sources:
        write(spec)
    truth.sort(key=lambda row: (str(row["path"]), int(row["line"])))  # type: ignore[call-overload]
    check_truth(out, truth)
    (out.parent / "planted.json").write_text(json.dumps(truth, indent=1) + "\n")
    stats: dict[str, object] = {
        "out": str(out),
        "files": len(specs),
        "bytes": written,
        "mb": round(written / 1_000_000, 1),
        "largest_file_bytes": largest,
        "seed": seed,
        "arguments": {"files": files, "mb": mb, "seed": seed},
        "services": len(services),
        "secrets": sum(1 for row in truth if not row["decoy"]),
        "decoys": sum(1 for row in truth if row["decoy"]),
        "files_by_style": dict(sorted(by_style.items())),
        "mb_by_style": {k: round(v / 1_000_000, 1) for k, v in sorted(bytes_by_style.items())},
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out.parent / "repo-stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def check_truth(out: Path, truth: list[dict[str, object]]) -> None:
    """Every ground-truth row points at a line that exists (guards the line arithmetic)."""
    cache: dict[str, list[str]] = {}
    for row in truth:
        path = str(row["path"])
        if path not in cache:
            cache[path] = (out / path).read_text().split("\n")
        lines = cache[path]
        line, end = int(row["line"]), int(row["end_line"])  # type: ignore[call-overload]
        if not (1 <= line <= end <= len(lines)) or not lines[line - 1].strip():
            raise SystemExit(f"internal error: bad ground truth row {row}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="folder to create (the repository)")
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--mb", type=float, default=200, help="total size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    if out.exists():
        if not args.force:
            sys.exit(f"{out} exists; pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    stats = generate(out, args.files, args.mb, args.seed)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
