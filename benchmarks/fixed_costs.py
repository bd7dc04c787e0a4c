"""The fixed cost of a small pool's day, piece by piece, before and after, as ratios measured in one run.

A day of a 10,000-customer pool costs a few hundred microseconds of CPU, and part of that does not
grow with the pool: building the joiners' generator, drawing the joiners, passing parameters to the
kernels, visiting rows reserved for joiners. This times each piece the way the engine did it before
and the way it does now, alternating in one process (CPU time, ``time.process_time``, so a busy
machine's neighbours count less than in wall time), and prints microseconds per call and the ratio:

- the joiners' generator: ``np.random.default_rng([seed, day, purpose])`` against
  :func:`sim.rng.day_generator` (the same bits, reseeded in place);
- drawing a day's joiners (``redraw`` of 16 rows): the parallel kernel against its serial twin;
- passing the population parameters to a kernel: the named tuple against the record;
- the customers' day (``Simulation.step``, no contacts): every row against :attr:`Simulation.day_rows`;
- the whole step, no contacts, with the generator and every row as before against as now (the joiners'
  parallel redraw is not put back: they are now drawn and settled in one compiled call,
  ``sim.world.join_day``); results are the same bit for bit either way: ``tests/test_speed.py``,
  ``tests/test_rng.py``.

    python benchmarks/fixed_costs.py [--customers 10000] [--days 60] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator

import numba
import numpy as np

import sim.acquisition as acquisition
from sim import Simulation, load_scenario
from sim._threads import engine_threads
from sim.rng import P_ACQUISITION, day_generator
from sim.state import _generate, redraw
from experiments.bench.probe import load_average

JOINERS = 16
"""Rows of a day's joiners in the redraw timing (a 10,000-customer beauty pool takes about 15 a day)."""


@numba.njit(cache=True)
def _take(params):  # pragma: no cover - jitted
    """Nothing but numba's dispatch of one argument: what passing ``params`` to a kernel costs."""
    return 0


def _cpu_us(fn: Callable[[], object], calls: int) -> float:
    """CPU microseconds per call of ``fn`` over ``calls`` calls."""
    t = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t) / calls * 1e6


def _old_redraw(population, state, rows, seed, day) -> None:  # noqa: ANN001 - the signature of sim.state.redraw
    """``redraw`` as before: the parallel kernel whatever the number of rows."""
    _generate.parallel(np.int64(seed), np.int64(day), np.ascontiguousarray(rows, dtype=np.int64), population,
                       *state.arrays().values())


@contextmanager
def as_before(every_row: bool = True, generator: bool = True) -> Iterator[None]:
    """The engine's day as before this change: every row visited, a new generator a day."""
    with ExitStack() as stack:
        def patch(obj, name, value):  # noqa: ANN001, ANN202 - a local undo list
            old = getattr(obj, name)
            setattr(obj, name, value)
            stack.callback(setattr, obj, name, old)
        if every_row:
            patch(Simulation, "day_rows", property(lambda self: self.n))
        if generator:
            patch(acquisition, "day_generator", lambda seed, day, purpose: np.random.default_rng([seed, day, purpose]))
        yield


def _step_us(base: Simulation, days: int) -> float:
    """CPU microseconds per day of ``days`` steps without contacts on a copy of ``base`` (copied untimed)."""
    sim = copy.deepcopy(base)
    t = time.process_time()
    for _ in range(days):
        sim.step()
    return (time.process_time() - t) / days * 1e6


def fixed_costs(customers: int, days: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Median CPU microseconds (before, after) of each piece, the two timed alternately ``repeats`` times."""
    numba.set_num_threads(1)
    sc = load_scenario("beauty")
    base = Simulation(sc, customers, seed=1)
    p = base.params
    rows = np.arange(base.n - JOINERS, base.n, dtype=np.int64)
    scratch = copy.deepcopy(base.state)
    calls = 2000
    pieces: dict[str, tuple[Callable[[], float], Callable[[], float]]] = {
        "joiners' generator (per day)": (
            lambda: _cpu_us(lambda: np.random.default_rng([1, 37, P_ACQUISITION]), calls),
            lambda: _cpu_us(lambda: day_generator(1, 37, P_ACQUISITION), calls)),
        f"redraw of {JOINERS} joiners (per day)": (
            lambda: _cpu_us(lambda: _old_redraw(p.records.population, scratch, rows, 1, 37), calls),
            lambda: _cpu_us(lambda: redraw(p.records.population, scratch, rows, 1, 37), calls)),
        "population parameters passed (per call)": (
            lambda: _cpu_us(lambda: _take(p.population), calls),
            lambda: _cpu_us(lambda: _take(p.records.population), calls)),
    }

    def step_every_row() -> float:
        with as_before(generator=False):
            return _step_us(base, days)

    def step_whole_before() -> float:
        with as_before():
            return _step_us(base, days)

    pieces[f"the step, every row against day_rows ({base.n:,} rows, {base.day_rows:,} visited on day 0)"] = (
        step_every_row, lambda: _step_us(base, days))
    pieces["the whole step (no contacts), before against after"] = (step_whole_before, lambda: _step_us(base, days))
    with engine_threads(base.n):
        for before, after in pieces.values():  # compile or load, and touch, outside the timing
            before(), after()
        out = {}
        for name, (before, after) in pieces.items():
            runs = [(before(), after()) for _ in range(repeats)]
            out[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    return out


def main() -> None:
    """Print each piece before and after, in CPU microseconds, and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"{args.customers:,} customers, one numba thread, CPU time, medians of {args.repeats}; load {load_average()}")
    for name, (before, after) in fixed_costs(args.customers, args.days, args.repeats).items():
        print(f"{name:78s} {before:9.1f} us {after:9.1f} us  after/before {after / before:5.2f}")
    print(f"load at the end {load_average()}")


if __name__ == "__main__":
    main()
