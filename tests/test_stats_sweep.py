"""Sweep optima: the optimum with its interval and the runner-up's, and the warnings that keep it honest."""

from __future__ import annotations

import itertools

import numpy as np

from experiments.running.spec import Axis, ExperimentInfo, PointInfo
from experiments.running.sweep import optima, surface_rows, sweep_warnings

SEEDS = [0, 1, 2, 3, 4]


def sweep(axes: list[Axis], means: dict[str, callable], noise: float = 0.1) -> tuple[ExperimentInfo, dict]:
    """A recorded sweep whose runs have the given mean per policy and point, plus seeded noise."""
    points = [PointInfo(i, {a.label: v for a, v in zip(axes, combo)})
              for i, combo in enumerate(itertools.product(*(a.values for a in axes)))]
    info = ExperimentInfo({}, list(means), SEEDS, "total_value", axes, points)
    rng = np.random.default_rng(0)
    cols: dict[str, list] = {"point": [], "policy": [], "seed": [], "total_value": []}
    for p in points:
        for pol, mean in means.items():
            for s in SEEDS:
                cols["point"].append(p.index)
                cols["policy"].append(pol)
                cols["seed"].append(s)
                cols["total_value"].append(mean(p.values) + noise * rng.normal())
    return info, {k: np.array(v) for k, v in cols.items()}


CAD = Axis("cad.k", "cad", "k", (1, 2, 3, 4))


def test_an_interior_clear_optimum_has_no_warning():
    info, runs = sweep([CAD], {"ref": lambda v: 0.0, "cad": lambda v: -(v["cad.k"] - 2) ** 2 * 10})
    (o,) = optima(info, runs, "total_value")
    assert o.policy == "cad" and o.best["cad.k"] == 2 and o.edges == ()
    assert o.runner_up is not None and o.runner_up["cad.k"] in (1, 3)
    assert o.best["ci_low"] < o.best["mean"] < o.best["ci_high"] and not o.indistinct
    assert sweep_warnings(info, runs) == []


def test_an_optimum_on_the_edge_of_the_grid_is_flagged():
    info, runs = sweep([CAD], {"ref": lambda v: 0.0, "cad": lambda v: 10.0 * v["cad.k"]})
    (o,) = optima(info, runs, "total_value")
    assert o.best["cad.k"] == 4 and o.edges == ("cad.k",) and o.runner_up["cad.k"] == 3
    (warning,) = sweep_warnings(info, runs)
    assert "optimum of cad sits on the edge of the grid in cad.k" in warning


def test_a_runner_up_whose_interval_holds_the_optimum_mean_is_flagged():
    info, runs = sweep([CAD], {"ref": lambda v: 0.0, "cad": lambda v: {1: 0.0, 2: 10.0, 3: 10.05, 4: 0.0}[v["cad.k"]]},
                       noise=1.0)
    (o,) = optima(info, runs, "total_value")
    assert o.best["cad.k"] in (2, 3) and o.edges == () and o.indistinct
    (warning,) = sweep_warnings(info, runs)
    assert f"runner-up of cad (cad.k = {o.runner_up['cad.k']}" in warning and "not told apart" in warning


def test_edges_and_runner_up_only_count_the_axes_a_policy_depends_on():
    """The reference moves only with the scenario axis: its runner-up is another coupon depth, never a copy."""
    coupon = Axis("coupon", "scenario", "contents.coupon.discount", (0.05, 0.15, 0.25))
    info, runs = sweep([coupon, CAD], {
        "ref": lambda v: -abs(v["coupon"] - 0.15) * 100,
        "cad": lambda v: -abs(v["coupon"] - 0.15) * 100 - (v["cad.k"] - 3) ** 2})
    found = {o.policy: o for o in optima(info, runs, "total_value")}
    assert found["ref"].axes == ("coupon",) and found["ref"].edges == ()
    assert found["ref"].runner_up["coupon"] != found["ref"].best["coupon"]
    assert found["cad"].axes == ("coupon", "cad.k") and found["cad"].best["cad.k"] == 3
    rows = surface_rows(info, runs, "total_value")
    assert sum(r["optimum"] for r in rows) == 2 and sum(r["runner_up"] for r in rows) == 2


def test_on_a_two_value_axis_every_optimum_is_on_the_edge():
    axis = Axis("cad.k", "cad", "k", (1, 2))
    info, runs = sweep([axis], {"cad": lambda v: float(v["cad.k"])})
    (o,) = optima(info, runs, "total_value")
    assert o.edges == ("cad.k",)


def test_a_policy_the_grid_does_not_move_has_no_optimum():
    info, runs = sweep([CAD], {"ref": lambda v: 5.0, "cad": lambda v: float(v["cad.k"])}, noise=0.0)
    assert [o.policy for o in optima(info, runs, "total_value")] == ["cad"]
    assert not any(r["optimum"] for r in surface_rows(info, runs, "total_value") if r["policy"] == "ref")
