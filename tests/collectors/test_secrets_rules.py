"""What the secrets scanner reports and what it leaves alone, one case at a time.

Each case writes a real file and runs the collector over it. Every credential is
generated at run time from a seeded random source, so this file holds no
token-shaped text.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from prr.collectors.secrets import SecretFacts, SecretsCollector, looks_like_placeholder
from tests.helpers import collect

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
PUNCT = "!%+,.;=^~*&"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.islower() for c in value):
            return value


def _found(tmp_path: Path, files: dict[str, str]) -> set[tuple[str, int, str]]:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    facts = collect(tmp_path, SecretsCollector).get(SecretFacts)
    assert not facts.unscanned
    return {(f.path, f.line, f.rule) for f in facts.findings}


def test_connection_strings_to_in_cluster_hosts_are_reported(tmp_path: Path) -> None:
    rng = random.Random(1)
    password = _rand(rng, ALNUM, 16)
    found = _found(
        tmp_path,
        {
            "deploy/release.yaml": (
                "env:\n"
                f'  DATABASE_URL: "postgres://orders:{password}@db.prod.svc.cluster.local:5432/o"\n'
                f"  CACHE_URL: redis://cache:{password}@redis.cache.svc.cluster.local:6379/0\n"
            ),
            "docs/dev.md": f"Locally: `postgres://dev:{password}@laptop.local:5432/app`\n",
        },
    )
    assert found == {
        ("deploy/release.yaml", 2, "password-in-url"),
        ("deploy/release.yaml", 3, "password-in-url"),
    }


def test_aws_secret_keys_written_key_equals_value_are_reported(tmp_path: Path) -> None:
    rng = random.Random(2)
    first, second, third = (_rand(rng, B64, 40) for _ in range(3))
    found = _found(
        tmp_path,
        {
            "docs/runbook.md": (
                "Export the credentials, then run the job:\n\n```\n"
                f"AWS_SECRET_ACCESS_KEY={first}\n```\n"
            ),
            "services/api/Dockerfile": f"FROM python:3.12\nARG AWS_SECRET_ACCESS_KEY={second}\n",
            "scripts/setup.sh": f"export aws_secret_access_key={third}\n",
            # not a secret: the documentation's example, a variable, a 41-character value
            "docs/example.md": (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
                "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n"
                f"AWS_SECRET_ACCESS_KEY={first}x\n"
                f"IMAGE_DIGEST={second}\n"
            ),
        },
    )
    assert found == {
        ("docs/runbook.md", 4, "aws-secret-access-key"),
        ("services/api/Dockerfile", 2, "aws-secret-access-key"),
        ("scripts/setup.sh", 1, "aws-secret-access-key"),
    }


def test_values_starting_with_star_or_ampersand_are_secrets_unless_yaml_syntax(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    star = "*" + _rand(rng, ALNUM + PUNCT, 20)
    amp = "&" + _rand(rng, ALNUM + PUNCT, 20)
    found = _found(
        tmp_path,
        {
            "infra/prod.tfvars": f'keystore_password = "{star}"\n',
            "k8s/secret.yaml": f'stringData:\n  SMTP_PASSWORD: "{amp}"\n',
            "k8s/values.yaml": (
                "defaults: &db_password s3cr3t-shared-default\n"
                "primary:\n  password: *db_password\n"
                "replica:\n  password: *replica_password_2\n"
                "cfn:\n  MasterUserPassword: !Ref DbPassword1\n"
            ),
        },
    )
    assert found == {
        ("infra/prod.tfvars", 1, "password-assignment"),
        ("k8s/secret.yaml", 2, "password-assignment"),
    }


def test_unquoted_dockerfile_args_and_envs_are_reported(tmp_path: Path) -> None:
    rng = random.Random(4)
    smtp = _rand(rng, ALNUM + "!,%+", 26)
    ldap = "&" + _rand(rng, ALNUM + "=.&^", 24)
    token = _rand(rng, ALNUM, 32)
    found = _found(
        tmp_path,
        {
            "services/mail/Dockerfile": (
                "FROM debian:12\n"
                f"ARG SMTP_PASSWORD={smtp}\n"
                f"arg LDAP_BIND_PASSWORD={ldap}\n"
                f"ENV API_TOKEN {token}\n"
                "ARG ADMIN_PASSWORD=CHANGEME\n"
                "ARG DB_PASSWORD\n"
                "ENV DB_PASSWORD_FILE=/run/secrets/db_password\n"
                "ENV SESSION_TOKEN=${SESSION_TOKEN}\n"
                'RUN echo "building"\n'
            ),
            "services/mail/build.Dockerfile": f"FROM debian:12\nENV API_TOKEN={token}\n",
            # the same lines in a script are code, not settings
            "services/mail/notes.txt": f"ARG SMTP_PASSWORD={smtp}\n",
        },
    )
    assert found == {
        ("services/mail/Dockerfile", 2, "password-assignment"),
        ("services/mail/Dockerfile", 3, "password-assignment"),
        ("services/mail/Dockerfile", 4, "generic-secret"),
        ("services/mail/build.Dockerfile", 2, "generic-secret"),
    }


def test_secret_named_keys_holding_host_and_port_are_not_reported(tmp_path: Path) -> None:
    rng = random.Random(5)
    token = _rand(rng, ALNUM, 24)
    found = _found(
        tmp_path,
        {
            "k8s/configmap.yaml": (
                "data:\n"
                '  TOKEN_LEDGER: "notification.northwind.internal:4976"\n'
                '  JOB_TOKEN: "payment-7.northwind.internal:2594"\n'
                '  AUTH_TOKEN_ADDR: "10.20.30.40:8443"\n'
                "  SECRET_BACKEND: vault-2.infra.internal:8200\n"
                f'  API_TOKEN: "{token}"\n'
            ),
        },
    )
    assert found == {("k8s/configmap.yaml", 6, "generic-secret")}


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "CHANGE_ME",
        "<your-api-key>",
        "${DB_PASSWORD}",
        "{{ .Values.password }}",
        "%(password)s",
        "env:PGPASSWORD",
        "vault:secret/data/db#password",
        "xxxxxxxxxxxxxxxx",
        "your-token-here",
        "example-secret-2024",
        "REDACTED",
        "password",
        "*db_password",
        "&defaults",
        "!Ref",
        b"${TOKEN}",
    ],
)
def test_placeholders(value: str | bytes) -> None:
    assert looks_like_placeholder(value)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("Xk29fj3LqP0zVb7w", False),
        ("*Ub0lPa7B8=t_4~XUpL4b*Reg", False),  # not a name: YAML cannot read it as an alias
        ("&a==c.omZBDt2t4&gaTvM8T^", False),
        ("*db_password", True),  # between quotes a leading * is just a character
        (b"s3cr3t-Prod-91", False),
    ],
)
def test_real_values_are_not_placeholders(value: str | bytes, quoted: bool) -> None:
    assert not looks_like_placeholder(value, quoted=quoted)
