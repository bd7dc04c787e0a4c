"""The contact fit's replay conditioned on a log's targeting: matched customers, the brand's timing.

Why: a brand targets. A rule such as ``fatigue_capped`` writes to customers by their CRM record (recency,
frequency, contacts, responses), so the customers of a contact log are not a random draw of the pool, and
replaying their rows on fresh simulated customers compares the log's customers with others: the fitted
responses absorb the difference (docs/calibration.md). The contact fit replays each log customer's rows on
simulated customers matched to them instead (:func:`matched_rows`): a pool of the base scenario
(:data:`MATCH_POOL` times the copies) plays the log's span without contacts, with the replay's seed, so each
simulated customer's orders up to the day it is first contacted are those the replay will show; on the day of
a log customer's first row (contact or control), each copy is drawn, among the simulated customers not yet
taken, from the :data:`~experiments.calibrate.posterior.NEIGHBOURS` whose record that day is nearest to the
log customer's (:class:`~experiments.calibrate.posterior.Nearest` on
:func:`~experiments.calibrate.posterior.features`: orders since the log's first order, days since the last,
days of log). Only the transactions of the log are compared: a record before the log is not in it.

A record before the first contact is not moved by the contact-response parameters, so the matching is
done once per fit and every simulation of the search replays on the same customers. On a randomised log
the matched customers are a random draw with the same records, so that fit stays unbiased.

A brand may also time its messages by the slot of the customer's last activity, which its CRM knows: then
each log customer's messages go out in their own active slot, and a simulated customer sent at that slot is
often out of its own (the measured bias on ``fatigue_capped`` logs was mostly this). :func:`brand_timing`
reads that timing from the log where the log shows the last activity, and the replay sends each simulated
customer's rows at the slot the brand would pick for it (:class:`~policies.replay.Replay` ``timing``).
"""

from __future__ import annotations

import numpy as np

from experiments.calibrate.posterior import Nearest, features, rng_of
from experiments.calibrate.simulate import engine_log
from sim.config import Scenario
from sim.defaults import SLOTS

MATCH_POOL = 2
"""Simulated customers in the pool per copy matched: the spare ones leave every log customer a choice of records."""
MATCH_WORD = 0xC0
"""Word of the matching's random stream (:func:`~experiments.calibrate.posterior.rng_of`), apart from the
posterior's other draws."""
TIMING_ROWS = 100
"""Rows of customers whose last activity the log shows in a slot that the brand's timing by that slot needs."""
TIMING_SHARE = 0.8
"""Share of those rows sent at one slot from which the brand is taken to time its messages by that activity."""
_KEY = 10_000_000
"""Customer stride of the (customer, day) keys (days stay below it)."""


def orders_before(customer: np.ndarray, day: np.ndarray, rows: np.ndarray, at: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(orders, day of the last or -1) of each of ``rows`` on the days before its ``at``.

    ``customer`` and ``day``: one element per order (at most one a customer and day), days from the log's
    first order.
    """
    key = np.sort(np.asarray(customer, np.int64) * _KEY + np.asarray(day, np.int64))
    base = np.asarray(rows, np.int64) * _KEY
    lo = np.searchsorted(key, base, "left")
    hi = np.searchsorted(key, base + np.asarray(at, np.int64), "left")
    last = np.where(hi > lo, key[np.maximum(hi - 1, 0)] - base, -1) if key.size else np.full(base.size, -1)
    return (hi - lo).astype(np.int64), last.astype(np.int64)


def record_features(orders: np.ndarray, last: np.ndarray, at: np.ndarray) -> np.ndarray:
    """:func:`~experiments.calibrate.posterior.features` of a record on day ``at`` of the log.

    ``orders`` since the log's first order, the last on day ``last`` (-1: none, counted from the log's start).
    """
    return features(orders, np.maximum(last, 0), at)


def matched_rows(scenario: Scenario, opening: np.ndarray, before: np.ndarray, last: np.ndarray, days: int,
                 copies: int, seed: int, pool_ratio: int = MATCH_POOL) -> tuple[np.ndarray, int]:
    """Rows ``(copies, n)`` of a pool of ``scenario`` matched to the log's ``n`` customers, and the pool's size.

    Log customer ``i`` was first picked on day ``opening[i]`` with ``before[i]`` orders, the last on day
    ``last[i]``. The pool (``pool_ratio * copies * n`` customers, seed ``seed``, nobody joins) plays ``days``
    days without contacts; day by day, in the order of the log's first rows, each of ``i``'s copies is drawn
    among the free simulated customers with the nearest record that day, and a simulated customer replays at
    most one log customer.
    """
    n = int(opening.size)
    pool = int(pool_ratio) * int(copies) * n
    if pool_ratio < 1:
        raise ValueError(f"matching: pool_ratio must be at least 1, got {pool_ratio}")
    cust, day, _ = engine_log(scenario, pool, days, seed)
    rng = rng_of(seed, MATCH_WORD)
    want = record_features(before, last, opening)
    free = np.ones(pool, bool)
    out = np.full((copies, n), -1, np.int64)
    for t in np.unique(opening).tolist():
        who = np.flatnonzero(opening == t)
        pending = np.repeat(who, copies)
        slot = np.tile(np.arange(copies), who.size)
        while pending.size:
            rows = np.flatnonzero(free)
            if rows.size < pending.size:
                raise ValueError("matching: the pool ran out of customers (raise pool_ratio)")
            x, lx = orders_before(cust, day, rows, np.full(rows.size, t))
            nearest = Nearest(record_features(x, lx, np.full(rows.size, t)), seed=seed)
            order = rng.permutation(pending.size)  # who wins a simulated customer wanted twice: at random
            pick = rows[nearest.draw(want[pending[order]], rng)]
            _, won = np.unique(pick, return_index=True)
            took = order[won]
            out[slot[took], pending[took]] = pick[won]
            free[pick[won]] = False
            left = np.ones(pending.size, bool)
            left[took] = False
            pending, slot = pending[left], slot[left]
    return out, pool


def brand_timing(customer: np.ndarray, day: np.ndarray, slot: np.ndarray, opened: np.ndarray,
                 order_customer: np.ndarray, order_day: np.ndarray) -> np.ndarray:
    """The slot the log's brand sends at by the customer's last activity: ``timing[a + 1]``, -1 where not shown.

    A CRM knows the slot of a customer's last activity (an open or an order) and a brand may time its
    messages by it. The log shows it where a customer's last event before a row is an opened message (its
    slot), not an order (``transactions.csv`` has no time of day). Over those rows (contacts and controls),
    a slot ``a`` from which at least :data:`TIMING_SHARE` of :data:`TIMING_ROWS` or more rows went out at
    one slot maps to it; the rest (a randomised campaign's slots, activity never seen) keep -1, the row's
    own slot. Arguments are one element per row (``opened`` 1, else 0 or -1) and per order, days from the log's
    first order, one row a customer and day.
    """
    n_slots = len(SLOTS)
    order = np.lexsort((day, customer))
    c, d, s = (np.asarray(a, np.int64)[order] for a in (customer, day, slot))
    pos = np.arange(c.size)
    last_open = np.maximum.accumulate(np.where(np.asarray(opened)[order] > 0, pos, -1)) if c.size else pos
    prev = np.concatenate([[-1], last_open[:-1]]).astype(np.int64)
    seen = prev >= np.searchsorted(c, c, "left")  # an opened row of the same customer before this one
    _, last_order = orders_before(order_customer, order_day, c, d)
    seen &= d[np.maximum(prev, 0)] > last_order
    counts = np.zeros((n_slots, n_slots), np.int64)
    np.add.at(counts, (s[prev[seen]], s[seen]), 1)
    timing = np.full(n_slots + 1, -1, np.int8)
    for a in range(n_slots):
        total = counts[a].sum()
        if total >= TIMING_ROWS and counts[a].max() >= TIMING_SHARE * total:
            timing[a + 1] = int(counts[a].argmax())
    return timing
