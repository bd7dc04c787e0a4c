"""Draws weighed to the quasi-posterior (``siyu calibrate --draws``): sampled, weighed, written, read and forecast."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from experiments.calibrate.draws import FILE, Draws, read_draws, write_draws
from experiments.calibrate.fit import LIMITS, log_box
from experiments.calibrate.forecast import Uncertainty, forecast
from experiments.calibrate.quasi import (CONDITION, DEFENSIVE, PRIOR_WIDTH, RIDGE, Proposal, Scored,
                                        importance_weights, positive, quasi_posterior)
from experiments.calibrate.report import _draws_lines, draws_hint, fit_markdown
from experiments.calibrate.scenario_file import fitted_errors, write_scenario
from experiments.calibrate.simulate import BASE_DATE
from experiments.cli.app import main
from sim.config import apply_overrides, load_scenario, preset_text

CYCLE, SPREAD = "population.cycle_median_days", "population.cycle_sigma"


@pytest.fixture(scope="module")
def fitted(small_fit):
    """The shared engine log of 1,000 customers (``small_fit``), its search and eight draws."""
    cal, path, end = small_fit
    return cal, quasi_posterior(cal, 8, seed=0), path, end


def test_the_proposal_is_a_density_on_the_box():
    # a normal half outside the box, truncated, plus the uniform share: it integrates to 1 over the box
    box = np.array([[0.0, 0.0], [2.0, 1.0]])
    rng = np.random.default_rng(3)
    q = Proposal([np.array([0.0, 0.5])], [np.diag([0.3, 0.05])], box, rng)
    u = rng.uniform(box[0], box[1], size=(40_000, 2))
    values = np.exp(q.log_density(u)) * 2.0  # times the box's area: the mean is the integral
    assert values.mean() == pytest.approx(1.0, abs=4 * values.std() / np.sqrt(u.shape[0]))
    x = q.sample(2_000, rng)
    assert np.all((x >= box[0]) & (x <= box[1]))
    share_far = np.mean(x[:, 0] > 1.5)  # only the uniform share reaches 4.7 sd out along the first axis
    assert share_far == pytest.approx(DEFENSIVE * 0.25, abs=4 * np.sqrt(DEFENSIVE * 0.25 / x.shape[0]))


def test_a_slightly_indefinite_covariance_still_proposes():
    # a sandwich along a ridge, read back from rounded comments: one eigenvalue a hair below zero
    cov = np.array([[1.0, 1.0 + 1e-7], [1.0 + 1e-7, 1.0]])
    assert np.linalg.eigvalsh(cov).min() < 0
    fixed = positive(cov)
    assert np.linalg.eigvalsh(fixed).min() >= RIDGE * (1 - 1e-9) and fixed == pytest.approx(cov, abs=1e-6)
    box = np.array([[-3.0, -3.0], [3.0, 3.0]])
    q = Proposal([np.zeros(2)], [cov], box, np.random.default_rng(0))
    x = q.sample(50, np.random.default_rng(1))
    assert np.all(np.isfinite(q.log_density(x)))
    # a sandwich with a zero and a huge eigenvalue (a master fit's: 0 to 2,000, then times phi)
    wild = np.diag([0.0, 3e4])
    Proposal([np.zeros(2)], [wild], box, np.random.default_rng(0))
    assert np.linalg.eigvalsh(positive(wild)).min() == pytest.approx(3e4 * CONDITION)


def test_the_weights_turn_the_proposal_s_draws_into_the_quasi_posterior():
    # J a quadratic form and the prior the proposal's normal N(0, I): the quasi-posterior exp(-J / 2 phi) x prior
    # is the normal with precision inv(phi S) + I and mean inv(precision) inv(phi S) mu
    box = np.array([[-8.0, -8.0], [8.0, 8.0]])
    mu, s, phi = np.array([0.8, -0.5]), np.array([[0.2, 0.1], [0.1, 0.3]]), 4.0
    rng = np.random.default_rng(8)
    q = Proposal([np.zeros(2)], [np.eye(2)], box, rng)
    x = q.sample(4_000, rng)
    d = x - mu
    js = np.einsum("ni,ij,nj->n", d, np.linalg.inv(s), d)
    w = importance_weights(js, q.log_density(x), phi, q.normals.log_pdf(x))
    ess = 1.0 / np.sum(w ** 2)
    precision = np.linalg.inv(phi * s) + np.eye(2)
    cov_true = np.linalg.inv(precision)
    mean_true = cov_true @ np.linalg.inv(phi * s) @ mu
    mean = w @ x
    sd = np.sqrt(np.diag(cov_true))
    assert np.all(np.abs(mean - mean_true) < 4 * sd / np.sqrt(ess))
    cov = (x - mean).T @ ((x - mean) * w[:, None])
    assert np.diag(cov) == pytest.approx(np.diag(cov_true), rel=4 * np.sqrt(2 / ess))
    # without the prior the same draws give the flat prior's quasi-posterior, N(mu, phi S)
    flat = importance_weights(js, q.log_density(x), phi)
    flat_ess = 1.0 / np.sum(flat ** 2)
    assert np.all(np.abs(flat @ x - mu) < 4 * np.sqrt(np.diag(phi * s)) / np.sqrt(flat_ess))


def test_a_prior_width_times_the_fit_s_leaves_the_draws_that_share_of_its_variance():
    # J a quadratic form around the estimate with the fit's covariance S: the quasi-likelihood is N(mu, phi S); with
    # the prior N(mu, w phi S) the quasi-posterior is N(mu, phi S w / (1 + w)): a half for the fit's own normal
    box = np.array([[-9.0, -9.0], [9.0, 9.0]])
    mu, s, phi = np.array([0.3, -0.2]), np.array([[0.3, 0.1], [0.1, 0.2]]), 2.0
    rng = np.random.default_rng(5)
    q = Proposal([mu], [phi * s], box, rng)
    x = q.sample(6_000, rng)
    d = x - mu
    js = np.einsum("ni,ij,nj->n", d, np.linalg.inv(s), d)
    names = tuple(sorted(LIMITS))[:2]  # the weights do not depend on which
    scored = Scored(names, x, js, q.log_density(x), phi, [mu], [s], box, 0)
    for width, share in ((1.0, 0.5), (PRIOR_WIDTH, PRIOR_WIDTH / (1 + PRIOR_WIDTH)), (None, 1.0)):
        w = scored.weigh(width).weight
        ess = 1.0 / np.sum(w ** 2)
        var = ((x - w @ x) ** 2 * w[:, None]).sum(axis=0)
        assert var == pytest.approx(share * phi * np.diag(s), rel=4 * np.sqrt(2 / ess))


def test_draws_are_scored_on_a_common_simulation_and_kept_in_range(fitted):
    cal, d, _, _ = fitted
    assert d.names == cal.matched.names and d.values.shape == (8, len(d.names))
    assert d.weight.sum() == pytest.approx(1.0) and np.all(d.weight >= 0)
    lo, hi = np.exp(log_box(d.names))
    assert np.all((d.values >= lo * (1 - 1e-12)) & (d.values <= hi * (1 + 1e-12)))
    assert d.dispersion >= 1.0 and 1.0 <= d.ess() <= 8.0
    again = quasi_posterior(cal, 8, seed=0, jobs=2)  # scored in two worker processes
    assert np.array_equal(again.values, d.values) and np.array_equal(again.weight, d.weight)  # same seed, same draws
    # a draw's J is the misfit at its values: the best draw fits better than the worst by a margin
    assert d.j.min() < d.j.max()


def test_picks_follow_the_weights_and_the_file_reads_back(fitted, tmp_path):
    _, d, _, _ = fitted
    counts = np.bincount(d.pick(100, np.random.default_rng(1)), minlength=d.j.size)
    assert counts.sum() == 100 and np.all(np.abs(counts - 100 * d.weight) < 1)  # systematic: floor or ceil
    write_draws(d, tmp_path / FILE)
    back = read_draws(tmp_path / FILE, LIMITS)
    assert back.names == d.names
    assert back.weight == pytest.approx(d.weight, rel=1e-5) and back.values == pytest.approx(d.values, rel=1e-7)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("weight,J,", "w,J,", 1), "the header must be"),
    (lambda t: t.replace("population.cycle_sigma", "population.cycle_wobble", 1), "not a fitted parameter"),
    (lambda t: t + "1.0,2.0\n", "fields, expected"),
    (lambda t: t + "x" + t.splitlines()[1][1:] + "\n", "not a number"),
    (lambda t: t + "-" + t.splitlines()[1] + "\n", "weights not negative"),
    (lambda t: t.splitlines()[0] + "\n", "no draw with a positive weight"),
])
def test_a_bad_draws_file_fails_in_one_line_naming_the_row(fitted, tmp_path, edit, message):
    _, d, _, _ = fitted
    write_draws(d, tmp_path / FILE)
    (tmp_path / FILE).write_text(edit((tmp_path / FILE).read_text()))
    with pytest.raises(ValueError, match=message):
        read_draws(tmp_path / FILE, LIMITS)


def test_a_value_out_of_range_is_refused(tmp_path):
    d = Draws((SPREAD,), np.array([[9.0]]), np.array([1.0]), np.array([1.0]))
    write_draws(d, tmp_path / FILE)
    with pytest.raises(ValueError, match="row 2: population.cycle_sigma = 9 is outside"):
        read_draws(tmp_path / FILE, LIMITS)


def test_a_replicate_takes_its_values_from_a_draw_bit_for_bit(fitted):
    # one draw of weight 1: the forecast is the scenario set to the draw's values, the same random numbers
    h = fitted[0].data
    sc = load_scenario("beauty")
    slow = {CYCLE: 2.0 * float(sc.population.cycle_median_days)}
    d = Draws((CYCLE,), np.array([[slow[CYCLE]]]), np.array([3.0]), np.array([1.0]))
    drawn = forecast(sc, h, 56, replicates=4, seed=2, cohort="new", errors=Uncertainty(names=(CYCLE,), draws=d))
    direct = forecast(apply_overrides(sc, slow, "test"), h, 56, replicates=4, seed=2, cohort="new")
    assert np.array_equal(drawn.replicates, direct.replicates)


def test_scenario_file_names_its_draws_and_forecast_reads_them(fitted, tmp_path):
    cal, d, _, _ = fitted
    with_draws = replace(cal, draws=d)
    write_scenario(with_draws, preset_text("beauty"), tmp_path / "scenario.toml", "t", "tx.csv")
    assert (tmp_path / FILE).is_file() and "# draws file = draws.csv" in (tmp_path / "scenario.toml").read_text()
    got = fitted_errors(tmp_path / "scenario.toml")
    assert got.draws is not None and got.draws.weight == pytest.approx(d.weight, rel=1e-5)
    assert got.components()[0].values == {}  # the draws replace the mixture
    text = "\n".join(_draws_lines(with_draws))
    assert f"{d.j.size} draws" in text and f"effective sample size {d.ess():.0f}" in text
    (tmp_path / FILE).unlink()
    with pytest.raises(ValueError, match="which is missing: copy it beside the scenario"):
        fitted_errors(tmp_path / "scenario.toml")
    (tmp_path / "scenario.toml").write_text((tmp_path / "scenario.toml").read_text()
                                            .replace("# draws file = draws.csv", "# draws file = ../x.csv"))
    with pytest.raises(ValueError, match="a file name beside the scenario is expected"):
        fitted_errors(tmp_path / "scenario.toml")


def test_cli_calibrate_with_draws_and_forecast_from_them(fitted, tmp_path, capsys):
    _, _, path, end = fitted
    day = BASE_DATE.fromordinal(end).isoformat()
    out = tmp_path / "cal"
    assert main(["calibrate", str(path), "--calibration-end", day, "--bootstrap", "0", "--starts", "1",
                 "--draws", "4", "--no-holdout", "--keep-base-dropout", "--min-pool", "4000", "--out", str(out)]) == 0
    assert (out / FILE).is_file() and (out / "draws.png").stat().st_size > 0
    md = (out / "fit.md").read_text()
    assert "Draws weighed to the quasi-posterior" in md and "from a pool of 4,000." in md  # the fixture's pool
    said = " ".join(capsys.readouterr().out.split())  # the console wraps lines at 80 columns
    assert "4 quasi-posterior draws, worth" in said and "fewer than 20: a few carry the forecast" in said
    assert main(["forecast", str(out / "scenario.toml"), "--cohort", str(path), "--calibration-end", day,
                 "--until", BASE_DATE.fromordinal(end + 28).isoformat(),
                 "--replicates", "4", "--out", str(tmp_path / "fc")]) == 0
    assert (tmp_path / "fc" / "forecast.csv").is_file()
    assert "quasi-posterior draws, picked by weight" in " ".join(capsys.readouterr().out.split())  # lines wrap
    for wrong in ("1", "1000001"):  # one draw has no spread; a million would be laid out in memory before scoring
        with pytest.raises(SystemExit) as stop:
            main(["calibrate", str(path), "--calibration-end", day, "--draws", wrong, "--out", str(out)])
        assert stop.value.code == 2
        assert f"'{wrong}': 0 or a whole number of draws from 2 to 100,000" in capsys.readouterr().err


def test_a_loose_parameter_brings_the_hint_and_draws_silence_it(fitted):
    cal, d, _, _ = fitted
    k = len(cal.matched.names)
    tight = replace(cal, covariance=np.eye(k) * 0.01)
    assert draws_hint(tight) is None and "--draws 200" not in fit_markdown(tight, "tx.csv", "beauty", [], None, 1.0)
    cov = np.eye(k) * 0.01
    cov[1, 1] = 3.0 ** 2  # a log-scale SE of 3: 90% of the normal's draws span a factor of e^(2 x 1.645 x 3)
    loose = replace(cal, covariance=cov)
    hint = draws_hint(loose)
    assert hint.startswith(f"{cal.matched.names[1]}'s log-scale SE is 3:") and "factor of 1.93e+04" in hint
    assert hint in fit_markdown(loose, "tx.csv", "beauty", [], None, 1.0)
    assert draws_hint(replace(loose, draws=d)) is None
