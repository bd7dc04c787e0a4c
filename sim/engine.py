"""The simulation loop: observe, let the policy act, validate, step the kernels, account.

:class:`Simulation` owns one population and its day counter; :meth:`Simulation.run` plays a
policy over a horizon and returns a :class:`RunResult` with the summary, the daily series and
per-block totals (independent blocks of customers, used for standard errors).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from sim import kernels
from sim.config import Scenario
from sim.defaults import (BLOCK, CHANNELS, CONTENTS, MONTH_DAYS, N_SLOTS, N_STATS, S, SLOTS,
                          STAT_NAMES, STOCKS)
from sim.observation import ACTION_LIMITS, Action, InvalidActionError, Observation
from sim.params import pack
from sim.state import State, generate

_ERRORS = {
    kernels.E_CHANNEL: "channel code out of range",
    kernels.E_CONTENT: "content code out of range",
    kernels.E_SLOT: "slot code out of range",
    kernels.E_UNREACHABLE: "channel no longer reaches this customer (muted, deleted or never joined)",
    kernels.E_CAP: "30-day contact cap of this channel is used up for this customer",
    kernels.E_DROPPED: "customer has left the pool",
}
FLOWS = tuple(n for n in STAT_NAMES if n not in STOCKS)
"""Statistics that add up over days."""


class PolicyLike(Protocol):
    """Anything with ``act(observation) -> Action`` (see :mod:`policies.base`)."""

    name: str

    def reset(self, n: int, seed: int) -> None:
        """Prepare for a new run of ``n`` customers."""

    def act(self, obs: Observation) -> Action:
        """Decide today's contacts."""


def code_version() -> str:
    """Installed version of siyu (recorded in every result)."""
    try:
        return importlib.metadata.version("siyu")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


class Simulation:
    """One simulated pool: a population drawn from a scenario for a seed, stepped a day at a time."""

    def __init__(self, scenario: Scenario, customers: int | None = None, seed: int = 0,
                 state: State | None = None) -> None:
        n = scenario.population.customers if customers is None else int(customers)
        if n < 1:
            raise ValueError(f"customers must be >= 1, got {n}")
        if not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed must be in 0..2**63-1, got {seed}")
        self.scenario = scenario
        self.seed = int(seed)
        self.params = pack(scenario)
        self.state = state if state is not None else generate(scenario, n, self.seed)
        self.day = 0
        self.n_blocks = (self.state.n + BLOCK - 1) // BLOCK
        self._stats = np.zeros((self.n_blocks, N_STATS), np.float64)
        self._none = Action.none(self.state.n)
        self._no_reward = np.zeros(0, np.float64)

    @property
    def n(self) -> int:
        """Customers in the pool (including those who left)."""
        return self.state.n

    def observe(self) -> Observation:
        """The CRM view of today, before today's contacts."""
        st = self.state
        if self.day % MONTH_DAYS == 0:
            st.month_count[:] = 0
        return Observation(self.day, st.reach, st.last_purchase, st.first_purchase, st.frequency,
                           st.monetary, st.last_contact, st.last_flags, st.active_slot,
                           st.month_count, st.tier, self.params.caps)

    def validate(self, action: Action) -> Action:
        """Return ``action`` as int8 arrays, or raise :class:`InvalidActionError` naming the first fault."""
        n = self.n
        arrays = []
        for name in ("channel", "content", "slot"):
            a = np.asarray(getattr(action, name))
            if a.shape != (n,):
                raise InvalidActionError(f"action.{name} has shape {a.shape}, expected ({n},)")
            if not np.issubdtype(a.dtype, np.integer):
                raise InvalidActionError(f"action.{name} must hold integers, got {a.dtype}")
            arrays.append(a.astype(np.int8, copy=False))
        ch, ct, sl = arrays
        st = self.state
        code, i = kernels.check_actions(ch, ct, sl, st.reach, st.month_count, st.status,
                                        self.params.caps, len(CONTENTS), N_SLOTS)
        if code != kernels.E_OK:
            what = f"channel={int(ch[i])}, content={int(ct[i])}, slot={int(sl[i])}"
            raise InvalidActionError(f"day {self.day}, customer {i}: {_ERRORS[code]} ({what}); "
                                     f"allowed: {ACTION_LIMITS}, on reachable channels within caps")
        return Action(ch, ct, sl)

    def step(self, action: Action | None = None, reward: np.ndarray | None = None) -> np.ndarray:
        """Advance one day; returns per-block statistics, shape (blocks, N_STATS).

        If ``reward`` (float64, length n) is given it receives each customer's net profit of the day.
        """
        action = self._none if action is None else self.validate(action)
        st = self.state
        self._stats[:] = 0.0
        p = self.params
        kernels.step_day(self.day, self.seed, p.scalars, p.channels, p.contents,
                         action.channel, action.content, action.slot,
                         *st.arrays().values(), self._stats,
                         self._no_reward if reward is None else reward)
        self.day += 1
        return self._stats

    def residual_value(self) -> float:
        """Expected remaining margin of the reachable active pool over the residual horizon (yuan)."""
        st = self.state
        out = np.zeros(self.n_blocks, np.float64)
        kernels.residual_value(self.params.scalars, st.value, st.price_sens, st.cycle, st.dropout,
                               st.salience, st.trust, st.deal, st.status, st.reach, out)
        return float(out.sum())

    def residual_blocks(self) -> np.ndarray:
        """Residual value per block of customers (for standard errors)."""
        st = self.state
        out = np.zeros(self.n_blocks, np.float64)
        kernels.residual_value(self.params.scalars, st.value, st.price_sens, st.cycle, st.dropout,
                               st.salience, st.trust, st.deal, st.status, st.reach, out)
        return out

    def run(self, policy: PolicyLike, days: int,
            progress: Callable[[int], None] | None = None) -> "RunResult":
        """Play ``policy`` for ``days`` days from the current state."""
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        policy.reset(self.n, self.seed)
        daily = np.zeros((days, N_STATS), np.float64)
        totals = np.zeros((self.n_blocks, N_STATS), np.float64)
        for t in range(days):
            obs = self.observe()
            blocks = self.step(policy.act(obs))
            daily[t] = blocks.sum(axis=0)
            totals += blocks
            if progress is not None:
                progress(t + 1)
        stocks = [S[name] for name in STOCKS]
        totals[:, stocks] = self._stats[:, stocks]
        residual = self.residual_blocks()
        return RunResult.build(self, policy.name, days, daily, totals, residual)


@dataclass
class RunResult:
    """Outcome of one run: headline summary, daily series and per-block totals."""

    summary: dict[str, Any]
    daily: dict[str, np.ndarray]
    block_totals: np.ndarray = field(repr=False)
    """(blocks, N_STATS) sums of flows per block of customers; stocks hold end-of-run levels."""
    block_residual: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, sim: Simulation, policy: str, days: int, daily: np.ndarray, totals: np.ndarray,
              residual: np.ndarray) -> "RunResult":
        """Account a finished run: totals, net profit, residual and total value."""
        tot = {name: float(daily[:, S[name]].sum()) for name in FLOWS}
        end = {name: float(daily[-1, S[name]]) for name in STOCKS}
        active = sim.n - end["dropped"]
        net = tot["gross_margin"] - tot["incentive_cost"] - tot["contact_cost"]
        res = float(residual.sum())
        summary: dict[str, Any] = {
            "scenario": sim.scenario.name, "policy": policy, "seed": sim.seed, "customers": sim.n,
            "days": days,
            "revenue": tot["revenue"], "gross_margin": tot["gross_margin"],
            "incentive_cost": tot["incentive_cost"], "contact_cost": tot["contact_cost"],
            "net_profit": net, "residual_value": res, "total_value": net + res,
            "purchases": tot["purchases"], "purchases_contacted": tot["purchases_contacted"],
            "purchases_organic": tot["purchases_organic"], "lost_to_rivals": tot["lost_to_rivals"],
            "contacts": tot["contacts"], "opens": tot["opens"], "unsubscribes": tot["unsubscribes"],
            "complaints": tot["complaints"], "dropouts": tot["dropouts"],
            "referrals": tot["referrals"], "coupons_redeemed": tot["coupons_redeemed"],
            "reachable_end": end["reachable"], "unreachable_end": end["unreachable"],
            "dropped_end": end["dropped"], "active_end": end["active_buyers"],
            "salience_mean_end": end["salience_sum"] / max(active, 1),
            "fatigue_mean_end": end["fatigue_sum"] / max(active, 1),
            "trust_mean_end": end["trust_sum"] / max(active, 1),
            "deal_mean_end": end["deal_sum"] / max(active, 1),
            "open_rate": tot["opens"] / max(tot["contacts"], 1.0),
            "code_version": code_version(), "config_hash": sim.scenario.config_hash(),
        }
        series = {name: daily[:, S[name]].copy() for name in STAT_NAMES}
        series["day"] = np.arange(sim.day - days, sim.day)
        series["net_profit"] = daily[:, S["gross_margin"]] - daily[:, S["incentive_cost"]] \
            - daily[:, S["contact_cost"]]
        series["cumulative_net_profit"] = np.cumsum(series["net_profit"])
        return cls(summary, series, totals, residual)

    def block_value(self, metric: str) -> np.ndarray:
        """Per-block contribution to a flow metric, net profit, residual or total value."""
        t = self.block_totals
        if metric == "residual_value":
            return self.block_residual
        net = t[:, S["gross_margin"]] - t[:, S["incentive_cost"]] - t[:, S["contact_cost"]]
        if metric == "net_profit":
            return net
        if metric == "total_value":
            return net + self.block_residual
        return t[:, S[metric]]


def run(scenario: Scenario, policy: PolicyLike, customers: int | None = None, days: int = 180,
        seed: int = 0, progress: Callable[[int], None] | None = None) -> RunResult:
    """Draw a population for ``seed`` and play ``policy`` on it for ``days`` days."""
    return Simulation(scenario, customers, seed).run(policy, days, progress)


__all__ = ["Simulation", "RunResult", "run", "code_version", "CHANNELS", "CONTENTS", "SLOTS"]
