"""``siyu train --env pool``: SB3 on siyu/Pool-v1 with tiny budgets (as SB3's own tests), artefacts, evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from experiments.cli.app import main
from experiments.train.pool import FIXED_PLANS, PoolTrainConfig, train_pool
from policies import load_policy
from sim.config import ConfigError

TINY = dict(customers=64, envs=2, weeks=6, n_steps=6, batch_size=6, n_epochs=1, net_arch=[8], threads=1)
"""24 pool-weeks on pools of 64 customers: seconds per run."""


def _params(out):
    return torch.load(out / "model.pt", weights_only=True)["policy"]


def test_pool_training_twice_with_one_seed_gives_the_same_model_and_evaluation(tmp_path):
    a = train_pool(PoolTrainConfig(timesteps=24, seed=5, eval_pools=2, **TINY), tmp_path / "a")
    b = train_pool(PoolTrainConfig(timesteps=24, seed=5, eval_pools=2, **TINY), tmp_path / "b")
    c = train_pool(PoolTrainConfig(timesteps=24, seed=6, eval_pools=0, **TINY), tmp_path / "c")
    pa, pb, pc = _params(a.out), _params(b.out), _params(c.out)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert any(not torch.equal(pa[k], pc[k]) for k in pa)
    assert a.evaluation == b.evaluation and c.evaluation == {}
    assert a.timesteps_done == 24 and a.curve


def test_pool_evaluation_is_paired_on_the_same_pools(tmp_path):
    """Every plan meets the same pools: the no-contact plan's profit does not depend on the other plans."""
    r = train_pool(PoolTrainConfig(algo="a2c", timesteps=12, seed=1, eval_pools=2, levers=True,
                                   scenario="mother_baby", **TINY), tmp_path)
    ev = json.loads((tmp_path / "eval.json").read_text())
    assert set(ev["net_profit_yuan"]) == {"trained", *FIXED_PLANS}
    profit = ev["net_profit_yuan"]
    for name in FIXED_PLANS:
        lead = np.array(profit["trained"]["per_pool"]) - np.array(profit[name]["per_pool"])
        assert ev["trained_lead_yuan"][name]["mean"] == pytest.approx(lead.mean())
    # no contact earns only organic purchases: different pools earn different amounts, and contacts change it
    assert profit["none"]["per_pool"][0] != profit["none"]["per_pool"][1]
    assert profit["weekly_content"]["per_pool"] != profit["none"]["per_pool"]
    assert r.evaluation == ev


def test_siyu_train_env_pool_writes_the_artefacts_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--env", "pool", "--levers", "--scenario", "mother_baby", "--timesteps", "12",
                 "--customers", "48", "--pools", "2", "--weeks", "6", "--eval-pools", "1", "--out", str(out)])
    assert code == 0
    for name in ("model.pt", "curve.png", "curve.csv", "hyperparams.json", "eval.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "hyperparams.json").read_text())
    assert meta["env"] == "pool" and meta["levers"] is True and meta["timesteps_done"] == 12
    said = " ".join(capsys.readouterr().out.split())
    assert "pool-weeks" in said and "trained minus the fixed plan 'none'" in said
    with pytest.raises(ConfigError, match="Pool-v1"):  # a pool model is not a per-customer policy
        load_policy(f"rl:{out}")
    assert main(["train", "--env", "pool", "--algo", "dqn", "--out", str(tmp_path / "x")]) == 2
    assert "MultiDiscrete" in " ".join(capsys.readouterr().err.split())
    assert main(["train", "--levers", "--out", str(tmp_path / "y")]) == 2
    assert "--env pool" in capsys.readouterr().err
    assert main(["train", "--env", "pool", "--eval-pools", "-1", "--out", str(tmp_path / "z")]) == 2
