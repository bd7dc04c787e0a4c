"""``siyu/Pool-v1``: the strategist's view — once a week, a contact plan per CRM segment.

The weekly decision (per segment: cadence, channel mix, incentive depth) is turned into daily
:class:`~sim.observation.Action` objects on the whole population by :func:`daily_action`, using
only the CRM record; the engine then steps the pool seven times.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sim import segments as crm
from sim.config import Scenario
from sim.defaults import (COST_FLOWS, COUPON, CONTENT, EVENING, FLASH_SALE, GROUP, MOMENTS, NEW_PRODUCT, NO_CONTACT,
                          OFFICIAL, S, SERVICE, SMS, WECOM)
from sim.engine import Simulation
from sim._threads import engine_threads
from sim.envs.customer import as_scenario
from sim.envs.encoding import channel_allowed
from sim.envs.reward import SHAPING_GAMMA, reward_scale
from sim.observation import Action, Observation

SEGMENTS: tuple[str, ...] = ("fan", "active", "due", "lapsed", "vip")
"""The CRM segments of :mod:`sim.segments`, with new and repeat buyers (not yet due) merged into "active"."""
_MERGED = {"new": "active", "repeat": "active"}
_FROM_CRM = np.array([SEGMENTS.index(_MERGED.get(s, s)) for s in crm.SEGMENTS], np.int64)
CADENCE_DAYS: tuple[int, ...] = (0, 14, 7, 3)
"""Cadence choices: days between contacts to one customer (0: none)."""
CHANNEL_MIXES: tuple[tuple[int, ...], ...] = (
    (WECOM, GROUP, MOMENTS, OFFICIAL, SMS),  # personal first
    (MOMENTS, GROUP, OFFICIAL),  # broadcast only: cheap, low intrusiveness
    (SMS, OFFICIAL, MOMENTS),  # outbound notice
)
"""Channel-mix choices: channel preference orders."""
INCENTIVES: tuple[int, ...] = (CONTENT, SERVICE, NEW_PRODUCT, COUPON, FLASH_SALE)
"""Incentive-depth choices, from content to flash sale."""
DECISION_NVEC = (len(CADENCE_DAYS), len(CHANNEL_MIXES), len(INCENTIVES))
KPIS: tuple[str, ...] = tuple(f"share_{s}" for s in SEGMENTS) + (
    "share_reachable", "net_profit", "purchases", "contacts", "open_rate", "unsubscribe_rate",
    "complaint_rate", "caps_left", "progress")
"""Pool KPIs observed each week (all in [0, 1]; flows are last week's, per customer)."""
_WEEK_FLOWS = ("gross_margin",) + COST_FLOWS + ("purchases", "contacts", "opens", "unsubscribes", "complaints")
_N_COSTS = len(COST_FLOWS)
_MIX_TABLE = np.array([list(m) + [NO_CONTACT] * (5 - len(m)) for m in CHANNEL_MIXES], np.int64)


def segments(obs: Observation) -> np.ndarray:
    """Segment index (into :data:`SEGMENTS`) of every customer, from the CRM record."""
    return _FROM_CRM[crm.segment_codes(obs)]


def daily_action(obs: Observation, decision: np.ndarray, seg: np.ndarray) -> Action:
    """Today's contacts under a weekly ``decision`` of shape ``(len(SEGMENTS), 3)``.

    A customer is contacted when their segment's cadence is due (at least that many days since
    the last contact, staggered over customers), on the first usable channel of the segment's
    mix, with the segment's incentive, in the slot of their last activity (else the evening).
    """
    n = obs.n
    plan = np.asarray(decision, np.int64).reshape(len(SEGMENTS), 3)[seg]
    cadence = np.asarray(CADENCE_DAYS)[plan[:, 0]]
    turn = (np.arange(n) + obs.day) % np.maximum(cadence, 1) == 0
    left = (cadence > 0) & turn & (obs.days_since_contact >= cadence)
    allowed = channel_allowed(obs)
    channel = np.full(n, NO_CONTACT, np.int8)
    prefs = _MIX_TABLE[plan[:, 1]]
    for rank in range(prefs.shape[1]):
        c = prefs[:, rank]
        ok = left & (c >= 0) & allowed[np.arange(n), c + 1]
        channel[ok] = c[ok]
        left &= ~ok
    content = np.asarray(INCENTIVES, np.int8)[plan[:, 2]]
    slot = np.where(obs.active_slot >= 0, obs.active_slot, EVENING).astype(np.int8)
    return Action(channel, content, slot)


class PoolEnv(gym.Env[np.ndarray, np.ndarray]):
    """A whole pool managed by weekly segment plans.

    ## Action Space
    ``MultiDiscrete([4, 3, 5] * 5)``: for each segment of :data:`SEGMENTS` (fan, active, due,
    lapsed, VIP) a cadence (none, every 14, 7 or 3 days), a channel mix (personal first, broadcast
    only, outbound notice) and an incentive depth (content, service, new product, coupon, flash
    sale). Plans are turned into valid daily actions (unreachable channels and exhausted caps are
    skipped), so no mask is needed.

    ## Observation Space
    ``Box(0, 1, (14,), float32)``: segment shares, reachable share, last week's net profit,
    purchases and contacts per customer, open, unsubscribe and complaint rates, share of caps
    left, and progress through the episode (:data:`KPIS`). All from the CRM record and the
    brand's own books; no hidden state.

    ## Rewards
    The week's net profit (including acquisition and running costs) plus the potential-based term
    ``shaping_gamma * Phi(s') - Phi(s)`` with Phi a closed-form proxy of the pool's future margin
    (:meth:`Simulation.potential`; set ``shaping_gamma`` to
    the learner's weekly discount: the optimal plan is then that of the unshaped profit), per starting
    customer, in units of one median order's margin.

    ## Starting State
    A fresh population of ``customers`` (default: the scenario's) drawn for an engine seed taken
    from ``self.np_random``. With ``inflow`` (default) customers join during the episode through the
    scenario's acquisition and referral, as in ``siyu run``.

    ## Episode End
    Never terminates; truncated by the registration's ``max_episode_steps`` (26 weeks).

    ## Version History
    * v1: segments from :mod:`sim.segments` (VIP is the top tier, a "due" segment boundary at 0.85
      intervals); potential-based shaping with the discount.
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, scenario: str | Scenario = "beauty", customers: int | None = None, weeks: int = 26,
                 inflow: bool = True, render_mode: str | None = None, shaping_gamma: float = SHAPING_GAMMA) -> None:
        if not 0.0 < shaping_gamma <= 1.0:
            raise ValueError(f"shaping_gamma must be in (0, 1], got {shaping_gamma}")
        self.scenario = as_scenario(scenario)
        self.shaping_gamma = float(shaping_gamma)
        self.customers = int(customers or self.scenario.population.customers)
        self.inflow = inflow
        self.weeks = int(weeks)
        self.scale = reward_scale(self.scenario) / self.customers
        self.observation_space = spaces.Box(0.0, 1.0, (len(KPIS),), np.float32)
        self.action_space = spaces.MultiDiscrete(np.tile(DECISION_NVEC, len(SEGMENTS)))
        self.render_mode = render_mode
        self.sim: Simulation | None = None
        self._week = 0
        self._residual = 0.0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a new pool; the engine seed comes from ``self.np_random``."""
        super().reset(seed=seed)
        engine_seed = int(self.np_random.integers(0, 2**63 - 1))
        with engine_threads(self.customers):
            self.sim = Simulation(self.scenario, self.customers, engine_seed, inflow=self.inflow)
            self._week = 0
            self._residual = self.sim.potential()
            kpis = self._kpis(np.zeros(len(_WEEK_FLOWS)))
        return kpis, {"engine_seed": engine_seed}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play one week under the segment plan ``action``."""
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        sim = self.sim
        flows = np.zeros(len(_WEEK_FLOWS))
        cols = [S[k] for k in _WEEK_FLOWS]
        with engine_threads(sim.n):
            for _ in range(7):
                obs = sim.observe()
                flows += sim.step(daily_action(obs, action, segments(obs))).sum(axis=0)[cols]
            residual = sim.potential()
            self._week += 1
            kpis = self._kpis(flows)
        net = flows[0] - flows[1:1 + _N_COSTS].sum()
        reward = (net + self.shaping_gamma * residual - self._residual) * self.scale
        self._residual = residual
        info = {"net_profit": float(net), "potential": residual}
        return kpis, float(reward), False, False, info

    def _kpis(self, flows: np.ndarray) -> np.ndarray:
        assert self.sim is not None
        obs = self.sim.observe()
        joined = self.sim.joined  # rows past it are reserved for customers who have not joined yet
        n = float(joined)
        purchases, contacts, opens, unsubs, complaints = flows[1 + _N_COSTS:]
        seg = segments(obs)[:joined]
        shares = np.bincount(seg, minlength=len(SEGMENTS)) / n
        per = max(contacts, 1.0)
        net = (flows[0] - flows[1:1 + _N_COSTS].sum()) * self.scale
        out = np.concatenate([shares, [
            obs.reachable[:joined].mean(), 0.5 + 0.5 * np.tanh(10.0 * net), min(10.0 * purchases / n, 1.0),
            min(contacts / (7.0 * n), 1.0), opens / per, min(10.0 * unsubs / per, 1.0),
            min(100.0 * complaints / per, 1.0), float((obs.cap_left[:joined] > 0).mean()),
            min(self._week / self.weeks, 1.0)]])
        return np.clip(out, 0.0, 1.0).astype(np.float32)
