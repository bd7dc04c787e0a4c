"""Policies see only the CRM record, act validly, and load from names and TOML files."""

from __future__ import annotations

import numpy as np
import pytest

from policies import BASELINES, load_policy, make_policy
from sim import Action, InvalidActionError, Simulation
from sim.config import ConfigError
from sim.defaults import COUPON, FLASH_SALE, NO_CONTACT, SMS, WECOM

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



def _crm(day: int, rows: list[dict]):
    """An Observation built by hand: one dict of CRM fields per customer (defaults: a reachable fan)."""
    from sim.defaults import N_CHANNELS, NEVER
    from sim.observation import Observation

    def col(name, default, dtype):
        return np.array([r.get(name, default) for r in rows], dtype)

    n = len(rows)
    return Observation(day, col("reach", 0b11111, np.uint8), col("last", NEVER, np.int32),
                       col("first", NEVER, np.int32), col("freq", 0, np.int16), col("spent", 0.0, np.float32),
                       col("contact", NEVER, np.int32), col("flags", 0, np.uint8), col("slot", -1, np.int8),
                       np.zeros((n, N_CHANNELS), np.uint8), col("tier", 0, np.int8), np.full(N_CHANNELS, 30))


def test_rfm_tiered_applies_the_first_rule_of_each_segment():
    from sim.defaults import CONTENTS, EVENING, MORNING, SERVICE
    day, content = 200, CONTENTS.index("content")
    rows = [
        dict(freq=3, first=140, last=170, tier=1, slot=MORNING),  # interval 15, recency 30: due -> coupon
        dict(freq=2, first=10, last=20, tier=1),  # recency 18 intervals: lapsed -> flash sale
        dict(),  # a fan -> content
        dict(freq=3, first=190, last=199, tier=3),  # VIP, not due -> service
        dict(freq=3, first=190, last=199, tier=1),  # active, not due -> content
        dict(freq=3, first=140, last=170, tier=1, contact=199),  # due, content yesterday, no offer yet -> coupon
        dict(freq=3, first=140, last=170, tier=1, reach=0),  # due but unreachable -> nothing
    ]
    policy = make_policy("rfm_tiered", {"vip_service_every_days": 1, "lapsed_offer_every_days": 1,
                                        "active_content_every_days": 1, "fan_content_every_days": 1})
    policy.reset(len(rows), 0)
    action = policy.act(_crm(day, rows))
    assert action.channel.tolist() == [WECOM] * 6 + [NO_CONTACT]
    assert action.content.tolist()[:6] == [COUPON, FLASH_SALE, content, SERVICE, content, COUPON]
    assert action.slot.tolist() == [MORNING] + [EVENING] * 6
    # the next day the due buyers are still due, but their offer went out yesterday: content instead
    tomorrow = [dict(r, contact=day) if i in (0, 5) else r for i, r in enumerate(rows)]
    again = policy.act(_crm(day + 1, tomorrow))
    assert again.content[0] == content and again.content[5] == content


def test_rfm_tiered_counts_the_offer_gap_from_the_last_offer_not_the_last_contact():
    """Weekly content must not keep a due buyer's offer from ever coming: the gap runs from the last offer."""
    policy = make_policy("rfm_tiered", {"offer_gap_days": 14, "active_content_every_days": 1})
    policy.reset(1, 0)
    sent = []
    for day in range(200, 230):  # interval 40 days, last order 40 days ago: due every day; contacted daily
        buyer = dict(freq=3, first=day - 120, last=day - 40, tier=1, contact=day - 1)
        sent.append(int(policy.act(_crm(day, [buyer])).content[0]))
    offer_days = [200 + t for t, c in enumerate(sent) if c == COUPON]
    assert offer_days == [200, 214, 228]


def test_fatigue_capped_times_offers_and_respects_rest_and_quiet_hours():
    from sim.defaults import CONTENTS, EVENING, FLAG_COMPLAINED, NIGHT
    day = 200
    rows = [
        dict(freq=3, first=140, last=182, slot=NIGHT),  # interval 21, recency 18: in the window -> coupon
        dict(freq=3, first=140, last=182, contact=190, flags=FLAG_COMPLAINED),  # complained 10 days ago
        dict(freq=3, first=140, last=182, contact=197),  # contacted 3 days ago
        dict(freq=3, first=180, last=198),  # recency 2 of 9: too early for an offer, no content due
    ]
    policy = make_policy("fatigue_capped", {"content_every_days": 0})
    action = policy.act(_crm(day, rows))
    assert action.channel.tolist() == [WECOM, NO_CONTACT, NO_CONTACT, NO_CONTACT]
    assert action.content[0] == COUPON and action.slot[0] == EVENING  # never at night
    fans = make_policy("fatigue_capped", {"content_every_days": 1}).act(_crm(day, [dict()]))
    assert fans.channel.tolist() == [WECOM] and fans.content[0] == CONTENTS.index("content")
