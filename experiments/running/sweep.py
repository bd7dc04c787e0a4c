"""Response surfaces of a parameter sweep: the headline KPI at every grid point, optimum marked."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.stats.comparison import direction
from experiments.running.results import table_cell
from experiments.running.spec import Experiment, ExperimentInfo
from experiments.stats.bootstrap import bootstrap_indices, bootstrap_mean
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


def surface_rows(exp: Experiment | ExperimentInfo, runs: Table, metric: str) -> list[dict[str, Any]]:
    """One row per policy and grid point: axis values, mean with bootstrap 95% CI, and the optimum flag.

    The optimum of a policy is its grid point with the best mean (highest, or lowest for costs); a
    policy the grid does not move (same mean everywhere) has none.
    """
    plan = bootstrap_indices(len(exp.seeds))
    sign = direction(metric) or 1
    rows = []
    for pol in exp.policy_names:
        block = []
        for p in exp.points:
            mean, lo, hi = bootstrap_mean(select(runs, point=p.index, policy=pol)[metric], plan)
            block.append({"policy": pol, "point": p.index,
                          **{k: table_cell(v) for k, v in p.values.items()},
                          "metric": metric, "mean": mean, "ci_low": lo, "ci_high": hi, "optimum": False})
        means = np.array([sign * r["mean"] for r in block])
        if np.ptp(means) > 0:
            block[int(np.argmax(means))]["optimum"] = True
        rows += block
    return rows


def report_point(exp: Experiment | ExperimentInfo, runs: Table) -> int:
    """The grid point the report details: where the best policy reaches its best headline value."""
    if not exp.axes:
        return exp.points[0].index
    sign = direction(exp.metric) or 1
    best = max(((sign * m, i) for pol in varying_policies(exp, runs)
                for i, m in enumerate(point_means(exp, runs, exp.metric, pol))))
    return exp.points[best[1]].index
