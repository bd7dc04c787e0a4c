"""Trained SB3 models as policies: ``rl:DIR/model.zip`` in any policy list.

The policy encodes every customer's CRM record with :mod:`sim.envs.encoding` (the encoder the
training envs use), scores the actions with the model's policy network (logits, or Q-values for
DQN) and takes, per customer, the best *allowed* action: unreachable channels and exhausted caps
are masked before the argmax, so it never produces an invalid action. It acts greedily
(deterministically), as an evaluation should.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from policies.registry import LOADERS
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


def action_scores(model: Any, features: np.ndarray) -> np.ndarray:
    """Per-action scores of an SB3 model: actor logits, or Q-values for DQN, ``(n, actions)``."""
    import torch
    policy = model.policy
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
    """The policy of ``rl:PATH`` (a ``model.zip`` written by ``siyu train``, next to its hyperparams.json)."""
    require("rl", f"policy rl:{ref}")
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ConfigError(f"rl:{ref}: no such model file "
                          "(train one with `siyu train --out DIR`, then use rl:DIR/model.zip)")
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _CACHE:
        _CACHE[key] = _load(path, ref)
    model, layout = _CACHE[key]
    return RLPolicy(model, layout, f"rl:{ref}")


def _load(path: Path, ref: str) -> tuple[Any, str]:
    meta_file = path.parent / "hyperparams.json"
    if not meta_file.is_file():
        raise ConfigError(f"rl:{ref}: {meta_file} is missing; it records the algorithm the model was trained with")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        algo, layout = meta["algo"], meta.get("action_layout", "multi")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"rl:{ref}: {meta_file} is not a siyu train record ({exc})") from None
    model = algo_class(algo).load(path, device="cpu")
    shape = model.observation_space.shape
    if shape != (N_FEATURES,):
        raise ConfigError(f"rl:{ref}: the model observes {shape}, "
                          f"this siyu encodes ({N_FEATURES},) features; retrain it")
    return model, layout


LOADERS["rl"] = load_rl_policy
