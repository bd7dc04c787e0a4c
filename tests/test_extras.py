"""The light install: ``siyu compare`` loads no optional part, and a command that needs one names its extra."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim.extras import EXTRAS, MissingExtra, installed, require

OPTIONAL = ("torch", "stable_baselines3", "sb3_contrib", "tensorboard", "mesa", "ray")
"""Modules of the extras (rl, mesa) that the core path must never import."""


def run_cli(args: list[str], block: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``siyu ARGS`` in a fresh interpreter with ``block`` made unimportable; also the optional modules it loaded."""
    script = "\n".join([
        "import json, sys",
        *(f"sys.modules[{m!r}] = None" for m in block),
        "from experiments.cli.app import main",
        f"code = main({args!r})",
        f"print(json.dumps(sorted(m for m in {OPTIONAL!r} if sys.modules.get(m) is not None)))",
        "sys.exit(code)",
    ])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    loaded = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else []
    return proc, loaded


def test_compare_imports_no_optional_part(tmp_path):
    proc, loaded = run_cli(["compare", "--policies", "no_contact,rfm_tiered", "--seeds", "2", "--customers", "500",
                            "--days", "10", "--out", str(tmp_path / "cmp")])
    assert proc.returncode == 0, proc.stderr
    assert loaded == []
    assert (tmp_path / "cmp" / "report.md").is_file()


def test_train_without_the_rl_extra_says_how_to_install_it(tmp_path):
    proc, _ = run_cli(["train", "--timesteps", "10", "--out", str(tmp_path / "t")], block=("torch",))
    assert proc.returncode == 3
    assert proc.stderr.strip() == "siyu train needs the RL extra: pip install 'siyu[rl]'"
    assert not (tmp_path / "t").exists()


def test_an_rl_policy_without_the_rl_extra_is_one_line(tmp_path):
    proc, _ = run_cli(["compare", "--policies", "no_contact,rl:runs/train/model.zip", "--out", str(tmp_path / "c")],
                      block=("stable_baselines3",))
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "rl:runs/train/model.zip needs the RL extra: pip install 'siyu[rl]'" in lines[0]


def test_require_names_the_extra_of_a_blocked_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "mesa", None)
    assert not installed("mesa") and installed("numpy")
    with pytest.raises(MissingExtra, match=r"the Mesa adapter needs the Mesa extra: pip install 'siyu\[mesa\]'"):
        require("mesa", "the Mesa adapter")
    assert set(EXTRAS) == {"rl", "mesa", "tune", "distributed"}
