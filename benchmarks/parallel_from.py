"""Where parallel kernels start to pay: the engine step and a run's day, serial twins against 2 threads.

Below :data:`sim._threads.PARALLEL_FROM` rows the kernels run their one-thread twins. This measures,
for each pool size, the wall time per day of the engine step without contacts and of a run's day
with ``fatigue_capped`` (observation, policy, validation, the step), once through the serial twins
and once through the parallel kernels on 2 numba threads, alternating in short rounds so that a
change of load on a shared machine hits both alike; it prints the median of each and their ratio
(above 1: the parallel kernels are faster). Wall time, since a second thread only shows there.

    python benchmarks/parallel_from.py [--sizes 10000,30000,65536,100000,200000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba

import sim._threads as threads
from policies import load_policy
from sim import Simulation, load_scenario


def _per_day(serial: bool, fn, days: int) -> float:
    threads.PARALLEL_FROM = threads.LIGHT_PARALLEL_FROM = 2**62 if serial else 0
    t = time.perf_counter()
    fn(days)
    return (time.perf_counter() - t) / days


def compare(customers: int, rounds: int, seconds: float = 0.3) -> dict[str, float]:
    """Median seconds per day of the step and of a run's day, serial and parallel, for one pool size."""
    numba.set_num_threads(2)
    sc = load_scenario("beauty")
    engine = Simulation(sc, customers, seed=1)
    player = Simulation(sc, customers, seed=1)
    policy = load_policy("fatigue_capped")

    def step(days: int) -> None:
        for _ in range(days):
            engine.step()

    def run(days: int) -> None:
        player.run(policy, days, residual=False)

    out = {}
    for name, fn in (("step", step), ("run", run)):
        for serial in (True, False):  # compile or load both variants outside the timing
            _per_day(serial, fn, 2)
        days = max(2, int(seconds / _per_day(True, fn, 3)))
        times: dict[bool, list[float]] = {True: [], False: []}
        for r in range(rounds):
            for serial in ((True, False) if r % 2 == 0 else (False, True)):
                times[serial].append(_per_day(serial, fn, days))
        out[f"{name} serial"] = statistics.median(times[True])
        out[f"{name} parallel"] = statistics.median(times[False])
    return out


def main() -> None:
    """Print serial and parallel time per day by pool size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,30000,65536,100000,200000")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"{'customers':>10s} {'step serial':>12s} {'step 2 thr':>11s} {'ratio':>6s} {'run serial':>11s} "
          f"{'run 2 thr':>10s} {'ratio':>6s}")
    for n in (int(s) for s in args.sizes.split(",")):
        c = compare(n, args.rounds)
        print(f"{n:10,d} {c['step serial'] * 1e6:10.0f}us {c['step parallel'] * 1e6:9.0f}us "
              f"{c['step serial'] / c['step parallel']:5.2f}x {c['run serial'] * 1e6:9.0f}us "
              f"{c['run parallel'] * 1e6:8.0f}us {c['run serial'] / c['run parallel']:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
