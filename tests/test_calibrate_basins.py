"""Fits the log cannot tell apart (``siyu calibrate --basins``): found, weighted, written, read back and mixed."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from conftest import engine_histories
from scipy.stats import chi2

from experiments.calibrate.fit import MISFIT_P, Basin, basin_weights, calibrate, interior, log_box
from experiments.calibrate.forecast import Component, Uncertainty, allocate, forecast
from experiments.calibrate.history import daily, weekly_repeats
from experiments.calibrate.scenario_file import fitted_errors, scenario_text
from experiments.calibrate.simulate import BASE_DATE
from experiments.cli.app import main
from sim.config import load_scenario, preset_text

DAYS = 240
CYCLE = "population.cycle_median_days"


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = tmp_path_factory.mktemp("basins") / "tx.csv"
    tx, h, _ = engine_histories(path, 500, DAYS, 11)
    return tx, h, path


def test_weights_follow_the_quasi_likelihood_and_replicates_follow_the_weights():
    w = basin_weights([4.0, 6.0, 4.0])
    assert w == pytest.approx(np.array([1.0, math.exp(-1.0), 1.0]) / (2 + math.exp(-1.0)))
    assert allocate([0.74, 0.26], 40).tolist() == [30, 10]  # 29.6 and 10.4: the larger remainder gets the odd one
    assert allocate([1, 1, 1], 40).tolist() == [14, 13, 13]
    assert allocate([1.0], 7).tolist() == [7]


def test_a_fit_at_the_end_of_a_range_is_not_kept_as_a_basin():
    names = ("population.dropout_per_year", "population.dropout_sigma")
    lo, hi = log_box(names)
    assert interior((lo + hi) / 2, names)
    assert not interior(np.array([hi[0], (lo[1] + hi[1]) / 2]), names)  # dropout at 20 a year, the upper end
    assert not interior(np.array([(lo[0] + hi[0]) / 2, lo[1] + 0.001]), names)


def test_calibrate_searches_elsewhere_and_keeps_only_fits_that_pass(log, tmp_path, capsys):
    tx, h, csv = log
    cust, day, _ = daily(tx.before(h.end))
    cal = calibrate(h, load_scenario("beauty"), weekly_repeats(cust, day, int(h.first.min()), h.end), seed=0,
                    basins=2, min_pool=2000)
    starts = [row["start"] for row in cal.iterations]
    assert set(starts) == {0, 1, 2}  # its own log: the first search passes, the second starts elsewhere
    assert starts[-1] == 0 and starts.count(0) == 1  # then the estimate refined (the best of the refined fits)
    df = len(cal.stat_names) - len(cal.matched.names)
    assert chi2.sf(cal.j, df) >= MISFIT_P
    assert len(cal.basins) == 1  # the second search's fit passes too
    for b in cal.basins:
        assert chi2.sf(b.j, df) >= MISFIT_P and b.j >= cal.j  # the estimate is the best fit found
        assert b.covariance.shape == (len(cal.matched.names),) * 2
    # the file carries the mixture and siyu forecast reads it back: one more basin, set by hand
    other = Basin(cal.matched.theta + 0.5, 2 * np.asarray(cal.covariance), cal.j + 2.0)
    two = replace(cal, basins=(other,))
    text = scenario_text(two, preset_text("beauty"), "t", "tx.csv")
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    got = fitted_errors(path)
    w = basin_weights([cal.j, cal.j + 2.0])
    assert [c.weight for c in got.components()] == pytest.approx(w, rel=1e-6)
    assert got.components()[0].values == {}  # the file's own values
    names = cal.matched.names
    assert got.names == names
    assert [got.components()[1].values[n] for n in names] == pytest.approx(list(other.values(names).values()),
                                                                          rel=1e-6)
    assert np.allclose(got.components()[1].log_cov, other.covariance, rtol=1e-6)
    assert np.allclose(got.components()[0].log_cov, cal.covariance, rtol=1e-6)
    end = (BASE_DATE + timedelta(days=DAYS - 1)).isoformat()
    until = (BASE_DATE + timedelta(days=DAYS + 27)).isoformat()
    capsys.readouterr()
    assert main(["forecast", str(path), "--cohort", str(csv), "--calibration-end", end, "--until", until,
                 "--replicates", "4", "--out", str(tmp_path / "fc")]) == 0
    assert f"mixing 2 fits the log cannot tell apart, weights {w[0]:.2f}, {w[1]:.2f}" in capsys.readouterr().out
    # a hand-edited file that lost a basin's value: this file's values alone, as without basins
    cut = "\n".join(line for line in text.splitlines() if not line.startswith(f"# basin 1 value {names[0]} "))
    path.write_text(cut, encoding="utf-8")
    assert fitted_errors(path).basins == ()
    negative = text.replace("# basin 1 weight = ", "# basin 1 weight = -")  # a weight that is no weight
    path.write_text(negative, encoding="utf-8")
    assert fitted_errors(path).basins == ()


def test_forecast_mixes_the_basins_and_its_band_reaches_both(log):
    _, h, _ = log
    sc = load_scenario("beauty")
    cycle = float(sc.population.cycle_median_days)
    none = np.zeros((0, 0))
    alone = Uncertainty(basins=(Component(1.0, {}, none),))
    slow = Component(0.5, {CYCLE: 4 * cycle}, none)
    mixed = Uncertainty(basins=(Component(0.5, {}, none), slow))
    first = forecast(sc, h, 84, replicates=10, seed=5, errors=alone)
    plain = forecast(sc, h, 84, replicates=10, seed=5)
    assert np.array_equal(first.replicates, plain.replicates)  # one part is the scenario alone, bit for bit
    fc = forecast(sc, h, 84, replicates=20, seed=5, errors=mixed)
    assert np.array_equal(fc.replicates[:10], first.replicates)  # the first part's replicates come first
    fast_end, slow_end = fc.replicates[:10, -1], fc.replicates[10:, -1]
    assert slow_end.max() < fast_end.min()  # a four times longer cycle: fewer repeats in every replicate
    assert fc.low[-1] < fast_end.mean() and fc.low[-1] <= slow_end.mean() < fast_end.mean() <= fc.high[-1] + 1e-9
    assert fc.mean[-1] == pytest.approx(0.5 * (fast_end.mean() + slow_end.mean()))
