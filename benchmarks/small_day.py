"""A small pool's engine step in two source trees, alternating in one run: CPU time per day, old against new.

Each tree runs in a worker process of its own (``PYTHONPATH`` set to the tree, one numba thread), which
draws the same pool, warms every kernel up, then on each request times ``--days`` contact-free steps on
a fresh copy of the pool (``--settle``: after that many untimed days, so advocates and lapsed customers are there
as in a run's later days) with ``time.thread_time`` (CPU time of the timing thread: a busy machine's
neighbours count less than in wall time). The driver asks the two workers in turn, ``--repeats`` times,
so both meet the same load, and prints each side's median and spread and the ratio of the medians.

    python benchmarks/small_day.py --old /path/to/old/tree [--new .] [--customers 10000] [--days 60] [--settle 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from experiments.bench.probe import load_average

WORKER = r"""
import copy, sys, time
import numba
numba.set_num_threads(1)
from sim import Simulation, load_scenario
from sim._threads import engine_threads
customers, days, settle = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = Simulation(load_scenario("beauty"), customers, seed=2)
for _ in range(settle):
    base.step()
for _ in range(2):
    s = copy.deepcopy(base)
    for _ in range(days):
        s.step()
import os, sim
print("ready", os.path.dirname(os.path.dirname(os.path.abspath(sim.__file__))), flush=True)
for line in sys.stdin:
    s = copy.deepcopy(base)
    t = time.thread_time()
    for _ in range(days):
        s.step()
    print((time.thread_time() - t) / days * 1e6, flush=True)
"""


def _worker(tree: str, customers: int, days: int, settle: int) -> subprocess.Popen:
    """A process timing the step of ``tree``'s engine on request, warmed up."""
    tree = os.path.abspath(tree)
    env = {**os.environ, "PYTHONPATH": tree, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(customers), str(days), str(settle)], env=env, text=True,
                            cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # cwd: first on python -c's path
    assert proc.stdout is not None and proc.stdout.readline().strip() == f"ready {tree}"
    return proc


def _time(proc: subprocess.Popen) -> float:
    """CPU microseconds per day of one timing in ``proc``."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    """Time the two trees alternately and print medians, spreads and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="source tree before the change (a checkout or git archive)")
    ap.add_argument("--new", default=".", help="source tree after the change")
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--settle", type=int, default=0, help="untimed days the pool runs before it is timed")
    args = ap.parse_args()
    load = load_average()
    workers = {side: _worker(tree, args.customers, args.days, args.settle)
               for side, tree in (("old", args.old), ("new", args.new))}
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(args.repeats):
        for side in (("old", "new") if r % 2 == 0 else ("new", "old")):
            times[side].append(_time(workers[side]))
    for proc in workers.values():
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()
    print(f"{args.customers:,} customers, contact-free step, one numba thread, CPU time per day, "
          f"{args.repeats} alternations of {args.days} days after {args.settle}; load {load} at the start, "
          f"{load_average()} at the end")
    for side, ts in times.items():
        q = statistics.quantiles(ts, n=4)
        print(f"{side}: median {statistics.median(ts):7.1f} us  quartiles {q[0]:7.1f}-{q[2]:7.1f}  "
              f"min {min(ts):7.1f}")
    print(f"new / old (medians): {statistics.median(times['new']) / statistics.median(times['old']):.3f}")


if __name__ == "__main__":
    main()
