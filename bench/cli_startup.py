"""How fast the CLI starts: ``prr --help`` and a full checklist load, against the interpreter floor.

Run: ``.venv/bin/python bench/cli_startup.py [--runs 30]``. Prints the median and
p90 wall time of each command and its ratio to a bare ``python -c pass``, so that
figures from noisy machines can still be compared. Never used in tests.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def measure(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    prr = str(BIN / "prr")
    commands = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "prr --help": [prr, "--help"],
        "prr version": [prr, "version"],
        "prr checklist show service -f json": [prr, "checklist", "show", "service", "-f", "json"],
        "prr checklist validate service": [prr, "checklist", "validate", "service"],
    }
    floor = None
    print(f"{'command':40} {'median':>9} {'p90':>9} {'× floor':>8}")
    for name, argv in commands.items():
        times = sorted(measure(argv, args.runs))
        median = statistics.median(times)
        p90 = times[int(0.9 * (len(times) - 1))]
        floor = floor or median
        print(f"{name:40} {median * 1000:8.1f}ms {p90 * 1000:8.1f}ms {median / floor:8.1f}")


if __name__ == "__main__":
    main()
