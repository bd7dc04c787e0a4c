"""Honest intervals: the parametric bootstrap is deterministic and its covariance travels, through scenario.toml,
into forecasts that draw the fitted parameters jointly. Their coverage over engine logs is measured by
benchmarks/calibrate_recovery.py (docs/calibration.md, "Honest intervals"), not asserted here: at a size where it
could be, the check takes tens of minutes."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibrate.bootstrap import bootstrap, refit
from experiments.calibrate.fit import calibrate
from experiments.calibrate.forecast import Uncertainty, draw_scenario
from experiments.calibrate.history import histories
from experiments.calibrate.scenario_file import fitted_errors, write_scenario
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.logs.transactions import read_transactions
from sim.config import apply_overrides, load_scenario, preset_text

TRUTH = {"population.cycle_median_days": 60.0, "population.cycle_sigma": 0.5}
CYCLE, SPREAD = TRUTH


def engine_transactions(tmp_path, seed, customers, days, holdout=0):
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    c, d, a = engine_log(truth, customers, days + holdout, seed)
    path = tmp_path / f"tx{seed}.csv"
    write_log(path, c, d, a)
    end = BASE_DATE.toordinal() + days - 1
    tx = read_transactions(path, calibration_end=end)
    return tx, histories(tx, end)


def test_bootstrap_is_seeded_and_its_covariance_reaches_the_forecast(tmp_path):
    _, h = engine_transactions(tmp_path, 3, 400, 120)
    cal = calibrate(h, load_scenario("beauty"), None, seed=1, iterations=4, min_pool=1000)
    a = bootstrap(cal, 2, seed=5, steps=4)
    np.testing.assert_array_equal(a.boot[1], refit(cal, 1, seed=5, steps=4))  # each refit is a function of its seeds
    assert not np.array_equal(a.boot[0], a.boot[1])
    np.testing.assert_array_equal(bootstrap(cal, 2, seed=5, steps=4, jobs=2).boot, a.boot)  # whatever the processes
    names = a.matched.names
    assert a.boot.shape == (2, len(names)) and CYCLE in names
    for k, name in enumerate(names):  # the reported SE is the refits' spread
        assert a.ses[name] == pytest.approx(a.values[name] * a.boot[:, k].std(ddof=1), rel=1e-9)
    write_scenario(a, preset_text("beauty"), tmp_path / "scenario.toml", "calibrated", "tx.csv")
    got = fitted_errors(tmp_path / "scenario.toml")
    assert got.names == names
    np.testing.assert_allclose(got.log_cov, a.covariance, rtol=1e-5)
    assert got.ses[CYCLE] == pytest.approx(a.ses[CYCLE], rel=1e-3)
    assert fitted_errors(tmp_path / "missing.toml").names == ()


def test_forecast_draws_fitted_parameters_jointly():
    base = apply_overrides(load_scenario("beauty"), TRUTH)
    sd = np.array([0.1, 0.2])
    rho = 0.9
    cov = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
    errors = Uncertainty({CYCLE: 6.0, SPREAD: 0.1, "population.order_value_median": 16.0}, (CYCLE, SPREAD), cov)
    rng = np.random.default_rng(0)
    n = 400
    pops = [draw_scenario(base, errors, rng).population for _ in range(n)]
    logs = np.log([[p.cycle_median_days, p.cycle_sigma, p.order_value_median] for p in pops])
    z = 4.0 / np.sqrt(n - 3)  # Fisher z: atanh(r) has sd 1/sqrt(n-3)
    r = np.corrcoef(logs, rowvar=False)
    assert abs(np.arctanh(r[0, 1]) - np.arctanh(rho)) < z, r
    assert abs(np.arctanh(r[0, 2])) < z and abs(np.arctanh(r[1, 2])) < z, r  # order value: independent
    tol = 4.0 / np.sqrt(2 * (n - 1))  # relative sd of a sample sd
    np.testing.assert_allclose(logs[:, :2].std(axis=0, ddof=1), sd, rtol=tol)
    relative = 16.0 / base.population.order_value_median  # drawn with its SE, independently
    assert abs(logs[:, 2].std(ddof=1) - relative) < tol * relative


def test_forecast_draws_are_centred_on_the_estimates_in_log():
    """The errors are those of log estimates: the draws' log median is the estimate's, however wide (a weakly
    identified dropout rate with a log SE of 1 would, with its mean kept, draw a median of exp(-1/2) of it)."""
    base = load_scenario("beauty")
    rate = "population.dropout_per_year"
    errors = Uncertainty({rate: 0.15, SPREAD: 0.1}, (rate,), np.array([[1.0]]))
    rng = np.random.default_rng(1)
    n = 400
    pops = [draw_scenario(base, errors, rng).population for _ in range(n)]
    logs = np.log([[p.dropout_per_year, p.cycle_sigma] for p in pops])
    centre = np.log([base.population.dropout_per_year, base.population.cycle_sigma])
    sd = np.array([1.0, 0.1 / base.population.cycle_sigma])
    np.testing.assert_array_less(np.abs(logs.mean(axis=0) - centre), 4 * sd / np.sqrt(n))  # old shift: -0.5 sd^2



def test_quick_refits_come_back_from_a_wrong_start_and_the_cli_reports_them(tmp_path):
    """The quick bootstrap's refit is an estimator: started 0.3 off in the log cycle and its spread (the
    estimate of a fit whose scenario is the truth), its Gauss-Newton steps on the central slopes bring the
    refits back to the truth within their own noise; and the fit reports their intervals (fit.md, scenario.toml)."""
    from dataclasses import replace

    from experiments.calibrate.bootstrap import newton_refit
    from experiments.calibrate.profile import binding_of, central_jacobian
    from experiments.calibrate.report import fit_markdown

    _, h = engine_transactions(tmp_path, 3, 600, 150)
    cal = calibrate(h, load_scenario("beauty"), None, seed=1, iterations=4, min_pool=1500)
    truth = apply_overrides(cal.scenario, TRUTH)
    m = cal.matched
    true_t = m.theta.copy()
    for k, name in enumerate(m.names):
        if name in TRUTH:
            true_t[k] = np.log(TRUTH[name])
    off = true_t + 0.3 * np.isin(np.arange(len(m.names)), [m.names.index(CYCLE), m.names.index(SPREAD)])
    at_truth = replace(cal, scenario=truth, matched=replace(m, theta=true_t))
    jac = central_jacobian(binding_of(at_truth), true_t)
    started = replace(at_truth, matched=replace(m, theta=off))  # logs from the truth, refits from 0.3 off
    b = 10
    refits = np.array([newton_refit(started, r, seed=7, jac=jac) for r in range(b)])
    for name in (CYCLE, SPREAD):
        k = m.names.index(name)
        mean, sd = refits[:, k].mean(), refits[:, k].std(ddof=1)
        assert 0.02 < sd < 0.3, (name, sd)  # refits spread (the logs differ) but stay informative
        # back at the truth (the mean of b refits: sd/sqrt(b)), not at the start 0.3 away
        assert abs(mean - true_t[k]) < 4 * sd / np.sqrt(b) < 0.3, (name, mean, true_t[k], sd)
    np.testing.assert_array_equal(refits[1], newton_refit(started, 1, seed=7, jac=jac))  # a function of its seeds
    a = bootstrap(cal, 3, seed=5, jac=jac)
    assert a.method == "bootstrap" and a.boot.shape == (3, len(m.names))
    text = fit_markdown(a, "tx.csv", "beauty", [], None, 1.0)
    assert "Gauss-Newton steps from the estimate" in text
    write_scenario(a, preset_text("beauty"), tmp_path / "scenario.toml", "calibrated", "tx.csv")
    assert fitted_errors(tmp_path / "scenario.toml").ses[CYCLE] == pytest.approx(a.ses[CYCLE], rel=1e-3)
