"""A batched SB3 ``VecEnv``: every sub-environment is one customer of a single simulated pool.

All customers are stepped by one engine call per day, so anything the engine couples between
customers stays in force, and a rollout costs one kernel launch per day instead of one Python env
step per customer. Semantics follow SB3's ``DummyVecEnv``: automatic reset, the last observation
of a finished episode in ``info["terminal_observation"]``, ``info["TimeLimit.truncated"]`` at the
horizon, ``seed()`` taking effect at the next ``reset()``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from sim.config import Scenario
from sim.envs.batch import CustomerBatch, InvalidAction
from sim.envs.reward import SHAPING_GAMMA
from sim.envs.customer import as_scenario
from sim.envs.encoding import (action_space, action_space_levers, flatten_masks, observation_space,
                               observation_space_levers, unflatten_actions)
from sim.state import episode_seed


class CustomerVecEnv(VecEnv):
    """``num_envs`` customers of one pool as SB3 sub-environments (same spaces as Customer-v0).

    Episodes: all customers share the horizon. Every ``horizon`` days a *round* ends: every
    sub-env is truncated and a new population is drawn, for engine seed
    ``episode_seed(base_seed, round)``. A customer who leaves the pool for good terminates at once
    and is redrawn in place as a new customer (engine seed ``episode_seed(round_seed, day)``),
    whose episode then ends with the round.

    Seeding: ``seed(s)`` (SB3 convention: applied at the next ``reset()``) or the ``seed``
    argument sets ``base_seed``; the whole population is drawn from it (customer ``i`` is a pure
    function of the engine seed and ``i``, so per-sub-env seeds ``s + i`` are not needed).

    Attributes and ``env_method`` act on the shared pool: ``get_attr`` returns the pool's attribute
    once per index, methods in :attr:`row_methods` (``action_masks``) return one row per index.
    """

    row_methods: tuple[str, ...] = ("action_masks",)
    """Methods whose batched result is split into one row per sub-environment by ``env_method``."""

    def __init__(self, scenario: str | Scenario = "beauty", num_envs: int = 1024, horizon: int = 180,
                 seed: int | None = None, residual_shaping: bool = False,
                 invalid_action: InvalidAction = "no_contact", reward_scale: float | None = None,
                 shaping_gamma: float = SHAPING_GAMMA, levers: bool = False) -> None:
        if num_envs < 1 or horizon < 1:
            raise ValueError(f"num_envs and horizon must be >= 1, got {num_envs} and {horizon}")
        self.render_mode = None
        self.scenario = as_scenario(scenario)
        self.horizon = int(horizon)
        self.batch = CustomerBatch(self.scenario, num_envs, residual_shaping, invalid_action, reward_scale,
                                   shaping_gamma, levers)
        self.base_seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else int(seed)
        self.round = 0
        self.round_seed = 0
        self.invalid_actions = 0
        """Actions whose channel was forbidden and became no contact, since construction."""
        self._actions: np.ndarray | None = None
        super().__init__(num_envs, observation_space_levers() if levers else observation_space(),
                         action_space_levers() if levers else action_space())

    # --- the VecEnv surface -------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        """Draw a new population (the next round, or round 0 of a seed set by ``seed()``)."""
        if self._seeds[0] is not None:
            self.base_seed = int(self._seeds[0])
            self.round = 0
        self._reset_seeds()
        self._reset_options()
        obs = self._new_round()
        self.reset_infos = [{"engine_seed": self.round_seed} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the ``(num_envs, 3)`` actions for :meth:`step_wait`."""
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """One day for every customer; finished sub-envs are reset automatically."""
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async()")
        out = self.batch.step(self._actions)
        self._actions = None
        truncated = self.batch.day >= self.horizon
        dones = out.terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        bad = np.flatnonzero(out.invalid)
        self.invalid_actions += bad.size
        for i in bad:
            infos[i]["invalid_action"] = True
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = out.obs[i]
            infos[i]["TimeLimit.truncated"] = truncated and not out.terminated[i]
        if truncated:
            obs = self._new_round()
        else:
            gone = np.flatnonzero(out.terminated)
            if gone.size:
                self.batch.replace(gone, episode_seed(self.round_seed, self.batch.day))
            obs = self.batch.obs
        return obs, out.reward, dones, infos

    def close(self) -> None:
        """Nothing to release."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The pool's attribute, once per requested sub-env."""
        value = getattr(self, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the shared pool (only for all sub-envs at once)."""
        if len(self._indices(indices)) != self.num_envs:
            raise ValueError("CustomerVecEnv attributes are shared by all customers; set them for all indices")
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of the pool once; row methods give each sub-env its row."""
        idx = self._indices(indices)
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        if method_name in self.row_methods:
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """Sub-envs are rows of one pool, never wrapped in gymnasium wrappers."""
        return [False for _ in self._indices(indices)]

    # --- pool-level helpers -------------------------------------------------------------------

    def action_masks(self) -> np.ndarray:
        """Today's MaskablePPO masks of every customer, ``(num_envs, MASK_SIZE)``."""
        return self.batch.masks()

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def _new_round(self) -> np.ndarray:
        self.round_seed = episode_seed(self.base_seed, self.round)
        self.round += 1
        return self.batch.start(self.round_seed)


class FlatActions(VecEnvWrapper):
    """A ``Discrete`` view of a MultiDiscrete vec env (for DQN): action ``k`` is ``unravel(k, nvec)``.

    Masks are flattened too (an action is allowed when all its components are), so MaskablePPO
    and the ``rl:`` policy can use the flat layout.
    """

    def __init__(self, venv: VecEnv) -> None:
        assert isinstance(venv.action_space, spaces.MultiDiscrete)
        self.nvec = np.asarray(venv.action_space.nvec, np.int64)
        super().__init__(venv, action_space=spaces.Discrete(int(np.prod(self.nvec))))

    def reset(self) -> np.ndarray:
        """Reset the wrapped env."""
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:
        """Unflatten and pass on."""
        self.venv.step_async(unflatten_actions(np.asarray(actions), self.nvec))

    def step_wait(self) -> VecEnvStepReturn:
        """Step the wrapped env."""
        return self.venv.step_wait()

    def action_masks(self) -> np.ndarray:
        """Flat masks ``(num_envs, prod(nvec))``."""
        return flatten_masks(np.stack(self.venv.env_method("action_masks")), self.nvec)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """``action_masks`` in the flat layout; everything else passes through."""
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in self._get_indices(indices)]
        return self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)

