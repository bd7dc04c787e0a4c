"""The headline value cannot be gamed: the residual is what the pool handed over actually brings.

``residual_value`` is the discounted net profit of the reference continuation (same customers, same
random numbers), so for every policy it must equal what playing that continuation on the same
simulation realises, and taking it must leave the simulation untouched.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from experiments.cli.app import main
from policies.registry import make_policy
from sim.config import apply_overrides
from sim.defaults import CHANNELS, SMS, WECOM
from sim.engine import Simulation, continuation_policy, discount_weights, realize_residual

DAYS = 40


class Switch:
    """``first`` for all but the last ``last`` days of a ``days``-day run, then ``then``: an end-of-horizon burst."""

    def __init__(self, first, then, days: int, last: int) -> None:
        self.first, self.then, self.switch_at = first, then, days - last
        self.name = f"{first.name}+burst"
        self.t = 0

    def reset(self, n: int, seed: int) -> None:
        self.first.reset(n, seed)
        self.then.reset(n, seed)
        self.t = 0

    def act(self, obs):
        self.t += 1
        return (self.first if self.t <= self.switch_at else self.then).act(obs)


def _no_sms_every_3_days():
    return make_policy("fixed_cadence", {"content_every_days": 3, "offer_every_days": 0,
                                         "channels": ["wecom", "group", "moments", "official_account"]})


POLICIES = {
    **{kind: (lambda kind=kind: make_policy(kind)) for kind in
       ("no_contact", "blast", "fixed_cadence", "rfm_tiered", "fatigue_capped")},
    "tuned_cadence": lambda: make_policy("fixed_cadence", {"content_every_days": 10, "offer_every_days": 21,
                                                          "channels": ["wecom", "group", "moments"]}),
    "content_every_3_days_no_sms": _no_sms_every_3_days,
    "end_of_horizon_burst": lambda: Switch(make_policy("rfm_tiered"),
                                           make_policy("fixed_cadence", {"content_every_days": 1,
                                                                         "offer_every_days": 0}), DAYS, 10),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_residual_value_is_what_the_continuation_realises(beauty, name):
    sim = Simulation(beauty, 20_000, 11)
    result = sim.run(POLICIES[name](), DAYS)
    realised = realize_residual(sim)
    assert result.summary["residual_value"] == pytest.approx(realised, rel=1e-9, abs=1e-6)
    assert result.summary["total_value"] == pytest.approx(result.summary["net_profit"] + realised, rel=1e-9)
    assert result.block_residual.shape == (result.block_totals.shape[0],)


def test_taking_the_residual_leaves_the_simulation_untouched(beauty):
    a, b = Simulation(beauty, 3000, 4), Simulation(beauty, 3000, 4)
    pa, pb = make_policy("rfm_tiered"), make_policy("rfm_tiered")
    a.run(pa, 15, residual=False)
    b.run(pb, 15)
    after_a = a.run(pa, 10, residual=False).summary
    after_b = b.run(pb, 10, residual=False).summary
    assert after_a == after_b
    for k, v in a.state.arrays().items():
        assert np.array_equal(v, b.state.arrays()[k]), k


def test_reach_is_worth_what_the_continuation_brings_through_it(beauty):
    """Strip channels and the pool is worth less; SMS-only customers are worth their organic purchases."""
    sim = Simulation(beauty, 5000, 2)
    sim.run(make_policy("fatigue_capped"), 20, residual=False)
    values = {}
    for label, keep in (("all", sum(1 << c for c in range(len(CHANNELS)))), ("wecom", 1 << WECOM),
                        ("sms", 1 << SMS), ("none", 0)):
        fork = copy.deepcopy(sim)
        fork.state.reach &= np.uint8(keep)
        values[label] = fork.residual_value()
    assert values["all"] > values["wecom"] > values["none"]
    assert values["sms"] == pytest.approx(values["none"], rel=1e-9)  # the continuation never sends SMS
    assert values["none"] == pytest.approx(copy.deepcopy(sim).residual_value(make_policy("no_contact")), rel=1e-9)


def test_residual_horizon_and_discount_are_the_named_parameters(beauty):
    none = apply_overrides(beauty, {"economics.residual_horizon_days": 0.0})
    assert Simulation(none, 500, 1).residual_value() == 0.0
    w = discount_weights(beauty, 365)
    assert w[-1] == pytest.approx(1.0 / (1.0 + beauty.economics.discount_rate_per_year), rel=1e-12)
    assert np.all(np.diff(w) < 0)
    undiscounted = apply_overrides(beauty, {"economics.discount_rate_per_year": 0.0})
    s = Simulation(undiscounted, 2000, 3)
    fork = copy.deepcopy(s)
    fork.inflow = False
    days = int(undiscounted.economics.residual_horizon_days)
    plain = fork.run(continuation_policy(), days, residual=False).summary["net_profit"]
    assert s.residual_value() == pytest.approx(plain, rel=1e-9)


def test_realize_residual_on_the_command_line_writes_the_check_next_to_the_value(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--customers", "600", "--days", "12", "--seed", "5", "--realize-residual",
                 "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["residual_realized"] == pytest.approx(s["residual_value"], rel=1e-9, abs=1e-6)
    assert s["residual_days"] == 180
