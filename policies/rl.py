"""Trained SB3 models as policies: ``rl:DIR`` (the folder ``siyu train`` wrote) in any policy list.

The policy encodes every customer's CRM record with :mod:`sim.envs.encoding` (the encoder the
training envs use), scores the actions with the model's policy network (logits, or Q-values for
DQN) and takes, per customer, the best *allowed* action: unreachable channels and exhausted caps
are masked before the argmax, so it never produces an invalid action. It acts greedily
(deterministically), as an evaluation should.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from policies.model_file import MODEL_FILE, load_network, models_trusted, read_meta
from policies.registry import CHECKS, LOADERS
from sim.config import ConfigError
from sim.envs.encoding import (ACTION_NVEC, N_FEATURES, action_masks, decode, encode, flatten_masks,
                               masked_argmax, unflatten_actions)
from sim.extras import require
from sim.observation import Action, Observation

_CACHE: dict[tuple[str, float], tuple[Any, str]] = {}


class RLPolicy:
    """A trained model acting greedily on the whole pool, within the masks."""

    kind = "rl"

    def __init__(self, model: Any, layout: str, name: str) -> None:
        self.model = model
        """The SB3 policy network (an ``ActorCriticPolicy`` or ``DQNPolicy``)."""
        self.layout = layout
        """``multi`` (MultiDiscrete logits) or ``flat`` (Discrete over all combinations)."""
        self.name = name

    def reset(self, n: int, seed: int) -> None:
        """Stateless: nothing to prepare."""

    def act(self, obs: Observation) -> Action:
        """Best allowed action per customer."""
        scores = action_scores(self.model, encode(obs))
        masks = action_masks(obs)
        if self.layout == "flat":
            flat = masked_argmax(scores, flatten_masks(masks, ACTION_NVEC), np.array([scores.shape[1]]))
            return decode(unflatten_actions(flat[:, 0], ACTION_NVEC), obs)
        return decode(masked_argmax(scores, masks, ACTION_NVEC), obs)


def action_scores(policy: Any, features: np.ndarray) -> np.ndarray:
    """Per-action scores of an SB3 policy network: actor logits, or Q-values for DQN, ``(n, actions)``."""
    import torch
    with torch.no_grad():
        x = torch.as_tensor(features, dtype=torch.float32, device=policy.device)
        if hasattr(policy, "q_net"):
            out = policy.q_net(x)
        else:
            out = policy.action_net(policy.mlp_extractor.forward_actor(policy.pi_features_extractor(x)))
    return out.cpu().numpy()


def algo_class(algo: str) -> Any:
    """The SB3 / sb3-contrib class of an algorithm name (ppo, a2c, dqn, maskable_ppo)."""
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO
        return MaskablePPO
    import stable_baselines3 as sb3
    classes = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}
    if algo not in classes:
        raise ConfigError(f"unknown algo '{algo}'; choose one of ppo, a2c, dqn, maskable_ppo")
    return classes[algo]


def load_rl_policy(ref: str) -> RLPolicy:
    """The policy of ``rl:PATH``: a folder written by ``siyu train`` or its ``model.pt``.

    A stable-baselines3 ``.zip`` is loaded only after :func:`~policies.model_file.trust_models`
    (``--trust-model``): unpickling it runs code from the file.
    """
    folder, weights = check_rl_ref(ref)
    key = (str(weights.resolve()), weights.stat().st_mtime)
    if key not in _CACHE:
        _CACHE[key] = _load_zip(weights, ref) if weights.suffix == ".zip" else _load(folder, weights, ref)
    model, layout = _CACHE[key]
    return RLPolicy(model, layout, f"rl:{ref}")


def check_rl_ref(ref: str) -> tuple[Path, Path]:
    """The folder and weights file of ``rl:PATH``, checked without loading anything (reading a spec)."""
    where = f"rl:{ref}"
    require("rl", f"policy {where}")
    if not ref.strip():
        raise ConfigError(f"{where}: give the folder `siyu train --out` wrote, e.g. rl:runs/train")
    path = Path(ref).expanduser()
    weights = path / MODEL_FILE if path.is_dir() else path
    if not weights.is_file():
        raise ConfigError(f"{where}: no such model file {weights} "
                          f"(train one with `siyu train --out DIR`, then use rl:DIR)")
    if weights.suffix == ".zip" and not models_trusted():
        raise ConfigError(f"{where}: a stable-baselines3 zip is unpickled on loading, which runs code from the "
                          f"file; load it only if you trust its author, with --trust-model "
                          f"(models written by this siyu are {MODEL_FILE}, loaded without that risk)")
    return weights.parent, weights


def _load(folder: Path, weights: Path, ref: str) -> tuple[Any, str]:
    """A siyu model: the network rebuilt from hyperparams.json, weights read as tensors only."""
    net, meta = load_network(folder, weights, f"rl:{ref}")
    return net, meta["action_layout"]


def _load_zip(path: Path, ref: str) -> tuple[Any, str]:
    """A stable-baselines3 zip (trusted by the user): unpickled by SB3's own loader."""
    meta = read_meta(path.parent, f"rl:{ref}")
    try:
        model = algo_class(meta["algo"]).load(path, device="cpu")
    except Exception as exc:  # SB3 raises anything from zipfile, pickle, torch or its own checks
        raise ConfigError(f"rl:{ref}: not a stable-baselines3 model ({type(exc).__name__}: "
                          f"{str(exc).strip()[:80]})") from None
    shape = model.observation_space.shape
    if shape != (N_FEATURES,):
        raise ConfigError(f"rl:{ref}: the model observes {shape}, "
                          f"this siyu encodes ({N_FEATURES},) features; retrain it")
    return model.policy, meta["action_layout"]


LOADERS["rl"] = load_rl_policy
CHECKS["rl"] = check_rl_ref
