"""prr's live TLS + headers verification against testssl.sh and sslyze, and at 100 endpoints.

Run: ``.venv/bin/python bench/live_tls.py [--runs 3] [--copies 100] [--no-peers]``. Starts the
nginx of ``tests/live/nginx.py`` (throwaway CA, good site plus ``--copies`` copies
of it on their own ports) under ``bench/.work/live_tls`` and measures, on one
HTTPS endpoint:

* ``curl`` fetching the page once (the floor: one process, one TLS handshake, one GET);
* prr's HTTP collector in-process and as a process (``--one URL``, interpreter and
  imports included), with the default limits (20 latency samples) and with none;
* ``testssl`` (Debian package testssl.sh) with ``--protocols --headers``;
* ``sslyze`` (pip, in ``bench/.work/sslyze-venv``) with the four TLS versions,
  certificate info and HTTP headers.

Then it verifies each of the ``--copies`` endpoints alone, and all of them in one
concurrent scan (with the default limits, which put every endpoint in flight, and
with only 8 endpoints in flight), and, with ``--backend-delay`` milliseconds added
to every HTTP answer by a small asyncio upstream that nginx proxies to, the same
1-vs-all comparison. ``--no-peers`` skips the one-endpoint comparison with curl,
testssl.sh and sslyze. Never used in tests. Peers that are not installed are
reported as missing, not skipped silently.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live.nginx import make_pki, nginx_config, run_nginx  # noqa: E402
from tests.live.servers import free_port, running  # noqa: E402

from prr.collectors.live import tls  # noqa: E402
from prr.collectors.live.base import LiveContext, LiveLimits  # noqa: E402
from prr.collectors.live.http import EndpointFacts, HttpCollector  # noqa: E402
from prr.model.target import Endpoint, Environment, Target  # noqa: E402

WORK = ROOT / "bench" / ".work" / "live_tls"
SSLYZE = ROOT / "bench" / ".work" / "sslyze-venv" / "bin" / "sslyze"

DELAY_UPSTREAM = """
import asyncio, sys
DELAY = float(sys.argv[2]) / 1000
BODY = b'{"status": "ok", "checks": {"db": "ok"}}'
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            if not head:
                break
            await asyncio.sleep(DELAY)
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                         b"Content-Length: %d\\r\\n\\r\\n" % len(BODY) + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def collect(urls: list[str], limits: LiveLimits) -> tuple[EndpointFacts, LiveContext]:
    spec = Environment(endpoints=tuple(Endpoint(name=f"e{i}", url=u) for i, u in enumerate(urls)))
    ctx = LiveContext("bench", spec, Target(service="bench", environments={"bench": spec}), limits)
    return asyncio.run(HttpCollector().collect(ctx)), ctx


def servers_cpu() -> float:
    """CPU seconds used so far by this benchmark's servers (nginx and its workers, upstream)."""
    stats: dict[int, tuple[int, float]] = {}
    ours: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        stats[int(entry.name)] = (int(fields[1]), ticks)
        if str(WORK).encode() in command:
            ours.add(int(entry.name))
    return sum(cpu for pid, (parent, cpu) in stats.items() if pid in ours or parent in ours)


def timed(func: Any, runs: int) -> list[float]:
    func()  # warm-up: page cache, trust store, first connections
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def process(argv: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    def once() -> None:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=600)
        if done.returncode not in (0, 1):  # testssl exits non-zero on findings
            raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr[-400:]!r}")

    return timed(once, runs)


def row(name: str, times: list[float], floor: float | None) -> str:
    median = statistics.median(times)
    ratio = f"{median / floor:8.1f}" if floor else f"{'':8}"
    return f"{name:58} {median * 1000:10.1f}ms {min(times) * 1000:10.1f}ms {ratio}"


def one(url: str, samples: int) -> None:
    """``--one``: verify a single endpoint as a separate process would (for the process timing)."""
    facts, _ctx = collect([url], LiveLimits(latency_samples=samples))
    if facts.endpoints[0].error:
        raise SystemExit(facts.endpoints[0].error)


def scale(urls: list[str], limits: LiveLimits, label: str, runs: int) -> list[str]:
    """Each endpoint alone, then all in one scan (default limits, then 8 endpoints in flight).

    The all-at-once scans are repeated ``runs`` times (median wall time and CPU); the
    ratio is to the slowest endpoint alone, as the target says, and to the median one.
    """
    singles = []
    for url in urls:
        start = time.perf_counter()
        facts, _ = collect([url], limits)
        singles.append(time.perf_counter() - start)
        assert not facts.endpoints[0].error, facts.endpoints[0].error
    slowest = max(singles)
    median = statistics.median(singles)
    alone = f"{median * 1000:7.0f}ms median {slowest * 1000:7.0f}ms slowest"
    lines = [f"{label:16} {'each alone':>20} {alone}"]
    for name, bounded in (
        ("all, default limits", limits),
        ("all, 8 in flight", dataclasses.replace(limits, endpoints_in_flight=8)),
    ):
        walls, cpus, served, failed = [], [], [], 0
        for _ in range(runs if name == "all, default limits" else 1):
            start = time.perf_counter()
            cpu = time.process_time()
            server = servers_cpu()
            facts, _ = collect(urls, bounded)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
            served.append(servers_cpu() - server)
            failed += sum(1 for e in facts.endpoints if e.error)
        took = statistics.median(walls)
        per = statistics.median(cpus) / len(urls) * 1000
        lines.append(
            f"{label:16} {name:>20} {took * 1000:7.0f}ms {took / slowest:5.1f}× slowest "
            f"{took / median:5.1f}× median  (CPU per endpoint: prr {per:.1f}ms, "
            f"servers {statistics.median(served) / len(urls) * 1000:.1f}ms; {failed} failed)"
        )
    return lines


def peers(url: str, port: int, runs: int) -> None:
    """One endpoint: curl (floor), prr in-process and as a process, testssl, sslyze."""
    print(f"{'tool (one endpoint)':58} {'median':>12} {'min':>12} {'× floor':>8}")
    floor_times = process(["curl", "-sk", "-o", "/dev/null", url], runs)
    floor = statistics.median(floor_times)
    print(row("curl -sk URL (floor: one handshake, one GET)", floor_times, floor))
    results: dict[str, list[float]] = {}
    results["prr collector in-process, default limits"] = timed(
        lambda: collect([url], LiveLimits()), runs
    )
    results["prr collector in-process, latency_samples=0"] = timed(
        lambda: collect([url], LiveLimits(latency_samples=0)), runs
    )
    me = [sys.executable, str(Path(__file__).resolve())]
    results["prr as a process (python + imports), default limits"] = process(
        [*me, "--one", url], runs, {**os.environ}
    )
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl:
        results["testssl --protocols --headers"] = process(
            [testssl, "--protocols", "--headers", "--quiet", "--color", "0", "--ip", "one",
             "--warnings", "off", url],
            runs,
        )  # fmt: skip
    else:
        print("testssl: not installed (apt-get install testssl.sh)")
    if SSLYZE.exists():
        results["sslyze TLS1.0-1.3 + certinfo + http_headers"] = process(
            [str(SSLYZE), "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--certinfo",
             "--http_headers", "--quiet", f"127.0.0.1:{port}"],
            runs,
        )  # fmt: skip
    else:
        print(f"sslyze: not installed (python3 -m venv {SSLYZE.parent.parent}; pip install sslyze)")
    for name, times in results.items():
        print(row(name, times, floor))
    as_process = statistics.median(results["prr as a process (python + imports), default limits"])
    in_process = statistics.median(results["prr collector in-process, default limits"])
    for peer in [k for k in results if k.startswith(("testssl", "sslyze"))]:
        peer_time = statistics.median(results[peer])
        print(
            f"{peer.split()[0]} / prr: {peer_time / as_process:.1f}× (prr as a process), "
            f"{peer_time / in_process:.1f}× (prr in-process)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument(
        "--backend-delay", type=float, nargs="*", default=[20.0, 50.0], help="milliseconds"
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="skip curl, testssl.sh and sslyze on one endpoint"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.samples)
        return
    shutil.rmtree(WORK, ignore_errors=True)
    pki = make_pki(WORK / "pki")
    os.environ[tls.CA_BUNDLE_ENV] = str(pki.ca)
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    print(
        f"date {dt.date.today()}; {os.cpu_count()} cores; Python {sys.version.split()[0]}; {load}"
    )
    config, sites = nginx_config(WORK / "nginx", pki, copies=args.copies)
    with run_nginx(config, sites) as site:
        url = site.url("good")
        if not args.no_peers:
            print(f"target: {url} (nginx, ECDSA P-256 certificate from a throwaway CA)\n")
            peers(url, site.ports["good"], args.runs)
            print()
        print(f"{args.copies} endpoints (default limits: 20 latency samples each)")
        copies = [site.url(f"good-{i}") for i in range(args.copies)]
        for line in scale(copies, LiveLimits(), "loopback", args.runs):
            print(line)
    upstream = WORK / "delay_upstream.py"
    upstream.write_text(DELAY_UPSTREAM)
    for delay in args.backend_delay:
        # The same endpoints, every HTTP answer delayed by a backend that nginx proxies to.
        port = free_port()
        argv = [sys.executable, str(upstream), str(port), str(delay)]
        config, sites = _delayed_sites(pki, port, args.copies, f"nginx-delay-{delay:g}")
        with (
            running(argv, port, log=WORK / f"upstream-{delay:g}.log"),
            run_nginx(config, sites, first="slow-0") as site,
        ):
            urls = [site.url(f"slow-{i}") for i in range(args.copies)]
            for line in scale(urls, LiveLimits(), f"{delay:g} ms backend", args.runs):
                print(line)
    print("load average at the end {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


def _delayed_sites(pki: Any, upstream: int, copies: int, name: str) -> tuple[Path, Any]:
    """An nginx with ``copies`` TLS servers proxying every request to the delaying upstream."""
    from tests.live.nginx import GOOD_HEADERS, Sites, _headers, _tls

    folder = WORK / name
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    sites = Sites(root=folder)
    blocks = []
    headers = _headers({k: v for k, v in GOOD_HEADERS.items() if "$" not in v})
    for i in range(copies):
        port = free_port()
        while port in sites.ports.values():
            port = free_port()
        sites.ports[f"slow-{i}"] = port
        blocks.append(f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_tokens off;
{_tls(pki, "good")}        location / {{
{headers}            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""")
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    config = folder / "nginx.conf"
    config.write_text(f"""{user}worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream backend {{ server 127.0.0.1:{upstream}; keepalive 256; }}
{"".join(blocks)}
}}
""")
    return config, sites


if __name__ == "__main__":
    main()
