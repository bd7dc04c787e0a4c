"""Killed commands: no worker left behind, no finished run lost or redone, Ctrl-C in one line; one --out per command.

The commands run as real processes (``python -m experiments.cli``) in their own session, are
killed once the first run file exists, and are then run again to completion. Linux only: the
test reads the process table from ``/proc``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.cli.app import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RUNS = 3 * 8
COMPARE = ["compare", "--policies", "no_contact,blast,fatigue_capped", "--seeds", "8", "--customers", "10000",
           "--days", "90", "--no-report"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to read it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, limit: float = 300.0) -> None:
    """Poll ``condition`` until it holds (``limit`` seconds only guards against a hang)."""
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, "gave up waiting"
        time.sleep(0.05)


def _run_files(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} if (out / "runs").is_dir() else {}


def _kill_and_rerun(tmp_path: Path, args: list[str], sig: int, jobs: int) -> None:
    out = tmp_path / "out"
    argv = [*args, "--out", str(out)] + (["--jobs", str(jobs)] if jobs > 1 else [])
    proc = _start(argv, tmp_path)
    try:
        _wait_for(lambda: len(_run_files(out)) >= 1 or proc.poll() is not None)
        workers = _children(proc.pid)
        if sig == signal.SIGINT:  # Ctrl-C reaches every process of the terminal's group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.kill()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert jobs == 1 or len(workers) >= jobs, "the pool never started"
    _wait_for(lambda: not any(_alive(w) for w in workers), limit=30)  # no worker outlives its parent
    done = _run_files(out)
    assert 1 <= len(done) < RUNS, "the kill came too late to test anything"
    if sig == signal.SIGINT:
        lines = [line for line in err.splitlines() if line.strip() and "compiling" not in line]
        assert proc.returncode == 130 and len(lines) == 1 and "interrupted" in lines[0], err
        assert "Traceback" not in err
    time.sleep(0.5)
    assert _run_files(out) == done, "something went on writing after the command was killed"
    again = subprocess.run([sys.executable, "-m", "experiments.cli", *argv], cwd=tmp_path, env=ENV, text=True,
                           capture_output=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} runs already done" in " ".join(again.stderr.split()) or len(done) == 1
    after = _run_files(out)
    assert len(after) == RUNS and all(after[name] == mtime for name, mtime in done.items())  # nothing redone


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killing_compare_with_jobs_leaves_no_worker_and_the_rerun_resumes(tmp_path, sig):
    _kill_and_rerun(tmp_path, COMPARE, sig, jobs=2)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killing_an_experiment_in_one_process_loses_nothing(tmp_path, sig):
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "k"\npolicies = ["no_contact", "blast", "fatigue_capped"]\nseeds = 8\n'
                    "customers = 10000\ndays = 90\n")
    _kill_and_rerun(tmp_path, ["experiment", str(spec), "--no-report"], sig, jobs=1)


def test_a_second_command_on_the_same_out_is_refused_with_the_first_ones_pid(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from experiments.store.outdir import claim\n"
                               f"claim(Path({str(out)!r}))\nprint('held', flush=True)\ntime.sleep(120)"],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        args = ["run", "--customers", "60", "--days", "3", "--out", str(out)]
        assert main(args) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "compiling" not in line]
        assert len(lines) == 1 and f"pid {holder.pid}" in lines[0] and "in use" in lines[0], lines
        assert not (out / "summary.json").exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(args) == 0  # the kernel dropped the dead command's lock: no stale lock to clear by hand
    assert main(args) == 0  # and a finished command releases its own


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killing_train_keeps_a_model_that_resumes(tmp_path, sig):
    out = tmp_path / "t"
    args = ["train", "--customers", "16", "--days", "20", "--out", str(out)]
    proc = _start([*args, "--timesteps", "10000000"], tmp_path)
    try:
        _wait_for(lambda: (out / "hyperparams.json").is_file() or proc.poll() is not None)  # written last
        time.sleep(1.0)  # into the learning loop
        os.killpg(proc.pid, sig)
        out_text, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert (out / "model.pt").is_file() and "Traceback" not in err
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "siyu train --resume" in " ".join(out_text.split()), (out_text, err)
    done = json.loads((out / "hyperparams.json").read_text())["timesteps_done"]
    assert (done > 0) == (sig == signal.SIGINT)  # Ctrl-C saves the model as it was; a kill keeps the checkpoint
    budget = str(done + 1024)
    again = subprocess.run([sys.executable, "-m", "experiments.cli", *args, "--timesteps", budget, "--resume"],
                           cwd=tmp_path, env=ENV, text=True, capture_output=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "hyperparams.json").read_text())["timesteps_done"] >= done + 1024
