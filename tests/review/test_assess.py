"""``prr assess``: the five phases through a real pseudo-terminal, and answers files for CI.

Every test runs on SQLite and on a real throwaway PostgreSQL (the ``store_url``
fixture); the interactive runs are separate ``prr assess`` processes on a pty,
answering the prompts as a person would, interrupted with Ctrl-C and resumed.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy import func
from sqlalchemy import select as sql_select
from typer.testing import CliRunner

from prr.cli.assess import assess
from prr.model.evidence import Source, Status
from prr.model.loader import load_checklist
from prr.review.assess import (
    OPENING_QUESTION,
    StopKind,
    phase_plans,
    summary_markdown,
)
from prr.review.policy import Policy
from prr.review.reviews import Reviews
from prr.store.db import Store
from prr.store.schema import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
HEALTH = "infrastructure.compute.health-checks-configured"
SCALING = "infrastructure.compute.auto-scaling-configured"
TLS = "infrastructure.networking.ssl-tls-certificates-installed"
CDN = "infrastructure.networking.cdn-configured"
RATE = "security.authorization.api-rate-limiting-enabled"
SLO = "reliability.sla-slo.availability-target-defined"
RUNBOOK = "operations.documentation.runbook-for-common-issues"

_ITEM = """\
          - id: {id}
            title: {title}
            expected: {title}, checked by a reviewer.
            severity: {severity}
{extra}            remediation: [Fix it.]
            acceptance_criteria: [It is fixed.]
            effort: S
"""


def _item(id_: str, title: str, severity: str, extra: str = "") -> str:
    return _ITEM.format(id=id_, title=title, severity=severity, extra=extra)


def mini_checklist(uptime_question: str = "What's your uptime target?") -> str:
    """Seven items over four audit phases, with the checklist's own stop questions."""
    return (
        textwrap.dedent(
            f"""\
            schema: prr/checklist/v1
            name: mini
            version: "1"
            title: Mini readiness checklist
            phases:
              - {{number: 1, name: Infrastructure Audit, stop_question: Any infrastructure concerns?}}
              - {{number: 2, name: Security Audit, stop_question: Any security requirements I should know?}}
              - {{number: 3, name: Reliability Audit, stop_question: "{uptime_question}"}}
              - {{number: 4, name: Operational Audit, stop_question: Ready for readiness report?}}
              - {{number: 5, name: Generate Readiness PRD, stop_question: Present PRD for review}}
            common_blockers:
              - {{id: reliability.no-health-checks, group: Reliability, title: No health checks}}
              - {{id: security.no-rate-limiting, group: Security, title: No rate limiting}}
            categories:
              - id: infrastructure
                title: Infrastructure
                phase: 1
                sections:
                  - id: compute
                    title: Compute
                    items:
            """
        )
        + _item(
            "health-checks-configured",
            "Health checks configured",
            "critical",
            "            blocker: reliability.no-health-checks\n",
        )
        + _item(
            "auto-scaling-configured",
            "Auto-scaling configured",
            "high",
            "            fields:\n"
            "              - {id: min_instances, label: Min instances, type: integer, min: 1}\n",
        )
        + "      - id: networking\n        title: Networking\n        items:\n"
        + _item(
            "ssl-tls-certificates-installed",
            "SSL/TLS certificates installed",
            "medium",
            "            fields:\n"
            "              - {id: cert_expiry, label: Certificate expiry date, type: date}\n",
        )
        + _item("cdn-configured", "CDN configured (if needed)", "low")
        + "  - id: security\n    title: Security\n    phase: 2\n    sections:\n"
        + "      - id: authorization\n        title: Authorization\n        items:\n"
        + _item(
            "api-rate-limiting-enabled",
            "API rate limiting enabled",
            "critical",
            "            blocker: security.no-rate-limiting\n",
        )
        + "  - id: reliability\n    title: Reliability\n    phase: 3\n    sections:\n"
        + "      - id: sla-slo\n        title: SLA/SLO\n        items:\n"
        + _item(
            "availability-target-defined",
            "Availability target defined",
            "high",
            "            fields:\n              - {id: target, label: Target, type: percent}\n",
        )
        + "  - id: operations\n    title: Operations\n    phase: 4\n    sections:\n"
        + "      - id: documentation\n        title: Documentation\n        items:\n"
        + _item("runbook-for-common-issues", "Runbook for common issues", "medium")
    )


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: shop
          image: shop:1.0
          readinessProbe:
            httpGet: {path: /ready, port: 8080}
          livenessProbe:
            httpGet: {path: /live, port: 8080}
"""


def make_repo(tmp_path: Path, checklist: str | None = None) -> Path:
    """A repository the real scan partly decides: probes pass, no autoscaler fails."""
    repo = tmp_path / "shop"
    (repo / "k8s").mkdir(parents=True)
    (repo / "k8s" / "deployment.yaml").write_text(DEPLOYMENT)
    (repo / "mini.yaml").write_text(checklist or mini_checklist())
    (repo / "prr.yaml").write_text("service: shop\nowner: '@shop-team'\nchecklist: mini.yaml\n")
    return repo


# -- a real pseudo-terminal ----------------------------------------------------------------------

_DRIVER = (
    "import typer; from prr.cli.assess import assess; "
    "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False); "
    "app.command()(assess); app()"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]")


class Terminal:
    """``prr assess`` on a pty: read what it prints, type answers, press Ctrl-C."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            try:
                os.chdir(cwd)
                os.execve(sys.executable, [sys.executable, "-c", _DRIVER, *args], env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 220, 0, 0))
        self.seen = ""
        self.pos = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        self.seen += _ANSI.sub("", data.decode("utf-8", "replace")).replace("\r", "")
        return True

    def expect(self, text: str, timeout: float = 30) -> str:
        """Wait for ``text`` after what was already matched; returns the output up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (not self._read(min(remaining, 0.5)) and text not in self.seen):
                raise AssertionError(f"never saw {text!r}; output so far:\n{self.seen[self.pos :]}")
        start = self.pos
        self.pos = self.seen.index(text, self.pos) + len(text)
        return self.seen[start : self.pos]

    def answer(self, prompt: str, line: str) -> str:
        shown = self.expect(prompt)
        os.write(self.fd, line.encode() + b"\r")
        return shown

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05) and self.seen:
                    if not select.select([self.fd], [], [], 0)[0]:
                        break
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self._read(0.1)
        os.kill(self.pid, 9)
        raise AssertionError(f"prr assess did not finish:\n{self.seen[self.pos :]}")


def _env(store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRR_")}
    env.update(
        PRR_DATABASE_URL=store_url,
        PRR_USER="alice@example.com",
        NO_COLOR="1",
        COLUMNS="220",
        TERM="xterm",
        PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def test_interactive_assessment_resumes_after_ctrl_c(store_url: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    env = _env(store_url)

    # 1. the opening question, validated answers, then phase 1 and 2 until Ctrl-C
    term = Terminal([str(repo), "--version", "1.0"], env, tmp_path)
    term.expect(OPENING_QUESTION)
    term.answer("Target launch date (YYYY-MM-DD): ", "next tuesday")
    term.expect("is not a date (use YYYY-MM-DD)")
    term.answer("Target launch date (YYYY-MM-DD): ", "2026-12-01")
    term.answer("Expected traffic (number, requests/s, ≥ 0): ", "200")
    term.answer("Peak traffic (number, requests/s, ≥ 0): ", "100")
    term.expect("peak traffic (100) is below the expected traffic (200)")
    term.answer("Peak traffic (number, requests/s, ≥ 0): ", "800")
    phase1 = term.expect("2 item(s) are still unknown")
    assert "Phase 1 of 5: Infrastructure Audit" in phase1
    results = phase1.split("Automated results")[1]
    assert HEALTH in results and "pass" in results and "verified" in results
    assert "k8s/deployment.yaml" in results  # one line of evidence
    assert SCALING in results and "FAIL" in results  # decided by the scan: not asked
    assert f"{SCALING} ·" not in term.seen
    term.expect(f"[1/2] {TLS} · medium")
    term.answer("[skip]: ", "pass")
    term.answer("Notes (optional): ", "ACME via cert-manager")
    term.answer("Certificate expiry date (YYYY-MM-DD, optional): ", "soon")
    term.expect("cert_expiry: 'soon' is not a date")
    term.answer("Certificate expiry date (YYYY-MM-DD, optional): ", "2027-03-01")
    term.expect("→ recorded pass")
    term.expect(f"[2/2] {CDN} · low")
    term.answer("[skip]: ", "n/a")
    term.answer("Why does it not apply? (required): ", "")
    term.expect("a reason is required")
    term.answer("Why does it not apply? (required): ", "no static assets")
    status = term.expect("Any infrastructure concerns? (Enter for none): ")
    assert "Phase 1 status" in status and "Infrastructure" in status and "Issues" in status
    os.write(term.fd, b"Single region for now\r")
    term.expect("Phase 2 of 5: Security Audit")
    term.expect(f"[1/1] {RATE} · critical")
    term.answer("[skip]: ", "fail")
    term.answer("Notes (optional): ", "no limits on the ingress")
    term.answer("Owner of the fix (optional, e.g. @team): ", "@backend")
    term.answer("ETA (YYYY-MM-DD, optional): ", "2026-11-20")
    status = term.expect("Any security requirements I should know?")
    assert f"BLOCKER {RATE}" in status and "Blocked" in status
    time.sleep(0.2)
    for attempt in range(3):  # a loaded machine may take the key before the prompt reads
        term.ctrl_c()
        try:
            term.expect("Every answer so far is saved in review", timeout=15)
            break
        except AssertionError:
            if attempt == 2:
                raise
    assert term.exit_code() == 3

    store = Store(store_url)
    try:
        reviews = Reviews(store)
        view = reviews.list_reviews("shop")
        assert len(view) == 1
        review = reviews.get(view[0].id)
        assert review.phase == 2
        assert review.context["launch_date"] == "2026-12-01"
        assert review.context["expected_rps"] == 200 and review.context["peak_rps"] == 800
        assert review.context["stop_answers"]["1"] == {
            "question": "Any infrastructure concerns?",
            "answer": "Single region for now",
        }
        tls = review.item(TLS)
        assert tls.assessment.status is Status.PASS and tls.assessment.source is Source.ATTESTED
        assert tls.assessment.fields == {"cert_expiry": "2027-03-01"}
        assert tls.notes == "ACME via cert-manager" and tls.answered_by == "alice@example.com"
        assert review.item(CDN).na_reason == "no static assets"
        rate = review.item(RATE)
        assert rate.assessment.is_blocker and rate.owner == "@backend"
        assert rate.eta == dt.date(2026, 11, 20)
        assert review.item(HEALTH).assessment.source is Source.VERIFIED
        assert reviews.verify(review.id) == []
    finally:
        store.close()

    # 2. resume: no opening question, straight to phase 2's stop question; quit in phase 4
    term = Terminal([str(repo)], env, tmp_path)
    shown = term.answer("Any security requirements I should know? (Enter for none): ", "PCI DSS")
    assert "Continuing review" in shown and OPENING_QUESTION not in shown
    assert "Phase 1 of 5" not in shown and "still unknown" not in shown.split("Phase 2")[1]
    assert RATE in shown and "attested" in shown  # now an answered result
    term.expect(f"[1/1] {SLO} · high")
    term.answer("[skip]: ", "pass")
    term.answer("Notes (optional): ", "")
    term.answer("Target (percent, e.g. 99.9, optional): ", "lots")
    term.expect("is not a number")
    term.answer("Target (percent, e.g. 99.9, optional): ", "99.9")
    term.answer("What's your uptime target? (percent, e.g. 99.9; Enter to leave open): ", "high")
    term.expect("is not a number")
    term.answer("What's your uptime target? (percent, e.g. 99.9; Enter to leave open): ", "99.95")
    term.expect(f"[1/1] {RUNBOOK} · medium")
    term.answer("[skip]: ", "quit")
    term.expect("Saved review")
    assert term.exit_code() == 0

    # 3. resume at phase 4: the skipped item is asked again; "no" stops before the report
    term = Terminal([str(repo), "--version", "1.0"], env, tmp_path)
    shown = term.expect(f"[1/1] {RUNBOOK}")
    assert "Phase 4 of 5" in shown and "Phase 3 of 5" not in shown
    term.answer("[skip]: ", "maybe")
    term.expect("answer pass, fail, n/a or skip")
    term.answer("[skip]: ", "rest")
    term.answer("Ready for readiness report? [Y/n]: ", "n")
    term.expect("Stopped before the readiness report")
    assert term.exit_code() == 0
    assert not (repo / "readiness").exists()

    # 4. resume again and finish: the reports are written and named
    term = Terminal([str(repo), "--version", "1.0"], env, tmp_path)
    term.answer("[skip]: ", "")
    term.answer("Ready for readiness report? [Y/n]: ", "")
    shown = term.expect("Present PRD for review:")
    assert "Phase 5 of 5: Generate Readiness PRD" in shown and "Readiness summary" in shown
    term.expect("shop-1.0.md")
    assert term.exit_code() == 0
    report = (repo / "readiness" / "shop-1.0.md").read_text()
    front = yaml.safe_load(report.split("---\n")[1])
    assert front["service"] == "shop" and front["version"] == "1.0"
    assert front["verdict"] == "NOT READY"
    assert "API rate limiting enabled" in report

    store = Store(store_url)
    try:
        reviews = Reviews(store)
        review = reviews.get(reviews.list_reviews("shop")[0].id)
        assert review.phase == 6
        assert review.context["uptime_target"] == 99.95
        assert review.context["stop_answers"]["2"]["answer"] == "PCI DSS"
        assert review.context["stop_answers"]["4"]["answer"] is True
        assert review.item(SLO).assessment.fields == {"target": 99.9}
        assert review.item(RUNBOOK).assessment.status is Status.UNKNOWN
        assert reviews.verify(review.id) == []
    finally:
        store.close()


# -- answers files -------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(assess)
    return app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


ANSWERS = f"""\
context:
  launch_date: 2026-12-01
  expected_rps: 200
  peak_rps: 800
items:
  {TLS}:
    status: pass
    notes: ACME
    fields: {{cert_expiry: 2027-03-01}}
  {CDN}:
    status: n/a
    reason: no static assets
  {SCALING}:
    status: pass
  {RATE}:
    status: fail
    owner: "@backend"
    eta: 2026-11-20
  {SLO}:
    status: pass
    fields: {{target: "99.9%"}}
  {RUNBOOK}:
    status: skip
stop:
  1: none
  2: no PCI scope
  3: 99.95
  4: yes
"""


def _audit_count(store: Store, review_id: int) -> int:
    with store.transaction() as session:
        query = sql_select(func.count()).where(AuditEvent.review_id == review_id)
        return int(session.scalar(query) or 0)


def test_answers_file_runs_every_phase_and_is_idempotent(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    args = [str(repo), "--version", "2.0", "--answers", str(answers)]
    code, out, err = _run(*args, "--database", store.url, "--as", "ci-bot")
    assert code == 0, err
    assert "Opened review" in out and "Present PRD for review:" in out
    assert f"{SCALING}: decided by the scan (fail); answer ignored" in out
    reviews = Reviews(store)
    view = reviews.get(reviews.list_reviews("shop")[0].id)
    assert view.phase == 6 and view.created_by == "ci-bot"
    assert view.context["launch_date"] == "2026-12-01" and view.context["uptime_target"] == 99.95
    assert view.item(SCALING).assessment.source is Source.VERIFIED
    assert view.item(SCALING).assessment.status is Status.FAIL
    assert view.item(TLS).assessment.fields == {"cert_expiry": "2027-03-01"}
    assert view.item(CDN).assessment.status is Status.NOT_APPLICABLE
    assert view.item(SLO).assessment.fields == {"target": 99.9}
    assert view.item(RATE).assessment.is_blocker and view.item(RATE).owner == "@backend"
    assert view.item(RUNBOOK).assessment.status is Status.UNKNOWN
    assert (repo / "readiness" / "shop-2.0.md").is_file()

    # the same file again continues the same review and changes nothing
    events = _audit_count(store, view.id)
    code, out, err = _run(*args, "--database", store.url, "--as", "ci-bot")
    assert code == 0, err
    assert f"Continuing review {view.id}" in out
    assert _audit_count(store, view.id) == events
    assert len(reviews.list_reviews("shop")) == 1

    # a changed answer is recorded; "no" to the report question stops before it
    answers.write_text(
        ANSWERS.replace("notes: ACME", "notes: managed certs").replace("4: yes", "4: no")
    )
    code, out, err = _run(*args, "--database", store.url)
    assert code == 0, err
    assert "Stopped before the readiness report" in out
    assert reviews.get(view.id).item(TLS).notes == "managed certs"


def test_answers_file_mistakes_are_reported_with_file_and_line(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        textwrap.dedent(
            f"""\
            context:
              launch_date: someday
              expected_rps: 200
            items:
              {TLS}:
                status: pass
                fields: {{cert_expiry: tomorrow, colour: blue}}
              {CDN}:
                status: n/a
              security.authorization.api-rate-limiting:
                status: fail
              {SLO}:
                status: maybe
            stop:
              3: very high
              7: hello
            extra: 1
            """
        )
    )
    code, out, err = _run(
        str(repo), "--version", "1.0", "--answers", str(answers), "--database", store.url
    )
    assert code == 2
    lines = err.splitlines()
    name = str(answers)

    def has(fragment: str, line: int) -> bool:
        return any(e.startswith(f"error: {name}:{line}:") and fragment in e for e in lines)

    assert has("context.launch_date: 'someday' is not a date", 2)
    assert has("context.peak_rps is required", 2)
    assert has("cert_expiry: 'tomorrow' is not a date", 7)
    assert has("has no field 'colour'", 7)
    assert has("n/a needs a reason", 9)
    assert has(f"did you mean '{RATE}'", 10)
    assert has("status is one of pass, fail, n/a, skip", 13)
    assert has("phase 3: uptime_target: 'very high' is not a number", 15)
    assert has("no stop question for phase 7", 16)
    assert has("unknown key 'extra'", 17)
    assert "problems found" in err and "Traceback" not in err + out
    assert Reviews(store).list_reviews() == []  # nothing was opened


def test_refusals_exit_2_with_a_message(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        ANSWERS.replace(f"  {RATE}:\n    status: fail", f"  {RATE}:\n    status: pass")
    )
    db = ["--database", store.url]
    # without a terminal and without --answers there is nobody to ask
    code, _, err = _run(str(repo), "--version", "1.0", *db)
    assert code == 2 and "run it in a terminal, or answer with --answers FILE" in err
    # continuing needs an open review; starting one needs a version
    code, _, err = _run(str(repo), "--answers", str(answers), *db)
    assert code == 2 and "give --version VERSION to start one" in err
    code, _, err = _run(
        str(repo), "--service", "billing", "--version", "1", "--answers", str(answers), *db
    )
    assert code == 2 and "describes service 'shop', not 'billing'" in err
    code, _, err = _run(
        str(repo), "--version", "1", "--stage", "alpha", "--answers", str(answers), *db
    )
    assert code == 2 and "'alpha' is not one of experiment, beta, ga" in err
    # an approved review is frozen
    policy = tmp_path / "policy.yaml"
    policy.write_text("required_roles: [Engineering Lead]\n")
    monkeypatch.setenv("PRR_POLICY_FILE", str(policy))
    code, _, err = _run(str(repo), "--version", "1.0", "--answers", str(answers), *db)
    assert code == 0, err
    reviews = Reviews(store, Policy(required_roles=("Engineering Lead",)))
    rid = reviews.list_reviews("shop")[0].id
    reviews.answer(rid, SCALING, actor="x", status=Status.PASS)
    assert reviews.signoff(rid, role="Engineering Lead", person="lee", approve=True) == "approved"
    code, _, err = _run(str(repo), "--review", str(rid), "--answers", str(answers), *db)
    assert code == 2 and f"review {rid} is approved and frozen" in err
    code, _, err = _run(str(repo), "--review", "999", "--answers", str(answers), *db)
    assert code == 2 and "no review 999" in err


# -- the phase logic -------------------------------------------------------------------------


def test_phases_and_stop_questions_come_from_the_checklist() -> None:
    plans = phase_plans(load_checklist("service"))
    assert [(p.number, p.stop_question, p.stop_kind) for p in plans] == [
        (1, "Any infrastructure concerns?", StopKind.TEXT),
        (2, "Any security requirements I should know?", StopKind.TEXT),
        (3, "What's your uptime target?", StopKind.PERCENT),
        (4, "Ready for readiness report?", StopKind.CONFIRM),
        (5, "Present PRD for review", StopKind.NOTICE),
    ]


def test_an_organisations_own_stop_question_is_asked(store: Store, tmp_path: Path) -> None:
    question = "What availability do you promise customers?"
    repo = make_repo(tmp_path, mini_checklist(question))
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS.replace("3: 99.95", "3: 99.5"))
    code, _, err = _run(
        str(repo), "--version", "3", "--answers", str(answers), "--database", store.url
    )
    assert code == 0, err
    reviews = Reviews(store)
    view = reviews.get(reviews.list_reviews("shop")[0].id)
    assert view.context["stop_answers"]["3"] == {"question": question, "answer": 99.5}
    assert view.context["uptime_target"] == 99.5


def test_summary_names_verdict_blockers_issues_and_na(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    code, _, err = _run(
        str(repo), "--version", "1.0", "--answers", str(answers), "--database", store.url
    )
    assert code == 0, err
    reviews = Reviews(store)
    view = reviews.get(reviews.list_reviews("shop")[0].id)
    text = summary_markdown(view)
    assert "**Overall Status:** 🔴 NOT READY" in text
    assert re.search(
        rf"\| BLOCK-001 \| Security \| API rate limiting enabled: .*`{RATE}`.* \| @backend \| 2026-11-20 \|",
        text,
    )
    assert "| ISSUE-001 | Infrastructure | Auto-scaling configured" in text
    assert f"(`{CDN}`) | no static assets |" in text
    assert "- Uptime target: 99.95%" in text and "- Target launch: 2026-12-01" in text
    for role in ("Engineering Lead", "Security", "Operations", "Product"):
        assert f"| {role} | | ☐ | |" in text
