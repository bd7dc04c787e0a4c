"""``siyu regress``: passes on an unchanged engine, fails with a table when a dynamics parameter moves."""

from __future__ import annotations

import json

import pytest

import experiments.cli.commands.regress as regress_cmd
import experiments.regress.golden as regress
from experiments.cli.app import main
from experiments.regress.golden import GOLDEN, METRICS, SUITE, Suite, check, read_golden, run_suite
from sim.config import apply_overrides, load_scenario

SMALL = Suite(scenarios=("beauty",), policies=("rfm_tiered", "fatigue_capped"), seeds=(0, 1), customers=800,
              days=25)
CHANGE = {"dynamics.salience_half_life_days": 30.0}
"""A dynamics parameter moved (the beauty preset's half-life is longer)."""


@pytest.fixture()
def golden(tmp_path, monkeypatch):
    """A golden file of the small suite, written by `siyu regress --update`."""
    monkeypatch.setattr(regress_cmd, "SUITE", SMALL)
    path = tmp_path / "golden.json"
    assert main(["regress", "--update", "--golden", str(path)]) == 0
    return path


def test_update_writes_every_run_and_metric(golden):
    data = json.loads(golden.read_text())
    assert data["suite"] == SMALL.describe()
    assert set(data["runs"]) == {f"beauty/{p}/seed{s}" for p in SMALL.policies for s in SMALL.seeds}
    assert all(set(m) == set(METRICS) for m in data["runs"].values())
    assert data["config_hashes"]["beauty"] == load_scenario("beauty").config_hash()


def test_passes_when_nothing_changed(golden, capsys):
    assert main(["regress", "--golden", str(golden)]) == 0
    assert "regress: ok" in capsys.readouterr().out


def test_fails_with_a_table_when_a_dynamics_parameter_changes(golden, capsys, monkeypatch):
    assert load_scenario("beauty").dynamics.salience_half_life_days != CHANGE["dynamics.salience_half_life_days"]
    monkeypatch.setattr(regress, "load_scenario", lambda name: apply_overrides(load_scenario(name), CHANGE))
    assert main(["regress", "--golden", str(golden)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "metrics moved beyond tolerance" in out and "beauty/rfm_tiered/seed0" in out
    assert "total_value" in out and "siyu regress --update" in out


def test_python_entry_reports_drift_and_notes_the_config_change(golden):
    gold = read_golden(golden)
    assert check(gold, *run_suite(SMALL), SMALL).ok
    result = check(gold, *run_suite(SMALL, overrides=CHANGE), SMALL)
    assert not result.ok
    moved = {(d.case, d.metric) for d in result.drifts}
    assert ("beauty/fatigue_capped/seed1", "total_value") in moved
    assert all(d.relative != 0 for d in result.drifts)
    assert any("scenario beauty changed" in n for n in result.notes)
    loose = check(gold, *run_suite(SMALL, overrides=CHANGE), SMALL, rtol=10.0, atol=1e9)
    assert loose.ok  # tolerances are honoured


def test_missing_runs_and_suite_mismatch_count_as_drift(golden):
    gold = read_golden(golden)
    runs, hashes = run_suite(SMALL)
    runs.pop("beauty/rfm_tiered/seed1")
    result = check(gold, runs, hashes, Suite(scenarios=("beauty",), policies=("rfm_tiered", "fatigue_capped"),
                                              seeds=(0,), customers=800, days=25))
    assert {d.case for d in result.drifts} == {"beauty/rfm_tiered/seed1"} and all(d.missing for d in result.drifts)
    assert any("another suite" in n for n in result.notes)


def test_missing_or_bad_golden_file_is_a_user_error(tmp_path, capsys):
    assert main(["regress", "--golden", str(tmp_path / "none.json")]) == 2
    assert "siyu regress --update" in " ".join(capsys.readouterr().err.split())
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["regress", "--golden", str(bad)]) == 2


def test_packaged_golden_file_covers_the_default_suite():
    data = read_golden(GOLDEN)
    assert data["suite"] == SUITE.describe()
    assert len(data["runs"]) == SUITE.runs
    assert SUITE.runs * SUITE.customers * SUITE.days <= 10_000_000  # customer-days: stays a quick CI step


def test_a_brand_checks_its_own_suite_from_an_experiment_file(tmp_path, capsys):
    """--spec: the runs of an experiment file (overrides, policy parameters) against a golden file beside it."""
    spec = tmp_path / "mine.toml"
    spec.write_text('name = "mine"\nscenario = "beauty"\nseeds = 2\ncustomers = 600\ndays = 20\n'
                    'policies = ["rfm_tiered", { name = "weekly", kind = "fixed_cadence", '
                    'params = { content_every_days = 7 } }]\n'
                    '[overrides]\n"economics.gross_margin_rate" = 0.5\n')
    assert main(["regress", "--spec", str(spec), "--update"]) == 0
    golden_file = tmp_path / "mine.golden.json"
    data = json.loads(golden_file.read_text())
    assert set(data["runs"]) == {f"beauty/{p}/seed{s}" for p in ("rfm_tiered", "weekly") for s in (0, 1)}
    assert main(["regress", "--spec", str(spec)]) == 0
    assert "regress: ok, 4 runs" in capsys.readouterr().out
    data["runs"]["beauty/weekly/seed1"]["purchases"] += 5  # what a changed policy or engine would do
    golden_file.write_text(json.dumps(data))
    assert main(["regress", "--spec", str(spec)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "beauty/weekly/seed1" in out and "purchases" in out


@pytest.mark.parametrize("value", ["nan", "inf", "-0.1", "abc"])
def test_a_tolerance_that_would_switch_the_gate_off_or_flag_everything_is_refused(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["regress", "--rtol", value])
    assert exc.value.code == 2 and "--rtol" in capsys.readouterr().err


def test_a_golden_file_with_a_nan_tolerance_is_refused(golden):
    gold = read_golden(golden)
    gold["tolerance"]["rtol"] = float("nan")
    with pytest.raises(ValueError, match="tolerance rtol must be a finite number"):
        check(gold, {}, {}, SMALL)
