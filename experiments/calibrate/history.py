"""Per-customer summaries of a transaction log: what the likelihoods and the forecast condition on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.logs.rows import LogError
from experiments.logs.transactions import Transactions

MIN_CUSTOMERS = 30
"""Fewer customers with an order in the calibration period cannot identify any heterogeneity."""
MIN_REPEATS = 10
"""Nor can fewer repeat orders."""


@dataclass(frozen=True)
class Histories:
    """Each customer's calibration-period history, in days; same-day orders count as one transaction.

    ``first`` and ``last`` are day numbers; ``x`` the repeat transactions after the first; ``t_x`` =
    last - first and ``T`` = end - first (days, as in BG/NBD); ``log_value`` the mean log order amount
    over ``orders`` transactions with a positive amount; ``spend`` the total amount; ``late`` and ``mid`` the
    repeat transactions in the last and the middle third of the log's span (from its first order to ``end``).
    """

    ids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    log_value: np.ndarray
    log_sq: np.ndarray
    orders: np.ndarray
    spend: np.ndarray
    late: np.ndarray
    mid: np.ndarray
    end: int

    @property
    def n(self) -> int:
        """Customers."""
        return int(self.ids.size)

    @property
    def order_value(self) -> np.ndarray:
        """Each customer's usual order value (the geometric mean of their positive amounts; NaN without one)."""
        return np.where(self.orders > 0, np.exp(self.log_value), np.nan)


def distinct(h: Histories) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) histories in lexicographic order, how many customers share each, which each one has.

    The customer-base likelihoods (:mod:`~experiments.calibrate.auxiliary`, BG/NBD, Pareto/NBD) only need the
    distinct histories, each weighted by its count. Whole days and counts are packed into one integer each,
    whose order is the rows' (a row-wise sort took 0.3 s a simulated log of 290,000 customers); anything else is
    sorted row-wise, with the same result.
    """
    rows = np.stack([h.x, h.t_x, h.T], axis=1).astype(np.float64)
    if rows.size and rows.min() >= 0 and rows.max() < 2 ** _FIELD_BITS and np.array_equal(rows, np.floor(rows)):
        fields = rows.astype(np.int64)
        packed = (fields[:, 0] << 2 * _FIELD_BITS) | (fields[:, 1] << _FIELD_BITS) | fields[:, 2]
        keys, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
        mask = (1 << _FIELD_BITS) - 1
        uniq = np.stack([keys >> 2 * _FIELD_BITS, (keys >> _FIELD_BITS) & mask, keys & mask], axis=1)
        uniq = uniq.astype(np.float64)
    else:
        uniq, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return {"x": uniq[:, 0], "t_x": uniq[:, 1], "T": uniq[:, 2]}, counts.astype(np.float64), inverse.ravel()


_FIELD_BITS = 21
"""Bits of each packed field of :func:`distinct`: up to 2,097,151 repeats or days (5,700 years)."""


MIDDLE_GROUPS = ((1, 1), (2, 2), (3, 4), (5, None))
"""Groups of customers by their repeat transactions in the middle third of the span (:func:`persistence`)."""
MIDDLE_LABELS = tuple(f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}") for lo, hi in MIDDLE_GROUPS)
"""The :data:`MIDDLE_GROUPS`' labels in fit.md's tables."""


def middle_groups(h: Histories) -> list[np.ndarray]:
    """Each :data:`MIDDLE_GROUPS` group's customers, as masks."""
    return [(h.mid >= lo) & (h.mid <= (math.inf if hi is None else hi)) for lo, hi in MIDDLE_GROUPS]


def persistence(h: Histories) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Of the customers in each :data:`MIDDLE_GROUPS` group, the share with a repeat in the last third.

    Returns the groups' labels, the shares (NaN for an empty group) and the customers in each: how far those
    still buying go on buying, by how much they bought, the statistic ``siyu calibrate --persistence`` matches
    (``mid_late``) taken apart.
    """
    shares, counts = [], []
    for group in middle_groups(h):
        n = int(group.sum())
        shares.append(float(np.mean(h.late[group] > 0)) if n else math.nan)
        counts.append(n)
    return list(MIDDLE_LABELS), np.array(shares), np.array(counts)


def pace(h: Histories, kept: np.ndarray) -> tuple[float, np.ndarray]:
    """The ``kept`` customers' repeats in the last third over theirs in the middle third, and each customer's influence.

    A ratio estimator: the influence is zero outside ``kept``, and its sum of squares is the ratio's variance. NaN and
    zeros where the kept customers have no middle-third repeat.
    """
    mid = np.where(kept, h.mid, 0).astype(np.float64)
    late = np.where(kept, h.late, 0).astype(np.float64)
    total = float(mid.sum())
    if total == 0.0:
        return math.nan, np.zeros(h.n)
    r = float(late.sum()) / total
    return r, (late - r * mid) / total


def still_buying_pace(h: Histories) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the customers with a repeat in both the middle and the last third, their repeats there, last over middle.

    By :data:`MIDDLE_GROUPS` group, then all together: the ratios (NaN for an empty group), their SEs (:func:`pace`)
    and the customers in each. Where :func:`persistence` counts who goes on buying, this says how much they buy:
    CDNOW's customers who go on buying buy less as the year goes on, more than a fitted engine's, whose rates hold
    (docs/calibration.md, "How much those still buying buy").
    """
    both = (h.mid > 0) & (h.late > 0)
    ratios, ses, counts = [], [], []
    for group in middle_groups(h) + [both]:
        kept = group & both
        r, influence = pace(h, kept)
        ratios.append(r)
        ses.append(math.sqrt(float(influence @ influence)) if not math.isnan(r) else math.nan)
        counts.append(int(kept.sum()))
    return np.array(ratios), np.array(ses), np.array(counts)


def daily(tx: Transactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day, amount) with the orders of one customer on one day summed into one transaction."""
    key = tx.customer * 10_000_000 + tx.day
    uniq, start = np.unique(key, return_index=True)
    amount = np.add.reduceat(tx.amount, start) if tx.amount.size else tx.amount
    return tx.customer[start], tx.day[start], amount


def histories(tx: Transactions, end: int) -> Histories:
    """Summaries of the orders on or before ``end``; a :class:`LogError` when too little is left."""
    cal = tx.before(end)
    cust, day, amount = daily(cal)
    n = cal.n_customers
    if n < MIN_CUSTOMERS:
        raise LogError(f"{cal.report.source}: only {n} customers ordered on or before the calibration end; "
                       f"at least {MIN_CUSTOMERS} are needed")
    h = summarize(cal.ids, cust, day, amount, end)
    if h.x.sum() < MIN_REPEATS:
        raise LogError(f"{cal.report.source}: only {int(h.x.sum())} repeat transactions on or before the calibration "
                       f"end; at least {MIN_REPEATS} are needed")
    return h


def summarize(ids: np.ndarray, cust: np.ndarray, day: np.ndarray, amount: np.ndarray, end: int) -> Histories:
    """:class:`Histories` of customers ``0..len(ids)-1`` from one transaction per (customer, day), all <= ``end``."""
    n = ids.size
    count = np.bincount(cust, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, day)
    last = np.zeros(n, np.int64)
    np.maximum.at(last, cust, day)
    pos = amount > 0
    logs = np.log(np.where(pos, amount, 1.0))
    orders = np.bincount(cust[pos], minlength=n)
    log_value = np.bincount(cust, weights=logs * pos, minlength=n) / np.maximum(orders, 1)
    log_sq = np.bincount(cust, weights=logs * logs * pos, minlength=n)
    x = count - 1
    third = (end - int(first.min())) // 3 if n else 0
    repeat = day > first[cust]
    late = np.bincount(cust, weights=(day > end - third) & repeat, minlength=n)
    mid = np.bincount(cust, weights=(day > end - 2 * third) & (day <= end - third) & repeat, minlength=n)
    return Histories(ids, first, last, x.astype(np.int64), (last - first).astype(np.float64),
                     (end - first).astype(np.float64), log_value, log_sq, orders,
                     np.bincount(cust, weights=amount, minlength=n), late, mid, end)


def holdout_weekly(tx: Transactions, end: int, weeks: int) -> np.ndarray:
    """Transactions in each of the ``weeks`` weeks after ``end`` by the customers who ordered on or before it.

    Same-day orders of a customer count as one transaction.
    """
    cust, day, _ = daily(tx)
    known = np.zeros(tx.n_customers, bool)
    known[tx.customer[tx.day <= end]] = True
    after = (day > end) & known[cust]
    week = (day[after] - end - 1) // 7
    return np.bincount(week[week < weeks], minlength=weeks).astype(np.float64)


def holdout_by_customer(tx: Transactions, end: int, days: int) -> np.ndarray:
    """Each calibration customer's transactions in the ``days`` days after ``end``, in :func:`histories`' order.

    Same-day orders of a customer count as one transaction, as in :func:`holdout_weekly`.
    """
    cust, day, _ = daily(tx)
    after = (day > end) & (day <= end + days)
    counts = np.bincount(cust[after], minlength=tx.n_customers)
    return counts[np.unique(tx.customer[tx.day <= end])].astype(np.float64)


def weekly_repeats(cust: np.ndarray, day: np.ndarray, start: int, end: int) -> np.ndarray:
    """Repeat transactions (all but each customer's first) per week from ``start`` to ``end`` inclusive.

    ``cust``, ``day``: one transaction per (customer, day), sorted by customer then day.
    """
    first = np.ones(cust.size, bool)
    first[1:] = cust[1:] != cust[:-1]
    keep = ~first & (day >= start) & (day <= end)
    weeks = (end - start) // 7 + 1
    return np.bincount((day[keep] - start) // 7, minlength=weeks).astype(np.float64)[:weeks]
