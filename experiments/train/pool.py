"""Train an SB3 agent on ``siyu/Pool-v1`` (weekly segment plans) and evaluate it against fixed plans.

``siyu train --env pool`` lands here. Reads top to bottom: the settings (:class:`PoolTrainConfig`), one
seeding block, ``envs`` pools stepped together (a ``DummyVecEnv`` of Pool-v1, each truncated after
``weeks``), the model, the learning loop with the curve recorder of :mod:`experiments.train.trainer`,
then the artefacts: ``model.pt``, ``hyperparams.json`` (``"env": "pool"``), ``curve.csv``/``curve.png``
and ``eval.json``.

Seeds: the model and the training pools are seeded with ``seed`` (SB3 seeds pool ``i``'s first reset with
``seed + i``; later resets continue each pool's own generator). The evaluation pools are reset with
``episode_seed(seed, EVAL_OFFSET + k)``, 63-bit hashes no training reset uses, and every plan is evaluated on
the same pools (common random numbers), so the differences in ``eval.json`` are paired.

A pool model is not a per-customer policy: ``rl:DIR`` refuses it (its input is the pool's weekly KPIs, which
the daily policy protocol does not carry). ``eval.json`` is where it is judged.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.store.io import atomic_write_text
from experiments.train.trainer import _curve_recorder, _write_curve
from policies.model_file import FORMAT, MODEL_FILE, write_weights
from policies.rl import algo_class
from sim.envs import POOL_WEEKS
from sim.guard import BYTES_PER_ROW, check_memory
from sim.state import episode_seed

POOL_ALGOS = ("ppo", "a2c")
"""Algorithms ``siyu train --env pool`` knows (the pool's action is a ``MultiDiscrete``; DQN needs a ``Discrete``)."""
EVAL_OFFSET = 10**9
"""Evaluation pool ``k`` is reset with ``episode_seed(seed, EVAL_OFFSET + k)``."""
FIXED_PLANS: dict[str, tuple[int, int, int]] = {"none": (0, 0, 0), "weekly_content": (2, 0, 0)}
"""The fixed plans a trained model is evaluated against, every segment alike: (cadence, channel mix, incentive)
indices into :data:`sim.envs.pool.CADENCE_DAYS`, ``CHANNEL_MIXES`` and ``INCENTIVES`` (no contact; every 7 days,
personal first, content). With levers the plans carry no invitation and no ask."""


@dataclass
class PoolTrainConfig:
    """Settings of one pool training run (all saved to ``hyperparams.json``)."""

    scenario: str = "beauty"
    """Preset name or scenario TOML path."""
    algo: str = "ppo"
    """One of :data:`POOL_ALGOS`."""
    timesteps: int = 2_080
    """Pool-weeks of experience (env steps summed over the pools)."""
    seed: int = 0
    """Seeds the model and the training pools."""
    customers: int = 1024
    """Customers of each pool at the start (customers join during the episode through the scenario's inflow)."""
    envs: int = 4
    """Pools stepped together."""
    weeks: int = POOL_WEEKS
    """Weeks per episode (truncation)."""
    levers: bool = False
    """Pool-v1 with levers: each segment's plan also picks an invitation and a referral ask."""
    gamma: float = 0.99
    """Discount per week; also the shaping discount of the env (its potential term then keeps the optimum)."""
    gae_lambda: float = 0.95
    """GAE bias-variance trade-off."""
    learning_rate: float = 3e-4
    """Adam step size."""
    n_steps: int = 13
    """Weeks per pool per rollout (a quarter of an episode)."""
    batch_size: int = 26
    """Minibatch size (PPO)."""
    n_epochs: int = 10
    """Passes over each rollout (PPO)."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden layers of the policy and value networks."""
    threads: int = 2
    """Torch CPU threads."""
    eval_pools: int = 4
    """Fresh pools the trained model and each fixed plan of :data:`FIXED_PLANS` are evaluated on (0: none)."""
    max_seconds: float | None = None
    """Wall-clock budget: learning stops at the first step past it (None: no budget)."""

    def __post_init__(self) -> None:
        """Reject settings SB3 would fail on later, with a one-line message."""
        if self.algo not in POOL_ALGOS:
            raise ValueError(f"--env pool trains {', '.join(POOL_ALGOS)}, not '{self.algo}' "
                             f"(the weekly plan is a MultiDiscrete action)")
        for name in ("timesteps", "customers", "envs", "weeks", "n_steps", "batch_size", "n_epochs", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_pools < 0:
            raise ValueError(f"eval_pools must be >= 0, got {self.eval_pools}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in 0..2**63-1, got {self.seed}")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma}")

    def check_memory(self) -> None:
        """Refuse pools that would not fit in memory (each pool is a whole simulation)."""
        check_memory(f"training on {self.envs} pools of {self.customers:,} customers",
                     self.envs * self.customers * BYTES_PER_ROW)

    def algo_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 constructor for :attr:`algo`."""
        n_steps = max(1, min(self.n_steps, self.timesteps // self.envs))
        common: dict[str, Any] = {"gamma": self.gamma, "learning_rate": self.learning_rate, "seed": self.seed,
                                  "policy_kwargs": {"net_arch": list(self.net_arch)}, "device": "cpu",
                                  "n_steps": n_steps, "ent_coef": self.ent_coef, "gae_lambda": self.gae_lambda}
        if self.algo == "ppo":
            rollout = n_steps * self.envs
            parts = max(1, round(rollout / self.batch_size))
            while rollout % parts:
                parts += 1
            return {**common, "batch_size": rollout // parts, "n_epochs": self.n_epochs}
        return common


@dataclass
class PoolTrainResult:
    """Where the artefacts went, the learning curve and the evaluation."""

    out: Path
    seconds: float
    curve: list[tuple[int, float]]
    """(pool-weeks, mean reward per pool-week over the window)."""
    timesteps_done: int
    evaluation: dict[str, Any]
    """The content of ``eval.json`` (empty without evaluation pools)."""


def make_pool_env(config: PoolTrainConfig, scenario: Any | None = None) -> Any:
    """``config.envs`` Pool-v1 envs, each truncated after ``config.weeks``, in a monitored ``DummyVecEnv``."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    from sim.config import load_scenario
    from sim.envs import POOL_ID
    loaded = scenario if scenario is not None else load_scenario(config.scenario)

    def one() -> Any:
        return gym.make(POOL_ID, scenario=loaded, customers=config.customers, weeks=config.weeks,
                        levers=config.levers, shaping_gamma=config.gamma, max_episode_steps=config.weeks,
                        disable_env_checker=True)

    return VecMonitor(DummyVecEnv([one] * config.envs))


def train_pool(config: PoolTrainConfig, out: Path, progress: Callable[[int, int], None] | None = None
               ) -> PoolTrainResult:
    """Train, evaluate, then write ``model.pt``, ``hyperparams.json``, ``curve.csv``/``.png`` and ``eval.json``."""
    import torch
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.utils import set_random_seed

    from sim.config import load_scenario

    # --- seeding: one visible block -------------------------------------------------------
    config.check_memory()
    torch.set_num_threads(config.threads)
    set_random_seed(config.seed)

    scenario = load_scenario(config.scenario)
    env = make_pool_env(config, scenario)
    kwargs = config.algo_kwargs()
    model = algo_class(config.algo)("MlpPolicy", env, verbose=0, **kwargs)
    model.set_logger(Logger(folder=None, output_formats=[]))
    out.mkdir(parents=True, exist_ok=True)
    title = f"{config.algo} on Pool-v1 ({config.scenario}), seed {config.seed}"
    start = time.perf_counter()
    recorder = _curve_recorder(config.timesteps, progress, config.max_seconds, float("inf"), lambda _: None)
    model.learn(total_timesteps=config.timesteps, callback=recorder)
    seconds = time.perf_counter() - start
    env.close()
    evaluation = evaluate_pool(model, config, scenario) if config.eval_pools else {}
    write_weights(out / MODEL_FILE, model.policy, model.num_timesteps)
    _write_curve(out, recorder.curve, title, xlabel="pool-weeks of experience",
                 ylabel="mean reward per pool-week\n(per customer, in median-order margins)")
    meta = {**asdict(config), "env": "pool", "sb3_kwargs": {k: v for k, v in kwargs.items() if k != "policy_kwargs"},
            "model_file": MODEL_FILE, "model_format": FORMAT, "train_seconds": round(seconds, 2),
            "timesteps_done": int(model.num_timesteps), "complete": True,
            "eval_seeds": f"episode_seed(seed, {EVAL_OFFSET} + k), k < eval_pools"}
    atomic_write_text(out / "hyperparams.json", json.dumps(meta, indent=2))
    if evaluation:
        atomic_write_text(out / "eval.json", json.dumps(evaluation, indent=2))
    return PoolTrainResult(out, seconds, recorder.curve, int(model.num_timesteps), evaluation)


def evaluate_pool(model: Any, config: PoolTrainConfig, scenario: Any) -> dict[str, Any]:
    """Net profit (yuan) of the trained model (greedy) and of each fixed plan on the same fresh pools.

    Returns per plan the net profit of each pool over ``config.weeks`` and its mean, and the trained model's
    paired lead over each fixed plan with its standard error over pools.
    """
    from sim.envs.pool import DECISION_NVEC_LEVERS, SEGMENTS, PoolEnv
    seeds = [episode_seed(config.seed, EVAL_OFFSET + k) for k in range(config.eval_pools)]
    width = len(DECISION_NVEC_LEVERS) if config.levers else 3

    def fixed(plan: tuple[int, int, int]) -> Callable[[np.ndarray], np.ndarray]:
        row = list(plan) + [0] * (width - 3)
        decision = np.tile(np.array(row, np.int64), len(SEGMENTS))
        return lambda _: decision

    deciders: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "trained": lambda kpis: np.asarray(model.predict(kpis, deterministic=True)[0], np.int64)}
    deciders.update({name: fixed(plan) for name, plan in FIXED_PLANS.items()})
    profits: dict[str, list[float]] = {name: [] for name in deciders}
    for seed in seeds:
        for name, decide in deciders.items():
            env = PoolEnv(scenario, customers=config.customers, weeks=config.weeks, levers=config.levers,
                          shaping_gamma=config.gamma)
            kpis, _ = env.reset(seed=seed)
            total = 0.0
            for _ in range(config.weeks):
                kpis, _, _, _, info = env.step(decide(kpis))
                total += info["net_profit"]
            profits[name].append(total)
    trained = np.array(profits["trained"])
    result: dict[str, Any] = {"pools": config.eval_pools, "customers": config.customers, "weeks": config.weeks,
                              "net_profit_yuan": {k: {"mean": float(np.mean(v)), "per_pool": v}
                                                  for k, v in profits.items()},
                              "trained_lead_yuan": {}}
    for name in FIXED_PLANS:
        diff = trained - np.array(profits[name])
        se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        result["trained_lead_yuan"][name] = {"mean": float(diff.mean()), "se": se}
    return result
