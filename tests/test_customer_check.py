"""Who buys in the holdout: scores of each model's order of the customers, blind to the level, with intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments.calibrate.customer_check import (RESAMPLES, TOP_SHARE, auc, auc_within, check, scaled_rmse, scores,
                                                   top_share)
from experiments.calibrate.history import holdout_by_customer, holdout_weekly
from experiments.logs.rows import LogReport
from experiments.logs.transactions import Transactions


def test_the_top_fifth_counts_customers_tied_at_the_cut_in_proportion():
    expected = np.array([5.0, 4.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    actual = np.array([3.0, 0.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    assert top_share(expected, actual) == pytest.approx(3 / 10)  # the two highest: 3 of 10
    # the top 30%: both highest and a quarter of the four tied at 1 (4 of their transactions)
    assert top_share(expected, actual, 0.3) == pytest.approx((3 + 4 / 4) / 10)
    order = np.random.default_rng(0).permutation(expected.size)  # the ties' order does not matter
    assert top_share(expected[order], actual[order], 0.3) == pytest.approx((3 + 1) / 10)


def test_auc_is_the_mann_whitney_statistic_and_reads_a_perfect_and_a_reversed_order():
    rng = np.random.default_rng(1)
    expected = rng.poisson(2.0, 500).astype(float)  # many ties
    bought = rng.random(500) < expected / 6
    u = stats.mannwhitneyu(expected[bought], expected[~bought]).statistic
    assert auc(expected, bought) == pytest.approx(u / (bought.sum() * (~bought).sum()))
    assert auc(bought.astype(float), bought) == 1.0 and auc(-bought.astype(float), bought) == 0.0
    assert auc(np.ones(500), bought) == 0.5
    assert np.isnan(auc(expected, np.zeros(500, bool)))


def test_the_scores_are_blind_to_the_level():
    rng = np.random.default_rng(2)
    rate = rng.gamma(0.5, 1.0, 2000)
    actual = rng.poisson(rate).astype(float)
    once, doubled = scores(rate, actual), scores(2.0 * rate, actual)
    assert once.values() == pytest.approx(doubled.values(), rel=1e-12)  # running high gains nothing
    assert scaled_rmse(rate, actual) < scaled_rmse(rate[::-1], actual)  # but the order does
    assert top_share(rate, actual) > TOP_SHARE  # a good order's top fifth buys more than a fifth


def test_a_model_that_knows_the_rates_beats_a_blurred_one_inside_its_interval():
    rng = np.random.default_rng(3)
    n = 4000
    rate = rng.gamma(0.5, 1.0, n)
    actual = rng.poisson(rate).astype(float)
    blurred = rng.poisson(rate * 5) / 5  # a simulation's mean of five replicates
    found = check({"siyu": rate, "blurred": blurred, "flat": np.full(n, rate.mean())}, actual, replicates=5, seed=0)
    assert found.customers == n and found.bought == int((actual > 0).sum())
    by = {(d.baseline, d.metric): d for d in found.differences}
    assert len(by) == 6
    for d in found.differences:
        assert d.low <= d.value <= d.high
    # the true rates order the customers better than their blurred means: the AUC's interval lies above zero
    assert by["blurred", "AUC"].low > 0
    assert by["flat", "AUC"].value == pytest.approx(found.scores["siyu"].auc - 0.5)
    assert by["flat", "scaled RMSE"].high < 0
    # the interval's width follows the customers' number: a quarter of them, about twice as wide
    quarter = check({"siyu": rate[: n // 4], "blurred": blurred[: n // 4]}, actual[: n // 4], 5, seed=0)
    wide = {d.metric: d.high - d.low for d in quarter.differences}
    narrow = {d.metric: by["blurred", d.metric].high - by["blurred", d.metric].low for d in quarter.differences}
    for metric in wide:  # sqrt(4) = 2, within the percentile ends' own noise at RESAMPLES resamples
        assert 1.4 < wide[metric] / narrow[metric] < 2.8, (metric, wide[metric], narrow[metric], RESAMPLES)


def test_the_text_says_every_model_and_every_difference():
    rng = np.random.default_rng(4)
    rate = rng.gamma(0.5, 1.0, 600)
    actual = rng.poisson(rate).astype(float)
    found = check({"siyu": rate, "BG/NBD": rate * 1.2 + 0.01}, actual, replicates=40)
    text = "\n".join(found.lines())
    assert "## Who buys in the holdout" in text and "means of 40 replicates" in text
    assert found.row("siyu") in text and found.row("BG/NBD") in text and "as many calibration repeats" not in text
    repeats = rng.integers(0, 5, 600)
    grouped = check({"siyu": rate, "BG/NBD": rate * 1.2 + 0.01}, actual, replicates=40, repeats=repeats)
    assert grouped.within["siyu"] == pytest.approx(auc_within(rate, actual, repeats))
    assert grouped.row("siyu").endswith(f" {grouped.within['siyu']:.3f} |") and grouped.header()[1].count("---:") == 4
    assert text.count("BG/NBD ") >= 3 and "- AUC: BG/NBD " in text
    assert "AUC" in found.summary() and "(BG/NBD)" in found.summary()
    alone = check({"siyu": rate}, actual, replicates=40)  # no baseline: scores without differences
    assert alone.differences == () and "minus each baseline" not in "\n".join(alone.lines())


def test_each_customer_s_holdout_count_is_in_the_histories_order():
    ids = np.array(["c", "a", "b", "late"])
    # customer "c" buys twice on one day after the end (one transaction), "a" never after, "b" in week 2 and week
    # 3 (past a two-week holdout), "late" first buys after the end (not a calibration customer)
    customer = np.array([0, 0, 0, 0, 1, 2, 2, 2, 3])
    day = np.array([1, 5, 12, 12, 3, 4, 18, 25, 11])
    tx = Transactions(ids, customer, day, np.ones(day.size), LogReport("t"))
    end = 10
    counts = holdout_by_customer(tx, end, days=14)
    assert counts.tolist() == [1.0, 0.0, 1.0]
    assert counts.sum() == holdout_weekly(tx, end, 2).sum()


def test_the_order_within_equal_repeats_is_scored_apart_from_the_frequency():
    rng = np.random.default_rng(5)
    repeats = rng.choice([0, 1, 2, 4], 3000)  # one count per group: the count tells nothing within a group
    recent = rng.random(3000)
    actual = rng.poisson(0.3 * (1 + repeats) * (0.2 + recent)).astype(float)
    by_count = repeats.astype(float)  # knows how often, not how recently
    both = repeats + recent
    assert auc_within(by_count, actual, repeats) == 0.5  # every pair within a group tied
    assert auc_within(both, actual, repeats) > 0.6 > auc_within(repeats - recent, actual, repeats)
    assert auc(by_count, actual > 0) > 0.6  # the plain AUC rewards the count alone
    # the pairs' weighted mean of the groups' own AUCs, groups 0, 1, 2-3 and 4+
    groups = [repeats == 0, repeats == 1, (repeats >= 2) & (repeats <= 3), repeats >= 4]
    pairs = [float((actual[g] > 0).sum() * (actual[g] == 0).sum()) for g in groups]
    mean = sum(p * auc(both[g], actual[g] > 0) for p, g in zip(pairs, groups)) / sum(pairs)
    assert auc_within(both, actual, repeats) == pytest.approx(mean)


def test_a_large_log_is_resampled_in_batches_with_intervals_alike(monkeypatch):
    import experiments.calibrate.customer_check as cc
    rng = np.random.default_rng(6)
    rate = rng.gamma(0.5, 1.0, 3000)
    actual = rng.poisson(rate).astype(float)
    models = {"siyu": rng.poisson(rate * 5) / 5, "BG/NBD": rate}
    whole = check(models, actual, replicates=5)
    used = []
    bootstrap = cc.stats.bootstrap
    monkeypatch.setattr(cc.stats, "bootstrap", lambda *a, **k: used.append(k["batch"]) or bootstrap(*a, **k))
    assert check(models, actual, replicates=5).differences == whole.differences and used == [None]  # below the cap
    monkeypatch.setattr(cc, "RESAMPLED_VALUES", 3 * 3000 * 50)  # room for 50 resamples at once
    batched = check(models, actual, replicates=5)
    assert used[-1] == 50
    # the same points; the ends move by the resampling noise only: about 3% of the width each at RESAMPLES
    # resamples (customer_check.RESAMPLES), so 0.2 of the width is 4 SDs of the difference of two ends
    for a, b in zip(whole.differences, batched.differences):
        assert a.value == b.value
        width = a.high - a.low
        assert abs(a.low - b.low) < 0.2 * width and abs(a.high - b.high) < 0.2 * width, (a, b)
