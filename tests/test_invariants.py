"""Invariants that must hold for any valid scenario and any valid actions (property tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import make_policy
from policies.base import RulePolicy, build_action
from sim import Simulation, load_scenario, preset_names
from sim.config import Channel, Competition, Content, Dynamics, Economics, Groups, Landing, apply_overrides
from sim.defaults import CHANNELS, CONTENTS, GROUP, N_SLOTS, NO_CONTACT, S
from sim.kernels import (brand_share, complaint_probability, dropout_probability, need_hazard, open_probability,
                         personal_floor, purchase_probability, unsubscribe_probability)
from sim.params import pack
from sim.rng import P_POLICY, uniforms


def _field_values(model, prefix):
    """Hypothesis strategy of {dotted.path: value} over every bounded float field of ``model``."""
    out = {}
    for name, info in model.model_fields.items():
        lo = hi = None
        for meta in info.metadata:
            lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
            lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
            hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
        if info.annotation is float and lo is not None and hi is not None:
            hi = min(hi, 100.0)
            lo = max(lo, 1e-3) if any(getattr(m, "gt", None) is not None for m in info.metadata) else lo
            out[f"{prefix}{name}"] = st.floats(lo, hi, allow_nan=False)
        elif info.annotation is int and lo is not None and hi is not None:
            out[f"{prefix}{name}"] = st.integers(int(lo), int(min(hi, 31)))
    return out


def scenario_overrides():
    """Any valid combination of dynamics, economics, landing, channel and content parameters."""
    fields = {**_field_values(Dynamics, "dynamics."), **_field_values(Economics, "economics."),
              **_field_values(Landing, "landing.")}
    fields.update(_field_values(Channel, f"channels.{CHANNELS[0]}."))
    fields.update(_field_values(Content, f"contents.{CONTENTS[3]}."))
    return st.fixed_dictionaries({}, optional=fields)


class RandomValid(RulePolicy):
    """Contacts a random share of customers on a random usable channel, content and slot."""

    kind = "random_valid"

    def __init__(self, share: float) -> None:
        super().__init__()
        self.share = share

    def act(self, obs):
        u = uniforms(self.seed, obs.day, P_POLICY, obs.n)
        channel = np.full(obs.n, NO_CONTACT, np.int8)
        for k in range(len(CHANNELS)):
            c = (obs.day + k) % len(CHANNELS)
            channel[(channel == NO_CONTACT) & obs.can_use(c) & (u < self.share)] = c
        content = (u * 1000).astype(np.int64) % len(CONTENTS)
        slot = (u * 7919).astype(np.int64) % N_SLOTS
        return build_action(channel, content, slot)


def check_run(sim: Simulation, result) -> None:
    """Everything that must hold after any run."""
    st_ = sim.state
    for name, arr in st_.arrays().items():
        if arr.dtype.kind == "f":
            assert np.isfinite(arr).all(), name
    for name in ("salience", "trust", "deal"):
        a = getattr(st_, name)
        assert (a >= 0).all() and (a <= 1).all(), name
    assert (st_.fatigue >= 0).all()
    assert (st_.monetary >= 0).all() and (st_.frequency >= 0).all()
    for name, series in result.daily.items():
        assert np.isfinite(series).all(), name
    d = result.daily
    # every customer who ever joined is in exactly one state; joined = initial + acquired (incl. referred),
    # joiners of day t being counted from day t + 1
    assert np.array_equal(d["reachable"] + d["unreachable"] + d["dropped"], d["joined"])
    assert np.array_equal(d["joined"], sim.customers + np.concatenate([[0], np.cumsum(d["acquired"])[:-1]]))
    assert d["joined"][-1] + d["acquired"][-1] == sim.joined <= sim.n
    assert int((st_.status != 2).sum()) == sim.joined
    assert np.all(np.diff(d["dropped"]) >= 0)  # leaving is for good
    s = result.summary
    costs = (s["incentive_cost"] + s["contact_cost"] + s["acquisition_cost"] + s["running_cost"]
             + s["platform_fees"])
    assert math.isclose(s["net_profit"], s["gross_margin"] - costs, rel_tol=1e-12, abs_tol=1e-6)
    assert math.isclose(s["total_value"], s["net_profit"] + s["residual_value"], rel_tol=1e-12)
    assert s["purchases"] == s["purchases_contacted"] + s["purchases_organic"]
    assert s["opens"] <= s["contacts"]
    assert s["revenue"] >= 0 and s["incentive_cost"] >= 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=scenario_overrides(), share=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_any_valid_scenario_keeps_every_invariant(beauty, overrides, share, seed):
    scenario = apply_overrides(beauty, overrides)
    sim = Simulation(scenario, 700, seed)
    check_run(sim, sim.run(RandomValid(share), 25))


@settings(max_examples=300, deadline=None)
@given(overrides=scenario_overrides(), x=st.lists(st.floats(0, 1), min_size=8, max_size=8),
       fatigue=st.floats(0, 1e6), clock=st.integers(0, 30000), cycle=st.floats(1, 3650),
       in_window=st.integers(0, 1))
def test_probabilities_lie_in_unit_interval(beauty, overrides, x, fatigue, clock, cycle, in_window):
    scenario = apply_overrides(beauty, overrides)
    p = pack(scenario)
    sal, tr, deal, ps, rec, disc, conv, rate = x
    sf = fatigue / (1 + fatigue)
    need = min((clock / cycle) ** 2, 1.5)
    values = [
        open_probability(rate, sal, sf, in_window, p.customer),
        purchase_probability(conv, need, tr, disc, deal, ps, rate, rec, p.customer),
        unsubscribe_probability(rate, sf), complaint_probability(rate, sf, 5.0 * rate),
        need_hazard(float(clock), 1.0 / cycle, p.customer.need_hazard, p.customer.need_onset,
                    p.customer.need_impulse),
        dropout_probability(rate, sal, p.customer.dropout_salience),
        brand_share(sal, tr, deal, ps, 0.0, p.customer.share_floor, p.customer),
        floor := personal_floor(p.customer.share_floor, p.customer.share_floor_spread, rate * 1e-2,
                                p.customer.dropout_median_per_day),
        brand_share(sal, tr, deal, ps, 0.0, floor, p.customer),
    ]
    for v in values:
        assert 0.0 <= v <= 1.0 and math.isfinite(v)


def test_deal_conditioning_stays_a_share_under_extreme_learning(beauty):
    """Regression: with deal_learning 1 and a 95% coupon the awaited discount once exceeded 1."""
    scenario = apply_overrides(beauty, {"dynamics.deal_learning": 1.0, "contents.coupon.discount": 0.95,
                                        "contents.flash_sale.discount": 0.95})
    sim = Simulation(scenario, 700, 3)
    check_run(sim, sim.run(RandomValid(1.0), 25))
    assert sim.state.deal.max() > 0.9  # the extreme case was reached


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("policy", ["no_contact", "blast", "rfm_tiered", "fatigue_capped", "fixed_cadence"])
def test_every_preset_runs_every_baseline_within_invariants(name, policy):
    scenario = load_scenario(name)
    sim = Simulation(scenario, 3000, 4)
    check_run(sim, sim.run(make_policy(policy), 60))


def test_reward_output_adds_up_to_daily_net_profit(beauty):
    sim = Simulation(beauty, 3000, 9)
    policy = make_policy("fixed_cadence", {"content_every_days": 2, "offer_every_days": 5})
    policy.reset(sim.n, sim.seed)
    reward = np.zeros(sim.n)
    for _ in range(20):
        blocks = sim.step(policy.act(sim.observe()), reward)
        day = blocks.sum(axis=0)
        net = day[S["gross_margin"]] - day[S["incentive_cost"]] - day[S["contact_cost"]]
        assert math.isclose(reward.sum(), net, rel_tol=1e-9, abs_tol=1e-6)  # pool-level costs are apart


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=st.fixed_dictionaries({}, optional={
           **_field_values(Dynamics, "dynamics."), **_field_values(Groups, "groups."),
           **_field_values(Competition, "competition.")}),
       share=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_fast_path_equals_the_full_day_for_any_valid_scenario(beauty, overrides, share, seed):
    """Resting rows are finished by a vectorized pass; whatever the parameters (tiny groups, strong
    rivals, shills), they must end exactly where the full day would put them."""
    scenario = apply_overrides(beauty, overrides)
    ends = []
    for full in (False, True):
        sim = Simulation(scenario, 2500, seed)
        sim.full_days = full
        sim.run(RandomValid(share), 12)
        ends.append(sim.state.arrays())
    for name, arr in ends[0].items():
        assert np.array_equal(arr, ends[1][name]), name


def test_groups_resting_alike_or_apart_end_where_the_full_day_puts_them(beauty):
    """The rest pass takes groups with no leave day and the same trust hit in one run; public complaints in two
    adjacent groups and a lone one give runs of groups hit alike and apart, and every row still ends where the
    full day puts it (and the hits did land)."""
    ends, trust_hits = [], []
    for full in (False, True, None):  # None: the fast path without the complaints
        sim = Simulation(beauty, 6000, 3)
        sim.full_days = bool(full)
        size, hit_days = sim.world.groups.size, 0
        for day in range(12):
            if full is not None and day in (2, 3, 7):
                for g in (3, 4, 9):
                    members = np.flatnonzero((sim.state.reach[g * size:(g + 1) * size] >> GROUP) & 1)
                    sim.inject_complaint(g * size + int(members[0]))
            sim.step()
            hit_days += int((sim.world.groups.trust_hit[[3, 4, 9]] > 0).all())
        ends.append(sim.state.arrays())
        trust_hits.append(hit_days)
    for name, arr in ends[0].items():
        assert np.array_equal(arr, ends[1][name]), name
    assert trust_hits == [3, 3, 0]
    assert not np.array_equal(ends[0]["trust"], ends[2]["trust"])
