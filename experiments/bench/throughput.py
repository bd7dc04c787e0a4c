"""Throughput benchmark of the engine and of end-to-end runs (prints figures; never a timed test)."""

from __future__ import annotations

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
from sim._threads import engine_threads
from sim.config import load_scenario
from sim.engine import Simulation
from sim.observation import Action

WARM_START_SNIPPET = (
    "import time; t=time.perf_counter();"
    "from sim.config import load_scenario; from sim.engine import Simulation;"
    "s=Simulation(load_scenario('beauty'), 1000, 0); s.step(); s.potential();"
    "print(time.perf_counter()-t)"
)


def _rate(fn: Callable[[int], float | None], customers: int, min_seconds: float) -> float:
    """Customer-days per second of ``fn(days)``, growing ``days`` until it runs long enough.

    ``fn`` may return the seconds of its timed part (a run without drawing its population); else the call is timed.
    """
    days = 2
    while True:
        t = time.perf_counter()
        timed = fn(days)
        dt = time.perf_counter() - t if timed is None else timed
        if dt >= min_seconds or days >= 4096:
            return customers * days / dt
        days = int(days * max(2.0, min_seconds / max(dt, 1e-3)))


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


def replay_seconds(sim: Simulation, days_played: list[tuple[int, dict[str, np.ndarray | None]]]) -> float:
    """Seconds of ``sim.step`` over the recorded days' contacts (the actions rebuilt outside the timing).

    The recorded actions were validated when played, so validation is skipped here: the timing is the
    day's dynamics with its contacts (delivery, the customers' day, the world, joiners) and nothing else.
    """
    sim.validate = lambda action: action  # type: ignore[method-assign]  # this instance only; see above
    seconds = 0.0
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
        t = time.perf_counter()
        sim.step(action)
        seconds += time.perf_counter() - t
    return seconds


def measure(customers: int, threads: int, scenario: str = "beauty", policy: str = "fatigue_capped",
            min_seconds: float = 1.0) -> dict[str, Any]:
    """Engine step and end-to-end rates for one size and thread count, then peak memory.

    Two yardsticks for end to end: the engine step without contacts, and the engine step on days with
    the policy's own contacts replayed (``contact_step_...``): end to end against the second is what
    the policy, observation, validation and books cost; the second against the first is what the
    contacts cost the dynamics.

    Peak memory comes from a separate run: tracemalloc slows Python down, which would distort the
    small pools' rates.
    """
    numba.set_num_threads(threads)
    sc = load_scenario(scenario)
    sim = Simulation(sc, customers, seed=1)
    sim.step()  # compile or load from cache outside the timing
    Simulation(sc, 1000, seed=2).run(load_policy(policy), 2)  # the policy's kernels too

    def engine(days: int) -> None:
        for _ in range(days):
            sim.step()

    def end_to_end(days: int) -> float:  # the run's days alone: not drawing the pool, nor the residual
        fresh = Simulation(sc, customers, seed=2)
        t = time.perf_counter()
        fresh.run(load_policy(policy), days, residual=False)
        return time.perf_counter() - t

    def with_contacts(days: int) -> float:  # the step alone, on days with the policy's contacts replayed
        played = played_contacts(Simulation(sc, customers, seed=2), load_policy(policy), days)
        return replay_seconds(Simulation(sc, customers, seed=2), played)

    step_rate = _rate(engine, customers, min_seconds)
    run_rate = _rate(end_to_end, customers, min_seconds)
    contact_rate = _rate(with_contacts, customers, min_seconds)
    probe_rate = bandwidth_rate(sim.state, customers, min_seconds / 2)
    tracemalloc.start()
    end_to_end(5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"customers": customers, "threads": threads, "customer_days_per_s": step_rate,
            "run_customer_days_per_s": run_rate, "probe_customer_days_per_s": probe_rate,
            "step_of_probe": step_rate / probe_rate, "run_of_step": run_rate / step_rate, "policy": policy,
            "contact_step_customer_days_per_s": contact_rate, "run_of_contact_step": run_rate / contact_rate,
            "contact_step_of_step": contact_rate / step_rate,
            "bytes_per_customer": sim.state.nbytes_per_customer(), "peak_mb": peak / 2**20}


def warm_start_seconds() -> float:
    """Seconds from a fresh interpreter to a finished first step with the numba cache warm."""
    for _ in range(2):  # the first call may have to fill the cache
        out = subprocess.run([sys.executable, "-c", WARM_START_SNIPPET], capture_output=True,
                             text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run_bench(sizes: list[int], threads: list[int], min_seconds: float = 1.0,
              progress: Callable[[str], None] | None = None, contention: int = 0) -> list[dict[str, Any]]:
    """All (size, threads) measurements; with ``contention`` K, each again beside K CPU-bound neighbours.

    A loaded row carries ``slowdown_step`` and ``slowdown_run``: the quiet rate over the loaded one,
    measured back to back in this run (a fair share of two cores among T threads and K neighbours is
    (T + K) / 2 for T = 2).
    """
    rows = []
    for n in sizes:
        for th in threads:
            if th > numba.config.NUMBA_NUM_THREADS:
                continue
            if progress:
                progress(f"{count(n, 'customer')}, {count(th, 'thread')}")
            quiet = {**measure(n, th, min_seconds=min_seconds), "neighbours": 0}
            rows.append(quiet)
            if contention:
                if progress:
                    progress(f"{count(n, 'customer')}, {count(th, 'thread')}, {contention} neighbours")
                with neighbours(contention):
                    loaded = measure(n, th, min_seconds=min_seconds)
                rows.append({**loaded, "neighbours": contention,
                             "slowdown_step": quiet["customer_days_per_s"] / loaded["customer_days_per_s"],
                             "slowdown_run": quiet["run_customer_days_per_s"] / loaded["run_customer_days_per_s"]})
    return rows
