"""CRM segments, defined once: the repurchase interval, the repurchase ratio and the lifecycle segments.

Everything here is computed from the CRM record (:class:`sim.observation.Observation`): purchase
count, recency, purchase interval and member tier; never from hidden state. The report
(:mod:`experiments.recording`), ``Pool-v1`` (:mod:`sim.envs.pool`) and the rule baselines
(:mod:`policies.baselines`) all segment customers through this module, so a "lapsed" customer is the
same customer everywhere.

A customer is in the first segment of :data:`SEGMENTS` whose rule applies, in the order fan, lapsed,
vip, due, new, repeat:

* fan: never bought;
* lapsed: :func:`repurchase_ratio` at least :data:`LAPSED_FROM`;
* vip: member tier at least :data:`VIP_TIER` (and not lapsed);
* due: :func:`repurchase_ratio` at least :data:`DUE_FROM` (and not lapsed, not VIP);
* new: one order, not yet due;
* repeat: several orders, not yet due.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim._threads import twin
from sim.observation import Observation

FALLBACK_INTERVAL_DAYS = 45.0
"""Repurchase interval assumed while the CRM knows fewer than 10 repeat buyers (no norm to take a median of).

45 days is a monthly-to-bimonthly consumable cycle, the default scenario's; it only applies to a pool
with almost no purchase history, and is what the rule baselines have always used.
"""
DUE_FROM = 0.85
"""Repurchase ratio from which a buyer is due: slightly before the expected repurchase day.

Offers timed just before the need returns beat random timing (fact 6 of ``tests/test_facts.py``);
the rule baselines time their offers from here.
"""
LAPSED_FROM = 2.5
"""Repurchase ratio from which a buyer is lapsed: two and a half expected intervals without an order.

Past a single skipped repurchase (ratio about 2, which a loyal buyer reaches by buying elsewhere
once), short enough to start a win-back while the brand is still remembered.
"""
VIP_TIER = 3
"""Member tier from which a buyer is a VIP: the top tier (3,000 yuan of cumulative spend by default).

The few customers a brand serves one to one (under 1% of the pool in the presets). Tier 2 holds
5-15% of the pool: "VIP" would mean little more than "repeat", and 1:1 VIP service to all of them
(rfm_tiered) costs 30-40% more in contacts for a lower net profit.
"""
SEGMENTS: tuple[str, ...] = ("fan", "new", "repeat", "due", "lapsed", "vip")
"""Lifecycle segments, a partition of the pool (see the module docstring for the rules and their order)."""
FAN, NEW, REPEAT, DUE, LAPSED, VIP = range(len(SEGMENTS))


def typical_interval(obs: Observation) -> float:
    """The CRM's category norm: median interval of repeat buyers, else :data:`FALLBACK_INTERVAL_DAYS`."""
    return obs.typical_interval or FALLBACK_INTERVAL_DAYS


def expected_interval(obs: Observation) -> np.ndarray:
    """Each customer's own mean purchase interval, else (below two orders) :func:`typical_interval`; float32."""
    return np.where(obs.interval > 0, obs.interval, np.float32(typical_interval(obs)))


def repurchase_ratio(obs: Observation) -> np.ndarray:
    """Days since the last order over the customer's expected interval: 1 means a repurchase is due now.

    Equal, customer by customer, to :func:`ratio_of` in jitted rules. Huge for fans (recency unknown).
    """
    return obs.recency / expected_interval(obs).astype(np.float64)


@njit(cache=True, inline="always")
def ratio_of(recency: int, interval: float, typical: np.float32) -> float:
    """:func:`repurchase_ratio` of one customer, for jitted rules (``typical`` from :func:`typical_interval`)."""
    iv = interval if interval > 0 else typical
    return recency / np.float64(iv)


def segment_codes(obs: Observation) -> np.ndarray:
    """Segment of every customer, as an index into :data:`SEGMENTS` (int64)."""
    out = np.empty(obs.n, np.int64)
    _segment_rows(obs.recency, obs.interval, np.float32(typical_interval(obs)), obs.frequency, obs.tier, out)
    return out


@njit(cache=True, inline="always")
def segment_of(recency: int, interval: float, typical: np.float32, frequency: int, tier: int) -> int:
    """Segment of one customer (index into :data:`SEGMENTS`): the first rule of the module docstring that applies.

    Written as the rules from last to first, each overriding the one before, without branches: segments
    are mixed along the rows, and a compiled pass with branches mispredicts them.
    """
    rel = ratio_of(recency, interval, typical)
    seg = REPEAT if frequency >= 2 else NEW
    seg = DUE if rel >= DUE_FROM else seg
    seg = VIP if tier >= VIP_TIER else seg
    seg = LAPSED if rel >= LAPSED_FROM else seg
    return FAN if frequency == 0 else seg


@twin(light=True, cache=True, error_model="numpy")
def _segment_rows(recency, interval, typical, frequency, tier, out):  # pragma: no cover - jitted
    """:func:`segment_of` for every customer, in one pass.

    numpy's error model: no division here is by zero (the typical interval is never 0), and with
    Python's the serial twin's divisions did not vectorize (20 against 4 us at 10,000 customers, one thread).
    """
    for i in prange(recency.shape[0]):
        out[i] = segment_of(recency[i], interval[i], typical, frequency[i], tier[i])
