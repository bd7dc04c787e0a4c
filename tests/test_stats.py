"""Paired t intervals, Bonferroni families, the leader's significance and the seeds helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from experiments.stats.comparison import COLUMNS, Comparison
from experiments.stats.intervals import (MAX_SEEDS, interval, level, paired_diff, seeds_for, seeds_needed,
                                         seeds_text, seeds_to_resolve, t95, t_quantile, underpowered)


def test_interval_and_p_value_are_the_paired_t_test():
    rng = np.random.default_rng(1)
    a, b = rng.normal(100, 5, 8), rng.normal(103, 5, 8)
    d = paired_diff(a, b)
    ref = stats.ttest_rel(b, a)
    ci = ref.confidence_interval(0.95)
    assert d.mean == pytest.approx(float((b - a).mean()))
    assert (d.ci_low, d.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-12) and d.level == 0.95


def test_the_issue_example_is_not_significant():
    """Three pairs with differences -142, +891, +300: a paired t-test, not a bootstrap p of 0.0001."""
    d = interval(np.array([-142.0, 891.0, 300.0]))
    assert d.p_value == pytest.approx(0.363, abs=1e-3) and not d.significant and d.ci_low < 0 < d.ci_high


def test_bonferroni_widens_every_interval_and_scales_p():
    d1 = interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    d4 = interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), comparisons=4)
    assert d4.level == pytest.approx(1 - 0.05 / 4) == level(4)
    assert d4.ci_high - d4.ci_low == pytest.approx(2 * t_quantile(4, 4) * math.sqrt(2.5 / 5))
    assert d4.ci_high - d4.ci_low > d1.ci_high - d1.ci_low
    assert d4.p_adjusted == pytest.approx(min(1.0, 4 * d1.p_value)) and d4.p_value == d1.p_value


def test_degenerate_inputs():
    point = interval(np.array([5.0, 5.0, 5.0]))
    assert (point.ci_low, point.ci_high) == (5.0, 5.0) and point.significant and point.p_value == 0.0
    zero = interval(np.zeros(4))
    assert zero.p_value == 1.0 and not zero.significant
    one = interval(np.array([2.0]))
    assert one.mean == 2.0 and math.isnan(one.ci_low) and math.isnan(one.p_adjusted) and not one.significant


def test_t95_comes_from_scipy():
    assert t95(1) == pytest.approx(12.706, abs=1e-3) and t95(4) == pytest.approx(2.776, abs=1e-3)
    assert t95(1000) == pytest.approx(1.962, abs=1e-3) and t95(0) == math.inf


def test_underpowered_below_five_seeds():
    assert underpowered(4) and not underpowered(5)


def test_seeds_needed_is_the_smallest_sufficient_count():
    assert seeds_needed(1.0, 1.0) == 7  # t(5) 2.571/sqrt(6) > 1 >= t(6) 2.447/sqrt(7)
    for sd, hw, k in ((3.0, 0.5, 1), (100.0, 7.0, 3), (0.2, 0.01, 1)):
        n = seeds_needed(sd, hw, k)
        assert t_quantile(n - 1, k) * sd / math.sqrt(n) <= hw < t_quantile(n - 2, k) * sd / math.sqrt(n - 1)
    assert seeds_needed(0.0, 1.0) == 2
    with pytest.raises(ValueError, match="half_width"):
        seeds_needed(1.0, 0.0)


def test_seeds_for_uses_the_spread_of_paired_differences():
    diffs = np.array([10.0, 12.0, 8.0, 11.0, 9.0])
    n = seeds_for(diffs, 1.0)
    assert n == seeds_needed(float(diffs.std(ddof=1)), 1.0) and n > 5
    with pytest.raises(ValueError, match="diffs"):
        seeds_for(diffs[:1], 1.0)


def test_seeds_to_resolve_is_where_the_half_width_falls_below_the_difference():
    diffs = np.array([1.0, 3.0, -0.5])  # mean 1.17, sd 1.76: not significant at 3 seeds
    n = seeds_to_resolve(diffs)
    sd, gap = float(diffs.std(ddof=1)), abs(float(diffs.mean()))
    assert n is not None and n > 3
    assert t95(n - 1) * sd / math.sqrt(n) <= gap < t95(n - 2) * sd / math.sqrt(n - 1)
    assert seeds_to_resolve(diffs, 4) > n  # a Bonferroni family needs more
    assert seeds_to_resolve(np.array([1.0, -1.0, 0.0])) is None  # no difference: more than the cap
    assert seeds_to_resolve(np.array([1e-3, -1.0, 1.0])) is None
    assert seeds_to_resolve(np.array([1.0])) is None
    assert seeds_text(None) == f"more than {MAX_SEEDS:,} seeds" and seeds_text(12) == "12 seeds"


def _comparison(values: dict[str, list[float]]) -> Comparison:
    seeds = list(range(len(next(iter(values.values())))))
    data = {(p, "total_value"): np.array(v, float) for p, v in values.items()}
    data.update({(p, "contacts"): np.array(v, float) for p, v in values.items()})
    data.update({(p, "unsubscribes"): -np.array(v, float) for p, v in values.items()})
    return Comparison(list(values), seeds, data)


def test_rows_have_the_fixed_columns_and_mark_a_significant_leader():
    comp = _comparison({"ref": [10, 11, 12, 13, 14], "good": [20, 22, 21, 23, 24], "bad": [5, 6, 7, 5, 6]})
    rows = comp.rows(("total_value", "contacts"))
    assert all(list(r) == COLUMNS for r in rows)
    tv = {r["policy"]: r for r in rows if r["metric"] == "total_value"}
    assert tv["good"]["best"] and tv["good"]["lead_significant"] and tv["good"]["significant"]
    assert tv["bad"]["significant"] and tv["bad"]["diff_vs_reference"] < 0
    assert not tv["ref"]["best"] and math.isnan(tv["ref"]["p_adjusted"])
    assert all(r["ci_level"] == pytest.approx(0.975) for r in rows)  # 2 policies vs the reference
    assert not any(r["best"] for r in rows if r["metric"] == "contacts")  # no better direction
    lead = comp.leader("total_value")
    assert (lead.best, lead.runner_up) == ("good", "ref") and lead.lead.mean == pytest.approx(10.0)
    assert [o for o, _ in lead.others] == ["ref", "bad"] and lead.weakest[0] == "ref"


def test_significance_is_the_interval_excluding_zero_in_every_row():
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(2, 9))
        comp = _comparison({p: list(rng.normal(0, 1, n) + rng.normal(0, 1.5) * (p != "r"))
                            for p in ("r", "a", "b", "c")})
        for r in comp.rows(("total_value", "unsubscribes")):
            if r["policy"] == "r":
                continue
            assert r["significant"] == (r["ci_low"] > 0 or r["ci_high"] < 0) == (r["p_adjusted"] < 0.05)
        for metric in ("total_value", "unsubscribes"):
            lead = comp.leader(metric)
            sign = 1 if metric == "total_value" else -1
            assert lead.significant == all(sign * d.ci_low > 0 if sign > 0 else d.ci_high < 0 for _, d in lead.others)


def test_a_lead_within_the_noise_is_not_significant():
    comp = _comparison({"a": [10, 14, 9, 13, 11], "b": [11, 12, 10, 13, 12]})
    lead = comp.leader("total_value")
    assert lead.best == "b" and not lead.significant
    assert not any(r["lead_significant"] for r in comp.rows(("total_value",)))


def test_lower_is_better_leader_is_judged_on_its_own_side():
    comp = _comparison({"a": [1, 2, 3, 4, 5], "b": [11, 12, 13, 14, 15]})  # unsubscribes = -values
    lead = comp.leader("unsubscribes")
    assert lead.best == "b" and lead.lead.mean == pytest.approx(-10.0) and lead.significant
