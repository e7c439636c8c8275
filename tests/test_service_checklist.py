"""The built-in service checklist is the seed's checklist, complete and well-formed."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from prr.model.checklist import Checklist, Severity, Stage
from prr.model.loader import load_checklist

DATA = Path(__file__).parent / "data"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "002_7d90c09a78c771ae.txt"


def _seed_rows() -> list[dict[str, str]]:
    with (DATA / "seed_items.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def service() -> Checklist:
    return load_checklist("service")


def slug(title: str) -> str:
    """The id rule: drop a trailing parenthetical, then hyphenate."""
    title = re.sub(r"\s*\([^)]*\)\s*$", "", title)
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def test_seed_table_matches_the_seed_file() -> None:
    if not SEED.exists():
        pytest.skip("the seed file is not beside this checkout")
    text = SEED.read_text(encoding="utf-8")
    text = text[: text.index("## Readiness Assessment Template")]
    titles = re.findall(r"^\| (.+?) \| ☐ \|", text, flags=re.M)
    assert titles == [row["title"] for row in _seed_rows()]


def test_counts(service: Checklist) -> None:
    assert len(service) == 158
    assert len(service.categories) == 7
    assert sum(len(c.sections) for c in service.categories) == 31


def test_titles_sections_and_categories_equal_the_seed(service: Checklist) -> None:
    ours = [(r.category.title, r.section.title, r.title) for r in service]
    seed = [(row["category"], row["section"], row["title"]) for row in _seed_rows()]
    assert ours == seed


def test_ids_are_unique_slugs_and_stable(service: Checklist) -> None:
    ids = [r.id for r in service]
    assert len(set(ids)) == len(ids)
    for ref in service:
        assert ref.item.id == slug(ref.title), ref.id
    published = (DATA / "service_ids.txt").read_text(encoding="utf-8").split()
    assert ids == published, "ids are stable: a published id is never renamed"


def test_every_item_is_complete(service: Checklist) -> None:
    for ref in service:
        item = ref.item
        assert item.expected.strip(), ref.id
        assert item.remediation and all(s.strip() for s in item.remediation), ref.id
        assert item.acceptance_criteria, ref.id
        assert 1 <= ref.phase <= 4, ref.id
        assert service.phase(ref.phase) is not None


def test_every_notes_hint_has_a_typed_field(service: Checklist) -> None:
    for ref, row in zip(service, _seed_rows(), strict=True):
        if row["notes"]:
            assert ref.item.fields, f"{ref.id} has the Notes hint {row['notes']!r} but no field"


def test_critical_items_name_a_seed_blocker_or_a_reason(service: Checklist) -> None:
    seed_blockers = {b.title for b in service.common_blockers}
    assert len(seed_blockers) == 20
    critical = [r for r in service if r.item.is_critical_at_any_stage()]
    assert len(critical) >= 20
    for ref in critical:
        if ref.item.blocker:
            blocker = service.blocker(ref.item.blocker)
            assert blocker is not None and blocker.title in seed_blockers
        else:
            assert ref.item.critical_reason and len(ref.item.critical_reason) > 20, ref.id


def test_seed_common_blockers_are_all_covered(service: Checklist) -> None:
    referenced = {r.item.blocker for r in service if r.item.blocker}
    # Every common blocker but "Timeouts not configured" has an item of its own;
    # timeouts are decided by checks on several items instead.
    missing = {b.id for b in service.common_blockers} - referenced
    assert missing == {"performance.timeouts-not-configured"}


def test_severity_depends_on_stage(service: Checklist) -> None:
    ref = service.item("infrastructure.compute.multiple-availability-zones")
    assert ref.item.severity_at(Stage.GA) is Severity.CRITICAL
    assert ref.item.severity_at(Stage.BETA) is Severity.HIGH
    assert ref.item.severity_at(Stage.EXPERIMENT) is Severity.MEDIUM
    at_beta = [r for r in service if r.item.severity_at(Stage.BETA) is Severity.CRITICAL]
    at_ga = [r for r in service if r.item.severity_at(Stage.GA) is Severity.CRITICAL]
    assert len(at_beta) < len(at_ga)


def test_phases_and_stop_questions(service: Checklist) -> None:
    questions = [p.stop_question for p in service.phases]
    assert questions == [
        "Any infrastructure concerns?",
        "Any security requirements I should know?",
        "What's your uptime target?",
        "Ready for readiness report?",
        "Present PRD for review",
    ]


def test_json_output(cli) -> None:
    run = cli("checklist", "show", "service", "--format", "json")
    assert run.exit_code == 0
    data = json.loads(run.stdout)
    assert data["counts"]["items"] == 158
    assert data["counts"]["categories"] == 7
    assert data["counts"]["sections"] == 31
    required = {
        "id",
        "title",
        "category",
        "section",
        "severity",
        "phase",
        "fields",
        "applies_when",
        "expected",
        "remediation",
        "acceptance_criteria",
        "effort",
    }
    for entry in data["items"]:
        assert required <= entry.keys()
    titles = [entry["title"] for entry in data["items"]]
    assert titles == [row["title"] for row in _seed_rows()]


def test_show_filters_by_category_severity_and_stage(cli) -> None:
    run = cli("checklist", "show", "service", "-f", "json", "-c", "security", "-s", "critical")
    data = json.loads(run.stdout)
    assert data["items"] and {i["category"] for i in data["items"]} == {"security"}
    assert {i["severity"] for i in data["items"]} == {"critical"}
    beta = json.loads(cli("checklist", "show", "service", "-f", "json", "--stage", "beta").stdout)
    ga = json.loads(cli("checklist", "show", "service", "-f", "json").stdout)
    assert beta["counts"]["by_severity"]["critical"] < ga["counts"]["by_severity"]["critical"]


def test_show_rejects_unknown_category_and_stage(cli) -> None:
    assert cli("checklist", "show", "service", "-c", "nope").exit_code == 2
    assert cli("checklist", "show", "service", "--stage", "alpha").exit_code == 2
    run = cli("checklist", "show", "nosuch")
    assert run.exit_code == 2
    assert "unknown checklist 'nosuch'" in run.stderr


def test_markdown_board(cli) -> None:
    run = cli("checklist", "show", "service", "--format", "markdown")
    assert run.exit_code == 0
    text = run.stdout
    assert text.count("| ☐ |") == 158
    assert text.count("\n### ") == 31
    assert "| Auto-scaling configured | 🟠 high | ☐ | Min instances: · Max instances: |" in text
    assert "Blue-Green/Canary/Rolling" in text


def test_yaml_and_table_output(cli, tmp_path: Path) -> None:
    import yaml

    run = cli("checklist", "show", "service", "--format", "yaml")
    assert yaml.safe_load(run.stdout)["counts"]["items"] == 158
    out = tmp_path / "board.txt"
    assert cli("checklist", "show", "service", "--output", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "infrastructure.compute.auto-scaling-configured" in text
    assert "total" in text
