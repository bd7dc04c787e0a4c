"""Response surfaces of a parameter sweep: the headline KPI at every grid point, optimum and runner-up marked.

A sweep's optimum is only as good as the grid and the seeds behind it: :func:`optima` says for each
policy where its best point sits, with that point's interval and the runner-up's, and
:meth:`Optimum.warnings` says when the optimum lies on the edge of the grid (the true optimum may lie
beyond it) or when the runner-up's interval contains the optimum's mean (the two are not told apart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.console import number
from experiments.running.results import table_cell
from experiments.running.spec import Axis, Experiment, ExperimentInfo
from experiments.stats.comparison import direction
from experiments.stats.intervals import interval
from experiments.store.tables import Table, select


def varying_policies(exp: Experiment | ExperimentInfo, runs: Table | None = None) -> list[str]:
    """Policies whose runs change across the grid (a scenario axis touches all of them).

    With ``runs``, policies whose headline is the same at every point (say, no contact under a coupon
    sweep) are left out too, unless that would leave none.
    """
    targets = {a.target for a in exp.axes}
    touched = [p for p in exp.policy_names if "scenario" in targets or p in targets]
    if runs is None:
        return touched
    moving = [p for p in touched if np.ptp(point_means(exp, runs, exp.metric, p)) > 0]
    return moving or touched


def point_means(exp: Experiment | ExperimentInfo, runs: Table, metric: str, policy: str) -> np.ndarray:
    """Mean of ``metric`` over seeds at each grid point, in point order."""
    return np.array([float(np.mean(select(runs, point=p.index, policy=policy)[metric]))
                     for p in exp.points])


def axes_of(exp: Experiment | ExperimentInfo, policy: str) -> list[Axis]:
    """The axes that change what ``policy`` does: scenario axes and the policy's own parameters."""
    return [a for a in exp.axes if a.target in ("scenario", policy)]


def surface_rows(exp: Experiment | ExperimentInfo, runs: Table, metric: str) -> list[dict[str, Any]]:
    """One row per policy and grid point: axis values, mean with its 95% interval, optimum and runner-up flags.

    The optimum of a policy is its grid point with the best mean (highest, or lowest for costs), the
    runner-up the next best among the points that differ on an axis the policy depends on; a policy
    the grid does not move (same mean everywhere) has neither. Intervals are
    :func:`experiments.stats.intervals.interval` over seeds at 95%.
    """
    sign = direction(metric) or 1
    rows = []
    for pol in exp.policy_names:
        block = []
        for p in exp.points:
            ci = interval(select(runs, point=p.index, policy=pol)[metric])
            block.append({"policy": pol, "point": p.index,
                          **{k: table_cell(v) for k, v in p.values.items()},
                          "metric": metric, "mean": ci.mean, "ci_low": ci.ci_low, "ci_high": ci.ci_high,
                          "optimum": False, "runner_up": False})
        means = np.array([sign * r["mean"] for r in block])
        if np.ptp(means) > 0:
            mine = [a.label for a in axes_of(exp, pol)]
            distinct: dict[str, int] = {}
            for i, p in enumerate(exp.points):
                distinct.setdefault(json.dumps([table_cell(p.values[a]) for a in mine]), i)
            ranked = sorted(distinct.values(), key=lambda i: (-means[i], i))
            block[ranked[0]]["optimum"] = True
            if len(ranked) > 1:
                block[ranked[1]]["runner_up"] = True
        rows += block
    return rows


@dataclass(frozen=True)
class Optimum:
    """A policy's best grid point with its interval, the runner-up's, and where the optimum sits."""

    policy: str
    metric: str
    best: dict[str, Any]
    """The optimum's surface row (axis values, mean, ci_low, ci_high)."""
    runner_up: dict[str, Any] | None
    axes: tuple[str, ...]
    """Labels of the axes the policy depends on (:func:`axes_of`)."""
    edges: tuple[str, ...]
    """Those of :attr:`axes` with 2+ values on whose first or last value the optimum sits."""

    @property
    def indistinct(self) -> bool:
        """The runner-up's interval contains the optimum's mean."""
        r = self.runner_up
        return r is not None and r["ci_low"] <= self.best["mean"] <= r["ci_high"]

    def warnings(self) -> list[str]:
        """One sentence per reason not to trust this optimum as the best setting."""
        out = []
        if self.edges:
            out.append(f"Warning: the optimum of {self.policy} sits on the edge of the grid in "
                       f"{', '.join(self.edges)}; the best setting may lie beyond the values tried.")
        if self.indistinct:
            r = self.runner_up
            assert r is not None
            out.append(f"Warning: the runner-up of {self.policy} ({point_text(r, self.axes)}, "
                       f"{self.metric} {number(r['mean'])} [{number(r['ci_low'])}, {number(r['ci_high'])}]) "
                       f"has an interval containing the optimum's mean {number(self.best['mean'])}: "
                       f"the two points are not told apart.")
        return out


def point_text(row: dict[str, Any], labels: list[str]) -> str:
    """Axis values of a surface row, as ``a = 1, b = 2``."""
    return ", ".join(f"{k} = {row[k]}" for k in labels)


def optima(exp: Experiment | ExperimentInfo, runs: Table, metric: str) -> list[Optimum]:
    """The optimum of every policy the grid moves, with its runner-up and the axes it sits on the edge of."""
    rows = surface_rows(exp, runs, metric)
    out = []
    for pol in varying_policies(exp, runs):
        mine = [r for r in rows if r["policy"] == pol]
        best = next((r for r in mine if r["optimum"]), None)
        if best is None:
            continue
        point = next(p for p in exp.points if p.index == best["point"])
        mine_axes = axes_of(exp, pol)
        edges = tuple(a.label for a in mine_axes
                      if len(a.values) > 1 and _position(a, point.values[a.label]) in (0, len(a.values) - 1))
        runner = next((r for r in mine if r["runner_up"]), None)
        out.append(Optimum(pol, metric, best, runner, tuple(a.label for a in mine_axes), edges))
    return out


def _position(axis: Axis, value: Any) -> int:
    """Index of ``value`` among the axis values (-1 when absent)."""
    for i, v in enumerate(axis.values):
        if table_cell(v) == table_cell(value):
            return i
    return -1


def sweep_warnings(exp: Experiment | ExperimentInfo, runs: Table) -> list[str]:
    """Every optimum warning of the sweep on its headline metric (empty without a grid)."""
    if not exp.axes:
        return []
    return [w for o in optima(exp, runs, exp.metric) for w in o.warnings()]


def report_point(exp: Experiment | ExperimentInfo, runs: Table) -> int:
    """The grid point the report details: where the best policy reaches its best headline value."""
    if not exp.axes:
        return exp.points[0].index
    sign = direction(exp.metric) or 1
    best = max(((sign * m, i) for pol in varying_policies(exp, runs)
                for i, m in enumerate(point_means(exp, runs, exp.metric, pol))))
    return exp.points[best[1]].index
