"""Slowdown on a busy machine: runs alone and beside CPU-bound neighbours, in turns, under each OpenMP wait policy.

Each measurement is a fresh process (the wait policy is read when numba's threads start): ``siyu run``'s
engine (one ``Simulation.run`` after a warm-up) or, with ``--compare``, the default ``siyu compare``
(warm numba cache, no report). Neighbours are processes spinning on a core, started before and stopped
after each loaded measurement. Each repeat times the command quiet and then loaded, so a change of the
machine's load between repeats hits a pair alike; the script prints each pair and the median of the
loaded/quiet ratios with their range. A fair share of two cores among the run's two threads and three
neighbours is 2.5x, and of one thread's 2x; ``--probe`` times a one-thread pure-Python loop the same way,
the slowdown this machine gives one busy thread. Results are identical under every policy and load (the
script checks it).

The neighbours are children of this script, so Linux's autogroup scheduling (one CPU share per
session) does not shield the measured process from them: a neighbour started from another terminal
would take less.

    python benchmarks/busy_machine.py [--customers 20000] [--days 180] [--neighbours 3] [--repeats 5]
        [--policies PASSIVE,ACTIVE] [--compare | --probe]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from experiments.bench.probe import neighbours

RUN = """
import time
from policies.registry import make_policy
from sim.config import load_scenario
from sim.engine import Simulation
sc = load_scenario("beauty")
Simulation(sc, 2000, 0).run(make_policy("fatigue_capped"), 5)
t = time.perf_counter()
r = Simulation(sc, {customers}, 3).run(make_policy("fatigue_capped"), {days}, residual=False)
print(time.perf_counter() - t, r.summary["net_profit"])
"""

PROBE = """
import time
t = time.perf_counter()
x = 0
for i in range(20_000_000):
    x += i
print(time.perf_counter() - t, x)
"""
"""A one-thread CPU-bound probe with no memory traffic: the slowdown the machine itself gives one busy thread."""

COMPARE = """
import sys, time
from experiments.cli.app import main
sys.argv = ["siyu", "compare", "--out", {out!r}, "--no-report"]
t = time.perf_counter()
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(time.perf_counter() - t)
"""


def timed(policy: str, code: str) -> list[str]:
    """The printed words of ``code`` run in a fresh process with ``OMP_WAIT_POLICY=policy``."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()[-2:]


def measure(policy: str, args: argparse.Namespace, out: Path) -> tuple[float, str]:
    """(wall seconds, a fingerprint of the result) of one run or compare (into an empty ``out``: a compare resumes)."""
    if args.compare:
        shutil.rmtree(out, ignore_errors=True)
        words = timed(policy, COMPARE.format(out=str(out)))
        return float(words[-1]), hashlib.sha256((out / "comparison.csv").read_bytes()).hexdigest()[:12]
    code = PROBE if args.probe else RUN.format(customers=args.customers, days=args.days)
    seconds, value = timed(policy, code)
    return float(seconds), value


def loaded(policy: str, args: argparse.Namespace, out: Path) -> tuple[float, str]:
    """:func:`measure` beside ``args.neighbours`` spinning processes (``siyu bench --contention``'s)."""
    with neighbours(args.neighbours):
        return measure(policy, args, out)


def main() -> None:
    """Measure and print the pairs and the median ratio per wait policy."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--neighbours", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5, help="quiet/loaded pairs per policy (default 5)")
    ap.add_argument("--policies", default="PASSIVE,ACTIVE", help="OpenMP wait policies, comma-separated")
    ap.add_argument("--compare", action="store_true", help="time the default `siyu compare` instead of one run")
    ap.add_argument("--probe", action="store_true",
                    help="time a one-thread pure-Python loop instead (what the machine gives one busy thread)")
    args = ap.parse_args()
    what = ("the default siyu compare (--no-report)" if args.compare else "a one-thread pure-Python loop" if args.probe
            else f"beauty, {args.customers:,} customers, {args.days} days, fatigue_capped")
    print(f"{what}; {args.neighbours} neighbours; load average now {os.getloadavg()[0]:.1f}", flush=True)
    fingerprints = set()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "compare"
        if args.compare:
            measure(args.policies.split(",")[0], args, out)  # fill the numba cache outside the timing
        for policy in args.policies.split(","):
            ratios = []
            for r in range(args.repeats):
                quiet, f1 = measure(policy, args, out)
                busy, f2 = loaded(policy, args, out)
                fingerprints |= {f1, f2}
                ratios.append(busy / quiet)
                print(f"{policy:8s} repeat {r + 1}: quiet {quiet:6.2f} s, loaded {busy:6.2f} s, {busy / quiet:4.2f}x",
                      flush=True)
            print(f"{policy:8s} median slowdown {statistics.median(ratios):.2f}x "
                  f"(range {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} pairs)", flush=True)
    print("results identical under every policy and load:", len(fingerprints) == 1)


if __name__ == "__main__":
    main()
