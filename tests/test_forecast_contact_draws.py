"""The forecast redraws the contact-response parameters: the contact fit's covariance of log values goes into the
scenario file and back; under a contact plan each replicate draws the values jointly lognormally around the
estimates, within the scenario's range; a file without contact fits forecasts bit for bit as before."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate.contact_fit import LIMITS as CONTACT_LIMITS
from experiments.calibrate.contact_fit import ContactFit, parameter_value
from experiments.calibrate.forecast import draw_contacts, draw_scenario, forecast
from experiments.calibrate.history import histories
from experiments.calibrate.scenario_file import CONTACT_COVARIANCE, COVARIANCE_LINE, fitted_errors, write_contact_fit
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.cli.app import main
from experiments.logs.transactions import read_transactions
from policies.replay import Replay
from sim.config import Scenario, field_docs, load_scenario
from sim.defaults import CHANNELS, CONTENTS, EVENING

PRESET = Path(__file__).resolve().parents[1] / "sim" / "presets" / "beauty.toml"
POPULATION_NOTES = {"order_value_median = 160.0": "# fitted by siyu calibrate: SE 20 yuan",
                    "cycle_median_days = 45.0": "# fitted by siyu calibrate: SE 9 days",
                    "dropout_per_year = 0.15": "# fitted by siyu calibrate: SE 0.06 1/year"}
"""A population fit: two values with a joint covariance (:data:`POPULATION_COVARIANCE`), one with its SE alone."""
POPULATION_COVARIANCE = ("# covariance population.cycle_median_days population.cycle_median_days = 4.000000e-02\n"
                         "# covariance population.cycle_median_days population.dropout_per_year = -3.000000e-02\n"
                         "# covariance population.dropout_per_year population.dropout_per_year = 1.600000e-01\n")
NAMES = ("channels.wecom.open_rate", "channels.wecom.unsubscribe_rate", "contents.coupon.conversion")
VALUES = (0.45, 0.04, 0.1)
LOG_SD = np.array([0.05, 0.3, 0.5])
CORRELATION = np.array([[1.0, -0.3, 0.6], [-0.3, 1.0, 0.2], [0.6, 0.2, 1.0]])
LOG_COV = CORRELATION * np.outer(LOG_SD, LOG_SD)
"""The contact fit's covariance of log values: correlated, the conversion's spread wide (log SD 0.5)."""
SMS_OPEN = ("channels.sms.open_rate", 0.08, 0.3)
"""A value with an SE (log SD 0.3) but no covariance line: drawn independently."""
END = BASE_DATE.toordinal() + 119


def contact_fit(names=NAMES, values=VALUES, cov=LOG_COV, extra=None) -> ContactFit:
    """A contact fit: ``values``, their covariance of log values ``cov``, SEs from it (``extra``: SEs alone)."""
    vals = dict(zip(names, values))
    ses = {n: v * math.sqrt(cov[i, i]) for i, (n, v) in enumerate(vals.items())}
    fit = ContactFit(load_scenario("beauty"), vals, ses, {}, {}, (), np.zeros(0), np.zeros(0), np.zeros(0), 10, 5, 3,
                     30, 0, 1.0, covariance=np.asarray(cov))
    if extra is not None:
        name, value, log_sd = extra
        fit = replace(fit, values={**vals, name: value}, ses={**ses, name: value * log_sd}, covariance=None)
    return fit


def population_file(path: Path) -> Path:
    """``beauty`` with a population fit's SEs and covariance, as ``siyu calibrate`` writes them (no contact fit)."""
    text = PRESET.read_text(encoding="utf-8")
    for line, note in POPULATION_NOTES.items():
        assert line in text
        text = text.replace(line, f"{line}  {note}")
    path.write_text(text + "\n" + POPULATION_COVARIANCE, encoding="utf-8")
    return path


def contact_file(path: Path, fit: ContactFit | None = None) -> Path:
    """:func:`population_file` with a contact fit put in by :func:`write_contact_fit`."""
    population_file(path)
    write_contact_fit(path, fit or contact_fit())
    return path


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """600 customers of ``beauty`` over 150 days, the first 120 the calibration period (the CLI test's log)."""
    path = tmp_path_factory.mktemp("cohort") / "tx.csv"
    write_log(path, *engine_log(load_scenario("beauty"), 600, 150, 4))
    return path, histories(read_transactions(path, calibration_end=END), END)


def plan(n: int = 200) -> Replay:
    """A wecom coupon to each of the first ``n`` customers on the forecast's fourth day."""
    return Replay(np.arange(n), np.full(n, 3), np.full(n, CHANNELS.index("wecom")),
                  np.full(n, CONTENTS.index("coupon")), np.full(n, EVENING))


def log_draws(scenario: Scenario, errors, n: int, seed: int, names=NAMES) -> np.ndarray:
    """(n, len(names)) logs of ``n`` draws of :func:`draw_contacts` over the scenario's values."""
    rng = np.random.default_rng(seed)
    at = np.array([parameter_value(scenario, k) for k in names])
    out = np.empty((n, len(names)))
    for i in range(n):
        drawn = draw_contacts(scenario, errors, rng)
        out[i] = np.log([parameter_value(drawn, k) for k in names]) - np.log(at)
    return out


def test_the_contact_covariance_round_trips_through_the_scenario_file_apart_from_the_populations(tmp_path):
    population = fitted_errors(population_file(tmp_path / "population.toml"))
    path = contact_file(tmp_path / "scenario.toml")
    write_contact_fit(path, contact_fit())  # written again (a second calibration): replaced, not added to
    text = path.read_text(encoding="utf-8")
    assert text.count(f"{CONTACT_COVARIANCE} {NAMES[0]} {NAMES[0]} = ") == 1
    assert not any(COVARIANCE_LINE.match(line) for line in text.splitlines() if line.startswith(CONTACT_COVARIANCE))
    got = fitted_errors(path)
    assert got.contact_names == NAMES
    np.testing.assert_allclose(got.contact_log_cov, LOG_COV, rtol=1e-6, atol=0)  # printed with 7 significant digits
    assert set(got.contact_ses) == set(NAMES)
    for name, value, sd in zip(NAMES, VALUES, LOG_SD):
        assert got.contact_ses[name] == pytest.approx(value * sd, rel=1e-3)  # printed with 4
    # the population's reader takes none of the contact lines, and the contact reader none of the population's
    assert got.ses == population.ses and got.names == population.names
    np.testing.assert_array_equal(got.log_cov, population.log_cov)
    assert not population.has_contacts and got.has_contacts
    sc = load_scenario(path)
    assert [parameter_value(sc, n) for n in NAMES] == list(VALUES)


def test_a_malformed_contact_line_is_refused_with_its_file_and_line(tmp_path):
    path = contact_file(tmp_path / "scenario.toml")
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(CONTACT_COVARIANCE))
    for bad in (f"{CONTACT_COVARIANCE} {NAMES[0]} = 1.0e-02", f"{CONTACT_COVARIANCE} {NAMES[0]} {NAMES[0]} = 1e",
                f"{CONTACT_COVARIANCE} {NAMES[0]} {NAMES[0]} = 1e999"):
        path.write_text("\n".join(lines[:at] + [bad] + lines[at + 1:]) + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=f"scenario.toml, line {at + 1}: .*expected '{CONTACT_COVARIANCE} NAME"):
            fitted_errors(path)
    # a contact note on a value the contact fit does not fit (the wecom cost)
    cost = lines.index("cost = 0.3", lines.index("[channels.wecom]"))
    lines[cost] += "  # fitted to the contact log by siyu calibrate: SE 0.01 yuan"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"scenario.toml, line {cost + 1}: channels.wecom.cost: .* marks only"):
        fitted_errors(path)


def test_without_the_covariance_the_contact_values_are_drawn_independently_from_their_ses(tmp_path):
    path = contact_file(tmp_path / "scenario.toml", contact_fit(extra=SMS_OPEN))  # no covariance: SEs alone
    got = fitted_errors(path)
    assert got.contact_names == () and set(got.contact_ses) == {*NAMES, SMS_OPEN[0]}
    n = 1500
    logs = log_draws(load_scenario(path), got, n, 3, (*NAMES, SMS_OPEN[0]))
    sd = np.sqrt(np.append(np.diag(LOG_COV), SMS_OPEN[2] ** 2))
    var = logs.var(axis=0, ddof=1)
    assert np.all(np.abs(var - sd ** 2) < 4 * sd ** 2 * math.sqrt(2 / (n - 1))), (var, sd ** 2)
    corr = np.corrcoef(logs, rowvar=False)
    assert abs(corr[0, 2]) < 4 / math.sqrt(n), corr  # the fit's 0.6 is not in the file: none drawn
    # a covariance line naming a value the file no longer marks as fitted: that value is left out of the joint draw
    text = contact_file(tmp_path / "marginal.toml").read_text(encoding="utf-8")
    text = text.replace("open_rate = 0.45  # fitted to the contact log", "open_rate = 0.45  # set by hand, was")
    (tmp_path / "marginal.toml").write_text(text, encoding="utf-8")
    got = fitted_errors(tmp_path / "marginal.toml")
    assert got.contact_names == NAMES[1:]
    np.testing.assert_allclose(got.contact_log_cov, LOG_COV[1:, 1:], rtol=1e-6)


def test_the_contact_draws_spread_on_the_log_scale_as_the_fits_covariance(tmp_path):
    path = contact_file(tmp_path / "scenario.toml", contact_fit(extra=None))
    errors = fitted_errors(path)
    n = 3000
    logs = log_draws(load_scenario(path), errors, n, 11)
    # medians at the estimates: the mean log is 0, within 4 SEs of a mean of n draws
    assert np.all(np.abs(logs.mean(axis=0)) < 4 * LOG_SD / math.sqrt(n)), logs.mean(axis=0)
    # each entry of the sample covariance within 4 of its SEs, sqrt((s_ij^2 + s_ii s_jj) / (n - 1)) for normal draws
    sample = np.cov(logs, rowvar=False)
    se = np.sqrt((LOG_COV ** 2 + np.outer(np.diag(LOG_COV), np.diag(LOG_COV))) / (n - 1))
    assert np.all(np.abs(sample - LOG_COV) < 4 * se), (sample, LOG_COV, se)
    # and not the independent draws: the fitted correlation of the open rate and the conversion (0.6) is there
    assert np.corrcoef(logs, rowvar=False)[0, 2] > 0.6 - 4 * (1 - 0.36) / math.sqrt(n)
    # bit-for-bit determinism for a given seed
    np.testing.assert_array_equal(logs[:50], log_draws(load_scenario(path), errors, 50, 11))


def test_clipping_keeps_the_drawn_rates_inside_the_scenarios_range(tmp_path):
    ranges = {r["path"]: r["range"] for r in field_docs(Scenario)}
    for field, (lo, hi) in CONTACT_LIMITS.items():  # the contact fit's range lies inside the scenario's
        table = "contents.<content>" if field == "conversion" else "channels.<channel>"
        low, high = (float(v) for v in ranges[f"{table}.{field}"].strip("[]").split(","))
        assert low <= lo < hi <= high, (field, ranges[f"{table}.{field}"])
    # an open rate of 0.9 with a log SD of 0.6: 43% of the draws would pass 1, which the scenario refuses
    wide = np.diag([0.6 ** 2, 2.0 ** 2, 3.0 ** 2])
    path = contact_file(tmp_path / "scenario.toml", contact_fit(values=(0.9, 0.04, 2e-4), cov=wide))
    errors = fitted_errors(path)
    sc = load_scenario(path)
    rng = np.random.default_rng(2)
    drawn = np.array([[parameter_value(s, n) for n in NAMES]
                      for s in (draw_contacts(sc, errors, rng) for _ in range(300))])
    for k, name in enumerate(NAMES):
        lo, hi = CONTACT_LIMITS[name.rsplit(".", 1)[1]]
        assert np.all((drawn[:, k] >= lo) & (drawn[:, k] <= hi)), name
    assert 0.3 < np.mean(drawn[:, 0] == 1.0) < 0.56  # clipped at 1, not left out nor redrawn
    assert np.mean(drawn[:, 2] == CONTACT_LIMITS["conversion"][0]) > 0.3  # and at the fit's floor


def test_the_population_s_draws_do_not_move_when_the_contact_parameters_are_drawn(tmp_path):
    # a stream of their own: a file without contact fits forecasts as before the redraw existed (checked against
    # the forecast recorded at 5b684d6 when it was added, not kept here: any engine change would move those numbers)
    errors = fitted_errors(contact_file(tmp_path / "scenario.toml"))
    sc = load_scenario(tmp_path / "scenario.toml")
    alone, along = np.random.default_rng(9), np.random.default_rng(9)
    a = draw_scenario(sc, errors, alone)
    b = draw_contacts(draw_scenario(sc, errors, along), errors, np.random.default_rng(10))
    assert a.population == b.population and alone.random() == along.random()
    assert [parameter_value(a, n) for n in NAMES] == list(VALUES)
    assert [parameter_value(b, n) for n in NAMES] != list(VALUES)


def test_under_a_plan_the_forecast_redraws_the_contact_parameters_and_only_them(tmp_path, cohort):
    _, h = cohort
    path = contact_file(tmp_path / "scenario.toml", contact_fit(values=(0.45, 0.04, 0.5)))  # beauty's coupon
    sc, errors = load_scenario(path), fitted_errors(path)
    kept = replace(errors, contact_ses={}, contact_names=(), contact_log_cov=np.zeros((0, 0)))
    redrawn = forecast(sc, h, 28, 6, seed=5, errors=errors, plan=plan(h.n))
    fixed = forecast(sc, h, 28, 6, seed=5, errors=kept, plan=plan(h.n))
    # the same population draws and customers (alive at the start), other responses to the plan
    np.testing.assert_array_equal(redrawn.alive_share, fixed.alive_share)
    assert not np.array_equal(redrawn.replicates, fixed.replicates)
    np.testing.assert_array_equal(redrawn.replicates, forecast(sc, h, 28, 6, seed=5, errors=errors,
                                                               plan=plan(h.n)).replicates)
    # without a plan the contact parameters act on nothing and are not drawn
    np.testing.assert_array_equal(forecast(sc, h, 28, 4, seed=5, errors=errors).replicates,
                                  forecast(sc, h, 28, 4, seed=5, errors=kept).replicates)


def test_cli_forecast_says_when_it_redraws_the_contact_parameters(tmp_path, capsys, cohort):
    tx, h = cohort
    scenario = contact_file(tmp_path / "scenario.toml", contact_fit(extra=SMS_OPEN))  # four with their SEs alone
    write_contact_fit(scenario, contact_fit())  # then three of them with their covariance: the sms open rate's SE stays
    path = tmp_path / "plan.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "channel", "content"])
        w.writerows([[i, "2024-05-02", "wecom", "coupon"] for i in h.ids[:100]])
    args = ["forecast", str(scenario), "--cohort", str(tx), "--calibration-end", "2024-04-29", "--until",
            "2024-05-27", "--replicates", "3"]
    said = ("each simulation redraws the contact-response parameters from their fit's uncertainty (3 jointly from "
            "the covariance of their logs, 1 independently from its SE)")
    assert main(args + ["--contacts", str(path), "--out", str(tmp_path / "plan")]) == 0
    assert said in " ".join(capsys.readouterr().out.split())
    assert main(args + ["--out", str(tmp_path / "none")]) == 0  # no plan: nothing to redraw, nothing said
    assert "contact-response" not in capsys.readouterr().out
    args[1] = str(population_file(tmp_path / "population.toml"))
    assert main(args + ["--contacts", str(path), "--out", str(tmp_path / "population")]) == 0
    assert "contact-response" not in capsys.readouterr().out
