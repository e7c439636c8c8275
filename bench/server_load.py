"""The server under load: scoreboard latency and throughput, ingest rate, memory.

Run: ``.venv/bin/python bench/server_load.py [--services 5000] [--weeks 52] [--quick]``.

1. Starts a throwaway PostgreSQL from the installed binaries on a free loopback
   port (under ``bench/.work/server_load``; ``--keep`` keeps it, loaded, for reruns).
2. Loads ``--services`` services with ``--weeks`` weekly scans each by COPY: 30
   teams, tiers 1–3, the three stages, a mix of verdicts that improves over the
   year, per-category statuses for the service checklist's 7 categories, and each
   service's latest status with its trend. The latest scan of each service keeps a
   real ``prr scan examples/shop-api --format json`` document as its payload (its
   target, date, stage, verdict, summary and categories replaced by the service's);
   older scans keep a trimmed one (schema, target, summary, categories, and each
   item's id, status and source).
3. Starts ``prr serve`` (``--workers``) as a real process, signs in through the
   login form, creates an API token, and runs wrk (Debian package ``wrk``) at a
   fixed number of connections against ``/healthz``, the scoreboard ``/`` (default
   view, ``?team=…``, and over one connection), ``POST /api/v1/scans`` (the real
   document, then one with trimmed items, for a different service each request),
   and the scoreboard again while scans arrive. The server's RSS (children
   included) is sampled every 0.2 s; the CPU the server and PostgreSQL used per
   answer is read from ``/proc``.
4. Prints a table, the cost of an uncached scoreboard, and whether each target
   was met.

Never used in tests; it does not import ``tests/``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pwd
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "server_load"
WRK_DIR = ROOT / "bench" / "wrk"
PRR = ROOT / ".venv" / "bin" / "prr"
EXAMPLE = ROOT / "examples" / "shop-api"

BENCH_DAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
TEAMS = [
    f"team-{name}"
    for name in (
        "accounts ads analytics billing catalog checkout compliance data delivery edge",
        "fraud growth identity infra inventory ledger logistics media messaging mobile",
        "notifications payments platform pricing risk search security storage support web",
    )
    for name in name.split()
]
STAGES = (("experiment", 0.2), ("beta", 0.3), ("ga", 0.5))
TIERS = (("1", 0.2), ("2", 0.4), ("3", 0.4))

TARGET_P95_MS = 100.0
TARGET_INGEST = 200.0
TARGET_RATIO = 0.5


# -- PostgreSQL ------------------------------------------------------------------------------
def find_binary(name: str) -> str:
    """``name`` on PATH or in Debian's versioned PostgreSQL folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise SystemExit(f"{name} is not installed: run scripts/test-deps.sh")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not up yet; retried until the deadline
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up within {timeout:.0f}s")
        time.sleep(0.1)


def _demote() -> None:  # runs in the child: PostgreSQL refuses to run as root
    user = pwd.getpwnam("postgres")
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


class Postgres:
    """One PostgreSQL server over a data folder, on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.as_root = os.geteuid() == 0
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        initdb = [find_binary("initdb"), "-D", str(self.data), "-U", "postgres"]
        subprocess.run(
            [*initdb, "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            preexec_fn=_demote if self.as_root else None,
            timeout=300,
        )

    def start(self, *settings: str) -> None:
        import psycopg

        self.port = free_port()
        argv = [find_binary("postgres"), "-D", str(self.data), "-p", str(self.port)]
        argv += ["-h", "127.0.0.1", "-k", str(self.folder), "-c", "max_connections=100"]
        for setting in settings:
            argv += ["-c", setting]
        with (self.folder / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_demote if self.as_root else None,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"postgres exited; see {self.folder / 'server.log'}")
            with psycopg.connect(self.dsn, connect_timeout=2):
                return True

        wait_for(ready, "PostgreSQL")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # smart shutdown; a clean checkpoint for --keep
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# -- the data set ---------------------------------------------------------------------------
@dataclass
class ServiceSpec:
    id: int
    name: str
    team: str
    tier: str
    stage: str
    quality: float
    """0 (many problems) … 1 (few); problems shrink over the year."""
    last: dt.datetime
    verified: float


@dataclass
class Catalog:
    """What the loader needs of the service checklist and of one real scan document."""

    doc: dict[str, Any]
    categories: list[tuple[str, str]]
    items: list[dict[str, Any]]
    critical: dict[str, list[int]] = field(default_factory=dict)
    other: dict[str, list[int]] = field(default_factory=dict)


def real_document(path: Path) -> dict[str, Any]:
    """``prr scan examples/shop-api --format json`` (made once, kept beside the data)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scan = [str(PRR), "scan", str(EXAMPLE), "--format", "json", "--fail-on", "never"]
        subprocess.run(
            [*scan, "--output", str(path)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def catalog(doc: dict[str, Any]) -> Catalog:
    cat = Catalog(
        doc=doc,
        categories=[(c["id"], c["title"]) for c in doc["categories"]],
        items=[
            {"id": i["id"], "category": i["category"], "severity": i["severity"]}
            | {"status": i["status"], "source": i["source"]}
            for i in doc["items"]
        ],
    )
    for index, item in enumerate(cat.items):
        side = cat.critical if item["severity"] == "critical" else cat.other
        side.setdefault(item["category"], []).append(index)
    return cat


def services(count: int, rng: random.Random) -> list[ServiceSpec]:
    team_weights = [rng.uniform(0.3, 3.0) for _ in TEAMS]
    specs = []
    for i in range(count):
        stale = rng.random() < 0.05  # stopped scanning a while ago
        back = rng.uniform(30, 120) if stale else rng.uniform(0, 6.9)
        specs.append(
            ServiceSpec(
                id=i + 1,
                name=service_name(i),
                team=rng.choices(TEAMS, team_weights)[0],
                tier=rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0],
                stage=rng.choices([s for s, _ in STAGES], [w for _, w in STAGES])[0],
                quality=rng.betavariate(2.0, 2.0),
                last=BENCH_DAY - dt.timedelta(days=back, seconds=rng.randrange(86400)),
                verified=rng.uniform(0.25, 0.9),
            )
        )
    return specs


def service_name(index: int) -> str:
    return f"svc-{index + 1:05d}"


def problems(spec: ServiceSpec, week: int, weeks: int, cat: Catalog, rng: random.Random) -> Any:
    """Per category (blockers, issues) for one scan: fewer as the year goes on."""
    progress = week / max(1, weeks - 1)
    level = (1.0 - spec.quality) * (1.0 - 0.6 * progress)
    out = []
    for cid, _ in cat.categories:
        blockers = sum(rng.random() < level * 0.16 for _ in range(3))
        issues = sum(rng.random() < level * 0.3 for _ in range(3))
        blockers = min(blockers, len(cat.critical.get(cid, [])))
        out.append((cid, blockers, issues))
    return out


def category_rows(cat: Catalog, counts: Any) -> list[dict[str, Any]]:
    titles = dict(cat.categories)
    return [
        {
            "id": cid,
            "title": titles[cid],
            "status": "Blocked" if b else ("Issues" if i else "Ready"),
            "blockers": b,
            "issues": i,
        }
        for cid, b, i in counts
    ]


def verdict_of(blockers: int, issues: int) -> str:
    return "NOT READY" if blockers else ("CONDITIONAL" if issues else "READY")


class Payloads:
    """Scan documents as JSON text, built from pre-serialised pieces (fast enough for COPY)."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

        def fragment(item: dict[str, Any], status: str, source: str) -> str:
            return json.dumps({"id": item["id"], "status": status, "source": source})

        base = []
        for item in cat.items:
            status = "pass" if item["status"] == "fail" else item["status"]
            base.append(fragment(item, status, item["source"]))
        self.base = base
        self.failed = [fragment(item, "fail", "verified") for item in cat.items]
        real = cat.doc
        self.real_items = json.dumps(real["items"])
        self.real_rest = {k: v for k, v in real.items() if k != "items"}

    def trimmed(self, head: dict[str, Any], counts: Any, shift: int) -> str:
        items = list(self.base)
        for cid, blockers, issues in counts:
            crit = self.cat.critical.get(cid, [])
            other = self.cat.other.get(cid, [])
            for k in range(blockers):
                items[crit[(shift + k) % len(crit)]] = self.failed[crit[(shift + k) % len(crit)]]
            for k in range(min(issues, len(other))):
                items[other[(shift + k) % len(other)]] = self.failed[
                    other[(shift + k) % len(other)]
                ]
        return json.dumps(head)[:-1] + ', "items": [' + ", ".join(items) + "]}"

    def real(self, overrides: dict[str, Any]) -> str:
        doc = {**self.real_rest, **overrides}
        return json.dumps(doc)[:-1] + ', "items": ' + self.real_items + "}"


def load(pg: Postgres, count: int, weeks: int, cat: Catalog, seed: int = 1) -> dict[str, Any]:
    """Services, scans, statuses and trends by COPY; returns what was loaded."""
    import psycopg

    rng = random.Random(seed)
    specs = services(count, rng)
    payloads = Payloads(cat)
    checklist = cat.doc["checklist"]
    started = time.monotonic()
    history: dict[int, list[list[Any]]] = {}
    latest: dict[int, tuple[int, dt.datetime, Any, float]] = {}
    rows = 0
    payload_bytes = 0
    with psycopg.connect(pg.dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY service (id, name, owner, tier, created_at) FROM STDIN") as copy:
            for s in specs:
                first = s.last - dt.timedelta(weeks=weeks)
                copy.write_row((s.id, s.name, s.team, s.tier, first))
        columns = (
            "id, service_id, started_at, commit, environments, checklist_ref, stage, verdict, "
            "blockers, issues, verified_share, payload, source, created_at, categories"
        )
        with cur.copy(f"COPY scan ({columns}) FROM STDIN") as copy:
            for week in range(weeks):
                for s in specs:
                    at = s.last - dt.timedelta(weeks=weeks - 1 - week, minutes=rng.randrange(600))
                    counts = problems(s, week, weeks, cat, rng)
                    blockers = sum(b for _, b, _ in counts)
                    issues = sum(i for _, _, i in counts)
                    verdict = verdict_of(blockers, issues)
                    verified = round(min(1.0, s.verified + 0.1 * week / weeks), 4)
                    categories = category_rows(cat, counts)
                    scan_id = week * count + s.id
                    commit = rng.getrandbits(160).to_bytes(20, "big").hex()
                    target = {"service": s.name, "owner": s.team, "tier": int(s.tier)}
                    summary = {
                        "items": len(cat.items),
                        "blockers": blockers,
                        "issues": issues,
                        "verified_share": verified,
                    }
                    head = {
                        "schema": "prr/scan/v1",
                        "target": target | {"commit": commit},
                        "checklist": checklist,
                        "stage": s.stage,
                        "started_at": at.isoformat(),
                        "verdict": verdict,
                        "summary": summary,
                        "categories": categories,
                    }
                    if week == weeks - 1:
                        real_summary = cat.doc["summary"] | summary
                        payload = payloads.real(head | {"summary": real_summary})
                        latest[s.id] = (scan_id, at, (verdict, blockers, issues), verified)
                    else:
                        payload = payloads.trimmed(head, counts, s.id + week)
                    payload_bytes += len(payload)
                    history.setdefault(s.id, []).append([at.date().isoformat(), blockers, issues])
                    copy.write_row(
                        (
                            scan_id,
                            s.id,
                            at,
                            commit,
                            '["staging", "production"]' if s.stage == "ga" else "[]",
                            checklist,
                            s.stage,
                            verdict,
                            blockers,
                            issues,
                            verified,
                            payload,
                            "push",
                            at + dt.timedelta(seconds=rng.randrange(5, 120)),
                            json.dumps(categories),
                        )
                    )
                    rows += 1
                if (week + 1) % 13 == 0 or week + 1 == weeks:
                    print(f"  week {week + 1}/{weeks}: {rows:,} scans", flush=True)
        cats_of = {}
        cur.execute("SELECT id, categories FROM scan WHERE id > %s", ((weeks - 1) * count,))
        for scan_id, categories in cur:
            cats_of[scan_id] = categories
        with cur.copy(
            "COPY service_status (service_id, scan_id, started_at, stage, verdict, blockers, "
            "issues, verified_share, categories, trend) FROM STDIN"
        ) as copy:
            for s in specs:
                scan_id, at, (verdict, blockers, issues), verified = latest[s.id]
                copy.write_row(
                    (
                        s.id,
                        scan_id,
                        at,
                        s.stage,
                        verdict,
                        blockers,
                        issues,
                        verified,
                        json.dumps(cats_of[scan_id]),
                        json.dumps(history[s.id][-12:]),
                    )
                )
        cur.execute("SELECT setval('service_id_seq', (SELECT max(id) FROM service))")
        cur.execute("SELECT setval('scan_id_seq', (SELECT max(id) FROM scan))")
        # A copy of the statuses as loaded, so that --keep reruns start from the same state.
        cur.execute("CREATE SCHEMA IF NOT EXISTS bench")
        cur.execute("DROP TABLE IF EXISTS bench.service_status")
        cur.execute("CREATE TABLE bench.service_status AS SELECT * FROM service_status")
        conn.commit()
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {
        "services": count,
        "scans": rows,
        "payload_mb": payload_bytes / 1e6,
        "load_s": time.monotonic() - started,
    }


def reset(pg: Postgres, first_ingested: int) -> None:
    """Forget what a run ingested (for --keep): its scans, and the statuses it changed."""
    import psycopg

    with psycopg.connect(pg.dsn) as conn:
        conn.execute("DELETE FROM service_status")
        conn.execute("INSERT INTO service_status SELECT * FROM bench.service_status")
        conn.execute("DELETE FROM scan WHERE id >= %s", (first_ingested,))
        conn.execute("SELECT setval('scan_id_seq', (SELECT max(id) FROM scan))")
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE scan")
        conn.execute("VACUUM ANALYZE service_status")


def database_facts(pg: Postgres) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(pg.dsn) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        scans = conn.execute("SELECT count(*), max(id) FROM scan").fetchone()
        mix: dict[str, int] = dict(
            conn.execute("SELECT verdict, count(*) FROM service_status GROUP BY 1").fetchall()
        )
    assert size and scans
    return {"db_mb": size[0] / 1e6, "scans": scans[0], "max_scan_id": scans[1], "mix": mix}


# -- the server ----------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """The resident memory of a process and all its descendants, every 0.2 s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.phase_peak: dict[str, int] = {}
        self.phase = "start"
        self.stopped = threading.Event()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        found, todo = [], [pid]
        while todo:
            current = todo.pop()
            found.append(current)
            for task in Path(f"/proc/{current}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in task.read_text().split()]
        return found

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self) -> None:
        while not self.stopped.is_set():
            total = sum(self._rss(p) for p in self._tree(self.pid))
            self.peak = max(self.peak, total)
            self.phase_peak[self.phase] = max(self.phase_peak.get(self.phase, 0), total)
            self.stopped.wait(self.interval)


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants, the exited ones included.

    Each process counts its own time and that of its children that exited and were
    waited for (PostgreSQL's backends come and go), so the sum never goes down.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in RssSampler._tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / ticks


@contextlib.contextmanager
def prr_server(pg: Postgres, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``prr serve`` as a real process on a free port; yields its base URL and pid."""
    import httpx

    port = free_port()
    env = dict(os.environ)
    env["PRR_DATABASE_URL"] = pg.url
    env["PRR_SESSION_SECRET"] = secrets.token_urlsafe(32)
    argv = [str(PRR), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"prr serve exited with {process.returncode}; see {log}")
            return httpx.get(base + "/healthz", timeout=2).status_code == 200

        wait_for(healthy, "prr serve", timeout=120)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in(base: str, name: str, password: str) -> str:
    """The login form, as a browser fills it in; returns the session cookie's value."""
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = client.get("/login")
        found = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
        if found is None:
            raise SystemExit("the login page has no csrf_token field")
        answer = client.post(
            "/login",
            data={"csrf_token": found.group(1), "name": name, "password": password, "next": "/"},
        )
        session = answer.cookies.get("prr_session") or client.cookies.get("prr_session")
        if answer.status_code != 303 or not session:
            raise SystemExit(f"signing in failed ({answer.status_code})")
        return str(session)


# -- wrk ---------------------------------------------------------------------------------
@dataclass
class Run:
    label: str
    connections: int
    requests: int = 0
    duration_s: float = 0.0
    bad: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    bytes_per: float = 0.0
    peak_rss: int = 0
    server_cpu_ms: float = 0.0
    """Server CPU (all its processes) per answered request."""
    db_cpu_ms: float = 0.0
    """PostgreSQL CPU (all its processes) per answered request."""
    extra: str = ""

    @property
    def rps(self) -> float:
        return (self.requests - self.bad) / self.duration_s if self.duration_s else 0.0


def wrk(
    label: str,
    url: str,
    script: str,
    env: dict[str, str],
    *,
    duration: int,
    connections: int,
    threads: int = 1,
) -> Run:
    """One wrk run; its figures come from the done() hook's JSON line."""
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s"]
    argv += ["--timeout", "30s", "-s", str(WRK_DIR / script), url]
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PRR_BENCH_WRK": str(WRK_DIR)}
    out = subprocess.run(
        argv, env=full | env, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    found = re.search(r"^BENCH-JSON (\{.*\})\s*$", out.stdout, re.M)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {(out.stdout + out.stderr)[-800:]}")
    data = json.loads(found.group(1))
    run = Run(label, connections)
    run.requests = int(data["requests"])
    run.duration_s = data["duration_us"] / 1e6
    errors = sum(int(data[k]) for k in ("connect", "read", "write", "timeout"))
    run.bad = max(int(data["unexpected"]), int(data["status"])) + errors
    run.p50, run.p95, run.p99 = (data[k] / 1000 for k in ("p50", "p95", "p99"))
    run.bytes_per = data["bytes"] / max(1, run.requests)
    return run


def measured(
    pid: int,
    pg: Postgres,
    label: str,
    url: str,
    script: str,
    env: dict[str, str],
    duration: int,
    connections: int,
) -> Run:
    """One wrk run, with the server's and PostgreSQL's CPU per answered request."""
    assert pg.process is not None
    before = tree_cpu(pid), tree_cpu(pg.process.pid)
    run = wrk(label, url, script, env, duration=duration, connections=connections)
    after = tree_cpu(pid), tree_cpu(pg.process.pid)
    answered = max(1, run.requests - run.bad)
    run.server_cpu_ms = (after[0] - before[0]) * 1000 / answered
    run.db_cpu_ms = (after[1] - before[1]) * 1000 / answered
    return run


# -- the run ---------------------------------------------------------------------------------
def ingest_files(
    folder: Path, cat: Catalog, specs: list[tuple[str, str, str]]
) -> tuple[Path, Path, Path]:
    """The documents wrk posts (with markers for target and date): the real one and one
    with each item cut to id, status, source and blocker; and the targets it rotates."""
    doc = dict(cat.doc)
    doc["target"] = "@@TARGET@@"
    doc["started_at"] = "@@STARTED@@"
    body = folder / "ingest-body.json"
    body.write_text(json.dumps(doc), encoding="utf-8")
    keep = ("id", "status", "source", "blocker")
    small = {k: v for k, v in doc.items() if k not in ("errors", "notes", "waivers")}
    small["items"] = [{k: i[k] for k in keep} for i in cat.doc["items"]]
    trimmed = folder / "ingest-body-trimmed.json"
    trimmed.write_text(json.dumps(small), encoding="utf-8")
    commit = cat.doc["target"].get("commit")
    targets = folder / "ingest-targets.jsonl"
    targets.write_text(
        "".join(
            json.dumps({"service": n, "owner": t, "tier": int(tier), "commit": commit}) + "\n"
            for n, t, tier in specs
        ),
        encoding="utf-8",
    )
    return body, trimmed, targets


def service_rows(pg: Postgres) -> list[tuple[str, str, str]]:
    import psycopg

    with psycopg.connect(pg.dsn) as conn:
        return [
            (str(n), str(o), str(t))
            for n, o, t in conn.execute("SELECT name, owner, tier FROM service ORDER BY id")
        ]


def machine() -> str:
    cpus = os.cpu_count()
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // (1024 * 1024)
    load = os.getloadavg()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (wrk_version.stdout + wrk_version.stderr).splitlines()
    version = first[0].split(" [")[0] if first else "wrk ?"
    pg_version = subprocess.run(
        [find_binary("postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{cpus} cores, {mem} GB, Python {sys.version.split()[0]}, {pg_version}, {version}; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="prr serve --workers")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for reruns")
    parser.add_argument("--quick", action="store_true", help="500 services, 5 s runs (smoke)")
    args = parser.parse_args()
    if args.quick:
        args.services, args.duration = 500, 5
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: run scripts/test-deps.sh")

    from prr.store.db import Store
    from prr.store.users import Accounts, Role, TokenKind

    WORK.mkdir(parents=True, exist_ok=True)
    cat = catalog(real_document(WORK / "shop-api-scan.json"))
    name = f"pg-{args.services}x{args.weeks}"
    folder = WORK / name if args.keep else Path(tempfile.mkdtemp(prefix="prr-bench-pg-"))
    pg = Postgres(folder)
    loaded = (folder / "loaded.json").exists()
    print(f"machine: {machine()}")
    try:
        if not loaded:
            shutil.rmtree(folder, ignore_errors=True)
            pg.init()
            # Loading only: no fsync, fewer checkpoints; the measured server runs with defaults.
            pg.start("fsync=off", "full_page_writes=off", "synchronous_commit=off")
            Store(pg.url).close()  # the schema, by the project's own migrations
            print(f"loading {args.services:,} services × {args.weeks} weekly scans …")
            facts = load(pg, args.services, args.weeks, cat)
            print(
                f"loaded {facts['scans']:,} scans ({facts['payload_mb']:,.0f} MB of JSON) "
                f"in {facts['load_s']:.0f} s"
            )
            pg.stop()
            if args.keep:
                (folder / "loaded.json").write_text(json.dumps(facts), encoding="utf-8")
        pg.start()
        store = Store(pg.url)  # migrations (e.g. new indexes) apply to a kept database too
        db = database_facts(pg)
        print(
            f"database: {db['db_mb']:,.0f} MB, {db['scans']:,} scans; latest verdicts "
            + ", ".join(f"{k} {v}" for k, v in sorted(db["mix"].items()))
        )
        accounts = Accounts(store, hash_time_cost=1, hash_memory_kib=8192)
        user = f"bench-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(18)
        accounts.create_user(user, role=Role.CONTRIBUTOR, password=password)
        _, token = accounts.create_token(user, kind=TokenKind.CI, services=["*"], label="bench")
        store.close()
        targets = service_rows(pg)
        body, trimmed_body, target_file = ingest_files(WORK, cat, targets)
        team = TEAMS[7]
        results: list[Run] = []
        with prr_server(pg, args.workers, WORK / "server.log") as (base, pid):
            sampler = RssSampler(pid)
            sampler.start()
            cookie = f"prr_session={sign_in(base, user, password)}"
            page_env = {"PRR_BENCH_COOKIE": cookie, "PRR_BENCH_EXPECT": "200"}
            import httpx

            for path in ("/", f"/?team={team}"):  # warm up, and check that the page answers
                answer = httpx.get(base + path, headers={"Cookie": cookie}, timeout=60)
                if answer.status_code != 200 or "Readiness scoreboard" not in answer.text:
                    raise SystemExit(f"{path} answered {answer.status_code}")
            plan = [
                ("GET /healthz", "/healthz", {"PRR_BENCH_EXPECT": "200"}, args.connections),
                ("GET / (scoreboard)", "/", page_env, args.connections),
                (f"GET /?team={team}", f"/?team={team}", page_env, args.connections),
                ("GET / (1 connection)", "/", page_env, 1),
            ]
            for label, path, env, conns in plan:
                sampler.phase = label
                print(f"wrk {label} ({conns} connections, {args.duration} s) …", flush=True)
                results.append(
                    measured(pid, pg, label, base + path, "get.lua", env, args.duration, conns)
                )
            first_ingested = database_facts(pg)["max_scan_id"] + 1
            label = "POST /api/v1/scans"
            sampler.phase = label
            print(f"wrk {label} ({args.connections} connections, {args.duration} s) …", flush=True)
            ingest_env = {
                "PRR_BENCH_TOKEN": token,
                "PRR_BENCH_BODY": str(body),
                "PRR_BENCH_TARGETS": str(target_file),
                # Newer than every loaded scan, and not ahead of the clock (the API refuses that).
                "PRR_BENCH_START": str(int(time.time()) - 3600),
                "PRR_BENCH_EXPECT": "201",
            }
            url = base + "/api/v1/scans"
            run = measured(
                pid, pg, label, url, "ingest.lua", ingest_env, args.duration, args.connections
            )
            stored = database_facts(pg)["scans"] - db["scans"]
            run.extra = f"{stored:,} scans stored"
            results.append(run)
            size = trimmed_body.stat().st_size / 1024
            label = f"POST /api/v1/scans ({size:.0f} KiB doc)"
            sampler.phase = label
            print(f"wrk {label} ({args.connections} connections, {args.duration} s) …", flush=True)
            small_env = ingest_env | {
                "PRR_BENCH_BODY": str(trimmed_body),
                "PRR_BENCH_START": str(int(time.time()) - 2400),
            }
            results.append(
                measured(
                    pid, pg, label, url, "ingest.lua", small_env, args.duration, args.connections
                )
            )
            # Pages while scans arrive: each new scan makes the cached pages stale.
            label = "GET / while 2 connections ingest"
            sampler.phase = label
            print(f"wrk {label} ({args.connections} connections, {args.duration} s) …", flush=True)
            ingest_env["PRR_BENCH_START"] = str(int(time.time()) - 1800)
            with ThreadPoolExecutor(2) as pool:
                background = pool.submit(
                    wrk,
                    "ingest",
                    url,
                    "ingest.lua",
                    ingest_env,
                    duration=args.duration,
                    connections=2,
                )
                mixed = wrk(
                    label,
                    base + "/",
                    "get.lua",
                    page_env,
                    duration=args.duration,
                    connections=args.connections,
                )
                alongside = background.result()
            mixed.extra = f"alongside {alongside.rps:.1f} scans/s of the real document"
            results.append(mixed)
            sampler.stopped.set()
            sampler.join()
            for r in results:
                r.peak_rss = sampler.phase_peak.get(r.label, 0)
        if args.keep:
            reset(pg, first_ingested)
        builds = {path: page_build(pg, path, team) for path in ("/", f"/?team={team}")}
        report(results, sampler.peak, args, len(json.dumps(cat.doc)), builds)
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def page_build(pg: Postgres, path: str, team: str, runs: int = 15) -> tuple[float, float]:
    """What a scoreboard page costs when it is not cached: its queries and its rendering,
    in this process (the server is stopped by now); median wall and CPU ms."""
    from prr.server.auth import SessionData
    from prr.server.pages import board
    from prr.server.pages.common import PageUser, environment
    from prr.store.db import Store
    from prr.store.users import Principal, Role

    store = Store(pg.url, migrate=False)
    filters = board.Filters(team if "team=" in path else None, None, None, None, None)
    user = PageUser(Principal(0, "bench", Role.VIEWER, ()), SessionData("bench", 0, "csrf"))
    template = environment().get_template("scoreboard.html")
    walls, cpus = [], []
    try:
        for _ in range(runs + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            data = board.scoreboard_data(store, filters, "team", 1)
            template.render(
                request_path="/", user=user, notice=None, filters=filters, group="team", **data
            )
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    finally:
        store.close()
    walls, cpus = sorted(walls[1:]), sorted(cpus[1:])
    return walls[len(walls) // 2], cpus[len(cpus) // 2]


def report(
    results: list[Run],
    peak: int,
    args: argparse.Namespace,
    doc_bytes: int,
    builds: dict[str, tuple[float, float]],
) -> None:
    print()
    print(
        f"{args.services:,} services × {args.weeks} weeks; {args.connections} connections, "
        f"{args.duration} s each, prr serve --workers {args.workers}; "
        f"ingest document {doc_bytes / 1024:,.0f} KiB"
    )
    head = f"{'run':34} {'conns':>5} {'requests':>9} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8}"
    head += f" {'p99 ms':>8} {'errors':>6} {'KiB/answer':>10} {'peak RSS MB':>11}"
    head += f" {'CPU ms/req':>10} {'DB CPU ms/req':>13}"
    print(head)

    def cpu(value: float) -> str:
        return f"{value:.2f}" if value else "–"

    for r in results:
        print(
            f"{r.label:34} {r.connections:>5} {r.requests:>9,} {r.rps:>8.1f} {r.p50:>8.1f} "
            f"{r.p95:>8.1f} {r.p99:>8.1f} {r.bad:>6} {r.bytes_per / 1024:>10.1f} "
            f"{r.peak_rss / 1e6:>11.0f} {cpu(r.server_cpu_ms):>10} {cpu(r.db_cpu_ms):>13}"
            + (f"  ({r.extra})" if r.extra else "")
        )
    health, board, team_view = results[0], results[1], results[2]
    ingest = next(r for r in results if r.label.startswith("POST"))
    p95 = max(board.p95, team_view.p95)
    ratio = board.rps / health.rps if health.rps else 0.0
    print()

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(
        f"scoreboard p95 ≤ {TARGET_P95_MS:.0f} ms: {p95:.1f} ms "
        f"(default {board.p95:.1f}, filtered {team_view.p95:.1f}) — {verdict(p95 <= TARGET_P95_MS)}"
    )
    print(
        f"ingest ≥ {TARGET_INGEST:.0f} scans/s: {ingest.rps:.1f}/s — "
        f"{verdict(ingest.rps >= TARGET_INGEST)}"
    )
    print(
        f"scoreboard RPS / healthz RPS ≥ {TARGET_RATIO:.0%}: {board.rps:.1f} / {health.rps:.1f} "
        f"= {ratio:.1%} — {verdict(ratio >= TARGET_RATIO)}"
    )
    print(f"peak server RSS (children included): {peak / 1e6:.0f} MB")
    cpu_ratio = health.server_cpu_ms / board.server_cpu_ms if board.server_cpu_ms else 0.0
    print(
        f"server CPU per request: healthz {health.server_cpu_ms:.2f} ms, scoreboard "
        f"{board.server_cpu_ms:.2f} ms (ratio {cpu_ratio:.0%}, less sensitive to a busy machine)"
    )
    for path, (wall, python) in builds.items():
        print(f"uncached build of {path}: {wall:.1f} ms ({python:.1f} ms CPU of Python), median")


if __name__ == "__main__":
    sys.exit(main())
