"""Customers a forecast cannot tell apart, and each one's expectation pooled with theirs.

A forecast simulates every customer from their record alone: the hidden state drawn from customers with the nearest
record (:mod:`~experiments.calibrate.posterior`), every other trait a draw that depends on the row only through its
seed. Customers whose simulation inputs are equal are therefore exchangeable: each one's expected holdout count is the
same number, and their mean estimates it without bias and with less of the replicates' noise. Customers with different
records are never pooled, so this is no smoothing across records.

The inputs are the record (x, t_x, T: :func:`~experiments.calibrate.history.distinct`, as the baselines group
it) and, where the member programme runs (the member price and points follow cumulative spend, which the usual order
value moves), the spend and the usual order value. A contact plan names customers one by one, so under a plan that
contacts anyone nobody is pooled.
"""

from __future__ import annotations

import numpy as np

from experiments.calibrate.history import Histories, distinct
from sim.config import Scenario


def cells(h: Histories, scenario: Scenario, planned: bool = False) -> np.ndarray | None:
    """Labels 0..k-1 of the customers of ``h`` whose simulation inputs are equal (None when a plan contacts any)."""
    if planned:
        return None
    labels = distinct(h)[2]
    if scenario.membership.enabled:
        _, labels = np.unique(np.column_stack([labels, h.spend, h.log_value]), axis=0, return_inverse=True)
    return labels.reshape(-1)


def pooled(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each customer's value replaced by the mean over the customers with the same label."""
    counts = np.bincount(labels)
    return (np.bincount(labels, weights=values) / counts)[labels]


def pooled_per_unit(values: np.ndarray, unit: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``values`` proportional to each customer's own ``unit`` (their usual order value), pooled per unit.

    A customer's expected spend is their order value times what the simulation makes of each yuan of it (the
    purchases, each at the day's price cut), and only the latter is common to a cell. Customers whose unit is
    unknown (no order with a positive amount) keep their own value and stay out of the pool.
    """
    known = np.isfinite(unit) & (unit > 0)
    out = values.astype(np.float64).copy()
    per_unit = np.where(known, values / np.where(known, unit, 1.0), 0.0)
    sums = np.bincount(labels, weights=per_unit)
    counts = np.bincount(labels, weights=known.astype(np.float64))
    out[known] = unit[known] * (sums / np.maximum(counts, 1.0))[labels[known]]
    return out
