"""Score one rule on a set of seeds with the experiment runner, so a trial's numbers are those of ``siyu compare``.

Each (policy, seed) is a :class:`~experiments.running.runner.RunTask` run exactly as ``siyu compare``
runs it; only the named metric of its summary is kept. With ``jobs > 1`` the seeds of a trial run in
a pool of worker processes that lives as long as the :class:`Evaluator` (starting processes per trial
would cost more than a small run).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from experiments.running.runner import RunTask
from experiments.running.spec import GridPoint, PolicySpec
from sim.config import Scenario


def _value(task: RunTask, metric: str, threads: int = 0) -> float:
    """The metric of one run (in a worker process, first giving numba its share of the cores)."""
    if threads:
        import numba
        numba.set_num_threads(threads)
    return float(task.run()["summary"][metric])


class Evaluator:
    """Runs a rule with given parameters on fixed seeds and returns one metric per seed."""

    def __init__(self, scenario: Scenario, customers: int, days: int, seeds: list[int], metric: str,
                 jobs: int = 1) -> None:
        self.point = GridPoint(0, {}, scenario, ())
        self.customers = customers
        self.days = days
        self.seeds = list(seeds)
        self.metric = metric
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def tasks(self, kind: str, params: dict[str, Any], name: str) -> list[RunTask]:
        """One run task per seed."""
        spec = PolicySpec(name, kind, params)
        return [RunTask(self.point, spec, seed, self.customers, self.days) for seed in self.seeds]

    def __call__(self, kind: str, params: dict[str, Any], name: str = "trial") -> list[float]:
        """The metric on every seed, in seed order."""
        tasks = self.tasks(kind, params, name)
        if self.jobs <= 1 or len(tasks) <= 1:
            return [_value(t, self.metric) for t in tasks]
        pool = self._workers()
        return list(pool.map(_value, tasks, [self.metric] * len(tasks), [self._threads()] * len(tasks)))

    def _threads(self) -> int:
        import numba
        return max(1, numba.config.NUMBA_NUM_THREADS // self.jobs)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            # spawn, not fork: forking a process whose numba thread pool is running is not safe
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Evaluator":
        """Use as a context manager, so the workers stop however the search ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the workers."""
        self.close()
