"""What each rule policy's decision costs a day, beside the step it feeds: wall microseconds, one run each.

Plays each rule on its own pool drawn alike for ``--days`` days, as :meth:`sim.engine.Simulation.run` does
(the observation and the CRM's typical interval first, outside the timing), and prints the median and mean of
``policy.act`` and of the step after it over the days after the first five (compile or cache load).

    python benchmarks/policy_day.py [--customers 20000] [--days 60] [--policies blast,fixed_cadence,...]

Run it under each tree's ``PYTHONPATH`` in turn to compare trees; ``NUMBA_NUM_THREADS=1`` for one thread.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from policies import load_policy
from sim import Simulation, load_scenario
from sim._threads import engine_threads

WARM_DAYS = 5
"""Days left out of the figures: the first calls compile or load each kernel."""


def policy_day(scenario: str, customers: int, days: int, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of each day's decision and of the step after it, over ``days`` days of ``policy``."""
    sim = Simulation(load_scenario(scenario), customers, 3)
    rule = load_policy(policy)
    rule.reset(sim.n, 3)
    act, step = [], []
    for _ in range(days):
        with engine_threads(sim.n):
            obs = sim.observe()
            obs.typical_interval
            t = time.perf_counter()
            action = rule.act(obs)
            t2 = time.perf_counter()
        sim.step(action)
        act.append(t2 - t)
        step.append(time.perf_counter() - t2)
    return np.array(act[WARM_DAYS:]), np.array(step[WARM_DAYS:])


def main() -> None:
    """Print each policy's decision and step per day."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="beauty")
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--policies", default="blast,fixed_cadence,rfm_tiered,fatigue_capped,journeys")
    args = ap.parse_args()
    if args.days <= WARM_DAYS:
        ap.error(f"--days must be more than {WARM_DAYS}")
    print(f"{args.customers:,} customers, {args.scenario}, {args.days - WARM_DAYS} days timed, wall microseconds")
    for name in args.policies.split(","):
        act, step = (x * 1e6 for x in policy_day(args.scenario, args.customers, args.days, name))
        print(f"{name:15s} decision median {np.median(act):6.0f} mean {act.mean():6.0f} | "
              f"step median {np.median(step):6.0f} mean {step.mean():6.0f}")


if __name__ == "__main__":
    main()
