"""Two threads against one on a small pool, and validation, before and after, alternating in one process.

Below :data:`sim._threads.PARALLEL_FROM` rows the kernels run their one-thread twins. Before this
change :func:`sim._threads.engine_threads` also set numba's thread count to one on entry and back on
exit, every day, because validation (``check_actions``) and the rules' helpers were parallel kernels
without a twin; now they are twins and only the twin flag changes. This times, alternately in one
process (medians of ``--repeats``):

- the engine step without contacts and a run's day (``Simulation.run`` with ``fatigue_capped``) at
  ``--customers`` (default 10,000), on 1 thread and on 2 threads with the thread count switched per
  day as before, and on 2 threads as now, in wall and CPU time;
- validation of one day's action (``check_actions``) at 10,000 and 10^6 customers, a branch per
  check on every row as before against the block check now (same result: ``tests/test_speed.py``).

    python benchmarks/thread_switch.py [--customers 10000] [--days 60] [--repeats 9]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numba

import sim._threads as threads
import sim.engine as engine
from policies import load_policy
from sim import Simulation, kernels, load_scenario
from sim.defaults import BLOCK, CONTENTS, N_SLOTS
from experiments.bench.probe import load_average


@contextmanager
def _switching(rows: int) -> Iterator[None]:
    """``engine_threads`` as before: the twin flag, and numba's thread count set to one and back."""
    before = numba.get_num_threads()
    small = rows < threads.PARALLEL_FROM
    if small and before > 1:
        numba.set_num_threads(1)
    with threads.engine_threads(rows):
        try:
            yield
        finally:
            if small and before > 1:
                numba.set_num_threads(before)


@numba.njit(cache=True)
def _old_check(act_channel, act_content, act_slot, reach, month_count, status, caps, n_contents,
               n_slots):  # pragma: no cover - jitted
    """``check_actions`` as before, on one thread: every row through ``action_fault``'s branches."""
    n = act_channel.shape[0]
    for b in range((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min((b + 1) * BLOCK, n)):
            code = kernels.action_fault(act_channel[i], act_content[i], act_slot[i], status[i], reach[i],
                                        month_count[i], caps, n_contents, n_slots)
            if code != kernels.E_OK:
                return code, i
    return kernels.E_OK, -1


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def days(base: Simulation, n_days: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) microseconds per day of the step and of a run's day, per thread setting."""
    settings = {"1 thread": (1, threads.engine_threads), "2 threads, switched per day (before)": (2, _switching),
                "2 threads, twin flag only (now)": (2, threads.engine_threads)}

    def step(sim: Simulation) -> None:
        for _ in range(n_days):
            sim.step()

    def run(sim: Simulation) -> None:
        sim.run(load_policy("fatigue_capped"), n_days, residual=False)

    samples: dict[str, list[tuple[float, float]]] = {}
    for rep in range(repeats + 1):
        order = list(settings.items()) if rep % 2 else list(settings.items())[::-1]
        for name, (n_threads, ctx) in order:
            numba.set_num_threads(n_threads)
            engine.engine_threads = ctx
            try:
                for what, fn in (("step", step), ("run", run)):
                    sim = copy.deepcopy(base)
                    wall, cpu = _timed(lambda: fn(sim))
                    if rep:  # the first round loads and touches, untimed
                        samples.setdefault(f"{what}, {name}", []).append((wall / n_days * 1e6, cpu / n_days * 1e6))
            finally:
                engine.engine_threads = threads.engine_threads
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return {k: (statistics.median(v[0] for v in vs), statistics.median(v[1] for v in vs)) for k, vs in samples.items()}


def validation(customers: int, repeats: int) -> tuple[float, float]:
    """Median CPU microseconds of validating one day's ``fatigue_capped`` action: before, after (one thread)."""
    sim = Simulation(load_scenario("beauty"), customers, seed=2)
    policy = load_policy("fatigue_capped")
    policy.reset(sim.n, sim.seed)
    for _ in range(5):
        sim.step(policy.act(sim.observe()))
    action, st = policy.act(sim.observe()), sim.state
    args = (action.channel, action.content, action.slot, st.reach, st.month_count, st.status, sim.params.caps,
            len(CONTENTS), N_SLOTS)
    assert _old_check(*args) == kernels.check_actions.serial(*args)
    calls = max(1, 1_000_000 // customers) * 5
    runs = []
    for _ in range(repeats):
        pair = []
        for fn in (_old_check, kernels.check_actions.serial):
            c = time.process_time()
            for _ in range(calls):
                fn(*args)
            pair.append((time.process_time() - c) / calls * 1e6)
        runs.append(pair)
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    """Print microseconds per day by thread setting, and validation before and after."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    print(f"{args.customers:,} customers, {args.days} days a timing, medians of {args.repeats}; load {load_average()}")
    base = Simulation(load_scenario("beauty"), args.customers, seed=2)
    out = days(base, args.days, args.repeats)
    for name, (wall, cpu) in out.items():
        print(f"{name:50s} wall {wall:8.1f} us/day  CPU {cpu:8.1f} us/day")
    for what in ("step", "run"):
        one, now = out[f"{what}, 1 thread"][0], out[f"{what}, 2 threads, twin flag only (now)"][0]
        before = out[f"{what}, 2 threads, switched per day (before)"][0]
        print(f"{what}: 2 threads against 1 (speed, wall): before {one / before:.2f}x, now {one / now:.2f}x")
    for n in (10_000, 1_000_000):
        old, new = validation(n, args.repeats)
        print(f"validation of a day's action, {n:>9,} customers, 1 thread, CPU: before {old:8.1f} us, "
              f"after {new:8.1f} us, after/before {new / old:.2f}")
    print(f"load at the end {load_average()}")


if __name__ == "__main__":
    main()
