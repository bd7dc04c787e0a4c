"""A dropout rate the log does not show: the base's, kept, against a refit with none (``siyu calibrate``)."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import experiments.calibrate.fit as fit_module
import experiments.calibrate.kept_dropout as kept_dropout
import experiments.calibrate.searches as searches_module
from experiments.calibrate.fit import EXTRA_NAMES, Found, Searched, scenario_value, search_log
from experiments.calibrate.forecast import Component, Uncertainty, forecast
from experiments.calibrate.joiners_choice import JoinersChoice
from experiments.calibrate.kept_dropout import (HOPELESS, NONE_PER_YEAR, RATE, common_j, hopeless_distance,
                                                kept_rate_suspect, late_gap, mixed, refit_needed, with_choice,
                                                without_dropout)
from experiments.calibrate.report import dropout_hint, fit_markdown
from experiments.calibrate.scenario_file import fitted_errors, scenario_text
from experiments.calibrate.searches import path_of
from experiments.calibrate.seeds import KEEP, across_seeds
from experiments.calibrate.simulate import BASE_DATE
from experiments.cli.app import main
from sim.config import load_scenario, preset_text


@pytest.fixture(scope="module")
def fitted(small_fit):
    """An engine log of ``beauty`` (1,000 customers, 240 days) that shows no dropout, and one search of it."""
    cal, _, _ = small_fit
    assert cal.no_dropout == (RATE, "population.dropout_sigma")  # what every test here is about
    return small_fit


def stub(gap_se: float, no_dropout: tuple[str, ...] = (RATE,), base: str = "beauty"):
    """A fit that kept the base's dropout, its late share ``gap_se`` SEs short of the log's (the hint's inputs)."""
    names = ("mu", "sigma", *EXTRA_NAMES)
    late = names.index("late_share")
    data, se = np.array([-5.0, 1.0, 0.5, 0.44, 0.35, 0.92]), np.full(6, 0.01)
    sim = data.copy()
    sim[late] -= gap_se * se[late]
    scenario = load_scenario(base)
    return SimpleNamespace(matched=SimpleNamespace(names=names[:2], weight=np.diag(1 / se ** 2)), stat_names=names,
                           stat_data=data, stat_se=se, stat_sim=sim, data=SimpleNamespace(n=3000),
                           sim=SimpleNamespace(histories=SimpleNamespace(n=300_000)), no_dropout=no_dropout,
                           dropout_choice=None, base=scenario)


def test_a_refit_is_needed_wherever_the_base_s_rate_was_kept_and_the_hint_only_where_it_also_fails():
    """UCI's Online Retail: no dropout shown, the base's 0.15 a year kept, late repeats 6 SE above the engine's."""
    assert refit_needed(stub(4.0)) and refit_needed(stub(2.5)) and refit_needed(stub(-4.0))
    assert not refit_needed(stub(4.0, no_dropout=()))  # the log shows dropout, or the rate was held (--hold)
    none = stub(4.0)
    none.base = without_dropout(none.base)
    assert scenario_value(none.base, RATE) == NONE_PER_YEAR and not refit_needed(none)  # already none
    assert not refit_needed(replace_choice(stub(4.0)))  # mixed already
    # with --keep-base-dropout, the kept rate is named the first suspect where it fails with late repeats short
    assert kept_rate_suspect(stub(4.0))  # J about 16 on 4 df: the fit fails, its late repeats short
    assert late_gap(stub(4.0)) == pytest.approx(4.0)
    assert not kept_rate_suspect(stub(2.5))  # J about 6 on 4 df: the engine reproduces the log
    assert not kept_rate_suspect(stub(-4.0))  # the engine's late repeats are the higher: less dropout won't help
    assert not kept_rate_suspect(stub(4.0, no_dropout=()))
    hint = dropout_hint(stub(4.0))
    assert "4.0 SE above" in hint and f"{RATE} = 0.15" in hint and "--keep-base-dropout" in hint
    assert dropout_hint(stub(2.5)) is None


def replace_choice(fit):
    fit.dropout_choice = kept_dropout.DropoutChoice(0.15, 40.0, 10.0, 4, 6.0, 0.9)
    return fit


@pytest.mark.parametrize("kept_j, none_j", [(47.5, 13.8), (13.8, 47.5), (6.0, 4.0)])
def test_the_lower_common_j_is_the_estimate_and_the_other_rate_is_mixed_into_the_forecast(fitted, monkeypatch,
                                                                                        kept_j, none_j, tmp_path):
    cal, _, _ = fitted
    cal = replace(cal, joiners_choice=JoinersChoice(9.0, 110.0, 4, 0.5))  # a refit with joiners, as siyu calibrate's
    none = replace(cal, base=without_dropout(cal.base), scenario=without_dropout(cal.scenario), joiners_choice=None)
    scored = iter([kept_j, none_j])
    monkeypatch.setattr(kept_dropout, "common_misfit", lambda *a, **k: next(scored))
    got = mixed(cal, none, seed=0)
    choice = got.dropout_choice
    assert got.joiners_choice is cal.joiners_choice  # the note on joiners stays, whichever rate leads
    assert (choice.kept_j, choice.none_j, choice.df, choice.kept_rate) == (kept_j, none_j, 4, 0.15)
    # weighed exp(-J/2 phi), phi the better J's dispersion on 4 df (at least 1): 33.7 / 6.9 and 2 / 2 apart
    phi = max(1.0, min(kept_j, none_j) / 4)
    assert choice.none_weight == pytest.approx(1 / (1 + np.exp(-(kept_j - none_j) / (2 * phi))))
    other = got.basins[-1]
    assert other.sets == {RATE: 0.15 if choice.none_kept else NONE_PER_YEAR}
    assert np.array_equal(other.theta, cal.matched.theta)  # the stand-in refit's estimate
    w = got.mixture_weights()
    assert w[-1] == pytest.approx(1 - choice.none_weight if choice.none_kept else choice.none_weight)
    # what siyu forecast reads back: the two fits, each with its rate and weight
    (tmp_path / "s.toml").write_text(scenario_text(got, preset_text("beauty"), "t", "tx.csv"), encoding="utf-8")
    parts = fitted_errors(tmp_path / "s.toml").components()
    assert [p.weight for p in parts] == pytest.approx(list(w), rel=1e-5)
    assert parts[1].values[RATE] == other.sets[RATE] and set(parts[1].values) == {*cal.matched.names, RATE}
    edited = re.sub(rf"(# basin 1 value {re.escape(RATE)} = ).*", r"\g<1>5.0e+01", (tmp_path / "s.toml").read_text())
    (tmp_path / "s.toml").write_text(edited, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"s.toml: basin 1 value {re.escape(RATE)} = 50: outside 0.001 to 20"):
        fitted_errors(tmp_path / "s.toml")  # a hand-edited rate fails in one line naming the file
    text = scenario_text(got, preset_text("beauty"), "t", "tx.csv")
    rate = next(x for x in text.splitlines() if x.startswith("dropout_per_year"))
    md = fit_markdown(got, "tx.csv", "beauty", [], None, 1.0)
    if none_j < kept_j:
        assert got.base is none.base and choice.none_kept
        assert got.fixed[RATE].endswith(f"(J {kept_j:.1f} against {none_j:.1f}): set to 0.001 a year, the base's "
                                        "mixed in")
        assert rate.startswith("dropout_per_year = 0.001  # not identified by the log: set to 0.001 a year")
        assert f"| `{RATE}` | 0.001 (set; 0.15 mixed in, weight {w[-1]:.2f}) | | | | 0.15 |" in md
        assert "The estimate is none's; the forecast mixes both" in md
    else:
        assert got.base is cal.base and not choice.none_kept
        assert rate.startswith("dropout_per_year = 0.15 ") and "kept at the base scenario's value" in rate
        assert f"| `{RATE}` | 0.15 (kept; 0.001 mixed in, weight {w[-1]:.2f}) | | | | 0.15 |" in md
        assert "The estimate is the base rate's; the forecast mixes both" in md
    assert f"misfit J {kept_j:.1f} against {none_j:.1f} on 4 df" in md
    assert not refit_needed(got)  # mixed once


def test_siyu_calibrate_refits_from_a_base_without_dropout_and_keeps_both_searches(fitted, monkeypatch, tmp_path,
                                                                                   capsys):
    """The wiring, with the fixture's search standing in for both searches (the choice's J's are simulated)."""
    cal, path, end = fitted
    m = cal.matched
    jobs = []

    def the_fixture_s(job):
        jobs.append(job)
        return Searched(Found(cal.j, m.theta, m.jac, cal.sim.histories.n), history=tuple(cal.iterations))

    monkeypatch.setattr(searches_module, "run_search", the_fixture_s)
    out = tmp_path / "c"
    command = ["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(), "--bootstrap",
               "0", "--no-holdout", "--out", str(out)]
    assert main(command) == 0
    assert [scenario_value(j.base, RATE) for j in jobs] == [0.15, NONE_PER_YEAR]
    assert path_of(out, 0).is_file() and path_of(out, 0, "-no-dropout").is_file()
    captured = capsys.readouterr()
    printed, err = " ".join(captured.out.split()), " ".join(captured.err.split())
    assert "fitting again from a base with none" in err
    assert f"note: the log shows no dropout, so {RATE} is not identified" in printed and "hint:" not in printed
    kept = "The estimate is none's" in printed
    assert kept or "The estimate is the base rate's" in printed
    written = load_scenario(out / "scenario.toml").population.dropout_per_year
    assert written == (NONE_PER_YEAR if kept else 0.15)
    day = BASE_DATE.fromordinal(end)
    until = BASE_DATE.fromordinal(end + 14).isoformat()
    assert main(["forecast", str(out / "scenario.toml"), "--cohort", str(path), "--calibration-end", day.isoformat(),
                 "--until", until, "--replicates", "4", "--out", str(tmp_path / "f")]) == 0
    assert "mixing 2 fits" in " ".join(capsys.readouterr().out.split())  # each with its dropout rate

    jobs.clear()
    assert main(command + ["--keep-base-dropout", "--out", str(tmp_path / "k")]) == 0
    assert len(jobs) == 1 and "note:" not in capsys.readouterr().out


def test_each_part_of_the_forecast_s_mixture_runs_with_the_dropout_rate_it_sets(fitted):
    """Half the replicates under the estimate's rate, half under a rate at which most leave within weeks."""
    cal, _, _ = fitted
    names = cal.matched.names
    cov = np.zeros((len(names), len(names)))  # no parameter draws: the parts differ by their rate alone
    parts = (Component(0.5, {}, cov), Component(0.5, {**cal.values, RATE: 20.0}, cov))
    got = forecast(cal.scenario, cal.data, 56, replicates=6, seed=0, errors=Uncertainty({}, names, cov, parts))
    total = got.replicates[:, -1]
    assert total[3:].max() < 0.5 * total[:3].min(), total  # the part at 20 a year (18 days, on average) buys less


def test_a_seeds_mixture_s_common_j_is_taken_not_simulated_again(fitted, monkeypatch):
    """``--seeds`` scored its estimate on the same seed's common simulations: the mixture's weights reuse that J."""
    cal, _, _ = fitted
    seeds = across_seeds([cal], seed=5)
    assert common_j(seeds, 5) == common_j(cal, 5)  # the J across_seeds kept is the one a fresh scoring gives
    monkeypatch.setattr(kept_dropout, "common_misfit", lambda *a, **k: pytest.fail("simulated again"))
    assert common_j(seeds, 5) == seeds.j


def test_the_refit_searches_with_a_distance_past_which_none_could_not_weigh_in_the_mixture(fitted, monkeypatch):
    """At hopeless_distance / HOPELESS a fit with none weighs KEEP against the kept one: the bound is the mixture's."""
    cal, _, _ = fitted
    bound = hopeless_distance(cal)
    phi = max(1.0, cal.j / (len(cal.stat_names) - len(cal.matched.names)))
    assert bound == pytest.approx(HOPELESS * (cal.j + 2 * phi * np.log(1 / KEEP)))
    asked = []

    def refit(base, hopeless_above):
        asked.append((scenario_value(base, RATE), hopeless_above))
        return replace(cal, base=without_dropout(cal.base), scenario=without_dropout(cal.scenario))

    scored = iter([cal.j, bound / HOPELESS])
    monkeypatch.setattr(kept_dropout, "common_misfit", lambda *a, **k: next(scored))
    got = with_choice(cal, refit, seed=0)
    assert asked == [(NONE_PER_YEAR, bound)]
    assert got.dropout_choice.none_weight == pytest.approx(KEEP / (1 + KEEP))


@pytest.mark.parametrize("hopeless_above, searches", [(450.0, 1), (None, 4), (1000.0, 4)])
def test_searches_stop_at_the_first_that_fails_past_hopeless_above(fitted, monkeypatch, hopeless_above, searches):
    """Four starts, each search failing the misfit test (distances 500 to 200 on 4 df): the first ends past 450."""
    cal, _, _ = fitted
    ends = iter([500.0, 400.0, 300.0, 200.0])
    started = []

    def one_search(binding, theta, target, weight, iterations, history, names):
        started.append(theta)
        return next(ends), theta, cal.stat_sim, cal.sim, lambda: cal.matched.jac

    def kept_end(problem, n, base, seed, end):
        return Found(end[0], end[1], end[4](), end[3].histories.n), end[2], end[3], 0

    monkeypatch.setattr(fit_module, "scan_starts", lambda *a, **k: [cal.matched.theta + k for k in range(4)])
    monkeypatch.setattr(fit_module, "search", one_search)
    monkeypatch.setattr(fit_module, "_refined", kept_end)
    factor = 1 + cal.data.n / cal.sim.histories.n  # the misfit test's: the bound is on J, distance over factor
    got = search_log(cal.data, cal.base, seed=1, starts=4,
                     hopeless_above=None if hopeless_above is None else hopeless_above / factor)
    assert len(started) == searches
    assert got.best.distance == (500.0 if searches == 1 else 200.0)
