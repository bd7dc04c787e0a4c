"""PoolModel is the engine seen through Mesa: same numbers as ``siyu run``, Mesa's seeding, horizon and batch_run."""

from __future__ import annotations

import csv
import json

import mesa
import numpy as np
import pytest

from agents import PoolModel
from agents.mesa_model import DAILY, SUMMARY
from experiments.cli.app import main
from policies import load_policy
from sim import Simulation
from sim.config import ConfigError, preset_text

SIZE, DAYS = 1500, 12


def siyu_run(tmp_path, scenario: str, policy: str, seed: int, customers: int = SIZE, days: int = DAYS):
    """summary.json and daily.csv (as float columns) of ``siyu run``."""
    out = tmp_path / f"{scenario}-{policy}-{seed}"
    assert main(["run", "--scenario", scenario, "--policy", policy, "--customers", str(customers),
                 "--days", str(days), "--seed", str(seed), "--out", str(out)]) == 0
    with open(out / "daily.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    daily = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    return json.loads((out / "summary.json").read_text()), daily


def test_summary_and_daily_series_equal_siyu_run(tmp_path):
    summary, daily = siyu_run(tmp_path, "beauty", "fatigue_capped", 3)
    model = PoolModel("beauty", "fatigue_capped", customers=SIZE, days=DAYS, seed=3)
    model.run_model()
    assert model.summary() == summary
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns[: len(DAILY)]) == list(DAILY)
    assert set(daily) == set(DAILY)
    for column in DAILY:
        assert np.array_equal(frame[column].to_numpy(float), daily[column]), column


@pytest.mark.parametrize("policy", ["rfm_tiered", "no_contact"])
def test_kpis_are_bit_identical_to_the_plain_engine_day_by_day(beauty, policy):
    direct = Simulation(beauty, 2000, 11).run(load_policy(policy), 15)
    model = PoolModel(beauty, load_policy(policy), customers=2000, days=15, seed=11)
    for day in range(15):
        model.step()
        for name in DAILY:
            assert model.today[name] == direct.daily[name][day], (name, day)
    assert not model.running


def test_running_turns_false_at_the_horizon_and_stepping_on_extends_the_summary():
    model = PoolModel("beauty", "no_contact", customers=500, days=4, seed=0)
    model.run_model()
    assert (model.steps, model.running, model.summary()["days"]) == (4, False, 4)
    model.step()
    assert model.summary()["days"] == 5


def test_seeding_follows_mesa():
    assert PoolModel(customers=300, days=2, seed=5).seed == 5
    assert PoolModel(customers=300, days=2, rng=9).seed == 9  # an int rng is the seed, as siyu run --seed
    drawn = [PoolModel(customers=300, days=2, rng=np.random.default_rng(42)).seed for _ in range(2)]
    assert drawn[0] == drawn[1]  # drawn from Mesa's rng: reproducible from it
    fresh = PoolModel(customers=300, days=2)  # seed=None: drawn from entropy and recorded
    assert 0 <= fresh.seed < 2**63
    fresh.step()
    assert fresh.summary()["seed"] == fresh.seed
    with pytest.raises(ValueError, match="either rng or seed"):
        PoolModel(customers=300, seed=1, rng=1)
    with pytest.raises(ValueError, match="seed"):
        PoolModel(customers=300, seed=-1)


def test_scenario_and_policy_by_name_path_or_object(beauty, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(preset_text("beauty"))
    by_path = PoolModel(path, "no_contact", customers=400, days=3, seed=2)
    by_object = PoolModel(beauty, load_policy("no_contact"), customers=400, days=3, seed=2)
    by_path.run_model()
    by_object.run_model()
    assert by_path.summary() == by_object.summary()
    with pytest.raises(ConfigError, match="nope"):
        PoolModel("nope", customers=400)
    with pytest.raises(ConfigError, match="unknown policy 'bogus'"):
        PoolModel("beauty", "bogus", customers=400)
    with pytest.raises(TypeError, match="scenario must be"):
        PoolModel(3, customers=400)


def test_batch_run_over_presets_and_seeds_equals_siyu_runs(tmp_path):
    seeds = [0, 1, 2]
    rows = mesa.batch_run(PoolModel, parameters={"scenario": ["beauty", "mother_baby"], "policy": "rfm_tiered",
                                                 "customers": 800, "days": 6, "seed": seeds},
                          display_progress=False)
    finals = {(r["scenario"], r["seed"]): r for r in rows}
    assert len(finals) == 6 and {r["Step"] for r in rows} == {5}
    for (scenario, seed), row in finals.items():
        summary, daily = siyu_run(tmp_path, scenario, "rfm_tiered", seed, customers=800, days=6)
        for name in SUMMARY:
            assert row[f"summary_{name}"] == summary[name], (scenario, seed, name)
        for name in DAILY:
            assert row[name] == daily[name][-1], (scenario, seed, name)
