"""``prr library``: a docs-as-code library of blueprints → designs → readiness reviews, on real files."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from prr.cli.library import app
from prr.review.library import INDEX_END, INDEX_START
from prr.review.reviews import Reviews
from prr.store.db import Store
from tests.review.test_assess import ANSWERS, _run, make_repo


def lib(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), text[:80]
    return yaml.safe_load(text.split("---\n")[1])


def links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)]+\.md)\)", text)


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRR_USER", "dana@example.com")
    root = tmp_path / "library"
    code, _, err = lib("init", str(root))
    assert code == 0, err
    return root


def test_init_creates_the_library_and_keeps_what_exists(library: Path) -> None:
    for folder in ("blueprints", "designs", "readiness", "templates"):
        assert (library / folder).is_dir()
    readme = (library / "README.md").read_text()
    assert "Blueprints" in readme and "Designs" in readme and "Readiness reviews" in readme
    assert "merge request" in readme and "Note every section that does not apply" in readme
    assert INDEX_START in readme and INDEX_END in readme
    blueprint = (library / "templates" / "blueprint.md").read_text()
    for section in ("## Problem", "## Scope", "## Options"):
        assert section in blueprint
    design = (library / "templates" / "design.md").read_text()
    for section in ("## Approach", "## Technical design", "## Operations"):
        assert section in design
    readiness = (library / "templates" / "readiness.md").read_text()
    assert "### Sign-Off" in readiness and "| Engineering Lead | | ☐ | |" in readiness

    (library / "README.md").write_text(readme + "\nOur own notes.\n")
    code, out, _ = lib("init", str(library))
    assert code == 0
    assert "kept    " in out and "created" not in out
    assert (library / "README.md").read_text().endswith("Our own notes.\n")


def test_new_scaffolds_from_the_templates(library: Path) -> None:
    code, out, err = lib(
        "new", "blueprint", "Payments: rate limiting", "--service", "payments", "-C", str(library)
    )
    assert code == 0, err
    blueprint = library / "blueprints" / "payments-rate-limiting.md"
    assert f"created {blueprint}" in out
    meta = front_matter(blueprint)
    assert meta["title"] == "Payments: rate limiting" and meta["service"] == "payments"
    assert meta["author"] == "dana@example.com" and meta["status"] == "draft"
    assert meta["date"] == dt.date.today()
    assert "# Blueprint: Payments: rate limiting" in blueprint.read_text()

    # a design links the service's only blueprint; the team's edited template is used
    template = library / "templates" / "design.md"
    template.write_text(template.read_text().replace("## Approach", "## Approach (ACME)"))
    code, _, err = lib(
        "new", "design", "Rate limiting", "--service", "payments", "--as", "eve", "-C", str(library)
    )
    assert code == 0, err
    design = library / "designs" / "rate-limiting.md"
    meta = front_matter(design)
    assert meta["blueprint"] == "blueprints/payments-rate-limiting.md" and meta["author"] == "eve"
    assert "## Approach (ACME)" in design.read_text()

    # never overwrite; only a library; only blueprint or design
    code, _, err = lib(
        "new", "design", "Rate limiting", "--service", "payments", "-C", str(library)
    )
    assert code == 2 and "exists" in err
    code, _, err = lib("new", "blueprint", "x", "-C", str(library.parent))
    assert code == 2 and "is not a library" in err and "prr library init" in err
    code, _, err = lib("new", "runbook", "x", "-C", str(library))
    assert code == 2


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_index_links_each_services_documents(library: Path) -> None:
    lib("new", "blueprint", "Checkout v2", "--service", "shop", "-C", str(library))
    lib("new", "design", "Checkout v2", "--service", "shop", "-C", str(library))
    lib("new", "blueprint", "Ledger", "--service", "payments", "-C", str(library))
    # readiness reviews: front matter, a `prr review export`-style header, a file name
    _write(
        library / "readiness" / "shop-1.4.0.md",
        "---\nservice: shop\nversion: 1.4.0\nverdict: NOT READY\ndate: 2026-11-02\n---\n"
        "## Production Readiness Assessment\n",
    )
    _write(
        library / "readiness" / "exported.md",
        "<!-- prr-review\nreview: 7\n-->\n# Production Readiness Review: payments 2.0\n\n"
        "**Application:** payments  \n**Version:** 2.0  \n",
    )
    _write(library / "readiness" / "shop-1.5.0.md", "# Shop 1.5.0 readiness\n")
    _write(library / "designs" / "orphan.md", "# A design nobody owns\n")

    code, out, err = lib("index", "-C", str(library))
    assert code == 0, err
    readme = library / "README.md"
    assert f"updated {readme}" in out
    assert "designs/orphan.md:1: no 'service' in the front matter" in err
    text = readme.read_text()
    section = text[text.index(INDEX_START) : text.index(INDEX_END)]
    assert "Production library" in text.split(INDEX_START)[0]  # the rest is kept
    shop = section[section.index("### shop") :]
    assert shop.index("blueprints/checkout-v2.md") < shop.index("designs/checkout-v2.md")
    assert shop.index("designs/checkout-v2.md") < shop.index("readiness/shop-1.4.0.md")
    assert "readiness/shop-1.5.0.md" in shop and "NOT READY" in shop
    payments = section[section.index("### payments") : section.index("### shop")]
    assert "blueprints/ledger.md" in payments and "readiness/exported.md" in payments
    assert "### (no service)" in section and "designs/orphan.md" in section
    for target in links(section):
        assert (library / target).is_file(), target

    # --check: current now; stale after a new document; the index is regenerated
    code, out, _ = lib("index", "--check", "-C", str(library))
    assert code == 0 and "is current" in out
    lib("new", "design", "Ledger", "--service", "payments", "-C", str(library))
    code, _, err = lib("index", "--check", "-C", str(library))
    assert code == 1 and "stale" in err
    assert "designs/ledger.md" not in readme.read_text()  # --check writes nothing
    code, out, _ = lib("index", "-C", str(library))
    assert code == 0 and "designs/ledger.md" in readme.read_text()
    code, out, _ = lib("index", "-C", str(library))
    assert "unchanged" in out


def test_index_goes_to_index_md_without_markers(library: Path) -> None:
    (library / "README.md").write_text("# Our library\n")
    lib("new", "blueprint", "Search", "--service", "search", "-C", str(library))
    code, out, _ = lib("index", "-C", str(library))
    assert code == 0 and "INDEX.md" in out
    assert (library / "README.md").read_text() == "# Our library\n"
    index = (library / "INDEX.md").read_text()
    assert "### search" in index and "(blueprints/search.md)" in index
    code, _, err = lib("index", "-C", str(library.parent))
    assert code == 2 and "not a library" in err


def test_index_links_readiness_reviews_from_assess_and_review_export(
    library: Path, store: Store, tmp_path: Path, cli
) -> None:
    lib("new", "blueprint", "Shop", "--service", "shop", "-C", str(library))
    repo = make_repo(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    readiness = library / "readiness"
    code, _, err = _run(
        str(repo),
        "--version",
        "1.0",
        "--answers",
        str(answers),
        "--database",
        store.url,
        "--output-dir",
        str(readiness),
    )
    assert code == 0, err
    review_id = Reviews(store).list_reviews("shop")[0].id
    assert front_matter(readiness / "shop-1.0.md")["service"] == "shop"
    exported = cli(
        "review", "export", str(review_id), "--output-dir", str(readiness), "--database", store.url
    )
    assert exported.exit_code == 0, exported.stderr
    documents = sorted(p.name for p in readiness.glob("*.md"))
    assert f"shop-1.0-review-{review_id}.md" in documents

    code, _, err = lib("index", "-C", str(library))
    assert code == 0, err
    text = (library / "README.md").read_text()
    assert "### (no service)" not in text  # every document is matched to its service
    shop = text[text.index("### shop") :]
    for name in ("blueprints/shop.md", *(f"readiness/{d}" for d in documents)):
        assert f"({name})" in shop, name
    assert "NOT READY" in shop
