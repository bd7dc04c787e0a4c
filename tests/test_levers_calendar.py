"""The calendar lever (docs/model.md, "The calendar"): events that shift need and attention for everyone.

A big sale pulls purchases forward: more that week, fewer in the weeks after (the needs are already
met), at the event price and the event's running cost. Each claim compares runs on the same seed
(common random numbers) over the same blocks of customers (``conftest.paired_z``).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Z, paired_z
from policies import make_policy
from sim import Simulation, load_scenario
from sim.config import ConfigError, apply_overrides
from sim.params import ORDINARY_DAY, calendar_today, days_to_event

N = 20_000
SEED = 11
SALE = {"name": "618", "kind": "big_sale", "start_day": 60, "days": 3, "need_pull": 0.3, "attention": 1.3,
        "discount": 0.15, "cost_yuan": 2000.0}


def with_events(scenario, *events):
    return apply_overrides(scenario, {"calendar.events": list(events)})


def phases(scenario, days=(60, 7, 28)):
    """The same pool under fatigue_capped, cut into consecutive runs: before, the event's week, after."""
    sim = Simulation(scenario, N, SEED)
    policy = make_policy("fatigue_capped")
    return [sim.run(policy, d, residual=False) for d in days]


def test_an_empty_calendar_is_every_day_ordinary_and_keeps_the_config_hash(beauty):
    assert beauty.calendar.events == []
    assert all(calendar_today(beauty, d) == ORDINARY_DAY for d in range(0, 800, 7))
    on = with_events(beauty, SALE)
    assert on.config_hash() != beauty.config_hash()
    assert with_events(on).config_hash() == beauty.config_hash()


def test_events_repeat_and_overlapping_events_combine(beauty):
    yearly = dict(SALE, every_days=365)
    live = {"name": "live", "kind": "live_stream", "start_day": 61, "days": 1, "need_pull": 0.1, "attention": 1.5,
            "discount": 0.2, "cost_yuan": 500.0}
    sc = with_events(beauty, yearly, live)
    assert calendar_today(sc, 59) == ORDINARY_DAY
    assert [calendar_today(sc, d).day for d in (60, 62, 63, 425, 427)] == [0, 2, -1, 0, 2]
    both = calendar_today(sc, 61)
    assert (both.name, both.kind, both.day) == ("618", "big_sale", 1)
    assert both.need_pull == 0.3 and both.discount == 0.2 and both.cost == 2500.0
    assert both.attention == pytest.approx(1.3 * 1.5)
    assert [days_to_event(sc, d) for d in (0, 60, 61, 62, 63, 424, 425)] == [60, 0, 0, 363, 362, 1, 0]
    assert days_to_event(with_events(beauty, SALE), 61) == -1 and days_to_event(beauty, 0) == -1


def test_an_event_longer_than_its_period_is_refused_in_one_line(beauty):
    with pytest.raises(ConfigError) as err:
        with_events(beauty, dict(SALE, every_days=2))
    assert "calendar.events.0" in str(err.value) and "every_days" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_big_sale_raises_purchases_that_week_and_lowers_them_after(beauty):
    before0, week0, after0 = phases(beauty)
    before1, week1, after1 = phases(with_events(beauty, SALE))
    assert np.array_equal(before0.block_value("purchases"), before1.block_value("purchases"))  # nothing before
    assert paired_z(week0, week1, "purchases")[2] > Z  # pulled forward into the sale
    assert paired_z(after0, after1, "purchases")[2] < -Z  # and missing in the weeks after
    # the event price is an incentive cost on every purchase that week, and each event day costs its running cost
    assert paired_z(week0, week1, "incentive_cost")[2] > Z
    assert week1.summary["running_cost"] - week0.summary["running_cost"] == pytest.approx(3 * SALE["cost_yuan"])


def test_the_policy_sees_the_brands_own_calendar(beauty):
    sim = Simulation(with_events(beauty, SALE), 2_000, SEED)
    seen = []
    for _ in range(64):
        obs = sim.observe()
        seen.append((obs.event, obs.event_kind, obs.event_day, obs.days_to_event))
        sim.step()
    assert seen[0] == ("", "", -1, 60) and seen[59] == ("", "", -1, 1)
    assert seen[60:63] == [("618", "big_sale", 0, 0), ("618", "big_sale", 1, -1), ("618", "big_sale", 2, -1)]
    assert seen[63] == ("", "", -1, -1)


def test_a_rule_that_announces_the_events_beats_the_same_rule_that_ignores_them():
    """On mother_baby with only its calendar lever (accounts and group folding off, as before the preset turned
    them on; they move opens and the paired noise, not the calendar): fatigue_capped, and fatigue_capped plus
    content on each event's first day."""
    scenario = apply_overrides(load_scenario("mother_baby"), {
        "staff.personal_open_lift": 1.0, "staff.personal_trust_lift": 1.0, "staff.wecom_extra_delay_hours": 0.0,
        "platform.group_fold_per_week": 0.0})
    ignores = Simulation(scenario, N, 5).run(make_policy("fatigue_capped"), 180)
    joins = Simulation(scenario, N, 5).run(make_policy("journeys", {"welcome": [], "event_offer": "content"}), 180)
    assert paired_z(ignores, joins, "total_value")[2] > Z
