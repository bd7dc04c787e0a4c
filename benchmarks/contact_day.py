"""A run day in two source trees, alternating in one run: CPU time of the contact step, the step and ``sim.run``.

Each tree runs in a worker process of its own (``PYTHONPATH`` set to the tree, one numba thread) that draws the
same pool, plays ``fatigue_capped`` for ``--days`` days to record its contacts (``siyu bench``'s replay), and on
each request times, with ``time.thread_time`` from fresh copies of the pool: the engine step through those
contacts (the contact step), the step without contacts, and ``sim.run`` of the policy (end to end). The driver
asks the workers in turn, the order swapped every round, ``--repeats`` times, and prints each side's medians
and new over old. Run it with the same tree on both sides first: the two workers differ by a few percent
between themselves (docs/performance.md), which bounds what a comparison can show.

    python benchmarks/contact_day.py --old /path/to/old/tree [--new .] [--customers 1000000] [--days 10]
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
from experiments.bench.throughput import played_contacts, replay_seconds
from policies import load_policy
from sim import Simulation, load_scenario
customers, days = int(sys.argv[1]), int(sys.argv[2])
base = Simulation(load_scenario("beauty"), customers, seed=2)
played = played_contacts(copy.deepcopy(base), load_policy("fatigue_capped"), days)
def once():
    s = copy.deepcopy(base)
    t = time.thread_time(); replay_seconds(s, played); contact = time.thread_time() - t
    s = copy.deepcopy(base)
    t = time.thread_time()
    for _ in range(days):
        s.step()
    step = time.thread_time() - t
    s, rule = copy.deepcopy(base), load_policy("fatigue_capped")
    t = time.thread_time(); s.run(rule, days, residual=False); run = time.thread_time() - t
    return contact / days * 1e6, step / days * 1e6, run / days * 1e6
once()
print("ready", flush=True)
for line in sys.stdin:
    print(*once(), flush=True)
"""
FIGURES = ("contact step", "step", "sim.run")


def _worker(tree: str, customers: int, days: int) -> subprocess.Popen:
    """A process timing ``tree``'s engine on request, warmed up."""
    tree = os.path.abspath(tree)
    env = {**os.environ, "PYTHONPATH": tree, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(customers), str(days)], env=env, text=True, cwd=tree,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # cwd: python -c puts it first on sys.path
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _time(proc: subprocess.Popen) -> list[float]:
    """CPU microseconds per day of each of :data:`FIGURES`, one timing in ``proc``."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return [float(x) for x in proc.stdout.readline().split()]


def main() -> None:
    """Print each tree's medians (CPU us a day) and new over old."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default=".")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    workers = {"old": _worker(args.old, args.customers, args.days), "new": _worker(args.new, args.customers, args.days)}
    times: dict[str, list[list[float]]] = {"old": [], "new": []}
    load = load_average()
    for r in range(args.repeats):
        for side in ("old", "new") if r % 2 == 0 else ("new", "old"):
            times[side].append(_time(workers[side]))
    for proc in workers.values():
        proc.terminate()
    print(f"{args.customers:,} customers, {args.days} days x {args.repeats}, load {load}-{load_average()}; "
          f"CPU us a day, medians")
    med = {side: [statistics.median(t[k] for t in v) for k in range(len(FIGURES))] for side, v in times.items()}
    for side, m in med.items():
        print(f"{side}: " + ", ".join(f"{name} {x:,.0f}" for name, x in zip(FIGURES, m))
              + f"; end to end of the contact step {m[0] / m[2]:.3f}, of the step {m[1] / m[2]:.3f}")
    print("new / old: " + ", ".join(f"{name} {b / a:.3f}" for name, a, b in zip(FIGURES, med["old"], med["new"])))


if __name__ == "__main__":
    main()
