"""What the service has, guessed from its files: a database, a cache, a web UI …

Used by ``prr init`` to fill in ``traits:`` and shown by scans. Each detected
trait keeps the file that revealed it. Detection is by well-known names in
dependency manifests, compose files and Terraform, so it can be wrong; a
service states its traits in ``prr.yaml`` and that wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prr.collectors.base import CollectContext, Collector, register
from prr.errors import CollectorError
from prr.model.checklist import Trait

_MANIFESTS = (
    "requirements*.txt",
    "pyproject.toml",
    "Pipfile",
    "package.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Gemfile",
    "Cargo.toml",
    "composer.json",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose.yml",
    "compose.yaml",
    "*.tf",
    "openapi*.yaml",
    "openapi*.yml",
    "openapi*.json",
    "swagger*.json",
    "swagger*.yaml",
)

_SIGNS: dict[Trait, re.Pattern[str]] = {
    Trait.DATABASE: re.compile(
        r"psycopg|sqlalchemy|asyncpg|mysqlclient|pymysql|django\b|\bpg\b|sequelize|typeorm|prisma|gorm|"
        r"lib/pq|pgx|jdbc|hibernate|activerecord|diesel|sqlx|image:\s*(postgres|mysql|mariadb|mongo)|"
        r"aws_db_instance|aws_rds_cluster|google_sql_database_instance|azurerm_(postgresql|mysql|mssql)|"
        r"pymongo|mongoose|aws_dynamodb_table",
        re.I,
    ),
    Trait.CACHE: re.compile(
        r"\bredis\b|ioredis|go-redis|memcache|image:\s*(redis|memcached|valkey)|aws_elasticache|"
        r"google_redis_instance|azurerm_redis_cache",
        re.I,
    ),
    Trait.OBJECT_STORAGE: re.compile(
        r"boto3|aws-sdk/client-s3|aws_s3_bucket\b|google_storage_bucket|azurerm_storage_account|"
        r"google-cloud-storage|minio",
        re.I,
    ),
    Trait.HTTP_API: re.compile(
        r"fastapi|flask|django|express|koa|fastify|gin-gonic|echo/v4|spring-boot-starter-web|"
        r"\bopenapi:|\bswagger:|actix-web|axum|rails",
        re.I,
    ),
    Trait.WEB_UI: re.compile(
        r'"react"|"vue"|"svelte"|"next"|"@angular/core"|jinja2|thymeleaf', re.I
    ),
    Trait.USER_ACCOUNTS: re.compile(
        r"passlib|bcrypt|argon2|django\.contrib\.auth|passport|devise", re.I
    ),
    Trait.SSO: re.compile(r"authlib|oauthlib|openid|oidc|saml|next-auth|keycloak", re.I),
    Trait.PUBLIC: re.compile(
        r"aws_lb\b|aws_cloudfront_distribution|google_compute_global_forwarding_rule", re.I
    ),
}


@dataclass(frozen=True)
class TraitFacts:
    """Detected traits and, for each, the file that revealed it."""

    detected: dict[str, str] = field(default_factory=dict)


@register
class TraitCollector(Collector):
    """Guesses the service's traits from manifests, compose files and Terraform."""

    name = "traits"
    facts_type = TraitFacts

    def collect(self, ctx: CollectContext) -> TraitFacts:
        found: dict[str, str] = {}
        for entry in ctx.files.match(*_MANIFESTS):
            if not entry.readable or len(found) == len(_SIGNS):
                continue
            try:
                text = ctx.files.read_text(entry)
            except CollectorError:
                continue
            for trait, pattern in _SIGNS.items():
                if trait.value not in found and pattern.search(text):
                    found[trait.value] = entry.path
        for entry in ctx.files:
            if entry.name.endswith((".html", ".jsx", ".tsx", ".vue", ".svelte")):
                found.setdefault(Trait.WEB_UI.value, entry.path)
                break
        return TraitFacts(found)
