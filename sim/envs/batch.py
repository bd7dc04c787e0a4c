"""Customers of one :class:`~sim.engine.Simulation` as RL sub-environments: the adapter both envs share.

:class:`CustomerBatch` owns a simulated population and turns the engine's day into what an RL
loop needs: encoded observations, masks, rewards and termination (a customer who left the pool for
good). Customer-v0 is a batch of one; :class:`~sim.envs.vec.CustomerVecEnv` a batch of many, all
stepped by one engine call per day, so whatever couples customers inside the engine (groups, guides'
chat capacity) stays in force. Inflow is off: every row is a sub-environment from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.config import Scenario
from sim.defaults import ACTIVE
from sim.engine import Simulation
from sim._threads import engine_threads
from sim.envs.encoding import (ACTION_NVEC, ACTION_NVEC_LEVERS, channel_allowed, decode, decode_levers, encode,
                               encode_levers, enforce, enforce_levers, lever_allowed, masks_from_allowed)
from sim.envs.reward import SHAPING_GAMMA, RewardMeter, reward_scale
from sim.observation import Observation
from sim.state import redraw

InvalidAction = Literal["no_contact", "raise"]
"""What a forbidden channel does: become no contact (flagged in ``info``), or raise
:class:`~sim.observation.InvalidActionError` from the engine's validation."""


@dataclass
class BatchStep:
    """Outcome of one day for every customer of a batch."""

    obs: np.ndarray
    """(n, N_FEATURES) features after the day."""
    reward: np.ndarray
    """(n,) float32 rewards (see :mod:`sim.envs.reward`)."""
    terminated: np.ndarray
    """(n,) bool: the customer left the pool for good today."""
    invalid: np.ndarray
    """(n,) bool: the agent's channel was forbidden and replaced by no contact."""
    profit: np.ndarray
    """(n,) net profit of the day in yuan."""




class CustomerBatch:
    """``n`` customers of one simulated pool, observed through :mod:`sim.envs.encoding`."""

    def __init__(self, scenario: Scenario, n: int, residual_shaping: bool = False,
                 invalid_action: InvalidAction = "no_contact", scale: float | None = None,
                 shaping_gamma: float = SHAPING_GAMMA, levers: bool = False) -> None:
        if invalid_action not in ("no_contact", "raise"):
            raise ValueError(f"invalid_action must be 'no_contact' or 'raise', got {invalid_action!r}")
        self.scenario = scenario
        self.n = int(n)
        self.invalid_action = invalid_action
        self.levers = bool(levers)
        """Actions carry a referral ask and an invitation, and features the calendar (:mod:`sim.envs.encoding`)."""
        self.width = len(ACTION_NVEC_LEVERS if self.levers else ACTION_NVEC)
        """Components of one customer's action."""
        self.meter = RewardMeter(reward_scale(scenario) if scale is None else scale, residual_shaping, shaping_gamma)
        self.sim: Simulation | None = None
        self.obs = np.zeros((0, 0), np.float32)
        """Current (n, N_FEATURES) features."""
        self.crm: Observation | None = None
        """Current CRM view the features were encoded from."""
        self._allowed: np.ndarray | None = None
        self._lever_allowed: np.ndarray | None = None

    def start(self, seed: int) -> np.ndarray:
        """Draw a new population for engine seed ``seed``; returns its features on day 0."""
        with engine_threads(self.n):
            self.sim = Simulation(self.scenario, self.n, seed, inflow=False)
            self.meter.start(self.sim)
            self._observe()
        return self.obs

    @property
    def day(self) -> int:
        """Days simulated since :meth:`start`."""
        return self._live().day

    def _live(self) -> Simulation:
        if self.sim is None:
            raise RuntimeError("call start() (reset) before stepping")
        return self.sim

    def _observe(self) -> None:
        """Today's CRM view (once per day: it also opens a new cap window) and its features."""
        obs = self._live().observe()
        self.crm = obs
        self.obs = encode_levers(obs) if self.levers else encode(obs)
        self._allowed = channel_allowed(obs)
        if self.levers:
            self._lever_allowed = lever_allowed(obs)

    @property
    def allowed(self) -> np.ndarray:
        """(n, 1 + N_CHANNELS) channels each customer can be contacted on today (column 0: none)."""
        assert self._allowed is not None
        return self._allowed

    def masks(self) -> np.ndarray:
        """MaskablePPO masks of today, (n, MASK_SIZE) bool (with levers, their flags appended)."""
        masks = masks_from_allowed(self.allowed)
        if self.levers:
            assert self._lever_allowed is not None
            masks = np.hstack([masks, self._lever_allowed])
        return masks

    def step(self, actions: np.ndarray) -> BatchStep:
        """Apply ``(n, 3)`` agent actions (``(n, 5)`` with levers) for one day in one engine call."""
        sim = self._live()
        assert self.crm is not None
        actions = np.asarray(actions).reshape(self.n, self.width)
        if self.invalid_action == "no_contact" and self.levers:
            assert self._lever_allowed is not None
            actions, invalid = enforce_levers(actions, self.allowed, self._lever_allowed)
        elif self.invalid_action == "no_contact":
            actions, invalid = enforce(actions, self.allowed)
        else:
            invalid = np.zeros(self.n, bool)
        with engine_threads(self.n):
            sim.step(decode_levers(actions, self.crm) if self.levers else decode(actions, self.crm),
                     reward=self.meter.profit)
            profit = self.meter.profit.copy()
            reward = self.meter.settle(sim)
            terminated = sim.state.status != ACTIVE
            self._observe()
        return BatchStep(self.obs, reward, terminated, invalid, profit)

    def replace(self, rows: np.ndarray, seed: int) -> None:
        """Redraw ``rows`` as new customers (drawn for ``seed``) whose history ends today."""
        sim = self._live()
        with engine_threads(self.n):
            redraw(sim.params.records.population, sim.state, rows, seed, sim.day)
            self.meter.refresh(sim, rows)
            self._observe()
