"""A personal share floor (``dynamics.share_floor_spread``): the brand's fade without contact falls on the leavers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from policies.registry import make_policy
from sim.config import apply_overrides
from sim.engine import Simulation
from sim.kernels import personal_floor
from sim.params import pack


def test_the_floor_is_everyones_at_spread_zero_and_its_odds_follow_the_dropout_ratio():
    assert personal_floor(0.25, 0.0, 1e-3, 2e-3) == 0.25
    assert personal_floor(0.0, 1.5, 1e-3, 2e-3) == 0.0 and personal_floor(1.0, 1.5, 1e-3, 2e-3) == 1.0
    assert personal_floor(0.25, 1.5, 2e-3, 2e-3) == pytest.approx(0.25, abs=1e-15)  # the median customer keeps it
    loyal, drifting = personal_floor(0.25, 1.5, 0.5e-3, 2e-3), personal_floor(0.25, 1.5, 8e-3, 2e-3)
    odds = 0.25 / 0.75
    assert loyal / (1 - loyal) == pytest.approx(odds * 4.0 ** 1.5, rel=1e-12)
    assert drifting / (1 - drifting) == pytest.approx(odds / 4.0 ** 1.5, rel=1e-12)


def test_the_reference_is_the_median_of_the_dropout_hazards(beauty):
    scenario = apply_overrides(beauty, {"population.dropout_per_year": 2.0, "population.dropout_sigma": 1.2})
    assert pack(scenario).customer.dropout_median_per_day == pytest.approx(2.0 / 365 * math.exp(-0.72), rel=1e-12)


def _new_orders(beauty, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's dropout hazard and orders over a year without contact, in a pool where nobody leaves."""
    scenario = apply_overrides(beauty, {"dynamics.share_floor_spread": spread, "dynamics.need_impulse": 1.0,
                                        "dynamics.dropout_salience": 0.0, "population.dropout_per_year": 1e-3,
                                        "population.dropout_sigma": 1.0})
    sim = Simulation(scenario, 6000, 11)
    n = sim.customers
    before = sim.state.frequency[:n].copy()
    sim.run(make_policy("no_contact"), 365)
    return sim.state.dropout[:n].copy(), (sim.state.frequency[:n] - before).astype(float)


def _loyal_gap(dropout: np.ndarray, orders: np.ndarray) -> tuple[float, float]:
    """Mean orders of the least likely quarter to leave less the most likely quarter's, and its standard error."""
    low, high = np.quantile(dropout, [0.25, 0.75])
    a, b = orders[dropout <= low], orders[dropout >= high]
    return a.mean() - b.mean(), math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


def test_loyal_customers_keep_buying_without_contact_only_when_the_floor_has_a_spread(beauty):
    gap, se = _loyal_gap(*_new_orders(beauty, 0.0))
    assert abs(gap) < 3 * se  # the dropout draw is independent of the cycle: no gap but noise
    gap, se = _loyal_gap(*_new_orders(beauty, 1.5))
    assert gap > 6 * se  # floors 0.25 around the median, about 0.78 in the loyal quarter's middle


def test_the_fit_can_add_the_floor_s_spread_and_it_moves_who_goes_on_buying(tmp_path, beauty):
    """``siyu calibrate --fit dynamics.share_floor_spread``: the parameter reaches the simulated log, and a loyal
    core's floor raises the persistence statistic (the share of the middle third's buyers still buying late)."""
    from conftest import engine_histories
    from experiments.calibrate import fit as F
    _, h, _ = engine_histories(tmp_path / "tx.csv", 1500, 360, 3)
    problem = F._problem(h, "auto", 4000, ("dynamics.share_floor_spread",), F.EXTRA_NAMES + (F.PERSISTENCE,), ())
    assert problem.names[-1] == "dynamics.share_floor_spread" and problem.stat_names[-1] == F.PERSISTENCE
    base = apply_overrides(beauty, {"dynamics.need_impulse": 1.0, "dynamics.dropout_salience": 0.0,
                                    "population.dropout_sigma": 1.5})
    theta = np.log([F.scenario_value(base, n) if n != problem.names[-1] else 1e-3 for n in problem.names])
    none, log = problem.binding(base, 0, theta)
    theta[-1] = math.log(1.0)
    loyal, _ = problem.binding(base, 0, theta)
    customers = int((log.histories.mid > 0).sum())
    se = math.sqrt(none[-1] * (1 - none[-1]) / customers)  # binomial, of the simulated share at spread ~0
    assert loyal[-1] - none[-1] > 5 * se  # common random numbers: about 3.5 SEs of two independent shares
