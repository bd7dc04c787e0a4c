"""Train an SB3 agent on the batched customer env of a scenario and save model, curve and settings.

Reads top to bottom: the settings (:class:`TrainConfig`), one seeding block, the env, the model,
the learning loop with a curve recorder, then the artefacts in the output folder:
``model.pt``, ``curve.png``, ``curve.csv`` and ``hyperparams.json``. The model is saved as weights
only (:mod:`policies.model_file`): the ``rl:`` policy loader and ``--resume`` rebuild the network from
``hyperparams.json`` and read the weights without unpickling anything, so a model file cannot run code.

Seeds: the model's own randomness (weights, action sampling, minibatches) is seeded with
``seed``; the training populations are drawn for engine seeds ``episode_seed(seed, k)``,
k = 0, 1, ... (one population per 180-day round). Those are 63-bit hashes, so evaluation on the
small seeds ``siyu compare`` uses (0, 1, 2, ...) is on customers the agent never met.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.store.io import atomic_write_text
from policies.model_file import FORMAT, META_FILE, MODEL_FILE, read_meta, read_weights, write_weights
from policies.rl import algo_class
from sim.config import load_scenario
from sim.envs import HORIZON_DAYS
from sim.envs.encoding import ACTION_NVEC, FEATURES
from sim.guard import BYTES_PER_ROW, check_memory
from sim.state import episode_seed

ALGOS = ("ppo", "a2c", "dqn", "maskable_ppo")
"""Algorithms ``siyu train`` knows."""


@dataclass
class TrainConfig:
    """Settings of one training run (all saved to ``hyperparams.json``)."""

    scenario: str = "beauty"
    """Preset name or scenario TOML path."""
    algo: str = "ppo"
    """One of :data:`ALGOS`; ``dqn`` sees the action flattened to one ``Discrete``
    (:class:`~sim.envs.vec.FlatActions`)."""
    timesteps: int = 200_000
    """Customer-days of experience (env steps summed over sub-envs)."""
    seed: int = 0
    """Seeds the model and, through ``episode_seed``, the training populations."""
    customers: int = 1024
    """Sub-envs: customers of the one training pool stepped together."""
    horizon: int = HORIZON_DAYS
    """Days per round; every customer's episode is truncated at the round's end."""
    residual_shaping: bool = True
    """Add each day's change of residual value to the reward (aims at total_value)."""
    gamma: float = 0.99
    """Discount per day."""
    gae_lambda: float = 0.8
    """GAE bias-variance trade-off (PPO, A2C): lower leans on the critic, cuts reward noise."""
    learning_rate: float = 1e-3
    """Adam step size."""
    n_steps: int = 64
    """Days per sub-env per rollout (PPO, A2C)."""
    batch_size: int = 8192
    """Minibatch size (PPO, DQN)."""
    n_epochs: int = 5
    """Passes over each rollout (PPO)."""
    ent_coef: float = 0.01
    """Entropy bonus (PPO, A2C)."""
    contact_prior: float = 0.15
    """Initial daily contact probability of actor-critic policies (bias of the no-contact logit):
    a uniform start would contact 5 days in 6 and burn the training pool before learning anything.
    The own-slot choice starts at probability 0.8 the same way."""
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden layers of the policy and value networks."""
    threads: int = 2
    """Torch CPU threads."""
    max_seconds: float | None = None
    """Wall-clock budget: learning stops at the first step past it (None: no budget)."""
    checkpoint_seconds: float = 300.0
    """Save the model and curve this often while learning, so a killed run loses at most this much."""

    def __post_init__(self) -> None:
        """Reject settings SB3 would fail on later, with a one-line message."""
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo '{self.algo}'; choose one of {', '.join(ALGOS)}")
        for name in ("timesteps", "customers", "horizon", "n_steps", "batch_size", "n_epochs", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in 0..2**63-1, got {self.seed}")
        if self.timesteps > 10**12:
            raise ValueError(f"timesteps must be <= 10**12, got {self.timesteps:,}")

    def check_memory(self) -> None:
        """Refuse a training pool whose simulation and rollout buffers would not fit in memory."""
        floats = len(FEATURES) + len(ACTION_NVEC) + 8  # observation, action, reward, value, log-prob, ...
        rollout = 0 if self.algo == "dqn" else self.customers * max(1, self.n_steps) * floats * 4
        check_memory(f"training on {self.customers:,} customers", self.customers * BYTES_PER_ROW + rollout)

    def algo_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 constructor for :attr:`algo`."""
        common: dict[str, Any] = {"gamma": self.gamma, "learning_rate": self.learning_rate, "seed": self.seed,
                                  "policy_kwargs": {"net_arch": list(self.net_arch)}, "device": "cpu"}
        n_steps = max(1, min(self.n_steps, self.timesteps // self.customers))  # a rollout fits the budget
        if self.algo in ("ppo", "maskable_ppo"):
            return {**common, "n_steps": n_steps, "batch_size": _minibatch(n_steps * self.customers, self.batch_size),
                    "n_epochs": self.n_epochs, "ent_coef": self.ent_coef, "gae_lambda": self.gae_lambda}
        if self.algo == "a2c":
            return {**common, "n_steps": min(n_steps, 16), "ent_coef": self.ent_coef, "gae_lambda": self.gae_lambda}
        return {**common, "batch_size": min(self.batch_size, 1024), "buffer_size": 200_000,
                "learning_starts": min(10 * self.customers, self.timesteps // 2), "train_freq": 1,
                "gradient_steps": 1, "target_update_interval": 2_000, "exploration_fraction": 0.3}


def _minibatch(rollout: int, wanted: int) -> int:
    """The minibatch size nearest ``wanted`` that splits a rollout into equal parts."""
    parts = max(1, round(rollout / wanted))
    while rollout % parts:
        parts += 1
    return rollout // parts


@dataclass
class TrainResult:
    """Where the artefacts went and what the run looked like."""

    out: Path
    seconds: float
    curve: list[tuple[int, float]]
    """(timesteps, mean reward per customer-day over the last rollout window)."""
    timesteps_done: int = 0
    """Customer-days learned from, over this run and the runs it resumed."""
    interrupted: bool = False
    """True when Ctrl-C stopped learning early; the artefacts hold the model as it was."""


def make_env(config: TrainConfig) -> Any:
    """The monitored batched env for ``config`` (flattened for DQN)."""
    from stable_baselines3.common.vec_env import VecMonitor

    from sim.envs.vec import CustomerVecEnv, FlatActions
    env = CustomerVecEnv(load_scenario(config.scenario), config.customers, config.horizon, seed=config.seed,
                         residual_shaping=config.residual_shaping, shaping_gamma=config.gamma)
    wrapped = FlatActions(env) if config.algo == "dqn" else env
    return VecMonitor(wrapped)


def train(config: TrainConfig, out: Path, progress: Callable[[int, int], None] | None = None,
          resume: bool = False) -> TrainResult:
    """Train, then write ``model.pt``, ``curve.png``, ``curve.csv`` and ``hyperparams.json`` to ``out``.

    The model is also saved every :attr:`TrainConfig.checkpoint_seconds` and when Ctrl-C stops
    learning (the result says ``interrupted``). ``resume=True`` continues from ``out/model.pt``
    up to ``config.timesteps`` in all; it is not bit-identical to an uninterrupted run (the
    training populations start again from the first round).
    """
    import torch
    from stable_baselines3.common.utils import set_random_seed

    # --- seeding: one visible block -------------------------------------------------------
    config.check_memory()
    torch.set_num_threads(config.threads)
    set_random_seed(config.seed)

    env = make_env(config)
    kwargs = config.algo_kwargs()
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    done_before, curve_before = 0, []
    model = algo_class(config.algo)("MlpPolicy", env, verbose=0,
                                    tensorboard_log=str(out / "tb") if tensorboard else None, **kwargs)
    if resume:
        done_before, curve_before = _resume(config, out, model)
    elif config.algo != "dqn":
        _set_priors(model, config.contact_prior)
    if not tensorboard:  # SB3's default logger would leave an empty SB3-<date> folder in /tmp per run
        from stable_baselines3.common.logger import Logger
        model.set_logger(Logger(folder=None, output_formats=[]))
    out.mkdir(parents=True, exist_ok=True)
    title = f"{config.algo} on {config.scenario}, seed {config.seed}"
    start = time.perf_counter()

    def save(curve: list[tuple[int, float]], complete: bool) -> None:
        _save(model, out, config, kwargs, curve_before + curve, title, tensorboard,
              time.perf_counter() - start, complete)

    recorder = _curve_recorder(config.timesteps, progress, config.max_seconds, config.checkpoint_seconds,
                               lambda curve: save(curve, False))
    if not (out / MODEL_FILE).is_file():
        save([], False)  # a first checkpoint: a run killed before the next one can still be resumed
    interrupted = False
    try:
        model.learn(total_timesteps=max(config.timesteps - done_before, 0), callback=recorder,
                    tb_log_name=f"{config.algo}_seed{config.seed}", reset_num_timesteps=not resume)
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - start
    save(recorder.curve, not interrupted)
    env.close()
    return TrainResult(out, seconds, curve_before + recorder.curve, int(model.num_timesteps), interrupted)


def _resume(config: TrainConfig, out: Path, model: Any) -> tuple[int, list[tuple[int, float]]]:
    """Load ``out``'s saved weights into ``model`` (tensors only); the customer-days learned and the curve so far."""
    from sim.config import ConfigError
    path, meta_file = out / MODEL_FILE, out / META_FILE
    if not path.is_file() or not meta_file.is_file():
        raise ValueError(f"nothing to resume in {out}: no {MODEL_FILE} and {META_FILE} there")
    try:
        meta = read_meta(out, "--resume")
        state = read_weights(path, "--resume")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if meta.get("algo") != config.algo or meta.get("scenario") != config.scenario:
        raise ValueError(f"{out} holds {meta.get('algo')} on {str(meta.get('scenario'))[:80]}, "
                         f"not {config.algo} on {config.scenario}")
    try:
        model.policy.load_state_dict(state["policy"])
        model.policy.optimizer.load_state_dict(state["optimizer"])
        done = int(state["num_timesteps"])
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--resume: {path} does not fit a {config.algo} network with net_arch "
                         f"{config.net_arch} ({str(exc).strip()[:80]})") from None
    model.num_timesteps = done
    curve = []
    curve_file = out / "curve.csv"
    if curve_file.is_file():
        try:
            for line in curve_file.read_text(encoding="utf-8").splitlines()[1:]:
                t, r = line.split(",")
                curve.append((int(t), float(r)))
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"--resume: {curve_file} is not a curve written by siyu train") from None
    return done, curve


def _save(model: Any, out: Path, config: TrainConfig, kwargs: dict[str, Any], curve: list[tuple[int, float]],
          title: str, tensorboard: bool, seconds: float, complete: bool) -> None:
    """Write the artefacts; the model goes through a temporary file so a kill never leaves half a file."""
    write_weights(out / MODEL_FILE, model.policy, model.num_timesteps)
    _write_curve(out, curve, title)
    meta = {**asdict(config), "sb3_kwargs": {k: v for k, v in kwargs.items() if k != "policy_kwargs"},
            "action_layout": "flat" if config.algo == "dqn" else "multi", "features": list(FEATURES),
            "model_file": MODEL_FILE, "model_format": FORMAT,
            "train_seconds": round(seconds, 2), "timesteps_done": int(model.num_timesteps),
            "complete": complete, "tensorboard": tensorboard,
            "training_engine_seeds": "episode_seed(seed, k) for round k = 0, 1, ...; first: "
                                     f"{episode_seed(config.seed, 0)}"}
    atomic_write_text(out / "hyperparams.json", json.dumps(meta, indent=2))


def _set_priors(model: Any, p_contact: float, p_own_slot: float = 0.8) -> None:
    """Bias the action logits of an untrained actor-critic policy towards rare, well-timed contact.

    It contacts with probability ``p_contact`` a day, in the customer's own slot with probability
    ``p_own_slot``. SB3 initialises the action head near zero, so logits start at their bias: a choice with bias
    ``log(p / (1 - p) * (k - 1))`` among ``k`` options at 0 has probability ``p``.
    """
    import torch

    def logit(p: float, k: int) -> float:
        p = min(max(p, 1e-3), 1.0 - 1e-3)
        return float(np.log(p / (1.0 - p) * (k - 1)))

    with torch.no_grad():
        bias = model.policy.action_net.bias
        bias[0] = logit(1.0 - p_contact, int(ACTION_NVEC[0]))
        bias[int(ACTION_NVEC[:2].sum())] = logit(p_own_slot, int(ACTION_NVEC[2]))


def _curve_recorder(total: int, progress: Callable[[int, int], None] | None, max_seconds: float | None,
                    checkpoint_seconds: float, checkpoint: Callable[[list[tuple[int, float]]], None]) -> Any:
    """An SB3 callback: mean reward per customer-day, progress, time budget and checkpoints."""
    from stable_baselines3.common.callbacks import BaseCallback

    class CurveRecorder(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.curve: list[tuple[int, float]] = []
            self._sum = 0.0
            self._count = 0
            self._window = min(max(total // 100, 1), 100_000)
            self._deadline: float | None = None
            self._next_checkpoint = 0.0

        def _on_training_start(self) -> None:
            now = time.perf_counter()
            if max_seconds is not None:
                self._deadline = now + max_seconds
            self._next_checkpoint = now + checkpoint_seconds

        def _on_step(self) -> bool:
            rewards = np.asarray(self.locals["rewards"], np.float64)
            self._sum += float(rewards.sum())
            self._count += rewards.size
            if self._count >= self._window:
                self.curve.append((int(self.num_timesteps), self._sum / self._count))
                self._sum, self._count = 0.0, 0
            if progress is not None:
                progress(min(int(self.num_timesteps), total), total)
            now = time.perf_counter()
            if now >= self._next_checkpoint:
                checkpoint(self.curve)
                self._next_checkpoint = now + checkpoint_seconds
            return self._deadline is None or now < self._deadline

    return CurveRecorder()


def _write_curve(out: Path, curve: list[tuple[int, float]], title: str,
                 xlabel: str = "customer-days of experience",
                 ylabel: str = "mean reward per customer-day\n(1 = the margin of one median order)") -> None:
    """``curve.csv`` and ``curve.png`` (matplotlib, Agg backend); the labels name the env's step and reward."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["timesteps,mean_reward_per_customer_day"] + [f"{t},{r:.6g}" for t, r in curve]
    (out / "curve.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(7, 4))
    if curve:
        x, y = zip(*curve)
        ax.plot(x, y, lw=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=110)
    plt.close(fig)
