"""Gymnasium and SB3 environments over the engine: ``siyu/Customer-v0``, ``siyu/Pool-v1``, a batched VecEnv.

Importing :mod:`sim` registers the gymnasium ids; the classes load lazily (the batched
:class:`~sim.envs.vec.CustomerVecEnv` pulls in stable-baselines3 and torch, so it lives in
:mod:`sim.envs.vec` and is imported only when used). All of them are adapters over
:class:`~sim.engine.Simulation`: the dynamics stay in :mod:`sim.kernels`.
"""

from gymnasium.envs.registration import register, registry

CUSTOMER_ID = "siyu/Customer-v0"
POOL_ID = "siyu/Pool-v1"
HORIZON_DAYS = 180
"""Default episode length of Customer-v0 (and of a round of the batched env), in days."""
POOL_WEEKS = 26
"""Default episode length of Pool-v1, in weeks."""

if CUSTOMER_ID not in registry:
    register(id=CUSTOMER_ID, entry_point="sim.envs.customer:CustomerEnv", max_episode_steps=HORIZON_DAYS)
if POOL_ID not in registry:
    register(id=POOL_ID, entry_point="sim.envs.pool:PoolEnv", max_episode_steps=POOL_WEEKS)

ENV_IDS = (CUSTOMER_ID, POOL_ID)
"""Every gymnasium id this package registers."""

__all__ = ["CUSTOMER_ID", "ENV_IDS", "HORIZON_DAYS", "POOL_ID", "POOL_WEEKS"]
