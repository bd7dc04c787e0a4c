"""Score one rule on a set of seeds with the experiment runner, so a trial's numbers are those of ``siyu compare``.

Each (policy, seed) is a :class:`~experiments.running.runner.RunTask` run exactly as ``siyu compare``
runs it; only the named metric of its summary is kept. The seeds of a trial go to a backend
(:mod:`experiments.running.backends`: ``jobs`` local processes, or Ray) that lives as long as the
:class:`Evaluator` (starting workers per trial would cost more than a small run).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from experiments.running.backends import Backend, LocalBackend
from experiments.running.runner import RunFailure, RunsFailed, RunTask, warm_kernels
from experiments.running.spec import GridPoint, PolicySpec
from sim.config import Scenario


def _value(task: RunTask, metric: str) -> float:
    """The metric of one run."""
    return float(task.run()["summary"][metric])


class Evaluator:
    """Runs a rule with given parameters on fixed seeds and returns one metric per seed."""

    def __init__(self, scenario: Scenario, customers: int, days: int, seeds: list[int], metric: str,
                 jobs: int = 1, backend: Backend | None = None) -> None:
        self.point = GridPoint(0, {}, scenario, ())
        self.customers = customers
        self.days = days
        self.seeds = list(seeds)
        self.metric = metric
        self._own = backend is None
        self.backend = backend or LocalBackend(jobs)
        self._warm = False
        """Whether the kernels were compiled here before the first trial went to the workers."""

    def tasks(self, kind: str, params: dict[str, Any], name: str) -> list[RunTask]:
        """One run task per seed."""
        spec = PolicySpec(name, kind, params)
        return [RunTask(self.point, spec, seed, self.customers, self.days) for seed in self.seeds]

    def __call__(self, kind: str, params: dict[str, Any], name: str = "trial") -> list[float]:
        """The metric on every seed, in seed order (:class:`RunsFailed` if a seed's run raised)."""
        return self.many(kind, [(params, name)])[0]

    def many(self, kind: str, trials: list[tuple[dict[str, Any], str]]) -> list[list[float]]:
        """The metric on every seed of each (parameters, name), all sent to the workers at once."""
        tasks = [t for params, name in trials for t in self.tasks(kind, params, name)]
        if not self._warm and self.backend.workers > 1 and len(tasks) > 1:  # see warm_kernels
            warm_kernels(tasks)
            self._warm = True
        values: list[float] = [0.0] * len(tasks)
        failures = []
        for f in self.backend.map_unordered(partial(_value, metric=self.metric), tasks):
            if f.error is None:
                values[f.index] = f.value
            else:
                failures.append(RunFailure(tasks[f.index], f.error))
        if failures:
            raise RunsFailed(failures, len(tasks))
        n = len(self.seeds)
        return [values[i * n:(i + 1) * n] for i in range(len(trials))]

    def close(self) -> None:
        """Stop the workers of a backend this evaluator started (one passed in is its owner's to close)."""
        if self._own:
            self.backend.close()

    def __enter__(self) -> "Evaluator":
        """Use as a context manager, so the workers stop however the search ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the workers."""
        self.close()
