"""The simulation loop: observe, let the policy act, validate, step the kernels, account.

:class:`Simulation` owns one population and its day counter; :meth:`Simulation.run` plays a
policy over a horizon and returns a :class:`RunResult` with the summary, the daily series and
per-block totals (independent blocks of customers, used for standard errors).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from sim import kernels
from sim.config import Scenario
from sim.defaults import (BLOCK, CHANNELS, CONTENTS, COST_FLOWS, MONTH_DAYS, N_SLOTS, N_STATS, S, SLOTS,
                          STAT_NAMES, STOCKS)
from sim.observation import ACTION_LIMITS, Action, InvalidActionError, Observation
from sim._threads import engine_threads
from sim.acquisition import expected_daily_inflow
from sim.defaults import ACTIVE, GROUP, NOT_JOINED
from sim.guard import BYTES_PER_ROW, check_memory, whole_number
from sim.params import pack
from sim.protocol import Policy as PolicyLike
from sim.state import State, generate
from sim.world import GroupState, World

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
MAX_ROWS = 2**31 - 1
"""Most rows a pool may have: row indices are int32 in places (groups, guides, referral lists)."""
MAX_DAYS = 1_000_000
"""Longest run: day stamps are int32 and NEVER is -1,000,000."""


def code_version() -> str:
    """Installed version of siyu (recorded in every result)."""
    try:
        return importlib.metadata.version("siyu")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


class Simulation:
    """One simulated pool: a population drawn from a scenario for a seed, stepped a day at a time.

    Rows beyond the initial ``customers`` are reserved for customers who join later (acquisition,
    referral) and the arrays grow when they fill, so ``n`` may rise during a run; ``inflow=False``
    turns joining off and keeps the population at its initial size (RL environments with one
    sub-environment per customer use that).
    """

    full_days: bool = False
    """Send every customer through the full day, not only the eventful ones (same results; for tests)."""

    def __init__(self, scenario: Scenario, customers: int | None = None, seed: int = 0,
                 state: State | None = None, inflow: bool = True) -> None:
        n = whole_number("customers", scenario.population.customers if customers is None else customers,
                         1, MAX_ROWS)
        self.scenario = scenario
        self.seed = whole_number("seed", seed, 0, 2**63 - 1)
        self.customers = n
        self.inflow = inflow
        self.params = pack(scenario)
        reserve = 0
        if inflow and state is None:  # room for the first weeks of joiners; _grow makes more
            inflow_rows = np.ceil(expected_daily_inflow(scenario, n) * scenario.acquisition.reserve_days)
            reserve = int(min(MAX_ROWS, inflow_rows))
        if state is None:
            check_memory(f"a pool of {n:,} customers with {reserve:,} rows reserved for joiners",
                         (n + reserve) * BYTES_PER_ROW)
        self.state = state if state is not None else generate(scenario, n, self.seed, n + reserve)
        self.joined = n if state is None else int((self.state.status != NOT_JOINED).sum())
        self.day = 0
        self.world = World(scenario, self.params, self.state.n, self.seed)
        """Pool-level rules and their state: groups, guides, platform folding, joiners."""
        self.per_guide = scenario.staff.customers_per_guide
        self._no_reward = np.zeros(0, np.float64)
        self._window_day = -1
        self._size_buffers()
        self.world.start(self.day, self.state)

    @property
    def groups(self) -> GroupState:
        """The WeChat groups of the pool."""
        return self.world.groups

    def _size_buffers(self) -> None:
        """(Re)allocate what depends on the number of rows after creation or growth."""
        rows = self.state.n
        self.n_blocks = (rows + BLOCK - 1) // BLOCK
        self._stats = np.zeros((self.n_blocks, N_STATS), np.float64)
        self._none = Action.none(rows)
        self._feature_buffers = Observation.feature_buffers(rows)

    def _grow(self, rows: int) -> None:
        """Make room for at least ``rows`` rows (by a quarter more at least, so growth is rare)."""
        rows = max(rows, self.state.n + self.state.n // 4 + BLOCK)
        self.state = self.state.grown(rows)
        self.world.resize(self.state.n)
        self._size_buffers()

    @property
    def n(self) -> int:
        """Rows of the population: customers ever joined plus rows reserved for joiners."""
        return self.state.n

    def observe(self) -> Observation:
        """The CRM view of today, before today's contacts."""
        st = self.state
        self._open_window()
        return Observation(self.day, st.reach, st.last_purchase, st.first_purchase, st.frequency,
                           st.monetary, st.last_contact, st.last_flags, st.active_slot,
                           st.month_count, st.tier, self.params.caps, group_size=self.groups.size,
                           customers_per_guide=self.per_guide,
                           chat_capacity=self.scenario.staff.chat_capacity_per_day,
                           buffers=self._feature_buffers)

    def _open_window(self) -> None:
        """Start a new 30-day cap window on its first day, once, whether observe() or step() comes first."""
        if self.day % MONTH_DAYS == 0 and self._window_day != self.day:
            self.state.month_count[:] = 0
            self._window_day = self.day

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
            if a.dtype != np.int8 and n and (a.min() < -128 or a.max() > 127):  # would wrap around in int8
                i = int(np.argmax((a < -128) | (a > 127)))
                raise InvalidActionError(f"day {self.day}, customer {i}: action.{name}={int(a[i])} is out of range; "
                                         f"allowed: {ACTION_LIMITS}")
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
        """Advance one day; returns the day's record per block of customers, shape (blocks, N_STATS).

        Pool-level statistics of the day (joins, staff, groups) are booked into the first block, so
        the record's column sums are the day's totals. If ``reward`` (float64, length n) is given it
        receives each customer's net profit of the day.
        """
        with engine_threads(self.n):
            return self._step(action, reward)

    def _step(self, action: Action | None, reward: np.ndarray | None) -> np.ndarray:
        self._open_window()
        action = self._none if action is None else self.validate(action)
        st, p, w = self.state, self.params, self.world
        action, moments_fold = w.deliver(self.day, action, st)
        stats = self._stats  # kept: growth at the end of the day reallocates the buffer
        stats[:] = 0.0
        g = w.groups
        kernels.step_day(self.day, self.seed, p.customer, p.channels, p.contents, moments_fold,
                         action.channel, action.content, action.slot,
                         *st.arrays().values(), g.size, g.open_factor, g.conv_factor, g.trust_hit, g.heat,
                         w.per_guide, w.quality, stats,
                         self._no_reward if reward is None else reward, self.full_days)
        w.after_customers(self.day, stats, st, self.joined)
        if self.inflow:
            self._join(stats)
        stats[0] += w.record
        self.day += 1
        return stats

    def inject_complaint(self, customer: int) -> None:
        """Make ``customer`` complain publicly in their group today (a what-if for group studies)."""
        st = self.state
        customer = whole_number("customer", customer, 0, self.joined - 1)
        if st.status[customer] != ACTIVE or not (st.reach[customer] >> GROUP) & 1:
            raise ValueError(f"customer {customer} is not an active group member")
        self.world.inject_complaint(customer)

    def _join(self, stats: np.ndarray) -> None:
        """Today's joiners take the next reserved rows (growing the arrays when they are full)."""
        joiners = self.world.joiners(self.day, stats, self.state)
        k = joiners.kind.size
        if k == 0:
            return
        if self.joined + k > self.n:
            self._grow(self.joined + k)
        rows = np.arange(self.joined, self.joined + k, dtype=np.int64)
        self.world.settle(self.day, rows, joiners, self.state)
        self.joined += k

    def residual_value(self) -> float:
        """Expected remaining margin of the reachable active pool over the residual horizon (yuan)."""
        return float(self.residual_blocks().sum())

    def residual_blocks(self) -> np.ndarray:
        """Residual value per block of customers (for standard errors)."""
        st = self.state
        out = np.zeros(self.n_blocks, np.float64)
        with engine_threads(self.n):
            kernels.residual_value(self.params.customer, st.value, st.price_sens, st.cycle, st.dropout,
                                   st.salience, st.trust, st.deal, st.status, st.reach, out)
        return out

    def residual_rows(self, out: np.ndarray | None = None) -> np.ndarray:
        """Residual value of each customer (yuan; float64, length n); sums to :meth:`residual_value`."""
        st = self.state
        out = np.zeros(self.n, np.float64) if out is None else out
        with engine_threads(self.n):
            kernels.residual_rows(self.params.customer, st.value, st.price_sens, st.cycle, st.dropout,
                                  st.salience, st.trust, st.deal, st.status, st.reach, out)
        return out

    def run(self, policy: PolicyLike, days: int,
            progress: Callable[[int], None] | None = None) -> "RunResult":
        """Play ``policy`` for ``days`` days from the current state."""
        days = whole_number("days", days, 1, MAX_DAYS)
        check_memory(f"{days:,} days of daily statistics", days * N_STATS * 8.0)
        policy.reset(self.n, self.seed)
        daily = np.zeros((days, N_STATS), np.float64)
        totals = np.zeros((self.n_blocks, N_STATS), np.float64)
        for t in range(days):
            with engine_threads(self.n):  # the policy's jitted rules too
                blocks = self._step(policy.act(self.observe()), None)
            daily[t] = blocks.sum(axis=0)
            if self.n_blocks > totals.shape[0]:  # the pool grew: new blocks start at zero
                totals = np.vstack([totals, np.zeros((self.n_blocks - totals.shape[0], N_STATS))])
            totals[: blocks.shape[0]] += blocks
            if progress is not None:
                progress(t + 1)
        stocks = [S[name] for name in STOCKS]
        totals[:, stocks] = 0.0
        totals[: blocks.shape[0], stocks] = blocks[:, stocks]
        residual = self.residual_blocks()
        return RunResult.build(self, policy.name, days, daily, totals, residual)


def net_profit(table: np.ndarray) -> np.ndarray:
    """Gross margin less every cost (:data:`~sim.defaults.COST_FLOWS`), per row of a statistics table."""
    return table[..., S["gross_margin"]] - table[..., [S[c] for c in COST_FLOWS]].sum(axis=-1)


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
        active = end["reachable"] + end["unreachable"]
        net = tot["gross_margin"] - sum(tot[c] for c in COST_FLOWS)
        res = float(residual.sum())
        summary: dict[str, Any] = {
            "scenario": sim.scenario.name, "policy": policy, "seed": sim.seed, "customers": sim.customers,
            "days": days,
            "revenue": tot["revenue"], "gross_margin": tot["gross_margin"],
            "incentive_cost": tot["incentive_cost"], "contact_cost": tot["contact_cost"],
            "acquisition_cost": tot["acquisition_cost"], "running_cost": tot["running_cost"],
            "platform_fees": tot["platform_fees"], "marketplace_revenue": tot["marketplace_revenue"],
            "unseen_purchases": tot["unseen_purchases"],
            "net_profit": net, "residual_value": res, "total_value": net + res,
            "purchases": tot["purchases"], "purchases_contacted": tot["purchases_contacted"],
            "purchases_organic": tot["purchases_organic"], "lost_to_rivals": tot["lost_to_rivals"],
            "contacts": tot["contacts"], "opens": tot["opens"], "unsubscribes": tot["unsubscribes"],
            "complaints": tot["complaints"], "dropouts": tot["dropouts"],
            "referrals": tot["referrals"], "coupons_redeemed": tot["coupons_redeemed"],
            "acquired": tot["acquired"], "acquired_referral": tot["acquired_referral"],
            "customers_ever": sim.joined, "pool_size_end": active,
            "groups_alive": end["groups_alive"],
            "group_heat_mean": end["group_heat_sum"] / max(end["groups_alive"], 1.0),
            "group_members_end": end["group_members"],
            "staff_lost_customers": tot["staff_lost_customers"], "banned_accounts": tot["banned_accounts"],
            "undelivered_capacity": tot["undelivered_capacity"],
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
        series["net_profit"] = net_profit(daily)
        series["cumulative_net_profit"] = np.cumsum(series["net_profit"])
        series["pool_size"] = series["reachable"] + series["unreachable"]
        series["group_heat_mean"] = series["group_heat_sum"] / np.maximum(series["groups_alive"], 1.0)
        return cls(summary, series, totals, residual)

    def block_value(self, metric: str) -> np.ndarray:
        """Per-block contribution to a flow metric, net profit, residual or total value."""
        t = self.block_totals
        if metric == "residual_value":
            return self.block_residual
        net = net_profit(t)
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
