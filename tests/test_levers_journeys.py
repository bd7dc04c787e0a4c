"""The journeys lever (docs/model.md, "Journeys"): sequences keyed to a customer's own events.

A welcome sequence with a first-order gift raises the share of store joiners who buy within two weeks
of joining (``conftest.proportion_z`` on the joiners of two runs with the same seed); the steps fire on
each customer's own days, event offers on the first day of a calendar event, and bad parameters are
refused in one line.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from conftest import Z, proportion_z
from policies import make_policy
from sim import Simulation, load_scenario
from sim.config import ConfigError, apply_overrides
from sim.defaults import COUPON, FLASH_SALE, NEW_PRODUCT, NO_CONTACT, ORIGIN_STORE, SERVICE, STAT_NAMES

N = 20_000
SEED = 11
DAYS = 120
WINDOW = 14
"""Days after joining within which a first order counts as converted by the welcome."""


def first_order_conversion(scenario, policy) -> tuple[int, int]:
    """(store joiners of days 1-100, those who bought within WINDOW days of joining)."""
    sim = Simulation(scenario, N, SEED)
    result = sim.run(policy, DAYS, residual=False)
    joined_on = np.repeat(np.arange(1, DAYS + 1), result.daily["acquired"].astype(np.int64))  # rows in join order
    assert N + joined_on.size == sim.joined
    rows = slice(N, sim.joined)
    store = (sim.state.origin[rows] == ORIGIN_STORE) & (joined_on <= DAYS - 20)
    first = sim.state.first_purchase[rows]
    converted = store & (first >= joined_on) & (first - joined_on < WINDOW)
    return int(store.sum()), int(converted.sum())


def test_a_welcome_sequence_raises_first_order_conversion(beauty):
    # more store visitors than the preset's 40 a day, so that the joiners of one run give the power
    sc = apply_overrides(beauty, {"acquisition.store_visitors_per_day": 200.0})
    n0, x0 = first_order_conversion(sc, make_policy("fatigue_capped"))
    n1, x1 = first_order_conversion(sc, make_policy("journeys"))  # fatigue_capped plus the default welcome
    assert n0 > 3000 and n1 > 3000
    assert proportion_z(x0, n0, x1, n1) > Z


def actions_by_day(scenario, policy, days, n=3000):
    sim = Simulation(scenario, n, SEED)
    policy.reset(sim.n, sim.seed)
    out = []
    for _ in range(days):
        obs = sim.observe()
        action = policy.act(obs)
        out.append((obs.frequency.copy(), action.channel.copy(), action.content.copy()))  # obs is a view of today
        sim.step(action)
    return sim, out


def test_steps_fire_on_each_customers_own_days_and_stop_at_the_first_order(beauty):
    policy = make_policy("journeys", {"base": "no_contact", "welcome": [[0, "new_product"], [3, "coupon"]]})
    sim, days = actions_by_day(beauty, policy, 12)
    contacted = np.zeros(sim.n, bool)
    for d, (frequency, channel, content) in enumerate(days):
        sent = np.flatnonzero(channel != NO_CONTACT)
        contacted[sent] = True
        joined = policy.joined[sent]
        assert d > 0 or sent.size == 0  # the pool it started with gets no welcome
        assert np.all((joined == d) | (joined == d - 3)), d
        assert np.all(content[sent][joined == d] == NEW_PRODUCT)
        assert np.all(content[sent][joined == d - 3] == COUPON)
        assert np.all(frequency[sent] == 0)  # a first order ends the sequence
    assert contacted.sum() > 50


def test_event_offers_go_out_on_the_first_day_of_an_event(beauty):
    sale = {"name": "double11", "kind": "big_sale", "start_day": 10, "days": 2, "need_pull": 0.2, "discount": 0.1}
    sc = apply_overrides(beauty, {"calendar.events": [sale]})
    policy = make_policy("journeys", {"base": "no_contact", "welcome": [], "event_offer": "coupon",
                                      "event_min_gap_days": 0})
    _, days = actions_by_day(sc, policy, 12)
    sent = [int((ch != NO_CONTACT).sum()) for _, ch, _ in days]
    assert sent[10] > 2000 and sum(sent) == sent[10]
    assert np.all(days[10][2][days[10][1] != NO_CONTACT] == COUPON)


@pytest.mark.parametrize("params, says", [({"base": "journeys"}, "base 'journeys'"),
                                          ({"base": "nope"}, "base 'nope'"),
                                          ({"welcome": [[-1, "coupon"]]}, "welcome steps need days >= 0"),
                                          ({"winback": [[3, "gift"]]}, "unknown content 'gift'"),
                                          ({"base_params": {"min_gap_days": 0}}, "min_gap_days")])
def test_bad_journey_parameters_are_refused_in_one_line(params, says):
    with pytest.raises(ConfigError) as err:
        make_policy("journeys", params)
    assert says in str(err.value)


def test_a_win_back_starts_on_the_day_a_buyer_first_looks_lapsed(beauty):
    # a low lapse threshold, so that many buyers cross it within twelve days (few start past it)
    policy = make_policy("journeys", {"base": "no_contact", "welcome": [], "lapsed_after": 0.8,
                                      "winback": [[0, "service"], [5, "flash_sale"]]})
    sim, days = actions_by_day(beauty, policy, 12)
    firsts = np.full(sim.n, -1)
    for d, (_, channel, content) in enumerate(days):
        sent = np.flatnonzero(channel != NO_CONTACT)
        assert set(content[sent].tolist()) <= {SERVICE, FLASH_SALE}
        first = sent[content[sent] == SERVICE]
        assert np.all(firsts[first] == -1)  # one win-back start per lapse
        firsts[first] = d
        again = sent[content[sent] == FLASH_SALE]
        assert np.all(firsts[again] == d - 5)  # the second step comes five days after the first
    assert (firsts == 0).sum() > 100 and (firsts > 0).sum() > 10  # the lapsed pool at the start, then new lapses


def test_every_lever_at_once_is_bit_identical_across_thread_counts():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    params = {"event_offer": "content", "ask_after_order_days": 7, "ask_min_orders": 1,
              "winback": [[0, "service"], [7, "coupon"]]}
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            sim = Simulation(load_scenario("mother_baby"), 5000, 3)
            runs.append((sim.run(make_policy("journeys", params), 40), sim.state.arrays()))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    (a, sa), (b, sb) = runs
    assert a.summary["referrals"] > 0 and a.summary["contacts"] > 0
    for name in STAT_NAMES:
        assert np.array_equal(a.daily[name], b.daily[name]), name
    assert a.summary["total_value"] == b.summary["total_value"]
    for field, arr in sa.items():
        assert np.array_equal(arr, sb[field]), field
