"""Policies see only the CRM record, act validly, and load from names and TOML files."""

from __future__ import annotations

import numpy as np
import pytest

from policies import BASELINES, load_policy, make_policy
from sim import Action, InvalidActionError, Simulation
from sim.config import ConfigError
from sim.defaults import COUPON, NO_CONTACT, SMS, WECOM

HIDDEN = ("salience", "fatigue", "trust", "deal", "need_clock", "cycle", "price_sens", "status",
          "slot_mask", "value", "dropout", "referral", "receptive")


def test_observation_exposes_no_hidden_state(beauty):
    obs = Simulation(beauty, 100, 1).observe()
    public = {name for name in dir(obs) if not name.startswith("_")}
    assert not public & set(HIDDEN)
    assert {"recency", "frequency", "monetary", "tier", "days_since_contact", "last_flags",
            "reach", "cap_left", "active_slot", "interval"} <= public
    with pytest.raises(ValueError):
        obs.reach[0] = 0  # read-only: a policy cannot change the pool


@pytest.mark.parametrize("kind", sorted(BASELINES))
def test_baselines_only_emit_valid_actions(beauty, kind):
    sim = Simulation(beauty, 2000, 3)
    policy = make_policy(kind)
    policy.reset(sim.n, sim.seed)
    for _ in range(45):  # crosses a cap window
        action = policy.act(sim.observe())
        sim.step(action)  # validate() raises on anything invalid
    assert sim.day == 45


def test_invalid_actions_are_rejected_with_the_reason(beauty):
    sim = Simulation(beauty, 50, 2)
    obs = sim.observe()
    unreachable = int(np.flatnonzero((obs.reach & (1 << SMS)) == 0)[0])
    action = Action.none(sim.n)
    action.channel[unreachable] = SMS
    with pytest.raises(InvalidActionError, match=f"customer {unreachable}: channel no longer reaches"):
        sim.step(action)
    bad = Action.none(sim.n)
    bad.channel[0] = 9
    with pytest.raises(InvalidActionError, match="channel code out of range"):
        sim.step(bad)
    with pytest.raises(InvalidActionError, match="shape"):
        sim.step(Action(np.zeros(3, np.int8), np.zeros(3, np.int8), np.zeros(3, np.int8)))
    assert sim.day == 0  # nothing was stepped


def test_caps_are_enforced_and_reset_each_window(beauty):
    sim = Simulation(beauty, 200, 5)
    cap = int(sim.params.caps[WECOM])
    obs = sim.observe()
    who = int(np.flatnonzero(obs.can_use(WECOM))[0])
    for _ in range(cap):
        a = Action.none(sim.n)
        a.channel[who], a.content[who] = WECOM, COUPON
        if not sim.observe().can_use(WECOM)[who]:
            break  # the customer deleted us
        sim.step(a)
    obs = sim.observe()
    if obs.reach[who] & (1 << WECOM):
        assert obs.cap_left[who, WECOM] == 0
        a = Action.none(sim.n)
        a.channel[who] = WECOM
        with pytest.raises(InvalidActionError, match="cap"):
            sim.step(a)
    while sim.day % 30:
        sim.step()
    assert sim.observe().cap_left[:, WECOM].min() == cap or not sim.observe().can_use(WECOM)[who]


def test_policy_from_toml_and_clear_errors(tmp_path):
    path = tmp_path / "weekly.toml"
    path.write_text('policy = "fixed_cadence"\nname = "weekly"\n[params]\ncontent_every_days = 7\n'
                    'channels = ["wecom", "moments"]\n')
    policy = load_policy(str(path))
    assert policy.name == "weekly" and policy.params.content_every_days == 7
    path.write_text('policy = "fixed_cadence"\n[params]\ncontent_every_days = -1\n')
    with pytest.raises(ConfigError, match=r"content_every_days = -1.*>= 0"):
        load_policy(str(path))
    path.write_text('policy = "fixed_cadence"\n[params]\nchannels = ["fax"]\n')
    with pytest.raises(ConfigError, match="unknown channel 'fax'"):
        load_policy(str(path))
    path.write_text('policy = "nope"\n')
    with pytest.raises(ConfigError, match="unknown policy 'nope'"):
        load_policy(str(path))
    with pytest.raises(ConfigError, match="unknown policy 'zzz'"):
        load_policy("zzz")


def test_no_contact_contacts_nobody_and_blast_contacts_everyone_reachable(beauty):
    sim = Simulation(beauty, 1000, 1)
    obs = sim.observe()
    assert (make_policy("no_contact").act(obs).channel == NO_CONTACT).all()
    blast = make_policy("blast").act(obs)
    assert ((blast.channel >= 0) == obs.reachable).all()


def test_cap_window_opens_even_when_days_are_stepped_without_observing(beauty):
    sim = Simulation(beauty, 300, 5)
    obs = sim.observe()
    who = int(np.flatnonzero(obs.can_use(SMS))[0])
    a = Action.none(sim.n)
    a.channel[who], a.content[who] = SMS, 0
    sim.step(a)
    assert sim.state.month_count[who, SMS] == 1
    while sim.day < 30:
        sim.step()  # no observe() in between
    sim.step()  # day 30 opens a new window
    assert sim.state.month_count[who, SMS] == 0

