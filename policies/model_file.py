"""siyu's model files: weights that cannot carry code, and the JSON that says how to rebuild the network.

``siyu train --out DIR`` writes ``DIR/model.pt`` (the policy's and optimizer's ``state_dict``, saved
with ``torch.save``) next to ``DIR/hyperparams.json`` (algorithm, action layout, hidden layers).
Reading goes through ``torch.load(weights_only=True)``, whose unpickler accepts tensors, numbers,
strings and containers only: a crafted file is refused, never run. The network is rebuilt from the
JSON, not from anything stored in the weights file.

A plain stable-baselines3 ``model.zip`` is different: loading it unpickles Python objects, which can
run any code the file's author wrote. siyu opens one only after :func:`trust_models` (the CLI's
``--trust-model``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from sim.config import ConfigError

MODEL_FILE = "model.pt"
"""Weights of a model written by ``siyu train``."""
META_FILE = "hyperparams.json"
"""Settings of the training run, including what rebuilds the network."""
FORMAT = 1
"""Version of the layout of :data:`MODEL_FILE`."""
MAX_BYTES = 2 * 1024**3
"""Largest model file read (siyu's networks are kilobytes to megabytes)."""
ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")
"""Algorithms whose networks can be rebuilt."""

_TRUST = {"pickled": False}


def trust_models(on: bool = True) -> None:
    """Allow (or forbid again) loading stable-baselines3 zips, which runs code from the file."""
    _TRUST["pickled"] = bool(on)


def models_trusted() -> bool:
    """Whether stable-baselines3 zips may be loaded in this process."""
    return _TRUST["pickled"]


def write_weights(path: Path, policy: Any, num_timesteps: int) -> None:
    """Save ``policy``'s weights and optimizer state to ``path`` atomically (tensors and numbers only)."""
    import torch

    from experiments.store.io import atomic_write
    state = {"format": FORMAT, "num_timesteps": int(num_timesteps), "policy": policy.state_dict(),
             "optimizer": policy.optimizer.state_dict()}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def read_weights(path: Path, where: str) -> dict[str, Any]:
    """The content of a :data:`MODEL_FILE`, read without running code; a ConfigError naming ``where`` if bad."""
    import torch
    size = path.stat().st_size
    if size == 0:
        raise ConfigError(f"{where}: {path} is empty; train the model again with `siyu train`")
    if size > MAX_BYTES:
        raise ConfigError(f"{where}: {path} is {size:,} bytes; a siyu model is at most {MAX_BYTES:,}")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of foreign files; we refuse them
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a foreign or damaged file; all mean the same here
        raise ConfigError(f"{where}: {path} is not a siyu model file "
                          f"({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or not isinstance(state.get("policy"), dict):
        raise ConfigError(f"{where}: {path} is not a siyu model file (format {FORMAT} written by `siyu train`)")
    return state


def read_meta(folder: Path, where: str) -> dict[str, Any]:
    """``hyperparams.json`` of a model folder, checked for what rebuilding the network needs."""
    path = folder / META_FILE
    if not path.is_file():
        raise ConfigError(f"{where}: {path} is missing; it records the algorithm the model was trained with")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(f"{where}: {path} is not valid JSON ({_first_line(exc)})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}: {path} is not a siyu train record (expected a JSON object)")
    if meta.get("env", "customer") != "customer":
        raise ConfigError(f"{where}: {path} holds a {_short(meta.get('env'))} model (weekly segment plans of "
                          f"siyu/Pool-v1, judged in its eval.json), not a per-customer policy")
    if meta.get("algo") not in ALGOS:
        raise ConfigError(f"{where}: {path}: algo = {_short(meta.get('algo'))}; allowed: {', '.join(ALGOS)}")
    if meta.setdefault("action_layout", "flat" if meta["algo"] == "dqn" else "multi") not in ("multi", "flat"):
        raise ConfigError(f"{where}: {path}: action_layout = {_short(meta['action_layout'])}; allowed: multi, flat")
    arch = meta.setdefault("net_arch", [64, 64])
    if not (isinstance(arch, list) and 1 <= len(arch) <= 16
            and all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 4096 for w in arch)):
        raise ConfigError(f"{where}: {path}: net_arch = {_short(arch)}; allowed: 1 to 16 layer widths in 1..4096")
    return meta


def build_network(meta: dict[str, Any], where: str) -> Any:
    """The untrained SB3 policy network ``meta`` describes (its weights are loaded separately)."""
    import numpy as np
    from gymnasium import spaces

    from policies.rl import algo_class
    from sim.envs.encoding import action_space, observation_space
    act: spaces.Space = action_space()
    if meta["action_layout"] == "flat":
        act = spaces.Discrete(int(np.prod(action_space().nvec)))
    cls = algo_class(meta["algo"]).policy_aliases["MlpPolicy"]
    return cls(observation_space(), act, lambda _: 0.0, net_arch=list(meta["net_arch"]))


def load_network(folder: Path, weights: Path, where: str) -> tuple[Any, dict[str, Any]]:
    """The policy network saved in ``weights`` (rebuilt from ``folder``'s JSON) and that JSON."""
    meta = read_meta(folder, where)
    state = read_weights(weights, where)
    net = build_network(meta, where)
    try:
        net.load_state_dict(state["policy"])
    except (RuntimeError, TypeError, KeyError) as exc:
        raise ConfigError(f"{where}: {weights} does not fit the network {META_FILE} describes "
                          f"({_first_line(exc)}); retrain it") from None
    net.set_training_mode(False)
    return net, meta


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _first_line(exc: BaseException, width: int = 80) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
