"""``siyu/Customer-v0``: one customer of a scenario, one day per step, seen through the CRM record."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from sim.config import Scenario, load_scenario
from sim.envs.batch import CustomerBatch, InvalidAction
from sim.envs.reward import SHAPING_GAMMA
from sim.envs.encoding import (FEATURES, LEVER_FEATURES, action_space, action_space_levers, observation_space,
                               observation_space_levers)


def as_scenario(scenario: str | Scenario) -> Scenario:
    """A :class:`Scenario` from itself, a preset name or a TOML path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


class CustomerEnv(gym.Env[np.ndarray, np.ndarray]):
    """One customer of a private pool, contacted (or not) once a day.

    An adapter over :class:`~sim.engine.Simulation` with a pool of one: the engine's kernels are
    the dynamics; this class only encodes, masks and accounts.

    ## Action Space
    ``MultiDiscrete([1 + 5, 5, 1 + 4])``: channel (0 = no contact, 1..5 = wecom, group, moments,
    official_account, sms), content (content, service, new_product, coupon, flash_sale) and time
    slot (0 = the customer's own slot, i.e. that of their last activity in the CRM, else the
    evening; 1..4 = morning, noon, evening, night). A channel that no longer reaches the customer or whose
    30-day cap is used up is masked by :meth:`action_masks`; if taken anyway it becomes no contact
    and ``info["invalid_action"]`` is True (or, with ``invalid_action="raise"``, the engine raises
    :class:`~sim.observation.InvalidActionError`).

    ## Observation Space
    ``Box(0, 1, (35,), float32)``: the CRM record only (recency, recency per own repurchase
    interval, days since contact, frequency, monetary, tier, last contact's outcome, slot of the last activity,
    reachable channels, caps left, phase of the cap window); see
    :data:`sim.envs.encoding.FEATURES`. Hidden state (salience, fatigue, trust, deal waiting,
    need, whether the customer has left) is never part of it. With ``levers=True``, 11 more columns
    (:data:`sim.envs.encoding.LEVER_FEATURES`): today's calendar event and its kind, days to the next event,
    whether the chat is on a guide's personal WeChat, paid membership, gender and fan tier.

    With ``levers=True`` two components follow: a referral ask (0/1) and an invitation (0 none, then
    :data:`sim.defaults.INVITES`: add the WeCom persona or join the welfare group, with or without a gift, or
    paid membership); the mask allows an ask or an invitation only for a customer some channel reaches
    today, and an invitation only where its target does not reach them yet and the scenario enables it
    (:func:`sim.envs.encoding.lever_allowed`). One taken anyway, or with no contact, is dropped.

    ## Rewards
    The customer's net profit of the day (margin on purchases minus incentive and contact costs)
    in units of one median order's margin, so a purchase is worth about 1. With
    ``residual_shaping=True`` the potential-based term ``shaping_gamma * Phi(s') - Phi(s)`` is added,
    Phi being the customer's residual value: it pays at once for what raises the customer's future
    value without changing which policy is optimal, provided ``shaping_gamma`` is the learner's
    discount (:mod:`sim.envs.reward`).

    ## Starting State
    A fresh customer drawn from the scenario's population (traits, purchase history, hidden
    state) with an engine seed taken from ``self.np_random``; day 0, never contacted.

    ## Episode End
    Terminated when the customer leaves the category for good (dropout). Truncated by the
    registration's ``max_episode_steps`` (180 days by default).

    ## Version History
    * v0, ``levers=True``: the lever columns also carry gender and fan tier (11 columns, were 9).
    * v0: initial version; ``levers=True`` (opt-in, same id) adds the ask, the invitation and the calendar.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, scenario: str | Scenario = "beauty", residual_shaping: bool = False,
                 invalid_action: InvalidAction = "no_contact", reward_scale: float | None = None,
                 render_mode: str | None = None, shaping_gamma: float = SHAPING_GAMMA, levers: bool = False) -> None:
        self.scenario = as_scenario(scenario)
        self.batch = CustomerBatch(self.scenario, 1, residual_shaping, invalid_action, reward_scale, shaping_gamma,
                                   levers)
        self.observation_space = observation_space_levers() if levers else observation_space()
        self.action_space = action_space_levers() if levers else action_space()
        self.render_mode = render_mode
        self.feature_names = FEATURES + LEVER_FEATURES if levers else FEATURES

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a new customer; the engine seed comes from ``self.np_random``."""
        super().reset(seed=seed)
        engine_seed = int(self.np_random.integers(0, 2**63 - 1))
        obs = self.batch.start(engine_seed)
        return obs[0].copy(), {"engine_seed": engine_seed}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play one day with ``action``."""
        out = self.batch.step(np.asarray(action)[None, :])
        info = {"profit": float(out.profit[0]), "invalid_action": bool(out.invalid[0]), "day": self.batch.day}
        return out.obs[0].copy(), float(out.reward[0]), bool(out.terminated[0]), False, info

    def action_masks(self) -> np.ndarray:
        """Today's mask in sb3-contrib's MultiDiscrete layout, shape (MASK_SIZE,)."""
        return self.batch.masks()[0]
