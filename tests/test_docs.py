"""Docs that cannot drift: generated files match the code, and every key is documented."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from prr.model.loader import load_checklist
from prr.reports.checklist import checklist_dict

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_current() -> None:
    for path, text in _generator().generated().items():
        assert path.exists(), f"{path} is missing: run scripts/gen_docs.py"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run scripts/gen_docs.py"


def test_every_json_key_is_documented() -> None:
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \|", (DOCS / "json-checklist.md").read_text(), re.M)
    )
    data = checklist_dict(load_checklist("service"))
    assert set(data) <= documented
    assert set(data["items"][0]) <= documented


def test_every_scan_json_key_is_documented(tmp_path: Path) -> None:
    from prr.engine.scan import ScanOptions, run_scan
    from prr.reports.scan_json import scan_dict

    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (DOCS / "json-scan.md").read_text(), re.M))
    data = scan_dict(run_scan(ScanOptions(root=tmp_path)))
    assert set(data) <= documented
    assert set(data["items"][0]) <= documented


def test_every_trait_and_field_type_is_documented() -> None:
    from prr.model.checklist import Trait
    from prr.model.fields import FieldType

    text = (DOCS / "checklist-format.md").read_text(encoding="utf-8")
    for trait in Trait:
        assert f"`{trait.value}`" in text, trait
    for kind in FieldType:
        assert f"`{kind.value}`" in text, kind


def test_every_environment_variable_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    used = set()
    for path in (ROOT / "src").rglob("*.py"):
        used |= set(re.findall(r'"(PRR_[A-Z_]+)"', path.read_text(encoding="utf-8")))
    for name in used:
        assert f"`{name}`" in text, name


def test_docs_index_links_resolve() -> None:
    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
