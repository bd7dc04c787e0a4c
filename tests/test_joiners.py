"""A pool with joiners: a transaction log seen through a window, whose later first orders are partly new customers.

``population.joiners_per_year`` brings joiners into the pool a log is simulated with (and only there); ``siyu calibrate
--fit population.joiners_per_year`` fits it by matching the share of customers first seen in the later half of the
span, and the forecast conditions a late first order on the joiners' share among such records.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from experiments.calibrate.fit import (FIRST_LATE, JOINERS, LIMITS, SIM_RATIO, STARTS, calibrate, extra_statistics,
                                      misfit, start)
from experiments.calibrate.fit import first_late_gap as _first_late_gap
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import histories, summarize
from experiments.calibrate.pool_joiners import JOINERS_START, stopped_short, with_joiners
from experiments.calibrate.report import joiners_hint, notes
from experiments.calibrate.simulate import BASE_DATE, engine_log, pool_simulation, purchases, write_log
from experiments.cli.app import main
from experiments.logs.transactions import read_transactions
from sim.config import apply_overrides, load_scenario
from sim.defaults import ORIGIN_AD, ORIGIN_INITIAL
from sim.engine import Simulation

DAYS, HOLDOUT = 240, 120
TRUTH = {"population.cycle_median_days": 60.0, "population.cycle_sigma": 0.5, JOINERS: 1.5}


@pytest.fixture(scope="module")
def beauty():
    return load_scenario("beauty")


def test_no_joiners_is_the_pool_as_before_bit_for_bit(beauty):
    assert apply_overrides(beauty, {JOINERS: 0.0}).config_hash() == beauty.config_hash()
    assert apply_overrides(beauty, {JOINERS: 0.5}).config_hash() != beauty.config_hash()
    old = purchases(Simulation(beauty, customers=800, seed=3, inflow=False), 60)
    for a, b in zip(engine_log(beauty, 800, 60, 3), old):
        np.testing.assert_array_equal(a, b)


def test_joiners_come_at_their_rate_and_nobody_else_joins(beauty):
    n, days, rate = 2000, 212, 1.0
    sim = pool_simulation(apply_overrides(beauty, {JOINERS: rate}), n, seed=3)
    buyers = np.unique(purchases(sim, days)[0])
    origin = sim.state.origin[:sim.n]  # rows past the joiners are reserved, not yet anyone
    expected = rate * n * days / 365.0  # Poisson: SD sqrt(expected) = 34
    joined = int((origin == ORIGIN_AD).sum())
    assert abs(joined - expected) < 4 * math.sqrt(expected), joined
    assert set(np.unique(origin[buyers]).tolist()) == {ORIGIN_INITIAL, ORIGIN_AD}
    # beauty's own inflow (80 orders and 40 store visitors a day) would bring about 2,600 more: it stays out
    assert pool_simulation(beauty, n, seed=3).inflow is False


def test_first_late_is_the_share_first_seen_in_the_later_half_with_its_influence():
    # 4 customers over days 0-100: first orders on days 0, 10, 60 and 90 (the later half starts after day 50)
    cust = np.array([0, 0, 1, 2, 2, 3])
    day = np.array([0, 70, 10, 60, 95, 90])
    h = summarize(np.arange(4).astype(object), cust, day, np.ones(6), 100)
    value, influence = extra_statistics(h, (FIRST_LATE,))
    assert value[0] == 0.5
    np.testing.assert_allclose(influence[:, 0], [-0.125, -0.125, 0.125, 0.125])


def _log(scenario, tmp_path, seed, customers=1500):
    c, d, a = engine_log(scenario, customers, DAYS + HOLDOUT, seed)
    path = tmp_path / f"tx{seed}.csv"
    write_log(path, c, d, a)
    end = BASE_DATE.toordinal() + DAYS - 1
    tx = read_transactions(path, calibration_end=end)
    return tx, end


def test_a_late_first_order_is_conditioned_as_a_joiner_where_the_pool_has_joiners(beauty, tmp_path):
    truth = apply_overrides(beauty, TRUTH)
    tx, end = _log(truth, tmp_path, seed=5)
    h = histories(tx, end)
    late = h.first > h.first.min() + (h.end - h.first.min()) / 2
    assert late.sum() > 200
    row = {cid: k for k, cid in enumerate(h.ids.tolist())}
    after = tx.day > end
    known = [row[cid] for cid in tx.ids[tx.customer[after]].tolist() if cid in row]  # the cohort's holdout orders
    actual = np.bincount(known, minlength=h.n)
    seen = forecast(truth, h, HOLDOUT, replicates=20, seed=1).expected_transactions
    blind = forecast(apply_overrides(truth, {JOINERS: 0.0}), h, HOLDOUT, replicates=20,
                     seed=1).expected_transactions
    # without joiners a late first order marks a slow buyer of the old pool; with them, often a new customer. Measured:
    # 421 against 386 holdout orders (actual 442); each total's simulation SE is about 5
    assert seen[late].sum() > 1.04 * blind[late].sum()
    assert abs(seen[late].sum() - actual[late].sum()) < abs(blind[late].sum() - actual[late].sum())
    # customers first seen early are old customers either way
    assert seen[~late].sum() == pytest.approx(blind[~late].sum(), rel=0.1)


def test_a_search_starts_joiners_the_base_leaves_out_inside_their_range(beauty):
    lapse = "dynamics.need_lapse"  # also left out of the base, but starts at its lower limit, as measured
    assert beauty.population.joiners_per_year == 0 and beauty.dynamics.need_lapse == 0
    assert np.exp(start(beauty, (JOINERS, lapse))) == pytest.approx([JOINERS_START, LIMITS[lapse][0]])
    joined = apply_overrides(beauty, {JOINERS: 2.0})
    assert np.exp(start(joined, (JOINERS,))) == pytest.approx([2.0])  # a base that has joiners starts there


def first_late_gap(cal):
    return _first_late_gap(cal.data, cal.sim.histories)


@pytest.fixture(scope="module")
def fits(beauty, tmp_path_factory):
    """A log whose pool has joiners, its fit with them, and its fit as a closed pool."""
    folder = tmp_path_factory.mktemp("joined")
    tx, end = _log(apply_overrides(beauty, TRUTH), folder, seed=7, customers=1200)
    h = histories(tx, end)
    pool = SIM_RATIO * h.n  # below the default's least pool: a quicker fit, its noise in the reported error
    cal = calibrate(h, beauty, None, seed=11, also=(JOINERS,), min_pool=pool)
    # the misfit test fails from any start: the search stops at the first, a pool with joiners following
    closed = calibrate(h, beauty, None, seed=11, joiners_follow=True, min_pool=pool)
    return folder / "tx7.csv", end, cal, closed


def test_recovers_the_joiners_within_the_reported_error(fits):
    _, _, cal, closed = fits
    assert FIRST_LATE in cal.stat_names
    est, se = cal.values[JOINERS], cal.ses[JOINERS]
    assert 0 < se < 0.5 * TRUTH[JOINERS], (est, se)  # informative: the test can fail
    assert abs(math.log(est / TRUTH[JOINERS])) < 3.5 * se / est, (est, se)
    assert joiners_hint(cal) is None and abs(first_late_gap(cal)) < 3  # fitted: the engine's first orders match
    assert misfit(closed).rejected and first_late_gap(closed) > 5, first_late_gap(closed)
    assert JOINERS in joiners_hint(closed)
    assert max(row["start"] for row in closed.iterations) == 1 < STARTS  # stopped for the joiners that follow


def test_a_closed_pool_stopped_for_joiners_it_no_longer_asks_for_is_searched_on(fits):
    _, _, cal, closed = fits
    asks_not = replace(closed, sim=replace(closed.sim, histories=closed.data))  # first orders as the log's
    assert misfit(asks_not).rejected and first_late_gap(asks_not) == 0
    assert stopped_short(asks_not, STARTS) and not stopped_short(asks_not, 1)  # one start was all it was given
    assert not stopped_short(closed, STARTS)  # asks for joiners: refitted with them instead
    assert not stopped_short(cal, STARTS)  # has them
    on = replace(closed, stat_sim=closed.stat_data)  # what the other starts found: a fit that passes
    assert with_joiners(asks_not, lambda base: pytest.fail("refitted"), lambda: on) is on
    assert with_joiners(asks_not, lambda base: pytest.fail("refitted"), lambda: on, starts=1) is asks_not


def test_a_closed_pool_that_fails_is_fitted_again_with_joiners(fits):
    _, _, cal, closed = fits
    bases = []
    chosen = with_joiners(closed, lambda base: bases.append(base) or cal)
    assert bases == [closed.base] and JOINERS_START == pytest.approx(0.5, rel=0.01)
    assert chosen.values == cal.values and chosen.joiners_choice.gap == pytest.approx(first_late_gap(closed))
    assert notes(chosen)[0] == chosen.joiners_choice.line() and JOINERS in notes(chosen)[0]
    # a fit with joiners, or a closed pool that passes the misfit test, is kept as it is
    assert with_joiners(cal, lambda base: pytest.fail("refitted")) is cal
    passing = replace(closed, stat_sim=closed.stat_data)  # as close as can be
    assert not misfit(passing).rejected and with_joiners(passing, lambda base: pytest.fail("refitted")) is passing


def test_siyu_calibrate_refits_with_joiners_unless_told_not_to(fits, tmp_path, monkeypatch, capsys):
    from experiments.cli.commands import calibrate as command

    path, end, cal, closed = fits
    calls = []

    def fitted(h, base, weekly, args, out, options, tag=""):
        calls.append((base.population.joiners_per_year, options["also"], tag, options.get("joiners_follow", False)))
        return replace(closed if len(calls) == 1 else cal, data_weekly=weekly)  # the fixture's fits had none

    monkeypatch.setattr(command, "fitted", fitted)
    args = ["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(),
            "--keep-base-dropout", "--bootstrap", "0", "--no-holdout"]
    assert main([*args, "--out", str(tmp_path / "auto")]) == 0
    said = capsys.readouterr()
    assert calls == [(0.0, (), "", True), (0.0, (JOINERS,), "-joiners", False)]
    assert "fitting again with population.joiners_per_year" in said.err and "was fitted too" in said.out
    assert "was fitted too" in (tmp_path / "auto" / "fit.md").read_text()
    calls.clear()
    assert main([*args, "--no-joiners", "--out", str(tmp_path / "closed")]) == 0
    assert len(calls) == 1 and "without --no-joiners siyu calibrate fits it" in capsys.readouterr().out
    assert calls[0][3] is False  # a closed pool kept: every start searched


def test_siyu_calibrate_searches_on_a_closed_pool_stopped_for_joiners_it_no_longer_asks_for(fits, tmp_path,
                                                                                          monkeypatch, capsys):
    from experiments.cli.commands import calibrate as command

    path, end, _, closed = fits
    asks_not = replace(closed, sim=replace(closed.sim, histories=closed.data))
    on = replace(closed, stat_sim=closed.stat_data)  # what the other starts found: a fit that passes
    calls = []

    def fitted(h, base, weekly, args, out, options, tag=""):
        calls.append((options["also"], tag, options.get("joiners_follow", False)))
        return replace(asks_not if len(calls) == 1 else on, data_weekly=weekly)

    monkeypatch.setattr(command, "fitted", fitted)
    assert main(["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(),
                 "--keep-base-dropout", "--bootstrap", "0", "--no-holdout", "--out", str(tmp_path / "o")]) == 0
    assert calls == [((), "", True), ((), command.CLOSED_TAG, False)]
    assert "searching its other starts" in capsys.readouterr().err


def test_a_cohort_log_cannot_fit_joiners(beauty, tmp_path, capsys):
    c, d, a = engine_log(beauty, 400, 200, 2)
    first = np.full(400, 999)
    np.minimum.at(first, c, d)
    on = first[c] < 30  # a cohort: everyone first seen in the first weeks of the span
    path = tmp_path / "cohort.csv"
    write_log(path, c[on], d[on], a[on])
    end = BASE_DATE.toordinal() + 199
    h = histories(read_transactions(path, calibration_end=end), end)
    with pytest.raises(ValueError, match="cohort of new customers"):
        calibrate(h, beauty, None, also=(JOINERS,))
    code = main(["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(), "--fit", JOINERS,
                 "--keep-base-dropout", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "cohort of new customers" in err, err
    code = main(["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(), "--fit", JOINERS,
                 "--no-joiners", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "contradict" in err, err
