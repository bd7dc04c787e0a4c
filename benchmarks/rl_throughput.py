"""Rollout throughput: the batched CustomerVecEnv against SB3's DummyVecEnv over Customer-v0, same run.

Both step customers of the same scenario with the same uniformly random actions (forbidden channels
become no contact in both) and count env-steps (customer-days) per second, after a warm-up that
compiles the kernels. Prints one line per env and the ratio.

    python benchmarks/rl_throughput.py [--scenario beauty] [--customers 1024] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import sim
from sim.envs.vec import CustomerVecEnv


def steps_per_second(env: Any, seconds: float, rng: np.random.Generator) -> float:
    """Env-steps per second of ``env`` under random actions, measured for at least ``seconds``."""
    env.reset()
    nvec = env.action_space.nvec
    for _ in range(5):  # warm-up: kernels compiled, buffers allocated
        env.step(rng.integers(0, nvec, size=(env.num_envs, len(nvec))))
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(rng.integers(0, nvec, size=(env.num_envs, len(nvec))))
        done += env.num_envs
    return done / (time.perf_counter() - start)


def main() -> None:
    """Measure both envs and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="beauty")
    ap.add_argument("--customers", type=int, default=1024, help="sub-envs of the batched env")
    ap.add_argument("--dummy-envs", type=int, default=64, help="sub-envs of the DummyVecEnv")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    batched = CustomerVecEnv(args.scenario, args.customers, seed=1)
    dummy = DummyVecEnv([lambda: gym.make(sim.envs.CUSTOMER_ID, scenario=args.scenario)] * args.dummy_envs)
    dummy.seed(1)
    fast = steps_per_second(batched, args.seconds, rng)
    slow = steps_per_second(dummy, args.seconds, rng)
    print(f"scenario {args.scenario}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"CustomerVecEnv ({args.customers} customers, one engine call per day): {fast:12,.0f} env-steps/s")
    print(f"DummyVecEnv over Customer-v0 ({args.dummy_envs} envs):            {slow:12,.0f} env-steps/s")
    print(f"ratio: {fast / slow:,.0f}x (target >= 50x)")


if __name__ == "__main__":
    main()
