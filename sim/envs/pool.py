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
                          OFFICIAL, S, SERVICE, SMS, WECOM, INVITES)
from sim.engine import Simulation
from sim._threads import engine_threads
from sim.envs.customer import as_scenario
from sim.envs.encoding import channel_allowed
from sim import invitations
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
DECISION_NVEC_LEVERS = DECISION_NVEC + (len(INVITES), 2)
"""With levers, each segment's plan also picks an invitation its contacts carry (INVITES) and a referral ask (0/1)."""
LEVER_KPIS: tuple[str, ...] = ("event_today", "days_to_event_60d", "invitations_accepted")
"""KPIs appended with levers: a calendar event today, days to the next (capped at 60; 1 if none), and last week's
accepted invitations per customer (x10, capped at 1)."""
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
    """Today's contacts under a weekly ``decision`` of shape ``(len(SEGMENTS), 3)`` (or 5, with levers).

    A customer is contacted when their segment's cadence is due (at least that many days since
    the last contact, staggered over customers), on the first usable channel of the segment's
    mix, with the segment's incentive, in the slot of their last activity (else the evening).
    With levers (five columns) a contact also carries the segment's invitation where the brand runs it
    (``obs.invite_enabled``) and its target does not reach the customer yet, and its ask.
    """
    n = obs.n
    decision = np.asarray(decision, np.int64)
    width = decision.size // len(SEGMENTS)
    plan = decision.reshape(len(SEGMENTS), width)[seg]
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
    action = Action(channel, content, slot)
    if width == len(DECISION_NVEC_LEVERS):
        contact = channel != NO_CONTACT
        action.ask = (contact & (plan[:, 4] == 1)).astype(np.uint8)
        invite = np.zeros(n, np.uint8)
        for code in range(1, len(INVITES)):
            if obs.invite_enabled[code]:
                ok = contact & (plan[:, 3] == code)
                invite[ok & invitations.allowed(code, obs.reach, obs.account, obs.paid_member)] = code
        action.invite = invite
    return action


class PoolEnv(gym.Env[np.ndarray, np.ndarray]):
    """A whole pool managed by weekly segment plans.

    ## Action Space
    ``MultiDiscrete([4, 3, 5] * 5)``: for each segment of :data:`SEGMENTS` (fan, active, due,
    lapsed, VIP) a cadence (none, every 14, 7 or 3 days), a channel mix (personal first, broadcast
    only, outbound notice) and an incentive depth (content, service, new product, coupon, flash
    sale). Plans are turned into valid daily actions (unreachable channels and exhausted caps are
    skipped), so no mask is needed. With ``levers=True``: ``MultiDiscrete([4, 3, 5, 6, 2] * 5)``, each
    segment's plan also naming the invitation its contacts carry (none, wecom, wecom_gift, group,
    group_gift, paid_membership; sent only where the scenario enables it and the target does not reach
    the customer yet) and whether they ask for a referral.

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
    * v1, ``levers=True`` (opt-in): each segment's plan adds an invitation and a referral ask, and the KPIs
      the calendar and accepted invitations (:data:`LEVER_KPIS`).
    * v1: segments from :mod:`sim.segments` (VIP is the top tier, a "due" segment boundary at 0.85
      intervals); potential-based shaping with the discount.
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, scenario: str | Scenario = "beauty", customers: int | None = None, weeks: int = 26,
                 inflow: bool = True, render_mode: str | None = None, shaping_gamma: float = SHAPING_GAMMA,
                 levers: bool = False) -> None:
        if not 0.0 < shaping_gamma <= 1.0:
            raise ValueError(f"shaping_gamma must be in (0, 1], got {shaping_gamma}")
        self.scenario = as_scenario(scenario)
        self.shaping_gamma = float(shaping_gamma)
        self.customers = int(customers or self.scenario.population.customers)
        self.inflow = inflow
        self.weeks = int(weeks)
        self.scale = reward_scale(self.scenario) / self.customers
        self.levers = bool(levers)
        kpis, nvec = (KPIS + LEVER_KPIS, DECISION_NVEC_LEVERS) if self.levers else (KPIS, DECISION_NVEC)
        self.observation_space = spaces.Box(0.0, 1.0, (len(kpis),), np.float32)
        self.action_space = spaces.MultiDiscrete(np.tile(nvec, len(SEGMENTS)))
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
            kpis = self._kpis(np.zeros(len(_WEEK_FLOWS)), 0.0)
        return kpis, {"engine_seed": engine_seed}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play one week under the segment plan ``action``."""
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        sim = self.sim
        flows = np.zeros(len(_WEEK_FLOWS))
        cols = [S[k] for k in _WEEK_FLOWS]
        accepted = 0.0
        with engine_threads(sim.n):
            for _ in range(7):
                obs = sim.observe()
                day = sim.step(daily_action(obs, action, segments(obs))).sum(axis=0)
                flows += day[cols]
                accepted += day[S["invitations_accepted"]]
            residual = sim.potential()
            self._week += 1
            kpis = self._kpis(flows, accepted)
        net = flows[0] - flows[1:1 + _N_COSTS].sum()
        reward = (net + self.shaping_gamma * residual - self._residual) * self.scale
        self._residual = residual
        info = {"net_profit": float(net), "potential": residual}
        return kpis, float(reward), False, False, info

    def _kpis(self, flows: np.ndarray, accepted: float) -> np.ndarray:
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
        if self.levers:
            ahead = obs.days_to_event
            out = np.concatenate([out, [1.0 if obs.event_kind else 0.0, 1.0 if ahead < 0 else min(ahead, 60) / 60.0,
                                        min(10.0 * accepted / n, 1.0)]])
        return np.clip(out, 0.0, 1.0).astype(np.float32)
