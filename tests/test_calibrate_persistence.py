"""fit.md's table of customers still buying: the share repeating in the last third, by middle-third repeats."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from experiments.calibrate.history import persistence, still_buying_pace, summarize
from experiments.calibrate.report import pace_lines, persistence_lines


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


def test_the_pace_of_those_still_buying_counts_only_customers_with_repeats_in_both_thirds():
    ratios, ses, n = still_buying_pace(small_log())
    assert n.tolist() == [1, 1, 0, 0, 2]  # customers 0 (group 1) and 2 (group 2); 1 and 4 stop, 3 never was there
    assert ratios[0] == 1.0 and ratios[1] == 0.5 and math.isnan(ratios[2]) and math.isnan(ratios[3])
    assert ratios[4] == 2 / 3  # (1 + 1) last-third repeats over (1 + 2) middle-third ones
    assert math.isclose(ses[4], math.sqrt(2 / 9) / 3)  # residuals late - r mid: +1/3 and -1/3, over the middle's 3


def test_the_pace_se_matches_its_spread_over_simulated_logs():
    """A ratio estimator's SE against the sd of the ratio over 400 logs of 2,000 customers (Poisson thirds).

    The sd of 400 draws is off its truth by about 1/sqrt(2 x 399) = 3.5%: the bound is three times that.
    """
    h, rng = small_log(), np.random.default_rng(7)
    ratios, ses = [], []
    for _ in range(400):
        mid, late = rng.poisson(1.5, 2000), rng.poisson(1.2, 2000)
        log = dataclasses.replace(h, mid=mid, late=late, x=mid + late)
        r, se, _ = still_buying_pace(log)
        ratios.append(r[-1])
        ses.append(se[-1])
    assert abs(np.mean(ses) / np.std(ratios, ddof=1) - 1) < 3 / math.sqrt(2 * 399)


def test_the_pace_table_shows_all_groups_together_and_the_gap_in_standard_errors():
    h = small_log()
    lines = pace_lines(h, h)
    assert "| repeats in the middle third | 1 | 2 | 3-4 | 5+ | all |" in lines
    assert "| observed | 1.000 | 0.500 |  |  | 0.667 |" in lines
    sim = summarize(np.arange(1).astype(object), np.array([0, 0, 0]), np.array([0, 40, 70]), np.full(3, 10.0), 89)
    gap = [line for line in pace_lines(h, sim) if line.startswith("| gap")][0]
    assert gap.split(" | ")[-1] == f"{(2 / 3 - 1) / (math.sqrt(2 / 9) / 3):+.1f} |"  # all: 0.667 against 1.000
