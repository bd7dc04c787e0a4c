"""Slowdown on a busy machine: one run alone, then beside CPU-bound neighbours, under each OpenMP wait policy.

Each measurement is a fresh process (the wait policy is read when numba's threads start) running one
``Simulation.run`` after a warm-up; neighbours are processes spinning on a core. Prints wall times
and the loaded/quiet ratio per policy; a fair share of two cores among the run's two threads and
three neighbours is 2.5x. Results are identical under every policy (the script checks it).

    python benchmarks/busy_machine.py [--customers 20000] [--days 180] [--neighbours 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time

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


def _spin(stop: float) -> None:
    x = 0
    while time.time() < stop:
        x += 1


def timed_run(policy: str, customers: int, days: int) -> tuple[float, float]:
    """(wall seconds, total value) of one run in a fresh process with ``OMP_WAIT_POLICY=policy``."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    out = subprocess.run([sys.executable, "-c", RUN.format(customers=customers, days=days)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--neighbours", type=int, default=3)
    args = ap.parse_args()
    values = set()
    print(f"beauty, {args.customers:,} customers, {args.days} days, fatigue_capped; "
          f"load average now {os.getloadavg()[0]:.1f}")
    for policy in ("ACTIVE", "PASSIVE"):
        quiet, v1 = timed_run(policy, args.customers, args.days)
        procs = [mp.Process(target=_spin, args=(time.time() + 600,)) for _ in range(args.neighbours)]
        for p in procs:
            p.start()
        try:
            loaded, v2 = timed_run(policy, args.customers, args.days)
        finally:
            for p in procs:
                p.terminate()
        values |= {v1, v2}
        print(f"{policy:8s} quiet {quiet:6.2f} s   with {args.neighbours} neighbours {loaded:6.2f} s   "
              f"slowdown {loaded / quiet:4.1f}x")
    print("results identical under every policy:", len(values) == 1)


if __name__ == "__main__":
    main()
