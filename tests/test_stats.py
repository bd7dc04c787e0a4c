"""Paired bootstrap intervals, Holm's correction, the leader's significance and the seeds helper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.stats.comparison import COLUMNS, Comparison
from experiments.stats.bootstrap import (bootstrap_diff, bootstrap_indices, holm, paired_diff, seeds_for,
                                         seeds_needed, t95)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(1)
    a, b = rng.normal(100, 5, 8), rng.normal(103, 5, 8)
    d1, d2 = bootstrap_diff(a, b), bootstrap_diff(a, b)
    assert d1 == d2
    assert d1.mean == pytest.approx(float((b - a).mean()))
    assert d1.ci_low < d1.mean < d1.ci_high


def test_bootstrap_of_constant_difference_is_a_point_and_zero_difference_has_p_one():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    d = bootstrap_diff(a, a + 5.0)
    assert (d.ci_low, d.ci_high) == pytest.approx((5.0, 5.0)) and d.significant and d.p_value < 0.001
    same = bootstrap_diff(a, a)
    assert same.p_value == 1.0 and not same.significant


def test_too_few_seeds_give_no_interval():
    d = bootstrap_diff(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert d.mean == 1.5 and math.isnan(d.ci_low) and math.isnan(d.p_value) and not d.significant


def test_bootstrap_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(7)
    plan = bootstrap_indices(30, n_boot=2000)
    hits = 0
    trials = 300
    for _ in range(trials):
        d = bootstrap_diff(np.zeros(30), rng.normal(2.0, 3.0, 30), plan)
        hits += d.ci_low <= 2.0 <= d.ci_high
    assert 0.88 <= hits / trials <= 0.99


def test_holm_adjustment_matches_hand_computation():
    adjusted = holm([0.01, 0.04, 0.03, 0.005, math.nan])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, max(0.04*1, 0.06)=0.06
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[4])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_seeds_needed_is_the_smallest_sufficient_count():
    assert seeds_needed(1.0, 1.0) == 7  # t(5) 2.571/sqrt(6) > 1 >= t(6) 2.447/sqrt(7)
    for sd, hw in ((3.0, 0.5), (100.0, 7.0), (0.2, 0.01)):
        n = seeds_needed(sd, hw)
        assert t95(n - 1) * sd / math.sqrt(n) <= hw < t95(n - 2) * sd / math.sqrt(n - 1)
    assert seeds_needed(0.0, 1.0) == 2
    with pytest.raises(ValueError):
        seeds_needed(1.0, 0.0)


def test_seeds_for_uses_the_spread_of_paired_differences():
    diffs = np.array([10.0, 12.0, 8.0, 11.0, 9.0])
    n = seeds_for(diffs, 1.0)
    assert n == seeds_needed(float(diffs.std(ddof=1)), 1.0) and n > 5
    with pytest.raises(ValueError):
        seeds_for(diffs[:1], 1.0)


def test_paired_t_interval_is_wider_than_zero_and_centred():
    d = paired_diff(np.zeros(5), np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert d.mean == 3.0 and d.ci_high - 3.0 == pytest.approx(3.0 - d.ci_low)
    assert d.ci_high - d.ci_low == pytest.approx(2 * 2.776 * math.sqrt(2.5) / math.sqrt(5))


def _comparison(values: dict[str, list[float]]) -> Comparison:
    seeds = list(range(len(next(iter(values.values())))))
    data = {(p, "total_value"): np.array(v) for p, v in values.items()}
    data.update({(p, "contacts"): np.array(v) for p, v in values.items()})
    return Comparison(list(values), seeds, data)


def test_rows_have_the_fixed_columns_and_mark_a_significant_leader():
    comp = _comparison({"ref": [10, 11, 12, 13, 14], "good": [20, 22, 21, 23, 24], "bad": [5, 6, 7, 5, 6]})
    rows = comp.rows(("total_value", "contacts"))
    assert all(list(r) == COLUMNS for r in rows)
    tv = {r["policy"]: r for r in rows if r["metric"] == "total_value"}
    assert tv["good"]["best"] and tv["good"]["lead_significant"] and tv["good"]["significant"]
    assert tv["bad"]["significant"] and tv["bad"]["diff_vs_reference"] < 0
    assert not tv["ref"]["best"] and math.isnan(tv["ref"]["p_adjusted"])
    assert not any(r["best"] for r in rows if r["metric"] == "contacts")  # no better direction
    lead = comp.leader("total_value")
    assert (lead.best, lead.runner_up) == ("good", "ref") and lead.lead.mean == pytest.approx(10.0)


def test_a_lead_within_the_noise_is_not_significant():
    comp = _comparison({"a": [10, 14, 9, 13, 11], "b": [11, 12, 10, 13, 12]})
    lead = comp.leader("total_value")
    assert lead.best == "b" and not lead.significant
    assert not any(r["lead_significant"] for r in comp.rows(("total_value",)))
