"""Where a ``siyu run`` day goes outside the engine's compiled day: CPU and wall time of each pass, per day.

Plays ``fatigue_capped`` (or ``--policy``) as :meth:`sim.engine.Simulation.run` does, timing each pass
of the day with ``time.process_time`` (CPU, both threads counted) and ``time.perf_counter`` (wall):
the observation, the CRM's typical interval, the policy's decision, validation, the step (delivery,
the customers' day, the world, joiners) and the books (:class:`sim.engine.Ledger`). Then, on copies of
the same pool, the engine step without contacts and ``sim.run`` itself, the two figures ``siyu bench``
compares. Each repeat starts from a copy of one pool (copied outside the timing); the best repeat of
each pass is printed (the others met more of a neighbour's work).

    python benchmarks/e2e_day.py [--customers 1000000] [--days 20] [--threads 1] [--repeats 3]

Prints microseconds per day; compare trees by running it under each tree's PYTHONPATH in turn.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numba
import numpy as np

from policies import load_policy
from sim import Simulation, load_scenario
from sim.engine import Ledger

PASSES = ("observe", "typical interval", "policy", "validate", "step", "books")
"""Timed passes of a run day, in order."""


def _clocks() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def run_day_passes(base: Simulation, policy: str, days: int) -> dict[str, tuple[float, float]]:
    """(CPU, wall) seconds per day of each pass of :data:`PASSES`, over ``days`` days played on a copy of ``base``."""
    sim = copy.deepcopy(base)
    rule = load_policy(policy)
    rule.reset(sim.n, sim.seed)
    ledger = Ledger(sim.n_blocks, days)
    cost = {k: [0.0, 0.0] for k in PASSES}

    def add(name: str, a: tuple[float, float], b: tuple[float, float]) -> None:
        cost[name][0] += b[0] - a[0]
        cost[name][1] += b[1] - a[1]

    from sim._threads import engine_threads
    for _ in range(days):
        with engine_threads(sim.n):
            t0 = _clocks()
            obs = sim.observe()
            t1 = _clocks()
            obs.typical_interval  # cached on the observation: the policy's call is then free
            t2 = _clocks()
            action = rule.act(obs)
            t3 = _clocks()
            checked = sim.validate(action)
            t4 = _clocks()
            sim.validate = lambda a: a  # the step's own validation was timed above
            blocks = sim._step(checked, None)
            del sim.validate
            t5 = _clocks()
            ledger.add(blocks)
            t6 = _clocks()
        for name, a, b in zip(PASSES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
            add(name, a, b)
    return {k: (v[0] / days, v[1] / days) for k, v in cost.items()}


def engine_day(base: Simulation, days: int) -> tuple[float, float]:
    """(CPU, wall) seconds per day of the engine step without contacts (``siyu bench``'s yardstick)."""
    sim = copy.deepcopy(base)
    t = _clocks()
    for _ in range(days):
        sim.step()
    u = _clocks()
    return (u[0] - t[0]) / days, (u[1] - t[1]) / days


def run_day(base: Simulation, policy: str, days: int) -> tuple[float, float]:
    """(CPU, wall) seconds per day of ``sim.run`` without the residual (``siyu bench``'s end to end)."""
    sim, rule = copy.deepcopy(base), load_policy(policy)
    t = _clocks()
    sim.run(rule, days, residual=False)
    u = _clocks()
    return (u[0] - t[0]) / days, (u[1] - t[1]) / days


def main() -> None:
    """Print each pass of a run day, the engine step and the run, in microseconds per day."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--policy", default="fatigue_capped")
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    base = Simulation(load_scenario("beauty"), args.customers, seed=2)
    run_day_passes(base, args.policy, 3)  # compile or load every kernel, touch every page
    engine_day(base, 3)
    run_day(base, args.policy, 3)
    best: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        figures = {**run_day_passes(base, args.policy, args.days),
                   "engine step (no contacts)": engine_day(base, args.days),
                   "sim.run": run_day(base, args.policy, args.days)}
        for k, v in figures.items():
            best[k] = np.minimum(best.get(k, np.inf), np.array(v))
    print(f"{args.customers:,} customers, {args.threads} thread(s), {args.days} days x {args.repeats}, "
          f"load {os.getloadavg()[0]:.2f}")
    outside = sum(best[k] for k in PASSES if k != "step")
    for name, (cpu, wall) in {**best, "outside the step": outside}.items():
        print(f"{name:28s} cpu {cpu * 1e6:9.0f} us/day   wall {wall * 1e6:9.0f} us/day")
    for k, clock in enumerate(("cpu", "wall")):
        run = best["sim.run"][k]
        print(f"{clock}: sim.run's rate / engine step's {best['engine step (no contacts)'][k] / run:.3f}, "
              f"/ the step pass's (the contact step) {best['step'][k] / run:.3f}, "
              f"/ the passes' sum {sum(best[p][k] for p in PASSES) / run:.3f}")


if __name__ == "__main__":
    main()
