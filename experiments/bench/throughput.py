"""Throughput benchmark of the engine and of end-to-end runs (prints figures; never a timed test)."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
import time
import tracemalloc
from typing import Any, Callable

import numba
import numpy as np

from experiments.bench.probe import bandwidth_rate, neighbours
from experiments.console import count
from policies import load_policy
from sim._threads import PARALLEL_FROM, engine_threads
from sim.config import load_scenario
from sim.engine import Simulation
from sim.observation import Action

WARM_START_SNIPPET = (
    "import time; t=time.perf_counter();"
    "from sim.config import load_scenario; from sim.engine import Simulation;"
    "s=Simulation(load_scenario('beauty'), 1000, 0); s.step(); s.potential();"
    "print(time.perf_counter()-t)"
)


SEGMENT_DAYS = 60
"""Most days timed on one pool before a fresh copy of it: within the rows reserved for joiners (60 days
of inflow), so a 10,000-customer pool grows by at most 9% while timed (10^6 by 0.1%); timing thousands
of days on one small pool measured a pool several times the size it was named by."""
REPEATS = 3
"""Timings of each measurement; the best is reported (the others met more of the neighbours' work)."""
WARM_DAYS = 3
"""Days each configuration runs untimed before its timing (see :func:`warm_up`)."""

Timed = Callable[[int], tuple[float, float]]
"""A measurement: ``fn(days)`` -> (seconds of its timed part, customer-days in it)."""


MAX_REPEATS = 9
"""Most timings of a measurement: short ones (a small pool at the cap of :data:`MAX_DAYS`) take more, up to this."""
MAX_DAYS = 4096
"""Most days in one timing."""


def _timing_days(fn: Timed, min_seconds: float) -> tuple[int, float]:
    """Days a timing of ``fn`` needs to run ``min_seconds`` (at most :data:`MAX_DAYS`), and the seconds it took."""
    days = 2
    while True:
        seconds, _ = fn(days)
        if seconds >= min_seconds or days >= MAX_DAYS:
            return days, seconds
        days = min(int(days * max(2.0, min_seconds / max(seconds, 1e-3))), MAX_DAYS)


def interleaved_rates(fns: dict[str, Timed], threads: list[int], min_seconds: float,
                      set_threads: Callable[[int], None] | None = None,
                      repeats: int = REPEATS) -> dict[tuple[str, int], list[float]]:
    """Customer-days per second of each timing in ``fns`` at each thread count, all of them taking turns.

    Why in turns: on a shared machine the load moves within seconds, so two figures timed one after the
    other meet different neighbours, and a ratio of them (2 threads against 1, end to end against the
    step) measures the neighbours. Here each round times every (timing, thread count) once, the order
    reversed every other round (step at 1 and 2 threads, end to end at 1 and 2, ..., then back), so the
    figures of a ratio are taken next to each other and each meets the same load. Each timing's days are
    grown on the first thread count until it runs ``min_seconds``; if one is still shorter (the day cap,
    :data:`MAX_DAYS`), every figure gets more rounds, up to :data:`MAX_REPEATS`. ``set_threads(t)`` sets
    the thread count before each timing (default: numba's).
    """
    set_threads = numba.set_num_threads if set_threads is None else set_threads
    set_threads(threads[0])
    days, rounds = {}, repeats
    for kind, fn in fns.items():
        days[kind], seconds = _timing_days(fn, min_seconds)
        if seconds < min_seconds:
            rounds = max(rounds, min(MAX_REPEATS, math.ceil(repeats * min_seconds / max(seconds, 1e-3))))
    order = [(kind, th) for kind in fns for th in threads]
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in order}
    for r in range(rounds):
        for kind, th in order if r % 2 == 0 else order[::-1]:
            set_threads(th)
            spent, cdays = fns[kind](days[kind])
            rates[kind, th].append(cdays / spent)
    return rates


def _paired_range(top: list[float], bottom: list[float]) -> list[float]:
    """Lowest and highest ratio of two figures' timings of one round (timed close together: the same load)."""
    paired = [a / b for a, b in zip(top, bottom)]
    return [min(paired), max(paired)]


def spread(rates: list[float]) -> float:
    """How far the timings of one measurement lie apart: (best - worst) / best (0 for a single timing)."""
    return (max(rates) - min(rates)) / max(rates)


def _segments(days: int) -> list[int]:
    """``days`` cut into runs of at most :data:`SEGMENT_DAYS`."""
    return [min(SEGMENT_DAYS, days - start) for start in range(0, days, SEGMENT_DAYS)]


def played_contacts(sim: Simulation, policy: Any, days: int) -> list[tuple[int, dict[str, np.ndarray | None]]]:
    """Play ``policy`` on ``sim`` for ``days`` days; each day's validated action, kept as its contacted rows.

    What :func:`replay_seconds` replays: the same seed and the same actions give the same days, so the
    replay steps through exactly the contacts the policy made.
    """
    policy.reset(sim.n, sim.seed)
    days_played = []
    for _ in range(days):
        with engine_threads(sim.n):
            action = sim.validate(policy.act(sim.observe()))
            rows = np.flatnonzero(action.channel >= 0)
            days_played.append((sim.n, {"rows": rows, **{f: None if getattr(action, f) is None
                                                        else getattr(action, f)[rows]
                                                        for f in ("channel", "content", "slot", "ask", "invite")}}))
            sim._step(action, None)
    return days_played


def replay_seconds(sim: Simulation,
                   days_played: list[tuple[int, dict[str, np.ndarray | None]]]) -> tuple[float, float]:
    """Seconds of ``sim.step`` over the recorded days' contacts (actions rebuilt outside the timing), and customer-days.

    The recorded actions were validated when played, so validation is skipped here: the timing is the
    day's dynamics with its contacts (delivery, the customers' day, the world, joiners) and nothing else.
    Customer-days count the customers in the pool each day (``sim.joined``), not its reserved rows.
    """
    sim.validate = lambda action: action  # type: ignore[method-assign]  # this instance only; see above
    seconds = cdays = 0.0
    for n, kept in days_played:
        rows = kept["rows"]
        arrays = {}
        for f in ("channel", "content", "slot", "ask", "invite"):
            values = kept[f]
            if values is None:
                arrays[f] = None
                continue
            full = np.full(n, -1, np.int8) if f == "channel" else np.zeros(n, values.dtype)
            full[rows] = values
            arrays[f] = full
        action = Action(arrays["channel"], arrays["content"], arrays["slot"], arrays["ask"], arrays["invite"])
        cdays += sim.joined
        t = time.perf_counter()
        sim.step(action)
        seconds += time.perf_counter() - t
    return seconds, cdays


def warm_up(sim: Simulation, policy: str) -> None:
    """Run every timed path of a configuration untimed on copies of ``sim``: compile and first touch.

    Each kernel is compiled or loaded (the serial twins below :data:`~sim._threads.PARALLEL_FROM` rows,
    the parallel ones above) and every page the timing will use is touched, so no measurement pays for either.
    """
    copy.deepcopy(sim).run(load_policy(policy), WARM_DAYS, residual=False)
    played = played_contacts(copy.deepcopy(sim), load_policy(policy), WARM_DAYS)
    replay_seconds(copy.deepcopy(sim), played)
    engine = copy.deepcopy(sim)
    for _ in range(WARM_DAYS):
        engine.step()


def serial_rows(sim: Simulation) -> bool:
    """Whether ``sim``'s day runs the one-thread twins whatever the thread count (below ``PARALLEL_FROM`` rows)."""
    return sim.n < PARALLEL_FROM


def measure_size(customers: int, threads: list[int], scenario: str = "beauty", policy: str = "fatigue_capped",
                 min_seconds: float = 1.0) -> list[dict[str, Any]]:
    """Engine step and end-to-end rates for one size at each thread count, the thread counts timed in turns.

    Every measurement starts from copies of one freshly drawn pool (copied outside the timing) and runs
    at most :data:`SEGMENT_DAYS` days on a copy; rates are customer-days per second counting the
    customers in the pool each day; each is the best of its timings (:func:`interleaved_rates`: at least
    :data:`REPEATS` rounds, the three timings and the thread counts taking turns in each) after :func:`warm_up`
    at every thread count.

    Two yardsticks for end to end: the engine step without contacts, and the engine step on days with
    the policy's own contacts replayed (``contact_step_...``): end to end against the second is what
    the policy, observation, validation and books cost; the second against the first is what the
    contacts cost the dynamics. ``serial`` marks a pool below ``PARALLEL_FROM`` rows: every thread count
    runs the same one-thread code there, so their rates differ by the machine's noise alone (``*_spread``:
    how far each measurement's own timings lie apart; ``step_vs_1_thread`` against the 1-thread row;
    ``..._range`` the lowest and highest ratio of the two figures' timings within one round).

    Peak memory comes from a separate run: tracemalloc slows Python down, which would distort the
    small pools' rates.
    """
    sc = load_scenario(scenario)
    base = Simulation(sc, customers, seed=2)
    for th in threads:
        numba.set_num_threads(th)
        warm_up(base, policy)

    def engine(days: int) -> tuple[float, float]:
        seconds = cdays = 0.0
        for k in _segments(days):
            sim = copy.deepcopy(base)
            t = time.perf_counter()
            for _ in range(k):
                cdays += sim.joined
                sim.step()
            seconds += time.perf_counter() - t
        return seconds, cdays

    def end_to_end(days: int) -> tuple[float, float]:  # the run's days alone: not drawing the pool, nor the residual
        seconds = cdays = 0.0
        for k in _segments(days):
            sim, rule = copy.deepcopy(base), load_policy(policy)
            t = time.perf_counter()
            result = sim.run(rule, k, residual=False)
            seconds += time.perf_counter() - t
            cdays += float(result.daily["joined"].sum())
        return seconds, cdays

    def with_contacts(days: int) -> tuple[float, float]:  # the step alone, on days with the policy's contacts replayed
        seconds = cdays = 0.0
        for k in _segments(days):
            played = played_contacts(copy.deepcopy(base), load_policy(policy), k)
            s, c = replay_seconds(copy.deepcopy(base), played)
            seconds, cdays = seconds + s, cdays + c
        return seconds, cdays

    def probe(days: int) -> tuple[float, float]:  # one timing of the bandwidth probe (its own length)
        return 1.0, bandwidth_rate(base.state, base.n, min_seconds / 2)

    rates = interleaved_rates({"step": engine, "run": end_to_end, "contacts": with_contacts}, threads, min_seconds)
    probes = interleaved_rates({"probe": probe}, threads, 0.0)
    steps = {th: rates["step", th] for th in threads}
    runs = {th: rates["run", th] for th in threads}
    contacts = {th: rates["contacts", th] for th in threads}
    rows = []
    for th in threads:
        numba.set_num_threads(th)
        tracemalloc.start()
        end_to_end(5)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        step_rate, run_rate, contact_rate = max(steps[th]), max(runs[th]), max(contacts[th])
        probe_rate = max(probes["probe", th])
        rows.append({"customers": customers, "threads": th, "serial": serial_rows(base),
                     "customer_days_per_s": step_rate, "run_customer_days_per_s": run_rate,
                     "probe_customer_days_per_s": probe_rate, "step_of_probe": step_rate / probe_rate,
                     "run_of_step": run_rate / step_rate, "policy": policy,
                     "contact_step_customer_days_per_s": contact_rate, "run_of_contact_step": run_rate / contact_rate,
                     "contact_step_of_step": contact_rate / step_rate, "timings": len(steps[th]),
                     "step_spread": spread(steps[th]), "run_spread": spread(runs[th]),
                     "contact_step_spread": spread(contacts[th]),
                     "run_of_contact_step_range": _paired_range(runs[th], contacts[th]),
                     "bytes_per_customer": base.state.nbytes_per_customer(), "peak_mb": peak / 2**20})
    if 1 in threads:
        one = rows[threads.index(1)]
        for th, row in zip(threads, rows):
            row["step_vs_1_thread"] = row["customer_days_per_s"] / one["customer_days_per_s"]
            row["run_vs_1_thread"] = row["run_customer_days_per_s"] / one["run_customer_days_per_s"]
            row["step_vs_1_thread_range"] = _paired_range(steps[th], steps[1])
    return rows


def measure(customers: int, threads: int, scenario: str = "beauty", policy: str = "fatigue_capped",
            min_seconds: float = 1.0) -> dict[str, Any]:
    """:func:`measure_size` at one thread count."""
    return measure_size(customers, [threads], scenario, policy, min_seconds)[0]


def warm_start_seconds() -> float:
    """Seconds from a fresh interpreter to a finished first step with the numba cache warm."""
    for _ in range(2):  # the first call may have to fill the cache
        out = subprocess.run([sys.executable, "-c", WARM_START_SNIPPET], capture_output=True,
                             text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run_bench(sizes: list[int], threads: list[int], min_seconds: float = 1.0,
              progress: Callable[[str], None] | None = None, contention: int = 0) -> list[dict[str, Any]]:
    """All (size, threads) measurements; with ``contention`` K, each size again beside K CPU-bound neighbours.

    The thread counts of one size are timed in turns (:func:`measure_size`), so their ratio meets one load.

    A loaded row carries ``slowdown_step`` and ``slowdown_run``: the quiet rate over the loaded one,
    measured back to back in this run (a fair share of two cores among T threads and K neighbours is
    (T + K) / 2 for T = 2).
    """
    threads = [th for th in dict.fromkeys(threads) if th <= numba.config.NUMBA_NUM_THREADS]  # once each: in turns
    rows: list[dict[str, Any]] = []
    if not threads:
        return rows
    for n in sizes:
        if progress:
            progress(f"{count(n, 'customer')}, {', '.join(map(str, threads))} threads in turns")
        quiet = [{**row, "neighbours": 0} for row in measure_size(n, threads, min_seconds=min_seconds)]
        rows.extend(quiet)
        if contention:
            if progress:
                progress(f"{count(n, 'customer')}, {contention} neighbours")
            with neighbours(contention):
                loaded = measure_size(n, threads, min_seconds=min_seconds)
            rows.extend({**row, "neighbours": contention,
                         "slowdown_step": q["customer_days_per_s"] / row["customer_days_per_s"],
                         "slowdown_run": q["run_customer_days_per_s"] / row["run_customer_days_per_s"]}
                        for q, row in zip(quiet, loaded))
    return rows
