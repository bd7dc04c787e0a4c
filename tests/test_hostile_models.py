"""Model files cannot run code: a payload planted in every route that reads a model never runs.

A payload is a pickle whose ``__reduce__`` calls ``os.system("touch MARKER")``: unpickled, it
creates the marker file. Every route (``siyu run``, ``compare``, ``experiment``, ``regress --spec``,
``train --resume``) must refuse it in one line with exit code 2 and leave no marker.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import zipfile

import pytest
import torch

from experiments.cli.app import main
from experiments.running.spec import load_experiment
from experiments.train.trainer import TrainConfig, train
from policies import load_policy
from policies.model_file import trust_models
from sim.config import ConfigError

TINY = dict(customers=16, n_steps=16, batch_size=64, n_epochs=1, net_arch=[8], threads=1, horizon=20)
SMALL = ["--customers", "60", "--days", "3"]


class Payload:
    """Creates ``marker`` when unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A genuine PPO model written by siyu train (256 customer-days)."""
    out = tmp_path_factory.mktemp("model")
    train(TrainConfig(algo="ppo", timesteps=256, seed=5, **TINY), out)
    return out


def _meta(folder, algo="ppo"):
    (folder / "hyperparams.json").write_text(json.dumps({"algo": algo, "scenario": "beauty", "net_arch": [8]}))


def evil_zip(folder, marker):
    """An SB3-style zip whose ``data`` entry holds a serialized payload, as SB3's loader unpickles it."""
    folder.mkdir(parents=True, exist_ok=True)
    blob = base64.b64encode(pickle.dumps(Payload(str(marker)))).decode()
    data = {"observation_space": {":type:": "x", ":serialized:": blob},
            "policy_class": {":type:": "x", ":serialized:": blob}}
    with zipfile.ZipFile(folder / "model.zip", "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("_stable_baselines3_version", "2.9.2")
    _meta(folder)
    return folder / "model.zip"


def evil_pt(folder, marker, how):
    """A ``model.pt`` carrying a payload: a plain pickle, a torch file, or genuine weights plus one extra key."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.pt"
    if how == "pickle":
        path.write_bytes(pickle.dumps(Payload(str(marker))))
    elif how == "torch":
        torch.save(Payload(str(marker)), path)
    else:  # a real siyu model with one extra entry
        state = torch.load(how / "model.pt", weights_only=True)
        state["extra"] = Payload(str(marker))
        torch.save(state, path)
    _meta(folder)
    return folder


def _one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "compiling" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("how", ["pickle", "torch", "extra-key"])
@pytest.mark.parametrize("route", ["run", "compare", "experiment", "regress", "resume"])
def test_a_payload_in_a_model_never_runs(tmp_path, capsys, model_dir, route, how):
    marker = tmp_path / "PWNED"
    folder = evil_pt(tmp_path / "evil", marker, model_dir if how == "extra-key" else how)
    if how == "pickle" and route != "resume":  # the SB3 zip route as well, once per route
        evil_zip(tmp_path / "zip", marker)
    refs = [f"rl:{folder}"] + ([f"rl:{tmp_path / 'zip' / 'model.zip'}"] if (tmp_path / "zip").exists() else [])
    for ref in refs:
        spec = tmp_path / "spec.toml"
        spec.write_text(f'name = "x"\npolicies = ["no_contact", "{ref}"]\nseeds = 1\ncustomers = 60\ndays = 3\n')
        args = {"run": ["run", "--policy", ref, *SMALL, "--out", str(tmp_path / "o")],
                "compare": ["compare", "--policies", f"no_contact,{ref}", "--seeds", "1", *SMALL, "--no-report",
                            "--out", str(tmp_path / "o")],
                "experiment": ["experiment", str(spec), "--no-report", "--out", str(tmp_path / "o")],
                "regress": ["regress", "--spec", str(spec), "--update"],
                "resume": ["train", "--resume", "--out", str(folder), "--timesteps", "64", "--customers", "16",
                           "--days", "4"]}[route]
        assert main(args) == 2
        _one_line_error(capsys)
        assert not marker.exists(), f"the payload ran through {route}"


def test_sb3_zips_are_refused_unless_trusted_and_trust_really_means_running_code(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    z = evil_zip(tmp_path / "m", marker)
    assert main(["run", "--policy", f"rl:{z}", *SMALL, "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "--trust-model", "runs code")
    assert not marker.exists()
    try:  # the flag is documented as running code from the file: it does
        assert main(["run", "--trust-model", "--policy", f"rl:{z}", *SMALL, "--out", str(tmp_path / "o")]) == 2
    finally:
        trust_models(False)
    _one_line_error(capsys, "not a stable-baselines3 model")
    assert marker.exists()


def test_reading_a_spec_never_loads_a_model(tmp_path, model_dir, monkeypatch):
    import policies.model_file as model_file

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded while reading a spec")

    monkeypatch.setattr(model_file, "read_weights", refuse)
    monkeypatch.setattr(model_file, "load_network", refuse)
    (tmp_path / "models").symlink_to(model_dir)
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "x"\npolicies = ["no_contact", "rl:models"]\nseeds = 1\ncustomers = 60\ndays = 3\n')
    exp = load_experiment(spec)  # rl:models resolves against the spec's folder, not the working folder
    assert exp.policies[1].ref == f"rl:{tmp_path / 'models'}" and exp.policies[1].name == "rl:models"


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04garbage"])
def test_empty_or_corrupt_model_files_end_in_one_line(tmp_path, capsys, content):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pt").write_bytes(content)
    _meta(tmp_path / "m")
    assert main(["run", "--policy", f"rl:{tmp_path / 'm'}", *SMALL, "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "model.pt")
    with pytest.raises(ConfigError):
        load_policy(f"rl:{tmp_path / 'm'}")


@pytest.mark.parametrize("meta", ["{bad", "[]", '{"algo": "evil"}', '{"algo": "ppo", "net_arch": [8, true]}',
                                  '{"algo": "ppo", "net_arch": [9]}'])
def test_bad_hyperparams_next_to_genuine_weights_end_in_one_line(tmp_path, model_dir, meta):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.pt").write_bytes((model_dir / "model.pt").read_bytes())
    (folder / "hyperparams.json").write_text(meta)
    with pytest.raises(ConfigError) as err:
        load_policy(f"rl:{folder}")
    assert "\n" not in str(err.value) and "rl:" in str(err.value)


def test_train_then_run_the_model_end_to_end(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["train", "--timesteps", "128", "--customers", "16", "--days", "8", "--out", str(out)]) == 0
    assert not (out / "model.zip").exists() and (out / "model.pt").is_file()
    said = " ".join(capsys.readouterr().out.split())
    assert f"rl:{out}" in said
    assert main(["run", "--policy", f"rl:{out}", *SMALL, "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["policy"] == f"rl:{out}"
    assert main(["train", "--resume", "--timesteps", "256", "--customers", "16", "--days", "8",
                 "--out", str(out)]) == 0
    assert json.loads((out / "hyperparams.json").read_text())["timesteps_done"] >= 256
