"""What each policy does, in words: rule sentences from the policy classes and contact mixes from the tables."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.reporting.mix import contact_mix, describe_entry
from policies import make_policy
from policies.baselines import BASELINES
from sim.defaults import CHANNELS, CONTENTS


@pytest.mark.parametrize("kind", sorted(BASELINES))
def test_every_baseline_describes_its_rule_and_every_parameter(kind):
    policy = make_policy(kind)
    text = policy.describe()
    first = BASELINES[kind].__doc__.strip().splitlines()[0].rstrip(".")
    assert text.startswith(first)
    for name in type(policy.params).model_fields:
        assert f"{name} = " in text


def test_changed_only_lists_the_parameters_that_differ_from_the_defaults():
    entry = {"name": "weekly", "kind": "fixed_cadence", "params": {"content_every_days": 3, "channels": ["wecom"]}}
    short = describe_entry(entry, changed_only=True)
    assert short.endswith("Parameters: content_every_days = 3, channels = wecom.")
    assert "offer_every_days = 30" in describe_entry(entry)
    assert describe_entry({"name": "fixed_cadence", "kind": "fixed_cadence", "params": {}}, True).endswith(
        "Default parameters.")
    assert describe_entry({"name": "agent", "kind": None, "ref": "rl:runs/m/model.zip"}).startswith(
        "Loaded from rl:runs/m/model.zip")


def test_contact_mix_counts_channels_content_and_customer_months():
    """Two seeds of 15 days, a pool of 100: 90 contacts -> 90 / 3,000 customer-days * 30 = 0.9 per month."""
    days, seeds = 15, 2
    daily = {"policy": np.array(["a"] * days * seeds + ["b"] * days * seeds),
             "reachable": np.full(2 * days * seeds, 80.0), "unreachable": np.full(2 * days * seeds, 20.0),
             "contacts": np.r_[np.full(days * seeds, 3.0), np.zeros(days * seeds)]}
    for ch in CHANNELS:
        daily[f"{ch}_delivered"] = np.r_[np.full(days * seeds, 2.0 if ch == "wecom" else 0.25 if ch == "sms" else 0),
                                         np.zeros(days * seeds)]
    segments = {"policy": np.array(["a", "a", "b"])}
    sent = {"content": [60.0, 15.0, 0.0], "coupon": [10.0, 5.0, 0.0]}
    for c in CONTENTS:
        segments[f"contacts_{c}"] = np.array(sent.get(c, [0.0] * 3))
    mix = contact_mix(daily, segments, "a")
    assert mix.per_customer_month == pytest.approx(0.9)
    assert mix.by_channel["wecom"] == pytest.approx(2.0 / 2.25) and sum(mix.by_channel.values()) == pytest.approx(1.0)
    assert mix.channel_text() == "wecom 89%, sms 11%"
    assert mix.content_text() == "content 83%, coupon 17%"
    silent = contact_mix(daily, segments, "b")
    assert silent.per_customer_month == 0 and silent.channel_text() == silent.content_text() == "none"
