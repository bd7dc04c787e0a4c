"""Training with SB3 on the batched env: determinism, masking, saved models as policies, the CLI."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from experiments.cli.app import main
from experiments.train.trainer import TrainConfig, train
from policies import load_policy
from policies.rl import RLPolicy
from sim import Simulation
from sim.config import ConfigError
from sim.defaults import SMS
from sim.envs.encoding import ACTION_NVEC

TINY = dict(customers=16, n_steps=16, batch_size=64, n_epochs=1, net_arch=[8], threads=1, horizon=20)
"""A ~256-step budget on a tiny network: seconds per run."""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A PPO model trained for 256 customer-days (module-wide, reused by the policy tests)."""
    out = tmp_path_factory.mktemp("ppo")
    train(TrainConfig(algo="ppo", timesteps=256, seed=3, **TINY), out)
    return out


def _params(out):
    return torch.load(out / "model.pt", weights_only=True)["policy"]


def test_training_twice_with_one_seed_gives_the_same_model(tmp_path):
    torch.set_num_threads(1)
    a = train(TrainConfig(algo="ppo", timesteps=256, seed=11, **TINY), tmp_path / "a")
    b = train(TrainConfig(algo="ppo", timesteps=256, seed=11, **TINY), tmp_path / "b")
    c = train(TrainConfig(algo="ppo", timesteps=256, seed=12, **TINY), tmp_path / "c")
    pa, pb, pc = _params(a.out), _params(b.out), _params(c.out)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert not all(torch.equal(pa[k], pc[k]) for k in pa)
    assert a.curve == b.curve and len(a.curve) > 0


@pytest.mark.parametrize("algo", ["a2c", "dqn", "maskable_ppo"])
def test_every_algorithm_trains_and_its_model_acts_validly_in_the_engine(tmp_path, algo, beauty):
    result = train(TrainConfig(algo=algo, timesteps=256, seed=1, **TINY), tmp_path)
    for name in ("model.pt", "curve.png", "curve.csv", "hyperparams.json"):
        assert (tmp_path / name).is_file(), name
    meta = json.loads((tmp_path / "hyperparams.json").read_text())
    assert meta["algo"] == algo and meta["action_layout"] == ("flat" if algo == "dqn" else "multi")
    policy = load_policy(f"rl:{tmp_path}")
    Simulation(beauty, 300, 0).run(policy, 10)  # the engine validates every action it takes
    assert result.seconds > 0


def test_maskable_ppo_never_takes_a_masked_action(tmp_path):
    """With invalid_action='raise' a single masked action taken during training would raise."""
    from sb3_contrib import MaskablePPO

    from sim.envs.vec import CustomerVecEnv
    env = CustomerVecEnv("beauty", 64, horizon=40, seed=5, invalid_action="raise")
    model = MaskablePPO("MlpPolicy", env, n_steps=16, batch_size=256, n_epochs=1, seed=0,
                        policy_kwargs={"net_arch": [8]}, device="cpu")
    from stable_baselines3.common.logger import Logger
    model.set_logger(Logger(folder=None, output_formats=[]))  # no SB3-<date> folder left in /tmp
    with torch.no_grad():  # a policy that wants SMS flash sales every day: the mask has work to do
        model.policy.action_net.bias[:ACTION_NVEC[0]] = torch.tensor([-5.0, 0, 0, 0, 0, 5.0])
    model.learn(total_timesteps=64 * 48)  # past the 30-day SMS cap and through lost channels
    assert (env.batch.sim.state.month_count[:, SMS] == env.batch.sim.params.caps[SMS]).any()


def test_rl_policy_masks_before_choosing(tiny_model, beauty):
    """A model that prefers SMS above all still never contacts past the cap or off-reach."""
    loaded = load_policy(f"rl:{tiny_model}")
    assert isinstance(loaded, RLPolicy)
    policy = RLPolicy(copy.deepcopy(loaded.model), loaded.layout, "sms_lover")
    with torch.no_grad():
        policy.model.action_net.bias[:ACTION_NVEC[0]] = torch.tensor([-9.0, 0, 0, 0, 0, 9.0])
    sim = Simulation(beauty, 2000, 8)
    result = sim.run(policy, 45)  # the engine raises InvalidActionError on any unmasked choice
    assert result.daily["sms_delivered"][:8].sum() > 1000  # SMS while it reaches and the cap allows
    assert result.daily["sms_delivered"][8:30].sum() < result.daily["sms_delivered"][:8].sum() / 10
    assert result.daily["wecom_delivered"][8:30].sum() > 0  # then the next-best allowed channel


def test_rl_policy_runs_in_a_compare(tiny_model, tmp_path):
    out = tmp_path / "cmp"
    ref = f"rl:{tiny_model}"
    code = main(["compare", "--policies", f"fatigue_capped,{ref}", "--seeds", "2", "--seed", "100",
                 "--customers", "400", "--days", "15", "--out", str(out), "--no-report"])
    assert code == 0
    rows = [line.split(",") for line in (out / "comparison.csv").read_text().splitlines()]
    header = rows[0]
    tv = {r[header.index("policy")]: float(r[header.index("mean")]) for r in rows[1:]
          if r[header.index("metric")] == "total_value"}
    assert set(tv) == {"fatigue_capped", ref} and np.isfinite(tv[ref]) and tv[ref] != tv["fatigue_capped"]


def test_rl_loader_errors_are_one_line_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such model file"):
        load_policy(f"rl:{tmp_path / 'missing.pt'}")
    (tmp_path / "model.pt").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="hyperparams.json"):
        load_policy(f"rl:{tmp_path / 'model.pt'}")


def test_siyu_train_cli_writes_the_artefacts_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--algo", "ppo", "--timesteps", "256", "--customers", "16", "--days", "20",
                 "--seed", "2", "--out", str(out)])
    assert code == 0
    for name in ("model.pt", "curve.png", "hyperparams.json"):
        assert (out / name).is_file(), name
    assert main(["train", "--scenario", "nope", "--out", str(tmp_path / "x")]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich may wrap the one line at the terminal width
    assert "unknown scenario 'nope'" in err and "Traceback" not in err


def test_interrupted_training_keeps_the_model_and_resumes_to_the_budget(tmp_path):
    """Ctrl-C (a KeyboardInterrupt mid-learning) saves the model as it was; resume finishes the budget."""
    out = tmp_path / "run"
    config = TrainConfig(algo="ppo", timesteps=2048, seed=4, **TINY)

    def ctrl_c(done: int, total: int) -> None:
        if done >= 700:
            raise KeyboardInterrupt

    first = train(config, out, ctrl_c)
    meta = json.loads((out / "hyperparams.json").read_text())
    assert first.interrupted and 700 <= first.timesteps_done < 2048
    assert meta["complete"] is False and meta["timesteps_done"] == first.timesteps_done
    assert load_policy(f"rl:{out}").name  # the checkpoint is a usable policy
    second = train(config, out, resume=True)
    meta = json.loads((out / "hyperparams.json").read_text())
    assert not second.interrupted and second.timesteps_done >= 2048 and meta["complete"] is True
    assert len(second.curve) > len(first.curve)  # the curve goes on from where it stopped
    with pytest.raises(ValueError, match="not a2c"):
        train(TrainConfig(algo="a2c", timesteps=2048, seed=4, **TINY), out, resume=True)
    with pytest.raises(ValueError, match="nothing to resume"):
        train(config, tmp_path / "empty", resume=True)


def test_siyu_train_cli_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import experiments.train.trainer as train_module
    from experiments.train.trainer import TrainResult

    assert main(["train", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "no model.pt" in capsys.readouterr().err
    monkeypatch.setattr(train_module, "train", lambda config, out, progress=None, resume=False:
                        TrainResult(out, 1.0, [], 5_000, interrupted=True))
    assert main(["train", "--timesteps", "9000", "--out", str(tmp_path / "run")]) == 130
    said = " ".join(capsys.readouterr().out.split())
    assert "interrupted after 5,000 customer-days" in said and "siyu train --resume" in said
