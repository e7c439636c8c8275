"""Secret rotation from written procedures and External Secrets, on real files."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.checks.security.rotation import go_duration
from prr.collectors.docs import DocsCollector
from prr.collectors.kubernetes import KubernetesCollector
from prr.model.evidence import Result, Status
from prr.model.loader import load_checklist
from tests.helpers import by_item, collect, run_check

ITEM = "security.secrets-management.secrets-rotation-plan"
CHECKLIST = load_checklist("service")


def scan(root: Path, files: Mapping[str, str]) -> Result | None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    facts = collect(root, DocsCollector, KubernetesCollector)
    result = by_item(run_check("security.secret-rotation", facts)).get(ITEM)
    if result is not None:
        specs = {spec.id: spec for spec in CHECKLIST.item(ITEM).item.fields}
        for key, value in result.fields.items():
            specs[key].parse(value)
        assert result.evidence
        assert result.status is not Status.FAIL or result.remediation
    return result


DEPLOYMENT_GUIDE = """
# Deploying the shop

## Releasing

Merge to main; Argo CD syncs staging, a tag promotes to production.

## Rotating secrets

- Session secret: write a new value to `shop/server` in the secret manager, then
  `kubectl -n shop annotate externalsecret shop force-sync=$(date +%s) --overwrite`
  and `kubectl -n shop rollout restart deploy/shop`. Users must log in again.
- Database password: the database team creates the new password; update it in the
  secret manager, force the sync and restart as above, then revoke the old password.
  Rotate at least once a year and whenever someone with access leaves the team.
- Leaked API token: revoke it at once with `kubectl -n shop exec deploy/shop -- shop revoke`.
"""

SYNCED = """
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: shop}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: platform}
  target: {name: shop}
  data:
    - secretKey: database-url
      remoteRef: {key: shop/server, property: database-url}
"""

GENERATED = """
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: shop-db-password}
spec: {length: 32, symbols: 0}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: shop-db-password}
spec:
  refreshInterval: 720h
  target: {name: shop-db-password}
  dataFrom:
    - sourceRef:
        generatorRef:
          apiVersion: generators.external-secrets.io/v1alpha1
          kind: Password
          name: shop-db-password
"""


def test_a_written_procedure_passes_with_its_interval(tmp_path: Path) -> None:
    result = scan(
        tmp_path, {"docs/deployment.md": DEPLOYMENT_GUIDE, "k8s/externalsecret.yaml": SYNCED}
    )
    assert result is not None and result.status is Status.PASS
    assert "section 'Rotating secrets' of docs/deployment.md:7" in result.message
    assert "rotated values reach the cluster within 1h" in result.message
    assert result.fields == {"rotation_interval": "365d"}


def test_a_generator_that_renews_the_secret_passes(tmp_path: Path) -> None:
    result = scan(tmp_path, {"k8s/db-password.yaml": GENERATED})
    assert result is not None and result.status is Status.PASS
    assert "ExternalSecret shop-db-password renews Password" in result.message
    assert result.fields == {"rotation_interval": "30d"}
    assert result.evidence[0].path == "k8s/db-password.yaml" and result.evidence[0].line == 10


def test_syncing_alone_or_a_generator_that_never_refreshes_decides_nothing(
    tmp_path: Path,
) -> None:
    assert scan(tmp_path / "synced", {"k8s/externalsecret.yaml": SYNCED}) is None
    never = GENERATED.replace("refreshInterval: 720h", "refreshInterval: '0'")
    assert scan(tmp_path / "never", {"k8s/db-password.yaml": never}) is None
    once = GENERATED.replace(
        "refreshInterval: 720h", "refreshInterval: 720h\n  refreshPolicy: CreatedOnce"
    )
    assert scan(tmp_path / "once", {"k8s/db-password.yaml": once}) is None
    malformed = GENERATED.replace("refreshInterval: 720h", "refreshInterval: monthly")
    assert scan(tmp_path / "malformed", {"k8s/db-password.yaml": malformed}) is None


def test_a_stub_fails_and_a_section_without_steps_stays_unknown(tmp_path: Path) -> None:
    stub = scan(
        tmp_path / "stub",
        {"docs/security.md": "# Security\n\n## Key rotation\n\nTODO\n\n## Access\n\nSSO only.\n"},
    )
    assert stub is not None and stub.status is Status.FAIL
    assert "## Rotating secrets" in (stub.remediation or "")

    prose = """
    # Security

    ## Secrets rotation

    We rotate secrets when it seems necessary. The database password lives in the
    secret manager and the platform team looks after it, as they do for every
    other service, so there is usually nothing for us to do here.
    """
    thin = scan(tmp_path / "thin", {"docs/security.md": prose, "k8s/es.yaml": SYNCED})
    assert thin is not None and thin.status is Status.UNKNOWN
    assert "has no numbered steps or commands" in thin.message

    # OAuth refresh-token rotation is an authentication feature, not a rotation plan.
    oauth = "# Auth\n\n## Refresh token rotation\n\nEach refresh returns a new refresh token.\n"
    assert scan(tmp_path / "oauth", {"docs/auth.md": oauth}) is None


def test_go_durations() -> None:
    assert go_duration("1h30m") == 5400 and go_duration("720h") == 2_592_000
    assert go_duration("0") == 0 and go_duration("15m") == 900
    assert go_duration("monthly") is None and go_duration("1d") is None
