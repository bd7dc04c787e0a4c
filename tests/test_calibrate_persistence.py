"""fit.md's table of customers still buying: the share repeating in the last third, by middle-third repeats."""

from __future__ import annotations

import math

import numpy as np

from experiments.calibrate.history import persistence, summarize
from experiments.calibrate.report import persistence_lines


def small_log():
    """Five customers over days 0-89: the middle third is days 32-60, the last 61-89 (29 days each, back from 89)."""
    orders = {0: [0, 40, 70], 1: [0, 40], 2: [0, 35, 45, 80], 3: [0, 10], 4: [0, 32, 33, 34, 50, 51]}
    cust = np.array([c for c, days in orders.items() for _ in days])
    day = np.array([d for days in orders.values() for d in days])
    return summarize(np.arange(5).astype(object), cust, day, np.full(day.size, 10.0), 89)


def test_each_group_counts_its_customers_and_the_share_repeating_in_the_last_third():
    labels, shares, n = persistence(small_log())
    assert labels == ["1", "2", "3-4", "5+"]
    assert n.tolist() == [2, 1, 0, 1]  # customer 3 bought only in the first third: in no group
    assert shares[0] == 0.5 and shares[1] == 1.0 and math.isnan(shares[2]) and shares[3] == 0.0


def test_the_table_shows_the_gap_in_standard_errors_and_leaves_undefined_cells_empty():
    h = small_log()
    lines = persistence_lines(h, h)
    assert "| customers | 2 | 1 | 0 | 1 |" in lines
    assert "| observed | 0.500 | 1.000 |  | 0.000 |" in lines
    assert "| gap (SEs) | +0.0 |  |  |  |" in lines  # a share of 0 or 1 has no binomial SE: no gap printed
    sim = summarize(np.arange(2).astype(object), np.array([0, 0, 1, 1]), np.array([0, 40, 0, 40]),
                    np.full(4, 10.0), 89)  # two customers in group 1, neither buying in the last third
    gap = [line for line in persistence_lines(h, sim) if line.startswith("| gap")][0]
    assert gap.split(" | ")[1] == f"{0.5 / math.sqrt(0.25 / 2):+.1f}"  # (0.5 - 0) / SE of 0.5 over 2 customers
