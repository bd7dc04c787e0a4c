"""Weeks in a row outside siyu's weekly band (``holdout.departures``): found, measured, said, seldom by chance."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from experiments.calibrate.holdout import DEPARTURE_WEEKS, departures, weekly_counts

WEEKS, REPLICATES = 20, 40


@pytest.fixture(scope="module")
def replicates() -> np.ndarray:
    """Cumulative replicates of a steady 100 repeat transactions a week."""
    return np.cumsum(np.random.default_rng(5).poisson(100.0, (REPLICATES, WEEKS)), axis=1).astype(float)


def test_a_season_at_the_end_is_found_with_its_counts_and_the_baselines_missing_it_alike(replicates):
    rng = np.random.default_rng(6)
    weekly = np.concatenate([rng.poisson(100.0, 14), rng.poisson(170.0, 6)]).astype(float)
    actual = np.cumsum(weekly)
    (run,) = departures(actual, replicates)
    assert (run.first, run.last) == (15, 20)
    assert run.actual == weekly[14:].sum()
    assert run.expected == {"siyu": pytest.approx(weekly_counts(replicates)[:, 14:].sum(axis=1).mean())}
    said = run.sentence()
    assert "In every one of weeks 15-20 the actual count lies above siyu's 90% band" in said
    assert f"{run.actual:,.0f} repeat transactions against siyu's {run.expected['siyu']:,.0f}" in said
    assert "or the fit's misfit" in said  # nothing beside it to tell the two apart
    flat = np.cumsum(np.full(WEEKS, 100.0))
    (with_baselines,) = departures(actual, replicates, {"BG/NBD": flat, "Pareto/NBD": flat})
    assert with_baselines.expected["BG/NBD"] == 600.0
    said = with_baselines.sentence()
    assert "BG/NBD and Pareto/NBD expect 600 and 600, fitted to the same calibration period: they miss" in said
    assert "these weeks as siyu does, the sign of something that period does not show" in said
    (following,) = departures(actual, replicates, {"BG/NBD": flat, "Pareto/NBD": actual})
    assert following.sentence().endswith("closer: siyu's own misfit.")  # one baseline sees these weeks: not the log


def test_runs_below_short_runs_and_every_run_in_order(replicates):
    mean = weekly_counts(replicates).mean(axis=0)
    weekly = mean.copy()
    weekly[4:6] += 200  # two weeks above: shorter than a run
    assert departures(np.cumsum(weekly), replicates) == ()
    weekly[2:5] += 200  # weeks 3-6 above
    weekly[9:13] = 10  # weeks 10-13 below
    weekly[17:20] += 200  # weeks 18-20 above, to the last week
    above, below, last = departures(np.cumsum(weekly), replicates)
    assert [(r.first, r.last) for r in (above, below, last)] == [(3, 6), (10, 13), (18, 20)]
    assert below.actual == 40.0 and above.actual == pytest.approx(mean[2:6].sum() + 1000)
    assert "lies below siyu's 90% band" in below.sentence() and "fewer)" in below.sentence()
    assert "lies above siyu's 90% band" in above.sentence()
    nothing = departures(np.cumsum(np.r_[np.zeros(17), 5.0, 5.0, 5.0]), np.zeros((REPLICATES, WEEKS)))
    assert [(r.first, r.last) for r in nothing] == [(18, 20)]  # nothing expected: said without a share
    assert "15 repeat transactions against siyu's 0. Something" in nothing[0].sentence()


def test_a_right_forecast_seldom_shows_a_run():
    """Each of 200 replicates of a steady weekly count taken as the actual, the band from the other 199.

    A week lies outside its band with chance 10% (5% on each side); a run of three on one side starts at a given
    week with chance 2 x 0.05^3, so about 24 x 2.5e-4 = 0.6% of the replicates show one: 1.2 of 200 expected, and 6 or
    more with chance 0.2%. Every week counted alone, 1 - 0.9^26 = 94% would.
    """
    weeks = 26
    reps = np.cumsum(np.random.default_rng(7).poisson(100.0, (200, weeks)), axis=1).astype(float)
    found = [departures(reps[k], np.delete(reps, k, axis=0)) for k in range(reps.shape[0])]
    assert sum(bool(runs) for runs in found) <= 5
    assert DEPARTURE_WEEKS == 3


def test_the_other_weeks_errors_are_said_beside_the_runs(replicates):
    from experiments.calibrate.forecast import Forecast
    from experiments.calibrate.holdout import Holdout, split_errors
    rng = np.random.default_rng(6)
    weekly = np.concatenate([rng.poisson(100.0, 14), rng.poisson(170.0, 6)]).astype(float)
    actual, flat = np.cumsum(weekly), np.cumsum(np.full(WEEKS, 100.0))
    mean = replicates.mean(axis=0)
    inside, outside, total = split_errors(flat, actual, [(15, 20)])
    assert inside == pytest.approx(600 / weekly[14:].sum() - 1)
    assert outside == pytest.approx(1400 / weekly[:14].sum() - 1)
    assert total == pytest.approx(2000 / weekly.sum() - 1)
    fc = Forecast(np.arange(1, WEEKS + 1), mean, mean, mean, replicates, np.zeros(1), np.zeros(1), np.zeros(1))
    runs = departures(actual, replicates, {"BG/NBD": flat, "Pareto/NBD": flat})
    hold = Holdout(WEEKS, actual, fc, flat, np.zeros(4), (0.0, 0.0), (0.0, 0.0), 1.0, True, flat, np.zeros(4),
                   (0.0, 0.0), runs)
    said = hold.other_weeks()
    siyu = split_errors(mean, actual, [(15, 20)])[1]
    assert said.startswith(f"Over the other 14 weeks, the forecasts' totals are off by {siyu:+.1%} (siyu), "
                           f"{outside:+.1%} (BG/NBD), {outside:+.1%} (Pareto/NBD)")
    assert hold.fade() is None  # the run holds the whole last third (weeks 15-20 of 20)
    assert hold.said() == [run.sentence() for run in runs] + [said]  # what fit.md and the console print
    without = replace(hold, departures=())
    assert without.other_weeks() is None and without.said() == [without.fade()]
    assert without.fade().startswith("The weekly count in the last third of the weeks held out is "
                                     f"{weekly[14:].mean() / weekly[:7].mean():.3f} of that in the first (Poisson SE ")
    assert "; the forecasts' are " in without.fade() and "1.000 (BG/NBD), 1.000 (Pareto/NBD)" in without.fade()
    early = replace(hold, departures=(replace(runs[0], first=8, last=10),))
    assert early.fade().startswith("The weekly count outside those runs in the last third of the weeks held out is ")
    assert replace(hold, weeks=2, actual=actual[:2]).fade() is None  # a third with no week


def test_the_fade_compares_the_other_weeks_of_the_last_third_with_the_first():
    from experiments.calibrate.holdout import other_weeks_fade
    weeks = 39  # thirds of 13 weeks: 1-13, 14-26, 27-39
    weekly = np.linspace(500.0, 380.0, weeks)
    cumulative = np.cumsum(weekly)
    fade, se = other_weeks_fade(cumulative, weeks, [])
    assert fade == pytest.approx(weekly[26:].mean() / weekly[:13].mean())
    assert se == pytest.approx(fade * np.sqrt(1 / weekly[:13].sum() + 1 / weekly[26:].sum()))
    burst = weekly.copy()
    burst[5:11] *= 1.6  # a burst in each third, set apart, moves nothing
    burst[21:26] *= 1.4
    burst[32:37] *= 1.3
    runs = [(6, 11), (22, 26), (33, 37)]
    kept = np.r_[0:5, 11:13], np.r_[26:32, 37:39]
    fade = other_weeks_fade(np.cumsum(burst), weeks, runs)[0]
    assert fade == pytest.approx(weekly[kept[1]].mean() / weekly[kept[0]].mean())
    assert abs(other_weeks_fade(np.cumsum(burst), weeks, [])[0] - fade) > 0.05  # the bursts kept in move it
    assert other_weeks_fade(2.0 * np.cumsum(burst), weeks, runs)[0] == pytest.approx(fade)  # blind to the level
    assert np.isnan(other_weeks_fade(cumulative, weeks, [(27, 39)])[0])  # no other week in the last third


def test_the_fade_s_poisson_se_is_the_spread_of_poisson_counts():
    from experiments.calibrate.holdout import other_weeks_fade
    weeks, draws = 39, 2000
    rng = np.random.default_rng(11)
    counts = rng.poisson(np.linspace(50.0, 38.0, weeks), size=(draws, weeks)).astype(float)
    fades, ses = np.array([other_weeks_fade(np.cumsum(c), weeks, [(6, 11), (33, 37)]) for c in counts]).T
    # the SE of a sample SD from 2,000 draws is about 1 / sqrt(2 x 2,000) = 1.6% of it: within 3 of those
    assert fades.std(ddof=1) / ses.mean() == pytest.approx(1.0, abs=3 / np.sqrt(2 * draws))
