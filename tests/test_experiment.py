"""Experiment specs, resumable runs, tidy tables and sweeps."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import experiments.store.tables as tables
from experiments.cli.app import main
from experiments.stats.comparison import COLUMNS
from experiments.running.runner import RunTask, plan, run_experiment, unique
from experiments.running.spec import load_experiment
from experiments.store.tables import read_table
from policies import make_policy
from sim import Simulation
from sim.segments import SEGMENTS
from sim.defaults import ACTIVE

SPEC = """
name = "small"
scenario = "beauty"
seeds = 3
customers = 1200
days = {days}
policies = ["no_contact", "blast", {{ name = "weekly", kind = "fixed_cadence", params = {{ content_every_days = 7 }} }}]
{extra}
"""
GRID = """
[grid.scenario]
"contents.coupon.discount" = [0.1, 0.3]
[grid.policies.weekly]
offer_every_days = [10, 20]
"""


def write_spec(tmp_path, extra: str = "", days: str = "25"):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(extra=extra, days=days))
    return path


def stderr(capsys) -> str:
    """Captured stderr with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


def same_tables(a, b) -> None:
    for name in ("runs", "daily", "hidden", "segments"):
        ta, tb = read_table(a, name), read_table(b, name)
        assert list(ta) == list(tb), name
        for col in ta:
            assert np.array_equal(ta[col], tb[col]), (name, col)
    assert (a / "comparison.csv").read_text() == (b / "comparison.csv").read_text()


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted run of the small spec: what every resumed run must reproduce."""
    tmp = tmp_path_factory.mktemp("ref")
    out = tmp / "out"
    result = run_experiment(load_experiment(write_spec(tmp)), out)
    return out, result


# --- specs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, needles", [
    ("days=0", ["days = 0", ">= 1, <= 3650 days"]),
    ("seed = 3", ["seed", "unknown field", "first_seed"]),
    ('metric = "profit"', ["metric", "total_value"]),
    ('reference = "nobody"', ["reference = 'nobody'", "allowed: no_contact, blast, weekly"]),
    ("[overrides]\n\"dynamics.lurex\" = 2", ["overrides", "dynamics.lurex", "no such field"]),
    ("[overrides]\ndynamics.lure = -1", ["overrides", "dynamics.lure", ">= 0"]),
    ("[grid.policies.weekly]\noffer_every_days = [10, 999]",
     ["grid.policies.weekly", "offer_every_days", "999", "<= 365"]),
    ("[grid.policies.ghost]\nx = [1]", ["grid.policies.ghost", "allowed: no_contact, blast, weekly"]),
    ("[grid.scenario]\n\"contents.coupon.discount\" = []", ["has no values"]),
])
def test_bad_spec_is_rejected_up_front_with_path_and_allowed(tmp_path, capsys, extra, needles):
    path = write_spec(tmp_path, days="0") if extra == "days=0" else write_spec(tmp_path, extra)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out")]) == 2
    err = stderr(capsys)
    assert "Traceback" not in err and str(path.name) in err
    for needle in needles:
        assert needle in err
    assert not (tmp_path / "out").exists()


def test_bad_policy_entries(tmp_path, capsys):
    path = tmp_path / "p.toml"
    path.write_text('policies = ["no_contact", { kind = "nosuch" }]\n')
    assert main(["experiment", str(path)]) == 2
    assert "policies[1]: unknown policy 'nosuch'" in stderr(capsys)
    path.write_text('policies = ["blast", { kind = "blast", params = { slot = "noon" } }]\n')
    assert main(["experiment", str(path)]) == 2
    assert "names must be distinct" in stderr(capsys)


def test_spec_resolves_policies_reference_grid_and_relative_files(tmp_path):
    (tmp_path / "mine.toml").write_text('policy = "fixed_cadence"\nname = "mine"\n[params]\noffer_every_days = 14\n')
    path = write_spec(tmp_path, 'reference = "blast"\n' + GRID)
    text = path.read_text().replace('"no_contact", ', '"no_contact", "mine.toml", ')
    path.write_text(text)
    exp = load_experiment(path)
    assert exp.policy_names == ["blast", "no_contact", "mine", "weekly"]
    mine = exp.policies[2]
    assert (mine.kind, mine.params["offer_every_days"]) == ("fixed_cadence", 14)
    assert [a.label for a in exp.axes] == ["contents.coupon.discount", "weekly.offer_every_days"]
    assert exp.axes[0].unit == "share of price"
    assert len(exp.points) == 4 and exp.seeds == [0, 1, 2]
    p = exp.points[3]
    assert p.scenario.contents["coupon"].discount == 0.3
    weekly = {s.name: s for s in p.policies}["weekly"]
    assert weekly.params["offer_every_days"] == 20 and weekly.params["content_every_days"] == 7


# --- runs, files and resume -------------------------------------------------------------------------

def test_run_files_carry_identity_and_tables_are_tidy(reference_run):
    out, result = reference_run
    files = sorted((out / "runs").glob("*.json"))
    assert len(files) == 9
    rec = json.loads(files[0].read_text())
    for key in ("scenario", "policy", "seed", "code_version", "config_hash"):
        assert key in rec["meta"] and key in rec["summary"]
    runs = pd.read_parquet(out / "runs.parquet")
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(runs) == 9 and len(daily) == 9 * 25
    assert daily.groupby(["policy", "seed"])["revenue"].sum().to_dict() == pytest.approx(
        runs.set_index(["policy", "seed"])["revenue"].to_dict(), rel=1e-9)
    seg = pd.read_parquet(out / "segments.parquet")
    assert len(seg) == 9 * 25 * len(SEGMENTS) and (seg["contacts"] <= seg["reachable"]).all()
    assert seg.groupby(["policy", "seed"])["contacts"].sum().to_dict() == pytest.approx(
        runs.set_index(["policy", "seed"])["contacts"].to_dict())
    hidden = pd.read_parquet(out / "hidden.parquet")
    sim = Simulation(result.experiment.scenario, 1200, 2)  # replay one run to see its hidden state
    sim.run(make_policy("blast"), 25)
    in_pool = sim.state.status == ACTIVE
    for var, values in (("salience", sim.state.salience), ("fatigue", sim.state.fatigue)):
        h = hidden[(hidden.variable == var) & (hidden.policy == "blast") & (hidden.seed == 2)]
        assert h["customers"].sum() == in_pool.sum() > 0
        edges = np.append(h["bin_low"].to_numpy(), h["bin_high"].max())
        expected, _ = np.histogram(np.clip(values[in_pool], edges[0], edges[-1]), bins=edges)
        assert np.array_equal(h["customers"].to_numpy(), expected), var
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert list(rows[0])[:len(COLUMNS)] == COLUMNS
    assert not list((out / "runs").glob(".*"))  # no temporary files left behind


def test_interrupted_run_resumes_without_redoing_and_matches(tmp_path, reference_run, monkeypatch):
    ref_out, _ = reference_run
    exp = load_experiment(write_spec(tmp_path))
    out = tmp_path / "out"
    calls = []
    original = RunTask.run

    def stop_in_the_fourth_run(self, progress=None):
        calls.append(self.key)
        if len(calls) == 4:
            progress(12)
            raise KeyboardInterrupt
        return original(self, progress)

    monkeypatch.setattr(RunTask, "run", stop_in_the_fourth_run)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(exp, out)
    assert len(list((out / "runs").iterdir())) == 3  # the three finished runs, nothing half-written
    monkeypatch.setattr(RunTask, "run", original)
    redone = []
    monkeypatch.setattr(RunTask, "run", lambda self, progress=None: redone.append(self.key) or original(self, progress))
    run_experiment(exp, out)
    assert len(redone) == 6 and not set(redone) & set(calls[:3])
    same_tables(ref_out, out)


def test_corrupt_partial_or_foreign_run_files_are_detected_and_redone(tmp_path, reference_run, monkeypatch):
    ref_out, _ = reference_run
    exp = load_experiment(write_spec(tmp_path))
    out = tmp_path / "out"
    run_experiment(exp, out)
    files = sorted((out / "runs").glob("*.json"))
    text = files[0].read_text()
    files[0].write_text(text[: len(text) // 2])  # truncated
    files[1].write_text(files[1].read_text().replace('"revenue":', '"revenue":1', 1))  # bit flip, still JSON
    files[2].write_text(files[3].read_text())  # another run's content under this name
    files[4].write_text("")
    (out / "runs" / f".{files[5].name}.abc.tmp").write_text('{"format": 1')  # a write killed half-way
    redone = []
    original = RunTask.run
    monkeypatch.setattr(RunTask, "run",
                        lambda self, progress=None: redone.append(self.file_name) or original(self, progress))
    run_experiment(exp, out)
    assert sorted(redone) == sorted(f.name for f in files[:3] + files[4:5])
    same_tables(ref_out, out)


def test_killed_process_leaves_nothing_corrupt_and_resumes(tmp_path, reference_run):
    ref_out, _ = reference_run
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "experiments.cli", "experiment", str(spec), "--out", str(out), "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list((out / "runs").glob("*.json"))) >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert main(["experiment", str(spec), "--out", str(out), "--no-report"]) == 0
    same_tables(ref_out, out)


def test_a_killed_writers_temporary_file_is_gone_after_the_rerun(tmp_path, reference_run):
    ref_out, _ = reference_run
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    files = sorted((ref_out / "runs").glob("*.json"))
    for f in files[1:]:  # all runs but one finished; the writer of the first was killed mid-write
        (out / "runs" / f.name).write_bytes(f.read_bytes())
    for f in files[:2]:  # one beside a missing run, one beside a finished run
        (out / "runs" / f".{f.name}.k1ll3d.tmp").write_text('{"half": ')
    (out / "runs" / ".other.json.x.tmp").write_text("not a run of this experiment")
    run_experiment(load_experiment(write_spec(tmp_path)), out)
    assert sorted(p.name for p in (out / "runs").glob(".*")) == [".other.json.x.tmp"]
    same_tables(ref_out, out)


def test_csv_without_pyarrow_holds_the_same_tables(tmp_path, reference_run, monkeypatch):
    ref_out, _ = reference_run
    monkeypatch.setattr(tables, "parquet_available", lambda: False)
    out = tmp_path / "out"
    for f in (ref_out / "runs").glob("*.json"):  # reuse the finished runs: only the tables are rewritten
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "runs" / f.name).write_bytes(f.read_bytes())
    (out / "daily.parquet").write_text("stale")
    run_experiment(load_experiment(write_spec(tmp_path)), out)
    assert not list(out.glob("*.parquet"))
    for name in ("runs", "daily", "hidden", "segments"):
        csv_t, pq_t = read_table(out, name), read_table(ref_out, name)
        frame = pd.read_csv(out / f"{name}.csv")
        assert list(frame.columns) == list(pq_t) and len(frame) == len(pq_t["policy"])
        for col, values in pq_t.items():
            if values.dtype.kind in "if":
                assert np.array_equal(csv_t[col], values.astype(np.float64)), (name, col)
            else:
                assert list(csv_t[col]) == [str(v) for v in values], (name, col)


# --- compare and sweeps ---------------------------------------------------------------------------

def test_compare_goes_through_the_experiment_runner_and_resumes(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--policies", "no_contact,fatigue_capped", "--seeds", "3", "--customers", "800",
            "--days", "15", "--out", str(out), "--no-report"]
    assert main(args) == 0
    assert (out / "experiment.json").exists() and (out / "runs.parquet").exists()
    assert not (out / "report.html").exists()
    first = (out / "comparison.csv").read_text()
    assert main(args) == 0
    assert "6 runs already done, 0 to run" in stderr(capsys)
    assert (out / "comparison.csv").read_text() == first


def test_sweep_runs_shared_runs_once_and_marks_optima(tmp_path):
    path = write_spec(tmp_path, GRID.replace('"contents.coupon.discount" = [0.1, 0.3]',
                                             '"contents.coupon.discount" = [0.2]'))
    exp = load_experiment(path)
    tasks = plan(exp)
    assert len(tasks) == 2 * 3 * 3 and len(unique(tasks)) == 3 * (1 + 1 + 2)  # no_contact and blast run once
    out = tmp_path / "out"
    result = run_experiment(exp, out)
    surface = pd.read_csv(out / "surface.csv")
    assert set(surface["policy"]) == {"no_contact", "blast", "weekly"}
    weekly = surface[surface.policy == "weekly"]
    assert weekly["optimum"].sum() == 1
    assert weekly.loc[weekly["optimum"], "mean"].item() == weekly["mean"].max()
    comp = pd.read_csv(out / "comparison.csv")
    assert {"point", "contents.coupon.discount", "weekly.offer_every_days"} <= set(comp.columns)
    assert len(comp) == 2 * 3 * len(set(comp.metric))
    best_point = surface.loc[surface.policy == "weekly"].set_index("point")["mean"].idxmax()
    assert result.point == best_point
    assert len(list((out / "runs").glob("*.json"))) == 12
    assert os.path.getsize(out / "experiment.json") > 0


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "examples").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_example_specs_load(path):
    """The shipped examples stay valid as the scenario and policy schemas evolve."""
    from experiments.running.spec import load_experiment

    exp = load_experiment(path)
    assert exp.policies and exp.points


def test_worker_processes_give_the_same_runs(tmp_path):
    """--jobs 2 splits the runs over two processes; every run is a pure function of its task."""
    from experiments.running.spec import experiment_from_refs
    exp = experiment_from_refs("beauty", ["no_contact", "rfm_tiered", "fatigue_capped"], 2, customers=800, days=20)
    one = run_experiment(exp, tmp_path / "one")
    two = run_experiment(exp, tmp_path / "two", jobs=2)
    for name in ("runs", "daily"):
        a, b = one.table(name), two.table(name)
        for column in ("total_value", "purchases", "contacts") if name == "runs" else ("revenue", "opens"):
            assert np.array_equal(a[column], b[column]), (name, column)
    assert len(list((tmp_path / "two" / "runs").glob("*.json"))) == 6
