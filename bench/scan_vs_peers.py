"""A repository scan by prr beside checkov, detect-secrets and ripgrep, on one large repository.

Run: ``.venv/bin/python bench/scan_vs_peers.py [--repo DIR] [--runs 3]``
(after ``bash scripts/bench-deps.sh``, which installs the peers).

Without ``--repo`` it scans ``bench/.work/repo``, generating it first with
``bench/gen_repo.py`` (20,000 files, ~200 MB, 200 planted secrets, ~100 decoys)
when it is missing. In one run it times, side by side:

- ``prr scan REPO --format json --output … --fail-on never``
- ``checkov -d . --framework kubernetes terraform dockerfile secrets --quiet --compact -o json``
  and ``detect-secrets scan . --all-files``, both run from inside REPO (see the comments
  in ``main`` for why)
- ``rg -n --no-heading --hidden -f patterns.txt REPO`` with the same token formats (the floor)
- prr's secrets collector alone, in a fresh process: ``build_index`` then the collector

Each gets the median wall time of ``--runs`` runs; a tool whose first run takes
longer than ``--repeat-limit`` seconds runs once. Peak memory is GNU time's
``%M`` (the largest single process of the tree, as ``ru_maxrss``) and the largest
sampled sum of the PSS (else RSS) of every process of the tree (``/proc``, every 0.2 s).
CPU time is GNU time's ``%U`` + ``%S`` (the tree's user and system time): on a shared
machine it moves much less than wall time, so ripgrep and prr's secrets pass are also
compared by it.
Recall is scored against ``REPO/../planted.json``: a finding on a planted line
(or inside a planted private key's lines) finds it; one on a decoy's line flags
that decoy; any other finding is counted as "other". Results also go to
``bench/.work/results/``. Never used in tests; no test asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PEERS = WORK / "peers"
BIN = Path(sys.executable).parent
GNU_TIME = Path("/usr/bin/time")
SECRETS_ITEM = "security.secrets-management.no-hardcoded-secrets-in-code"

# The floor: the planted token formats as plain regular expressions (ripgrep's syntax).
RG_PATTERNS = r"""
A(KIA|SIA)[A-Z0-9]{16}
(?i)aws.{0,20}(secret|key).{0,20}[=:]\s*["']?[A-Za-z0-9/+]{40}\b
(?i)secret_?(access_?)?key["']?\s*[=:]\s*["']?[A-Za-z0-9/+]{40}\b
gh[pousr]_[A-Za-z0-9]{36}
glpat-[A-Za-z0-9_-]{20}
xox[abposr]-[0-9A-Za-z-]{10,}
hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+
[rs]k_live_[A-Za-z0-9]{20,}
-----BEGIN ([A-Z]+ )*PRIVATE KEY( BLOCK)?-----
[a-z][a-z0-9+.-]*://[^\s:/@'"]+:[^\s:/@'"$<{]+@[A-Za-z0-9.-]+
(?i)(passw(or)?d|pwd|secret|token|api_?key)["']?\s*[:=]\s*["']?[^\s"'$<{]{12,}
eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}
""".strip()

# prr's secrets pass alone, in a fresh interpreter: index the repository, run the collector.
COLLECTOR_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
root = Path(sys.argv[1])
import prr.collectors.secrets as secrets
from prr.collectors.base import CollectContext
from prr.collectors.files import build_index
cls = getattr(secrets, "SecretsCollector", None) or getattr(secrets, "SecretCollector")
t0 = time.perf_counter()
index = build_index(root)
t1 = time.perf_counter()
def cpu():
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)
c1 = cpu()
facts = cls().collect(CollectContext(root, index))
t2 = time.perf_counter()
c2 = cpu()
rows = [
    {"path": f.path, "line": f.line, "rule": getattr(f, "rule", None),
     "test_fixture": getattr(f, "test_fixture", False),
     "suppressed": getattr(f, "suppressed", False)}
    for f in getattr(facts, "findings", ())
]
json.dump({"index_s": t1 - t0, "collect_s": t2 - t1, "collect_cpu_s": c2 - c1, "files": len(index),
           "files_scanned": getattr(facts, "files_scanned", None), "findings": rows}, sys.stdout)
"""

# Fallback when GNU time is missing: run the command from a fresh child and report its rusage.
RUSAGE_CHILD = r"""
import json, resource, subprocess, sys
argv, out, err = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "wb") as o, open(err, "wb") as e:
    code = subprocess.call(argv, stdout=o, stderr=e)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "maxrss_kb": usage.ru_maxrss,
                  "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


# ---------------------------------------------------------------------------
# Measuring


@dataclass
class Run:
    seconds: float
    peak_kb: int | None
    tree_kb: int | None
    code: int | None
    timed_out: bool = False
    cpu_s: float | None = None
    """User + system CPU time of the whole tree: moved much less than wall time by other load."""


@dataclass
class Tool:
    name: str
    argv: list[str]
    timeout: float
    cwd: Path | None = None
    runs: list[Run] = field(default_factory=list)
    stdout: Path | None = None
    note: str = ""
    findings: list[tuple[str, int]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(r.seconds for r in self.runs) if self.runs else None

    @property
    def timed_out(self) -> bool:
        return any(r.timed_out for r in self.runs)

    @property
    def cpu_median(self) -> float | None:
        values = [r.cpu_s for r in self.runs if r.cpu_s is not None]
        return statistics.median(values) if values else None

    @property
    def peak_kb(self) -> int | None:
        values = [r.peak_kb for r in self.runs if r.peak_kb]
        return max(values) if values else None

    @property
    def tree_kb(self) -> int | None:
        values = [r.tree_kb for r in self.runs if r.tree_kb]
        return max(values) if values else None


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:  # noqa: PTH123
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory_kb(pid: int) -> int:
    """Proportional set size (shared pages split between their users), else RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:  # noqa: PTH123
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:  # noqa: PTH123
            return int(handle.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def _tree_kb(pid: int) -> int:
    tree = _children()
    todo, total = [pid], 0
    while todo:
        current = todo.pop()
        todo.extend(tree.get(current, ()))
        total += _memory_kb(current)
    return total


class TreeSampler(threading.Thread):
    """The largest sum of PSS over a process and its descendants, sampled."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        if not Path("/proc/self/statm").exists():
            return
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, _tree_kb(self.pid))


def run_once(tool: Tool, out: Path, err: Path) -> Run:
    """One timed run; stdout to ``out``. A run past the tool's timeout is killed and marked."""
    timing = Path(tempfile.mkstemp(prefix="time-", dir=WORK)[1])
    if GNU_TIME.exists():
        argv = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(timing), *tool.argv]
    else:
        argv = [sys.executable, "-c", RUSAGE_CHILD, json.dumps(tool.argv), str(out), str(err)]
    stdout = timing.open("wb") if not GNU_TIME.exists() else out.open("wb")
    with stdout, err.open("ab") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            argv, stdout=stdout, stderr=stderr, cwd=tool.cwd, start_new_session=True
        )
        sampler = TreeSampler(process.pid)
        sampler.start()
        timed_out = False
        try:
            process.wait(timeout=tool.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        seconds = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    peak: int | None = None
    cpu: float | None = None
    code: int | None = process.returncode
    text = timing.read_text().strip() if timing.exists() else ""
    timing.unlink(missing_ok=True)
    if GNU_TIME.exists():
        fields = text.splitlines()[-1].split() if text else []
        if len(fields) == 3 and fields[0].isdigit():
            peak, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    elif text:
        data = json.loads(text.splitlines()[-1])
        code, peak, cpu = data["code"], data["maxrss_kb"], data.get("cpu_s")
    return Run(seconds, peak, sampler.peak or None, None if timed_out else code, timed_out, cpu)


def measure(tool: Tool, runs: int, repeat_limit: float, results: Path) -> None:
    out = results / f"{tool.name}.out"
    err = results / f"{tool.name}.err"
    err.unlink(missing_ok=True)
    for number in range(runs):
        run = run_once(tool, out, err)
        tool.runs.append(run)
        if tool.name == "prr-secrets" and not run.timed_out:
            _record_split(tool, out)
        state = "TIMED OUT" if run.timed_out else f"exit {run.code}"
        peak = f"{run.peak_kb / 1024:.0f} MB" if run.peak_kb else "?"
        cpu = f"{run.cpu_s:.1f}s" if run.cpu_s is not None else "?"
        print(
            f"  {tool.name} run {number + 1}: {run.seconds:.1f}s, CPU {cpu}, peak {peak}, {state}",
            flush=True,
        )
        if run.timed_out or run.seconds > repeat_limit:
            if number + 1 < runs:
                tool.note = f"ran once: the first run took {run.seconds:.0f}s (> --repeat-limit)"
            break
    tool.stdout = out
    for key in ("index_s", "collect_s", "collect_cpu_s"):
        if tool.extra.get(key + "_runs"):
            tool.extra[key + "_median"] = statistics.median(tool.extra[key + "_runs"])


def _record_split(tool: Tool, out: Path) -> None:
    """prr-secrets prints how long the file index and the collector took: keep both per run."""
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return
    for key in ("index_s", "collect_s", "collect_cpu_s"):
        if key in data:
            tool.extra.setdefault(key + "_runs", []).append(data[key])


def warm_cache(repo: Path) -> tuple[int, int]:
    """Read every file once so that no tool pays for a cold page cache."""
    files = size = 0
    for folder, _, names in os.walk(repo):
        for name in names:
            try:
                size += len((Path(folder) / name).read_bytes())
                files += 1
            except OSError:
                continue
    return files, size


# ---------------------------------------------------------------------------
# Reading each tool's findings as (repository path, line)


def rel(path: str, repo: Path) -> str:
    text = path.replace("\\", "/")
    for prefix in (str(repo) + "/", "./"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.lstrip("/")


def prr_findings(tool: Tool, output: Path, repo: Path) -> list[tuple[str, int]] | None:
    """Evidence (path, line) of the checks behind the no-hardcoded-secrets item."""
    if not output.exists():
        tool.note = _join(tool.note, "no JSON output")
        return None
    data = json.loads(output.read_text())
    item = next((i for i in data.get("items", []) if i.get("id") == SECRETS_ITEM), None)
    if item is None:
        tool.note = _join(tool.note, f"{SECRETS_ITEM} not in the output")
        return None
    checks = item.get("checks") or []
    tool.extra["item_status"] = item.get("status")
    tool.extra["item_message"] = item.get("message")
    tool.extra["checks"] = [
        {"check": c.get("check"), "status": c.get("status"), "evidence": len(c.get("evidence", []))}
        for c in checks
    ]
    if not checks:
        tool.note = _join(
            tool.note, f"no check decides {SECRETS_ITEM} (status {item.get('status')})"
        )
        return None
    rows: list[tuple[str, int]] = []
    truncated = []
    for check in checks:
        listed = 0
        for evidence in check.get("evidence", []):
            summary = str(evidence.get("summary", ""))
            if "not counted" in summary or "; suppressed:" in summary:
                tool.extra["uncounted_evidence"] = tool.extra.get("uncounted_evidence", 0) + 1
                continue  # listed by prr but not held against the item
            if evidence.get("path") and evidence.get("line"):
                rows.append((rel(str(evidence["path"]), repo), int(evidence["line"])))
                listed += 1
        # Does the check say it found more than it lists?
        message = str(check.get("message", ""))
        claimed = [
            int(n.replace(",", ""))
            for n in re.findall(r"(\d[\d,]*)\s+(?:hard-?coded\s+)?(?:secret|credential)", message)
        ]
        cap = re.search(r"first (\d+) shown|(\d+) more|truncated", message)
        if (claimed and max(claimed) > listed) or cap:
            truncated.append(
                {
                    "check": check.get("check"),
                    "listed": listed,
                    "claimed": max(claimed) if claimed else None,
                    "says": cap.group(0) if cap else None,
                }
            )
    if truncated:
        tool.extra["truncated"] = truncated
    return rows


def detect_secrets_findings(output: Path, repo: Path) -> list[tuple[str, int]] | None:
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError):
        return None
    return [
        (rel(path, repo), int(hit["line_number"]))
        for path, hits in data.get("results", {}).items()
        for hit in hits
    ]


def rg_findings(output: Path, repo: Path) -> list[tuple[str, int]]:
    rows = []
    pattern = re.compile(r"^(.*?):(\d+):")
    with output.open("rb") as handle:
        for raw in handle:
            match = pattern.match(raw.decode("utf-8", "replace"))
            if match:
                rows.append((rel(match.group(1), repo), int(match.group(2))))
    return rows


def checkov_findings(tool: Tool, output: Path, repo: Path) -> list[tuple[str, int]] | None:
    """Findings of checkov's secrets framework; other frameworks' totals go to ``extra``."""
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError):
        return None
    reports = data if isinstance(data, list) else [data]
    rows: list[tuple[str, int]] = []
    for report in reports:
        kind = report.get("check_type")
        summary = report.get("summary", {})
        tool.extra[str(kind)] = {
            k: summary.get(k) for k in ("passed", "failed", "parsing_errors", "resource_count")
        }
        if kind != "secrets":
            continue
        for failed in report.get("results", {}).get("failed_checks", []):
            lines = failed.get("file_line_range") or [0]
            rows.append((rel(str(failed.get("file_path", "")), repo), int(lines[0])))
    return rows


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


# ---------------------------------------------------------------------------
# Scoring


@dataclass
class Score:
    found: int
    planted: int
    decoys_flagged: int
    decoys: int
    other: int
    missed: list[dict[str, Any]]
    by_kind: dict[str, tuple[int, int]]
    flagged_decoys: list[dict[str, Any]]
    other_sample: list[tuple[str, int]]


def score(findings: list[tuple[str, int]], truth: list[dict[str, Any]]) -> Score:
    by_path: dict[str, list[int]] = {}
    for number, row in enumerate(truth):
        by_path.setdefault(row["path"], []).append(number)
    hit: set[int] = set()
    other: set[tuple[str, int]] = set()
    for path, line in findings:
        matched = False
        for number in by_path.get(path, ()):
            row = truth[number]
            if row["line"] <= line <= row.get("end_line", row["line"]):
                hit.add(number)
                matched = True
        if not matched:
            other.add((path, line))
    secrets = [n for n, row in enumerate(truth) if not row["decoy"]]
    decoys = [n for n, row in enumerate(truth) if row["decoy"]]
    kinds: Counter[str] = Counter(truth[n]["kind"] for n in secrets)
    found_kinds: Counter[str] = Counter(truth[n]["kind"] for n in secrets if n in hit)
    return Score(
        found=sum(1 for n in secrets if n in hit),
        planted=len(secrets),
        decoys_flagged=sum(1 for n in decoys if n in hit),
        decoys=len(decoys),
        other=len(other),
        missed=[truth[n] for n in secrets if n not in hit],
        by_kind={k: (found_kinds[k], kinds[k]) for k in sorted(kinds)},
        flagged_decoys=[truth[n] for n in decoys if n in hit],
        other_sample=sorted(other)[:30],
    )


# ---------------------------------------------------------------------------
# Main


def ensure_repo(repo: Path, default: bool) -> Path:
    planted = repo.parent / "planted.json"
    if repo.is_dir() and planted.exists():
        return planted
    if not default:
        sys.exit(f"{repo} or {planted} is missing (generate it with bench/gen_repo.py {repo})")
    print(f"generating {repo} …", flush=True)
    if repo.exists():
        shutil.rmtree(repo)
    subprocess.run([sys.executable, str(HERE / "gen_repo.py"), str(repo)], check=True)
    return planted


def fmt_s(value: float | None, timed_out: bool = False) -> str:
    if value is None:
        return "—"
    return f"≥{value:.1f}" if timed_out else f"{value:.1f}"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repo",
        type=Path,
        help="repository to scan (default: bench/.work/repo, generated if missing)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--repeat-limit",
        type=float,
        default=120,
        help="run a tool once when its first run takes longer (s)",
    )
    parser.add_argument("--checkov-timeout", type=float, default=1800)
    parser.add_argument(
        "--timeout", type=float, default=1800, help="timeout of every other tool (s)"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated tools to leave out (prr,checkov,detect-secrets,ripgrep,prr-secrets)",
    )
    args = parser.parse_args()
    default = args.repo is None
    repo: Path = (args.repo or WORK / "repo").resolve()
    WORK.mkdir(exist_ok=True)
    planted = ensure_repo(repo, default)
    truth: list[dict[str, Any]] = json.loads(planted.read_text())
    results = WORK / "results"
    results.mkdir(parents=True, exist_ok=True)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    patterns = results / "rg-patterns.txt"
    patterns.write_text(RG_PATTERNS + "\n")
    prr_json = results / "prr-scan.json"

    tools: list[Tool] = []
    missing: dict[str, str] = {}
    if "prr" not in skip:
        tools.append(
            Tool(
                "prr",
                [
                    str(BIN / "prr"),
                    "scan",
                    str(repo),
                    "--format",
                    "json",
                    "--output",
                    str(prr_json),
                    "--fail-on",
                    "never",
                ],
                args.timeout,
            )
        )
    checkov = PEERS / "checkov" / "bin" / "checkov"
    if "checkov" not in skip:
        if checkov.exists():
            tools.append(
                Tool(
                    "checkov",
                    [
                        str(checkov),
                        "-d",
                        ".",
                        "--framework",
                        "kubernetes",
                        "terraform",
                        "dockerfile",
                        "secrets",
                        "--quiet",
                        "--compact",
                        "-o",
                        "json",
                    ],
                    args.checkov_timeout,
                    # From inside the repository: checkov 3.3's kubernetes framework silently
                    # skips every file when the path it is given has a hidden folder in it
                    # (bench/.work/repo), while terraform, dockerfile and secrets still run.
                    cwd=repo,
                )
            )
        else:
            missing["checkov"] = "not installed (bash scripts/bench-deps.sh)"
    detect = PEERS / "detect-secrets" / "bin" / "detect-secrets"
    if "detect-secrets" not in skip:
        if detect.exists():
            # Run from inside the repository: detect-secrets 1.5 silently skips every file
            # outside its working directory, so `scan /abs/repo` from elsewhere finds nothing.
            tools.append(
                Tool(
                    "detect-secrets",
                    [str(detect), "scan", ".", "--all-files"],
                    args.timeout,
                    cwd=repo,
                )
            )
        else:
            missing["detect-secrets"] = "not installed (bash scripts/bench-deps.sh)"
    rg = shutil.which("rg")
    if "ripgrep" not in skip:
        if rg:
            tools.append(
                Tool(
                    "ripgrep",
                    [rg, "-n", "--no-heading", "--hidden", "-f", str(patterns), str(repo)],
                    args.timeout,
                )
            )
        else:
            missing["ripgrep"] = "not installed (bash scripts/bench-deps.sh)"
    has_collector = False
    if "prr-secrets" not in skip:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import prr.collectors.secrets as s, prr.collectors.files as f; "
                "assert hasattr(f, 'build_index'); "
                "assert getattr(s, 'SecretsCollector', None) "
                "or getattr(s, 'SecretCollector', None)",
            ],
            capture_output=True,
            check=False,
        )
        has_collector = probe.returncode == 0
        if has_collector:
            tools.append(
                Tool(
                    "prr-secrets", [sys.executable, "-c", COLLECTOR_CHILD, str(repo)], args.timeout
                )
            )
        else:
            missing["prr-secrets"] = "prr.collectors.secrets (SecretsCollector) not available"

    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    files, size = warm_cache(repo)
    planted_count = sum(not r["decoy"] for r in truth)
    print(
        f"{repo}: {files:,} files, {size / 1e6:.1f} MB; "
        f"{planted_count} planted secrets, {len(truth) - planted_count} decoys"
    )
    order = ["prr", "ripgrep", "prr-secrets", "detect-secrets", "checkov"]  # slowest last
    for tool in sorted(tools, key=lambda t: order.index(t.name)):
        print(f"{tool.name}: {' '.join(tool.argv[:6])} …", flush=True)
        measure(tool, args.runs, args.repeat_limit, results)

    # Findings
    scores: dict[str, Score] = {}
    for tool in tools:
        if tool.timed_out:
            tool.note = _join(
                tool.note, f"timed out after {tool.timeout:.0f}s: its time is a lower bound"
            )
        if tool.name == "prr":
            tool.findings = prr_findings(tool, prr_json, repo)
        elif tool.name == "checkov" and tool.stdout:
            tool.findings = checkov_findings(tool, tool.stdout, repo)
        elif tool.name == "detect-secrets" and tool.stdout:
            tool.findings = detect_secrets_findings(tool.stdout, repo)
        elif tool.name == "ripgrep" and tool.stdout:
            tool.findings = rg_findings(tool.stdout, repo)
        elif tool.name == "prr-secrets" and tool.stdout:
            try:
                data = json.loads(tool.stdout.read_text())
            except ValueError:
                data = None
            if data:
                tool.findings = [
                    (f["path"], f["line"])
                    for f in data["findings"]
                    if not f["test_fixture"] and not f["suppressed"]
                ]
                tool.extra.update({k: data[k] for k in ("files", "files_scanned")})
                tool.extra["test_fixture_findings"] = sum(
                    1 for f in data["findings"] if f["test_fixture"]
                )
                tool.extra["suppressed_findings"] = sum(
                    1 for f in data["findings"] if f["suppressed"]
                )
        if tool.findings is not None:
            scores[tool.name] = score(tool.findings, truth)

    # Table
    by_name = {t.name: t for t in tools}
    prr_median = by_name["prr"].median if "prr" in by_name else None
    header = [
        "tool",
        "median s",
        "runs",
        "× prr",
        "peak MB",
        "tree MB",
        "secrets found/planted",
        "decoys flagged",
        "other findings",
    ]
    rows = [header]
    for tool in tools:
        s = scores.get(tool.name)
        ratio = (
            f"{'≥' if tool.timed_out else ''}{tool.median / prr_median:.1f}"
            if tool.median and prr_median
            else "—"
        )
        rows.append(
            [
                tool.name,
                fmt_s(tool.median, tool.timed_out),
                str(len(tool.runs)),
                ratio,
                f"{tool.peak_kb / 1024:.0f}" if tool.peak_kb else "—",
                f"{tool.tree_kb / 1024:.0f}" if tool.tree_kb else "—",
                f"{s.found}/{s.planted}" if s else "not measured",
                f"{s.decoys_flagged}/{s.decoys}" if s else "—",
                str(s.other) if s else "—",
            ]
        )
    for name, why in missing.items():
        rows.append([name, "—", "0", "—", "—", "—", why, "—", "—"])
    print()
    print(table(rows))
    print()
    notes = [f"- {t.name}: {t.note}" for t in tools if t.note]
    if notes:
        print("\n".join(notes))
    secrets_tool, rg_tool = by_name.get("prr-secrets"), by_name.get("ripgrep")
    if secrets_tool and rg_tool and secrets_tool.median and rg_tool.median:
        floor = rg_tool.median
        index_s = secrets_tool.extra.get("index_s_median")
        collect_s = secrets_tool.extra.get("collect_s_median")
        line = (
            f"prr secrets pass vs ripgrep ({floor:.2f}s): whole process "
            f"{secrets_tool.median:.2f}s = {secrets_tool.median / floor:.1f}× rg"
        )
        if index_s is not None and collect_s is not None:
            line += (
                f"; file index {index_s:.2f}s + collector {collect_s:.2f}s = "
                f"{(index_s + collect_s) / floor:.1f}× rg; "
                f"collector alone {collect_s / floor:.1f}× rg"
            )
            secrets_tool.extra["vs_rg"] = {
                "process": secrets_tool.median / floor,
                "index_plus_collector": (index_s + collect_s) / floor,
                "collector": collect_s / floor,
            }
        print(line)
        rg_cpu, process_cpu = rg_tool.cpu_median, secrets_tool.cpu_median
        collect_cpu = secrets_tool.extra.get("collect_cpu_s_median")
        if rg_cpu and process_cpu:
            # CPU seconds: what each needs of the machine, whatever else runs on it.
            line = (
                f"CPU time: ripgrep {rg_cpu:.2f}s; prr whole process {process_cpu:.2f}s = "
                f"{process_cpu / rg_cpu:.1f}× rg"
            )
            if collect_cpu is not None:
                line += f"; collector {collect_cpu:.2f}s = {collect_cpu / rg_cpu:.1f}× rg"
            print(line)
            secrets_tool.extra["cpu_vs_rg"] = {
                "rg_s": rg_cpu,
                "process": process_cpu / rg_cpu,
                "collector": None if collect_cpu is None else collect_cpu / rg_cpu,
            }
    for name, s in scores.items():
        kinds = ", ".join(f"{k} {a}/{b}" for k, (a, b) in s.by_kind.items())
        print(f"{name} recall by kind: {kinds}")
    prr_tool = by_name.get("prr")
    if prr_tool and prr_tool.extra.get("truncated"):
        print(f"prr lists fewer evidence items than it found: {prr_tool.extra['truncated']}")

    summary = {
        "date": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "repo": str(repo),
        "repo_files": files,
        "repo_mb": round(size / 1e6, 1),
        "runs": args.runs,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "tools": {
            t.name: {
                "argv": t.argv,
                "runs": [r.__dict__ for r in t.runs],
                "median_s": t.median,
                "cpu_median_s": t.cpu_median,
                "timed_out": t.timed_out,
                "peak_kb": t.peak_kb,
                "tree_kb": t.tree_kb,
                "note": t.note,
                "extra": t.extra,
                "score": None
                if t.name not in scores
                else {k: v for k, v in scores[t.name].__dict__.items()},
            }
            for t in tools
        },
        "missing": missing,
        "table": table(rows),
    }
    (results / "results.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    before, after = load_before[0], os.getloadavg()[0]
    print(
        f"load average (1 min): {before:.2f} before, {after:.2f} after — other work on the machine"
    )
    print(f"\nfull results: {results / 'results.json'}")


if __name__ == "__main__":
    main()
