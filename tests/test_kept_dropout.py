"""A dropout rate the log does not show: the base's, kept, against a refit with none (``siyu calibrate``)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import experiments.calibrate.kept_dropout as kept_dropout
import experiments.calibrate.searches as searches_module
from experiments.calibrate.fit import EXTRA_NAMES, Found, Searched, scenario_value
from experiments.calibrate.kept_dropout import (NONE_PER_YEAR, RATE, chosen, late_gap, refit_needed,
                                                without_dropout)
from experiments.calibrate.report import dropout_hint, fit_markdown
from experiments.calibrate.scenario_file import scenario_text
from experiments.calibrate.searches import path_of
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


def test_a_refit_is_needed_only_where_a_kept_rate_fails_with_the_log_s_late_repeats_outrunning_the_engine_s():
    """UCI's Online Retail: no dropout shown, the base's 0.15 a year kept, late repeats 6 SE above the engine's."""
    assert refit_needed(stub(4.0))  # J about 16 on 4 df: the fit fails, its late repeats short
    assert late_gap(stub(4.0)) == pytest.approx(4.0)
    assert not refit_needed(stub(2.5))  # J about 6 on 4 df: the engine reproduces the log
    assert not refit_needed(stub(-4.0))  # the engine's late repeats are the higher: less dropout won't help
    assert not refit_needed(stub(4.0, no_dropout=()))  # the log shows dropout, or the rate was held (--hold)
    assert refit_needed(stub(-4.0), failing_only=False)  # the alternative rule: wherever the base's rate was kept
    assert not refit_needed(stub(-4.0, no_dropout=()), failing_only=False)
    none = stub(4.0)
    none.base = without_dropout(none.base)
    assert scenario_value(none.base, RATE) == NONE_PER_YEAR and not refit_needed(none)  # already none
    assert not refit_needed(replace_choice(stub(4.0)))  # chosen already
    hint = dropout_hint(stub(4.0))  # with --keep-base-dropout: the suspect named
    assert "4.0 SE above" in hint and f"{RATE} = 0.15" in hint and "--keep-base-dropout" in hint
    assert dropout_hint(stub(2.5)) is None


def replace_choice(fit):
    fit.dropout_choice = kept_dropout.DropoutChoice(0.15, 40.0, 10.0, 4, 6.0)
    return fit


@pytest.mark.parametrize("kept_j, none_j", [(47.5, 13.8), (13.8, 47.5)])
def test_the_fit_with_the_lower_common_j_is_kept_and_a_rate_set_to_none_is_written(fitted, monkeypatch, kept_j,
                                                                                   none_j):
    cal, _, _ = fitted
    none = replace(cal, base=without_dropout(cal.base), scenario=without_dropout(cal.scenario))
    scored = iter([kept_j, none_j])
    monkeypatch.setattr(kept_dropout, "common_misfit", lambda *a, **k: next(scored))
    got = chosen(cal, none, seed=0)
    choice = got.dropout_choice
    assert (choice.kept_j, choice.none_j, choice.df, choice.kept_rate) == (kept_j, none_j, 4, 0.15)
    text = scenario_text(got, preset_text("beauty"), "t", "tx.csv")
    rate = next(x for x in text.splitlines() if x.startswith("dropout_per_year"))
    md = fit_markdown(got, "tx.csv", "beauty", [], None, 1.0)
    if none_j < kept_j:
        assert got.base is none.base and choice.none_kept
        assert got.fixed[RATE].endswith(f"(J {kept_j:.1f} against {none_j:.1f}): set to 0.001 a year")
        assert rate.startswith("dropout_per_year = 0.001  # not identified by the log: set to 0.001 a year")
        assert f"| `{RATE}` | 0.001 (set) | | | | 0.15 |" in md
        assert "none (0.001 a year) is kept" in md
    else:
        assert got.base is cal.base and not choice.none_kept
        assert rate.startswith("dropout_per_year = 0.15 ") and "kept at the base scenario's value" in rate
        assert f"| `{RATE}` | 0.15 (kept) |" in md
        assert "the base's 0.15 a year is kept (none fits worse)" in md
    assert "misfit J 47.5 kept against 13.8 none" in md or "misfit J 13.8 kept against 47.5 none" in md
    assert not refit_needed(got)  # chosen once


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
    monkeypatch.setattr(kept_dropout, "refit_needed",  # as if the kept rate failed
                        lambda c, failing_only=True: c.dropout_choice is None)
    out = tmp_path / "c"
    command = ["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(), "--bootstrap",
               "0", "--no-holdout", "--out", str(out)]
    assert main(command) == 0
    assert [scenario_value(j.base, RATE) for j in jobs] == [0.15, NONE_PER_YEAR]
    assert path_of(out, 0).is_file() and path_of(out, 0, "-no-dropout").is_file()
    captured = capsys.readouterr()
    printed, err = " ".join(captured.out.split()), " ".join(captured.err.split())
    assert "fitting again from a base with none" in err
    assert "note: the log shows no dropout, and the fit that kept" in printed and "hint:" not in printed
    kept = "none (0.001 a year) is kept" in printed
    assert kept or "the base's 0.15 a year is kept" in printed
    written = load_scenario(out / "scenario.toml").population.dropout_per_year
    assert written == (NONE_PER_YEAR if kept else 0.15)

    jobs.clear()
    assert main(command + ["--keep-base-dropout", "--out", str(tmp_path / "k")]) == 0
    assert len(jobs) == 1 and "note:" not in capsys.readouterr().out
