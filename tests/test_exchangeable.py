"""Customers a forecast cannot tell apart: pooled expectations keep the mean and divide the simulation noise."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibrate.exchangeable import cells, pooled, pooled_per_unit
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.logs.transactions import read_transactions
from sim.config import apply_overrides, load_scenario

DAYS, WEEKS = 240, 12


def test_pooled_takes_each_label_s_mean_and_keeps_the_total():
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    labels = np.array([0, 0, 1, 1, 2])
    out = pooled(values, labels)
    assert np.array_equal(out, [1.5, 1.5, 3.5, 3.5, 10.0])
    assert out.sum() == pytest.approx(values.sum())


def test_spend_is_pooled_per_yuan_of_each_customer_s_own_order_value():
    unit = np.array([100.0, 300.0, np.nan, 50.0])
    labels = np.array([0, 0, 0, 1])
    spend = np.array([90.0, 330.0, 7.0, 40.0])  # per yuan: 0.9 and 1.1 in label 0 (the NaN one stays out)
    out = pooled_per_unit(spend, unit, labels)
    assert out[0] == pytest.approx(100.0) and out[1] == pytest.approx(300.0)
    assert out[2] == 7.0 and out[3] == 40.0


@pytest.fixture(scope="module")
def engine_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("ex") / "tx.csv"
    c, d, a = engine_log(load_scenario("beauty"), 1200, DAYS + 7 * WEEKS, 5)
    write_log(path, c, d, a)
    end = BASE_DATE.toordinal() + DAYS - 1
    return histories(read_transactions(path, calibration_end=end), end)


def test_summed_chances_keep_the_curve_and_the_total_and_cut_the_noise_of_each_customer_s_mean(engine_data):
    h = engine_data
    beauty = load_scenario("beauty")
    runs = {(seed, summed): forecast(beauty, h, 7 * WEEKS, replicates=6, seed=seed, pool=False, chances=summed)
            for seed in (1, 2) for summed in (True, False)}
    chances, drawn = runs[1, True], runs[1, False]
    assert chances.chances and not drawn.chances and np.array_equal(chances.replicates, drawn.replicates)
    # the same paths: drawn minus summed, over 6 replicates, has variance at most the chances' sum
    total = 6 * chances.expected_transactions.sum()
    assert abs(6 * drawn.expected_transactions.sum() - total) < 3 * np.sqrt(total)
    # two forecasts with other seeds differ by less: each mean squared gap over n customers is about chi-square
    # (relative sd sqrt(2 / n) each), so no gain would leave their ratio within 1 -/+ 3 sqrt(4 / n)
    gap = {s: np.mean((runs[1, s].expected_transactions - runs[2, s].expected_transactions) ** 2)
           for s in (True, False)}
    assert gap[True] / gap[False] < 1 - 3 * np.sqrt(4 / h.n), gap  # 0.38 here (880 customers: bound 0.80)


def test_customers_share_a_cell_when_their_records_match_and_spend_counts_only_under_membership(engine_data):
    h = engine_data
    beauty = load_scenario("beauty")
    labels = cells(h, beauty)
    record = np.column_stack([h.x, h.t_x, h.T])
    assert labels.max() + 1 == np.unique(record, axis=0).shape[0] < h.n
    same = labels[:, None] == labels[None, :]
    assert np.array_equal(same, (record[:, None, :] == record[None, :, :]).all(axis=2))
    members = cells(h, apply_overrides(beauty, {"membership.enabled": True}, "test"))
    assert members.max() > labels.max()  # one record, different spends: apart
    assert not ((members[:, None] == members[None, :]) & ~same).any()  # ... and never together across records
    assert cells(h, beauty, planned=True) is None


def test_a_pooled_forecast_keeps_the_curve_and_the_totals_and_divides_the_noise_among_shared_records(engine_data):
    h = engine_data
    beauty = load_scenario("beauty")
    labels = cells(h, beauty)
    own = forecast(beauty, h, 7 * WEEKS, replicates=6, seed=1, pool=False)
    pool = forecast(beauty, h, 7 * WEEKS, replicates=6, seed=1)
    assert np.array_equal(own.replicates, pool.replicates) and pool.records == labels.max() + 1 and own.records == 0
    for got, raw in ((pool.expected_transactions, own.expected_transactions), (pool.p_alive, own.p_alive)):
        assert np.allclose(np.bincount(labels, weights=got), np.bincount(labels, weights=raw))
        assert np.allclose(got, pooled(raw, labels))
    # the noise: two forecasts with other seeds differ by less once pooled, where a record is shared
    other = forecast(beauty, h, 7 * WEEKS, replicates=6, seed=2, pool=False)
    shared = np.bincount(labels)[labels] > 1
    raw_gap = (own.expected_transactions - other.expected_transactions)[shared]
    pooled_gap = (pool.expected_transactions - pooled(other.expected_transactions, labels))[shared]
    ratio = np.mean(pooled_gap ** 2) / np.mean(raw_gap ** 2)
    # independent noise of equal size within a cell of m customers: its mean's variance is 1/m of one customer's
    size = np.bincount(labels)
    expected = np.mean(1.0 / size[labels][shared])  # 0.363 here: 292 customers in 106 cells of 2-8
    # each mean of squared gaps is about chi-square: relative sd sqrt(2 / cells) and sqrt(2 / customers); 3 sd
    tolerance = 3 * np.sqrt(2 / np.sum(size > 1) + 2 / shared.sum())
    assert abs(ratio / expected - 1) < tolerance, (ratio, expected, tolerance)
    assert expected * (1 + tolerance) < 0.6  # and no gain (a ratio of 1) would be far outside
