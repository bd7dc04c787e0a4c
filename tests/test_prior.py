"""``siyu calibrate --prior``: another log's fit as a normal prior on the log values (experiments/calibrate/prior.py).

The small fit is the session's shared one (1,000 customers of ``beauty``, 240 days, cycle and spread fitted).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.calibrate.bootstrap import replicate_target
from experiments.calibrate.fit import MISFIT_P, calibrate, misfit, sandwich_covariance
from experiments.calibrate.prior import Prior, anchor, block
from experiments.calibrate.report import fit_markdown
from experiments.calibrate.scenario_file import read_prior, write_scenario
from experiments.cli.app import main
from experiments.cli.commands import calibrate as calibrate_command
from sim.config import load_scenario, preset_text

CYCLE, SPREAD = "population.cycle_median_days", "population.cycle_sigma"


def refit(small_fit, prior: Prior):
    """The shared small fit's search run again with ``prior`` (same log, seed, starts and pool)."""
    cal = small_fit[0]
    return calibrate(cal.data, cal.base, cal.data_weekly, seed=0, starts=1, min_pool=4000, prior=prior)


def test_an_anchor_is_the_prior_s_marginal_on_the_fitted_names_over_its_weight():
    cov = ((0.04, 0.01, 0.0), (0.01, 0.09, 0.02), (0.0, 0.02, 0.16))
    prior = Prior(("a", "b", "c"), (1.0, 2.0, 3.0), cov, 0.5, "big/scenario.toml")
    a = anchor(prior, ("x", "c", "a"), 1.25)
    assert a.index == (1, 2) and a.names == ("c", "a") and a.stat_names == ("prior c", "prior a")
    np.testing.assert_array_equal(a.mean, [3.0, 1.0])
    np.testing.assert_allclose(a.covariance, [[0.32, 0.0], [0.0, 0.08]])  # over the weight
    np.testing.assert_array_equal(a.values(np.array([7.0, 8.0, 9.0])), [8.0, 9.0])
    sigma = block(np.eye(2), a)
    np.testing.assert_allclose(sigma[2:, 2:], a.covariance / 1.25)  # the simulation's factor taken out
    assert sigma[:2, 2:].sum() == 0 and block(np.eye(2), None).shape == (2, 2)
    assert anchor(None, ("a",), 1.0) is None
    with pytest.raises(ValueError, match=r"^the prior \(big/scenario.toml\) has none of the fitted parameters \(x\)"):
        anchor(prior, ("x",), 1.0)


def test_the_sandwich_with_a_prior_is_the_posterior_s_covariance():
    # linear statistics s = G theta with covariance Sigma, a prior N(mean, C) on both log values, weighted as the fit
    # weighs them (the prior's block over the simulation factor the weight was set with)
    rng = np.random.default_rng(3)
    g, sigma = rng.normal(size=(4, 2)), np.diag([0.5, 1.0, 2.0, 1.5])
    c = np.array([[0.3, 0.1], [0.1, 0.2]])
    prior = Prior(("a", "b"), (0.0, 0.0), tuple(map(tuple, c)))
    jac = np.vstack([g, np.eye(2)])
    a = anchor(prior, ("a", "b"), 1.25)
    weight = np.linalg.pinv(block(sigma, a))
    data = g.T @ np.linalg.inv(sigma) @ g
    posterior = np.linalg.inv(data / 1.25 + np.linalg.inv(c))
    np.testing.assert_allclose(sandwich_covariance(jac, weight, block(sigma, a), 1.25, a), posterior, rtol=1e-9)
    # a refined estimate's factor is nearer 1, and only the simulated statistics' share of the noise shrinks with it:
    # where the log says next to nothing the prior's covariance stays whole
    faint = np.vstack([g * 1e-4, np.eye(2)])
    np.testing.assert_allclose(sandwich_covariance(faint, weight, block(sigma, a), 1.02, a), c, rtol=1e-4)


def test_a_prior_as_sure_as_the_log_halves_the_variance(small_fit):
    # a normal prior centred at the estimate with the fit's own variance: the posterior's variance is half of it
    # where the slopes are the same; the refit's search ends a fraction of an SE away, where they differ a little
    cal = small_fit[0]
    k = cal.matched.names.index(CYCLE)
    v = float(cal.covariance[k, k])
    own = refit(small_fit, Prior((CYCLE,), (float(cal.matched.theta[k]),), ((v,),), 1.0, "own"))
    assert own.covariance[k, k] / v == pytest.approx(0.5, abs=0.1)
    assert abs(own.matched.theta[k] - cal.matched.theta[k]) < 0.5 * math.sqrt(v)
    assert misfit(own).df == misfit(cal).df + 1  # the prior is one more statistic to match
    assert misfit(own).j - misfit(cal).j < own.matched.prior.conflict(MISFIT_P)  # a prior that suits the log


def test_a_firm_prior_holds_the_value_and_fit_md_says_so(small_fit, tmp_path):
    cal = small_fit[0]
    k = cal.matched.names.index(CYCLE)
    far = float(cal.matched.theta[k]) + math.log(1.3)
    held = refit(small_fit, Prior((CYCLE,), (far,), ((1e-4,),), 1.0, "big/scenario.toml"))
    assert held.matched.theta[k] == pytest.approx(far, abs=0.03)  # 3 of the prior's SEs
    assert math.sqrt(held.covariance[k, k]) <= 0.01 * 1.001
    assert held.stat_names[-1] == f"prior {CYCLE}" and held.stat_data[-1] == far
    text = fit_markdown(held, "tx.csv", "beauty", [], None, 1.0)
    assert (f"Prior (`--prior big/scenario.toml`): the fit there anchors `{CYCLE}` = {math.exp(far):.4g} (prior SD "
            f"{math.exp(far) * 0.01:.2g}), its customers counted once each") in text
    assert f"| prior {CYCLE} | {far:.4f} |" in text
    # 26 of the prior's SEs from the log's own estimate: the difference of the two J's says they disagree
    threshold = held.matched.prior.conflict(MISFIT_P)
    assert threshold == pytest.approx(6.635, abs=1e-3)  # chi-squared on 1 df at 0.01
    assert misfit(held).j - misfit(cal).j > threshold
    assert (f"a J here more than {threshold:.1f} above that fit's (chi-squared on 1 df at p = 0.01) says the prior "
            "and this log disagree") in " ".join(text.split())
    target = replicate_target(held, 5, 0)[0]  # a bootstrap replicate draws the prior's mean afresh
    assert target.size == held.stat_data.size
    assert target[-1] != replicate_target(held, 5, 1)[0][-1]
    np.testing.assert_array_equal(target, replicate_target(held, 5, 0)[0])


def test_read_prior_takes_a_fit_s_values_and_covariance_and_refuses_what_is_not_one(small_fit, tmp_path):
    cal = small_fit[0]
    path = tmp_path / "scenario.toml"
    write_scenario(cal, preset_text("beauty"), path, "calibrated", "tx.csv")
    prior = read_prior(path, 0.25)
    assert prior.names == cal.matched.names and prior.weight == 0.25 and prior.source == str(path)
    np.testing.assert_allclose(prior.mean, np.log([cal.values[n] for n in prior.names]), atol=1e-4)
    np.testing.assert_allclose(prior.covariance, cal.covariance, rtol=1e-5)
    preset = tmp_path / "beauty.toml"
    preset.write_text(preset_text("beauty"), encoding="utf-8")
    assert load_scenario(str(preset)).name  # a valid scenario, with no fit in it
    with pytest.raises(ValueError, match="has no joint covariance of fitted values"):
        read_prior(preset)
    for weight in (0.0, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
            read_prior(path, weight)
    with pytest.raises(ValueError, match="no such file"):
        read_prior(tmp_path / "missing.toml")


class _Stop(Exception):
    pass


def test_the_cli_hands_the_prior_to_the_searches_and_refuses_one_that_cannot_act(small_fit, tmp_path, monkeypatch,
                                                                                     capsys):
    cal, log, end = small_fit
    path = tmp_path / "scenario.toml"
    write_scenario(cal, preset_text("beauty"), path, "calibrated", "tx.csv")
    seen: list[dict] = []

    def stop(h, base, weekly, args, out, options, tag=""):
        seen.append(options)
        raise _Stop

    monkeypatch.setattr(calibrate_command, "searched_fits", stop)
    from experiments.logs.rows import day_text
    command = ["calibrate", str(log), "--calibration-end", day_text(end), "--out", str(tmp_path / "out")]
    for extra in ([], ["--prior", str(path), "--prior-weight", "0.5"]):
        assert main(command + extra) != 0 and "_Stop" in capsys.readouterr().err  # stopped at the searches
    assert "prior" not in seen[0]  # a default run's saved searches keep their keys
    assert seen[1]["prior"] == read_prior(path, 0.5)
    assert main(command + ["--prior-weight", "0.5"]) == 2
    assert "--prior-weight weighs a --prior" in capsys.readouterr().err
    assert main(command + ["--prior", str(path), "--prior-weight", "2"]) == 2
    assert "--prior-weight 2: must be in (0, 1]" in capsys.readouterr().err
    assert main(command + ["--prior", str(path), "--hold", CYCLE, "--hold", SPREAD]) == 2  # nothing left to anchor
    assert "has none of the fitted parameters" in capsys.readouterr().err
