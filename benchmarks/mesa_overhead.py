"""Cost of the Mesa view: stepping ``PoolModel`` against the plain engine; the cost of one Mesa agent per customer.

Both play the same policy on the same pool for the same days (their KPIs are bit-identical; the
script checks the cumulative net profit; the end-of-run continuation is left out of both). The two
are timed alternately, several rounds, and the fastest round of each is compared, so a neighbour's
burst on a shared machine does not land on one side
only. ``PoolModel`` collects its default reporters: every ``daily.csv`` column, the stage counts,
every group's state and ``--tracked`` customers' state each day.

A third figure alternates the two day by day (median day of each), which a shared machine's load
disturbs least.

The last part measures what Mesa allows for agents: creating plain registered ``mesa.Agent``
objects (time and memory per agent, extrapolated to a million) against the row views
(:mod:`agents.views`), made only when looked at.

    python benchmarks/mesa_overhead.py [--customers 100000] [--days 30] [--rounds 5] [--tracked 200]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import mesa

from agents import PoolModel
from policies import load_policy
from sim import Simulation, load_scenario


def time_engine(customers: int, days: int, seed: int) -> tuple[float, float]:
    """Seconds for ``days`` days of the plain engine, and the cumulative net profit.

    The days alone: valuing the pool left at the end simulates a continuation, which both sides would
    pay once and which would hide the per-day overhead.
    """
    sim = Simulation(load_scenario("beauty"), customers, seed)
    policy = load_policy("fatigue_capped")
    start = time.perf_counter()
    result = sim.run(policy, days, residual=False)
    return time.perf_counter() - start, float(result.daily["cumulative_net_profit"][-1])


def time_model(customers: int, days: int, seed: int, tracked: int) -> tuple[float, float]:
    """Seconds for ``days`` steps of :class:`PoolModel` with its DataCollector, and the cumulative net profit.

    The horizon is one day longer, so no step computes the end-of-run summary (see :func:`time_engine`).
    """
    model = PoolModel("beauty", "fatigue_capped", customers=customers, days=days + 1, seed=seed, tracked=tracked)
    start = time.perf_counter()
    for _ in range(days):
        model.step()
    return time.perf_counter() - start, model.today["cumulative_net_profit"]


def interleaved(customers: int, days: int, seed: int, tracked: int) -> tuple[float, float]:
    """Median ms per day of the engine's day (observe, act, step) and of ``PoolModel.step``, alternated day by day.

    Alternating each day puts both under the same load of the machine at nearly the same moment.
    """
    import numpy as np
    sim = Simulation(load_scenario("beauty"), customers, seed)
    policy = load_policy("fatigue_capped")
    policy.reset(sim.n, seed)
    model = PoolModel("beauty", "fatigue_capped", customers=customers, days=days, seed=seed, tracked=tracked)
    engine, mesa_days = [], []
    for _ in range(days):
        start = time.perf_counter()
        sim.step(policy.act(sim.observe()))
        engine.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.step()
        mesa_days.append(time.perf_counter() - start)
    return float(np.median(engine)) * 1e3, float(np.median(mesa_days)) * 1e3


def agent_costs(n: int) -> tuple[float, float, float]:
    """(µs and bytes per registered ``mesa.Agent``; µs per row view of a 1,000-customer pool)."""
    model = mesa.Model(seed=0)
    tracemalloc.start()
    start = time.perf_counter()
    agents = [mesa.Agent(model) for _ in range(n)]
    seconds = time.perf_counter() - start
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del agents
    pool = PoolModel("beauty", "no_contact", customers=1000, days=1, seed=0)
    start = time.perf_counter()
    fatigue = [a.fatigue for a in pool.customers]
    views = time.perf_counter() - start
    assert len(fatigue) == 1000
    return seconds / n * 1e6, memory / n, views / 1000 * 1e6


def main() -> None:
    """Measure and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tracked", type=int, default=200)
    args = ap.parse_args()
    time_engine(2000, 2, 0)  # compile or load the kernels before timing
    time_model(2000, 2, 0, 10)
    engine, model = [], []
    for r in range(args.rounds):
        te, ve = time_engine(args.customers, args.days, r)
        tm, vm = time_model(args.customers, args.days, r, args.tracked)
        assert ve == vm, f"round {r}: the Mesa model's net profit {vm} differs from the engine's {ve}"
        engine.append(te)
        model.append(tm)
    best_e, best_m = min(engine), min(model)
    print(f"beauty, fatigue_capped, {args.customers:,} customers, {args.days} days, best of {args.rounds} rounds")
    print(f"  plain engine : {best_e / args.days * 1e3:7.2f} ms/day")
    print(f"  PoolModel    : {best_m / args.days * 1e3:7.2f} ms/day (DataCollector on, {args.tracked} tracked)")
    print(f"  ratio        : {best_m / best_e:.2f}x (target <= 1.5x); median-round ratio "
          f"{sorted(model)[len(model) // 2] / sorted(engine)[len(engine) // 2]:.2f}x")
    e_day, m_day = interleaved(args.customers, args.days, 0, args.tracked)
    print(f"  day by day, alternated: engine {e_day:.2f} ms, PoolModel {m_day:.2f} ms (median) -> "
          f"ratio {m_day / e_day:.2f}x")
    us, nbytes, view_us = agent_costs(100_000)
    print(f"one mesa.Agent per customer: {us:.1f} µs and {nbytes:.0f} B each -> {us:.1f} s and "
          f"{nbytes:.0f} MB per million before the first day")
    print(f"row views: none made up front; {view_us:.1f} µs per agent read when iterated")


if __name__ == "__main__":
    main()
