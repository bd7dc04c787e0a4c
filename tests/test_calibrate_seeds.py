"""Searches with several simulation seeds (``siyu calibrate --seeds``): scored on common simulations and mixed."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from conftest import engine_histories
from experiments.calibrate.fit import Basin, Found, Searched, calibrate, search_log
from experiments.calibrate.forecast import Uncertainty
from experiments.calibrate.report import _basin_lines
from experiments.calibrate.scenario_file import fitted_errors, scenario_text
from experiments.calibrate.searches import FORMAT, SearchJob, load, path_of, save
from experiments.calibrate.seeds import across_seeds, common_misfit, common_seed, dispersion, seed_weights
from experiments.calibrate.simulate import BASE_DATE
from experiments.cli.app import main
from sim.config import preset_text


@pytest.fixture(scope="module")
def fitted(small_fit):
    """An engine log of 1,000 customers and one search of it (simulation seed 0)."""
    return small_fit


def test_weights_discount_differences_of_j_by_the_best_fit_s_dispersion():
    assert dispersion(2.0, 3) == 1.0 and dispersion(56.0, 3) == pytest.approx(56.0 / 3)
    assert dispersion(5.0, 0) == 1.0  # exactly identified: no misfit to scale by
    w = seed_weights([56.0, 60.0, 84.0], 3)
    phi = 56.0 / 3
    raw = np.exp(-0.5 * np.array([0.0, 4.0, 28.0]) / phi)
    assert w == pytest.approx(raw / raw.sum())
    passing = seed_weights([2.0, 4.0], 3)  # the best passes: the plain quasi-likelihood, exp(-J/2)
    assert passing == pytest.approx(np.array([1.0, math.exp(-1.0)]) / (1 + math.exp(-1.0)))


def test_common_simulations_use_their_own_seeds_and_repeat_exactly(fitted):
    cal, _, _ = fitted
    m = cal.matched
    seeds = {common_seed(0, k) for k in range(4)}
    assert len(seeds) == 4 and not seeds & set(range(1000))  # no search's seed (S to S+K-1)
    j = common_misfit(cal.base, m, cal.design, cal.stat_data, cal.data.n, m.theta, 0)
    assert j == common_misfit(cal.base, m, cal.design, cal.stat_data, cal.data.n, m.theta, 0)
    assert j != pytest.approx(cal.j, rel=1e-9)  # other simulations than the search's own


def test_the_best_estimate_on_common_simulations_leads_and_the_others_are_mixed(fitted, tmp_path):
    cal, _, _ = fitted
    m = cal.matched
    off = replace(cal, matched=replace(m, theta=m.theta + 0.4, seed=1))  # a search that stopped off the fit
    mixed = across_seeds([off, cal], seed=0)
    assert mixed.matched.seed == 0 and np.array_equal(mixed.matched.theta, m.theta)  # the good one, wherever listed
    assert [f.seed for f in mixed.seed_fits] == [1, 0]
    good, bad = mixed.seed_fits[1], mixed.seed_fits[0]
    assert good.common_j < bad.common_j and good.own_j == cal.j
    assert mixed.j == good.common_j
    assert sum(f.weight for f in mixed.seed_fits) == pytest.approx(1.0)
    assert mixed.dispersion == dispersion(good.common_j, len(cal.stat_names) - len(m.names))
    if bad.weight >= 1e-3:  # kept in the mixture with its own theta and covariance
        assert len(mixed.basins) == 1 and np.array_equal(mixed.basins[0].theta, m.theta + 0.4)
        assert mixed.mixture_weights() == pytest.approx([good.weight, bad.weight])
    else:
        assert mixed.basins == ()
    lines = "\n".join(_basin_lines(mixed))
    assert "Searches with 2 simulation seeds" in lines and f"| {good.common_j:.2f} |" in lines
    # the file carries the mixture's weights, dispersion included, and siyu forecast reads them back
    path = tmp_path / "scenario.toml"
    path.write_text(scenario_text(mixed, preset_text("beauty"), "t", "tx.csv"), encoding="utf-8")
    parts = fitted_errors(path).components()
    assert [p.weight for p in parts] == pytest.approx(list(mixed.mixture_weights()), rel=1e-6)
    assert len(Uncertainty.of(mixed).components()) == len(parts)


def test_fits_with_their_own_basins_are_not_mixed_across_seeds(fitted):
    cal, _, _ = fitted
    with_basin = replace(cal, basins=(Basin(cal.matched.theta, np.asarray(cal.covariance), cal.j),))
    with pytest.raises(ValueError, match="basins of their own"):
        across_seeds([cal, with_basin], seed=0)


def test_the_cli_searches_each_seed_and_writes_the_table(tmp_path, capsys):
    path = tmp_path / "tx.csv"
    _, _, end = engine_histories(path, 500, 240, 11)  # half the shared log: each search at half its pool
    end_text = BASE_DATE.fromordinal(end).isoformat()
    assert main(["calibrate", str(path), "--calibration-end", end_text, "--seeds", "2", "--basins", "2",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--seeds and --basins cannot be combined" in capsys.readouterr().err
    assert main(["calibrate", str(path), "--calibration-end", end_text, "--seeds", "2", "--seed", str(2**63 - 1),
                 "--out", str(tmp_path / "x")]) == 2
    assert "must stay below 2**63" in capsys.readouterr().err
    out = tmp_path / "c"
    command = ["calibrate", str(path), "--calibration-end", end_text, "--seeds", "2", "--starts", "1",
               "--bootstrap", "0", "--seed", "3", "--no-holdout", "--keep-base-dropout", "--min-pool", "2000",
               "--out", str(out)]
    assert main(command + ["--jobs", "2"]) == 0  # the two searches in two worker processes
    printed = capsys.readouterr().out
    assert "2 simulation seeds: the estimate is seed" in printed
    md = (out / "fit.md").read_text(encoding="utf-8")
    assert "Searches with 2 simulation seeds" in md and "from a pool of 2,000." in md  # --min-pool: the searches'
    table = md.split("Searches with 2 simulation seeds", 1)[1].split("\n\n")[1].splitlines()
    assert [row.split(" | ")[0] for row in table[2:]] == ["| 3", "| 4"]  # a row a seed, S to S+K-1
    assert sum(float(row.strip("| ").split(" | ")[-1]) for row in table[2:]) == pytest.approx(1.0, abs=2e-3)
    scenario = (out / "scenario.toml").read_text(encoding="utf-8")
    assert "# The forecast's mixture: the other simulation seeds' estimates" in scenario  # both carry weight

    # Rerun in this process with seed 4's search gone: seed 3's is taken from its file, seed 4's searched again
    # to the same bytes as the worker process wrote, and the calibration is the same.
    kept = path_of(out, 4).read_bytes()
    path_of(out, 4).unlink()
    left = path_of(out, 4).with_name(".seed-4.json.x1y2.tmp")  # as a run killed while writing it leaves
    left.write_text("{", encoding="utf-8")
    assert main(command) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"search 1 of 2 (simulation seed 3): taken from {path_of(out, 3)}" in err
    assert "seed 4): taken from" not in err
    assert path_of(out, 4).read_bytes() == kept and not left.exists()
    assert (out / "scenario.toml").read_text(encoding="utf-8") == scenario


def test_a_saved_search_rebuilds_the_same_calibration(fitted, tmp_path):
    cal, _, _ = fitted
    h, base, weekly = cal.data, cal.base, cal.data_weekly
    searched = search_log(h, base, seed=0, starts=1, min_pool=4000)
    job = SearchJob(h, base, 0, {"starts": 1, "min_pool": 4000})
    save(path_of(tmp_path, 0), job.key(), searched)
    loaded, why = load(path_of(tmp_path, 0), job.key(), 4)
    assert why is None and loaded.history == searched.history and loaded.others == ()
    assert loaded.best.distance == searched.best.distance and loaded.best.n_sim == searched.best.n_sim
    assert 0.0 < loaded.best.leverage == searched.best.leverage < 1.0  # the estimate refined: less than one's noise
    assert np.array_equal(loaded.best.theta, searched.best.theta) and np.array_equal(loaded.best.jac, searched.best.jac)
    for s in (searched, loaded):
        again = calibrate(h, base, weekly, seed=0, starts=1, min_pool=4000, searched=s)
        assert again.values == cal.values and again.j == cal.j and again.iterations == cal.iterations
        assert np.array_equal(again.covariance, cal.covariance) and np.array_equal(again.stat_sim, cal.stat_sim)
        assert np.array_equal(again.sim.weekly, cal.sim.weekly)


def test_a_saved_search_is_used_only_for_the_same_inputs(fitted, tmp_path):
    cal, _, _ = fitted
    h, base = cal.data, cal.base
    m = cal.matched
    searched = Searched(Found(12.5, m.theta, m.jac, 4000), history=({"iteration": 0, "distance": 12.5},))
    job = SearchJob(h, base, 0, {"starts": 1})
    path = path_of(tmp_path, 0)
    assert load(path, job.key(), 4) == (None, None)  # nothing kept yet
    save(path, job.key(), searched)
    back, why = load(path, job.key(), 4)
    assert why is None and back.best.distance == 12.5 and np.array_equal(back.best.theta, m.theta)
    assert back.history == ({"iteration": 0, "distance": 12.5},) and isinstance(back.history[0]["iteration"], int)
    others = [SearchJob(h, base, 1, {"starts": 1}), SearchJob(h, base, 0, {"starts": 2}),
              SearchJob(h, base.model_copy(update={"name": "other"}), 0, {"starts": 1}),
              SearchJob(replace(h, x=h.x + 1), base, 0, {"starts": 1})]
    assert len({job.key(), *(o.key() for o in others[:2]), others[3].key()}) == 4  # seed, options, log
    assert others[2].key() != job.key()  # the base scenario's name is in its content too
    for other in others:
        assert load(path, other.key(), 4)[1] == "made with another log, base scenario, seed, options or code"
    assert load(path, job.key(), m.theta.size - 1)[1].startswith("unreadable (ValueError: arrays of the wrong shape")
    for text, why in [("{", "unreadable (JSONDecodeError"), ('{"format": 0}', "written by another version"),
                      ("[1, 2]", "written by another version")]:
        path.write_text(text, encoding="utf-8")
        assert load(path, job.key(), 4)[1].startswith(why)
    body = json.loads(json.dumps({"format": FORMAT, "key": job.key(), "best": {"distance": 1.0, "theta": [1e400],
                                  "jac": [[0.0]], "n_sim": 5}, "others": [], "history": []}))
    path.write_text(json.dumps(body), encoding="utf-8")
    assert load(path, job.key(), 4)[1] == "unreadable (ValueError: values that are not finite)"
    body["best"].update(theta=[0.0], n_sim=5, leverage=2.0)
    path.write_text(json.dumps(body), encoding="utf-8")
    assert load(path, job.key(), 4)[1] == "unreadable (ValueError: a distance, simulated size or leverage out of range)"


def test_an_interrupted_run_goes_on_with_the_searches_done(fitted, tmp_path, capsys, monkeypatch):
    cal, path, end = fitted
    import experiments.calibrate.searches as searches_module
    calls = []
    m = cal.matched

    def first_then_interrupt(job):
        calls.append(job.seed)
        if len(calls) > 1:
            raise KeyboardInterrupt
        found = Found(cal.j, m.theta, m.jac, cal.sim.histories.n)
        return Searched(found, history=tuple(cal.iterations))  # the fixture's search of the same log

    monkeypatch.setattr(searches_module, "run_search", first_then_interrupt)
    out = tmp_path / "i"
    assert main(["calibrate", str(path), "--calibration-end", BASE_DATE.fromordinal(end).isoformat(), "--seeds", "3",
                 "--bootstrap", "0", "--keep-base-dropout", "--out", str(out)]) == 0
    assert calls == [0, 1]
    err = " ".join(capsys.readouterr().err.split())
    assert f"interrupted: going on with the 1 search done (kept in {out / 'searches'})" in err
    assert path_of(out, 0).is_file() and not path_of(out, 1).exists()
    assert (out / "scenario.toml").is_file() and "Searches with" not in (out / "fit.md").read_text(encoding="utf-8")


def test_a_ctrl_c_in_the_common_simulations_mixes_the_estimates_scored(fitted, monkeypatch):
    import experiments.calibrate.seeds as seeds

    cal, _, _ = fitted
    m = cal.matched
    fits = [replace(cal, matched=replace(m, theta=m.theta + 0.1 * k, seed=k)) for k in range(3)]
    real, calls = seeds.common_misfit, []

    def interrupted_at(n):
        def misfit(*a, **kw):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return real(*a, **kw)
        return misfit

    monkeypatch.setattr(seeds, "common_misfit", interrupted_at(3))
    mixed = across_seeds(fits, seed=0, sims=1)
    assert [f.seed for f in mixed.seed_fits] == [0, 1]  # the third search was not scored, so not mixed
    assert sum(f.weight for f in mixed.seed_fits) == pytest.approx(1.0)
    calls.clear()
    monkeypatch.setattr(seeds, "common_misfit", interrupted_at(1))
    with pytest.raises(KeyboardInterrupt):  # nothing scored: nothing to mix
        across_seeds(fits, seed=0, sims=1)
