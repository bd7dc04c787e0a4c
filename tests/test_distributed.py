"""Runs on Ray: the same tables as local processes, no run lost or doubled when a worker dies, failures reported.

One local Ray instance with 2 CPUs serves the whole module (starting one takes seconds).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from experiments.cli.app import main
from experiments.running.backends import LocalBackend
from experiments.running.runner import RunsFailed, RunTask, execute, plan, run_experiment, unique
from experiments.running.spec import PolicySpec, load_experiment
from experiments.store.tables import read_table

ray = pytest.importorskip("ray", reason="the distributed extra (Ray) is not installed: pip install 'siyu[distributed]'")

ROOT = Path(__file__).resolve().parents[1]
SPEC = """
name = "dist"
scenario = "beauty"
seeds = 3
customers = {customers}
days = {days}
policies = ["no_contact", "rfm_tiered",
            {{ name = "weekly", kind = "fixed_cadence", params = {{ offer_every_days = 7 }} }}]
[grid.policies.weekly]
content_every_days = [5, 10]
"""
TABLE_FILES = ("runs", "daily", "hidden", "segments")


def write_spec(folder: Path, customers: int = 600, days: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.toml"
    path.write_text(SPEC.format(customers=customers, days=days))
    return path


def table_bytes(out: Path) -> dict[str, bytes]:
    """Every result table, the comparison and every run file, as bytes."""
    files = [p for p in out.iterdir() if p.stem in TABLE_FILES and p.suffix in (".parquet", ".csv")]
    files += [out / "comparison.csv", *sorted((out / "runs").glob("*.json"))]
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def ray_backend():
    """A local Ray instance with 2 CPUs for the module (workers inherit this process's PYTHONPATH)."""
    from experiments.running.backends import RayBackend
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        try:
            backend = RayBackend(num_cpus=2)
        except Exception as exc:  # noqa: BLE001 - a sandbox without shared memory or sockets
            pytest.skip(f"a local Ray instance did not start here: {exc}")
        yield backend
        backend.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The reference: the small spec run by ``siyu experiment`` with the default local backend."""
    tmp = tmp_path_factory.mktemp("local")
    out = tmp / "out"
    assert main(["experiment", str(write_spec(tmp)), "--out", str(out), "--no-report"]) == 0
    return out


def test_ray_and_local_write_identical_tables(tmp_path, ray_backend, local_run, monkeypatch):
    from experiments.running.backends import RayBackend
    used = []
    original = RayBackend.map_unordered
    monkeypatch.setattr(RayBackend, "map_unordered", lambda self, fn, items: used.append(len(items)) or
                        original(self, fn, items))
    out = tmp_path / "out"
    assert main(["experiment", str(write_spec(tmp_path)), "--out", str(out), "--no-report", "--backend", "ray"]) == 0
    assert used == [12]  # every run went to Ray
    ours, theirs = table_bytes(out), table_bytes(local_run)
    assert len(theirs) == 4 + 1 + 3 * 4  # tables, comparison, 3 seeds x 4 distinct runs
    assert ours.keys() == theirs.keys()
    assert [k for k in ours if ours[k] != theirs[k]] == []


def _busy_workers() -> list[int]:
    """PIDs of Ray workers running a siyu task now (Ray titles a busy worker ``ray::<function>``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::_call_in_worker"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker processes in /proc")
def test_a_worker_killed_mid_run_loses_and_doubles_no_run(tmp_path, ray_backend, local_run):
    exp = load_experiment(write_spec(tmp_path))
    out = tmp_path / "out"
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(r=run_experiment(exp, out, backend=ray_backend)))
    thread.start()
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        busy = _busy_workers()
        if busy and (out / "runs").is_dir() and any((out / "runs").glob("*.json")):
            killed = busy[0]  # a run finished, and another is being simulated now
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.01)
    thread.join(600)
    assert killed is not None, "no worker was caught running a task"
    assert "r" in result, "the experiment did not complete"
    runs = result["r"].runs  # type: ignore[attr-defined]
    keys = [t.key for t in plan(exp)]
    assert sorted(runs["run_id"]) == sorted(keys)  # every planned run once: none lost, none doubled
    assert len(list((out / "runs").glob("*.json"))) == len(set(keys))
    assert not list((out / "runs").glob(".*"))  # no half-written file of the killed run
    ours, theirs = table_bytes(out), table_bytes(local_run)
    assert [k for k in theirs if ours.get(k) != theirs[k]] == []


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_failing_run_is_named_and_the_others_finish(tmp_path, ray_backend, backend):
    exp = load_experiment(write_spec(tmp_path, customers=300, days=5))
    good = unique(plan(exp))[:4]
    missing = PolicySpec("vanished", None, ref=str(tmp_path / "deleted_after_planning.toml"))
    bad = RunTask(good[0].point, missing, 7, exp.customers, exp.days)
    out = tmp_path / "out"
    with pytest.raises(RunsFailed) as caught:
        execute([good[0], bad, *good[1:]], out, backend=ray_backend if backend == "ray" else LocalBackend(1))
    assert [f.task.key for f in caught.value.failures] == [bad.key]
    message = str(caught.value)
    assert message.startswith("1 of 5 runs failed") and "scenario beauty, policy vanished, seed 7:" in message
    assert "deleted_after_planning.toml" in message
    assert sorted(p.name for p in (out / "runs").glob("*.json")) == sorted(t.file_name for t in good)


def test_a_killed_driver_resumes_on_the_cluster_without_redoing_runs(tmp_path, ray_backend, local_run, capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    cmd = [sys.executable, "-m", "experiments.cli", "experiment", str(spec), "--out", str(out), "--no-report",
           "--backend", "ray"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list((out / "runs").glob("*.json"))) >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    time.sleep(1.0)  # Ray ends the dead driver's tasks; let any write in progress land
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert 2 <= len(before) < 12
    assert main(["experiment", str(spec), "--out", str(out), "--no-report", "--backend", "ray"]) == 0
    # a task of the dead driver may still land a run after the snapshot (a loaded machine): at least those done
    said = re.search(r"(\d+) runs already done", " ".join(capsys.readouterr().err.split()))
    assert said and int(said.group(1)) >= len(before)
    assert {p: (out / "runs" / p).stat().st_mtime_ns for p in before} == before  # finished runs not redone
    ours, theirs = table_bytes(out), table_bytes(local_run)
    assert [k for k in theirs if ours.get(k) != theirs[k]] == []
    assert read_table(out, "runs")["run_id"].size == 2 * 3 * 3  # 2 grid points x 3 policies x 3 seeds


def test_tune_on_ray_finds_and_judges_the_same_as_local(tmp_path, ray_backend):
    pytest.importorskip("optuna")
    args = ["tune", "fixed_cadence", "--customers", "300", "--days", "10", "--trials", "3", "--train-seeds", "2",
            "--test-seeds", "2"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    for name in ("trials.csv", "tuned_fixed_cadence.toml", "fresh/comparison.csv", "fresh/runs.parquet"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name


def test_tune_batch_on_ray_is_the_search_of_one_local_process(tmp_path, ray_backend):
    """--batch 2: two trials scored at once on the Ray workers, the same trials as one local process."""
    pytest.importorskip("optuna")
    args = ["tune", "fixed_cadence", "--customers", "300", "--days", "10", "--trials", "3", "--train-seeds", "2",
            "--test-seeds", "2", "--batch", "2"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    for name in ("trials.csv", "tuned_fixed_cadence.toml", "fresh/comparison.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name


def test_train_seeds_on_ray_match_local_and_resume(tmp_path, ray_backend, capsys):
    pytest.importorskip("stable_baselines3")
    import csv
    args = ["train", "--seeds", "2", "--seed", "5", "--timesteps", "64", "--customers", "16", "--days", "4"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0

    def rows(folder: str) -> list[tuple[str, ...]]:
        with (tmp_path / folder / "seeds.csv").open() as f:
            return [(r["seed"], r["timesteps_done"], r["final_reward"]) for r in csv.DictReader(f)]
    assert rows("local") == rows("ray") and [r[0] for r in rows("ray")] == ["5", "6"]
    assert all((tmp_path / "ray" / f"seed_{s}" / "model.pt").is_file() for s in (5, 6))
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    assert "2 seeds already trained, 0 to train" in " ".join(capsys.readouterr().out.split())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kills a pool process by its pid")
def test_the_local_pool_reruns_what_a_killed_worker_held():
    backend = LocalBackend(2)
    items = [0.3] * 6
    done = []
    try:
        for f in backend.map_unordered(time.sleep, items):
            if not done:  # the pool is up and busy: kill one of its processes
                os.kill(next(iter(backend._pool._processes)), signal.SIGKILL)
            done.append(f)
    finally:
        backend.close()
    assert sorted(f.index for f in done) == list(range(6)) and all(f.error is None for f in done)


@pytest.mark.parametrize("flags, needle", [
    (["--ray-address", "10.0.0.5:6379"], "--ray-address goes with --backend ray"),
    (["--backend", "ray", "--jobs", "2"], "--jobs goes with --backend local"),
])
def test_backend_flags_that_do_not_fit_are_one_line(tmp_path, capsys, flags, needle):
    assert main(["compare", "--seeds", "2", "--customers", "100", "--days", "2", "--out", str(tmp_path), *flags]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "compiling" not in line]
    assert len(lines) == 1 and needle in lines[0], lines
