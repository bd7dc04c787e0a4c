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
from sim import world
from sim.acquisition import daily_joiners, expected_daily_inflow
from sim.defaults import ACTIVE, EV_GROUP_COMPLAINT, GROUP, NOT_JOINED, WECOM
from sim.params import P_MOMENTS_FOLD, pack
from sim.protocol import Policy as PolicyLike
from sim.state import State, generate, redraw
from sim.world import GroupState

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
        n = scenario.population.customers if customers is None else int(customers)
        if n < 1:
            raise ValueError(f"customers must be >= 1, got {n}")
        if not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed must be in 0..2**63-1, got {seed}")
        self.scenario = scenario
        self.seed = int(seed)
        self.customers = n
        self.inflow = inflow
        self.params = pack(scenario)
        reserve = 0
        if inflow and state is None:  # room for the first weeks of joiners; _grow makes more
            reserve = int(np.ceil(expected_daily_inflow(scenario, n) * scenario.acquisition.reserve_days))
        self.state = state if state is not None else generate(scenario, n, self.seed, n + reserve)
        self.joined = n if state is None else int((self.state.status != NOT_JOINED).sum())
        self.day = 0
        self.groups = GroupState.create(self.state.n, scenario.groups.size, scenario.groups.heat_start)
        self.per_guide = scenario.staff.customers_per_guide
        self.world = np.zeros(N_STATS, np.float64)
        """Pool-level statistics of the last day (acquisition, staff, groups), booked apart from blocks."""
        self._no_reward = np.zeros(0, np.float64)
        self._folded_until = -1
        self._injected: list[int] = []
        self._window_day = -1
        self._size_buffers()
        self._groups_day(np.zeros(3))

    def _size_buffers(self) -> None:
        """(Re)allocate what depends on the number of rows after creation or growth."""
        rows = self.state.n
        self.n_blocks = (rows + BLOCK - 1) // BLOCK
        self._stats = np.zeros((self.n_blocks, N_STATS), np.float64)
        self._none = Action.none(rows)
        self._feature_buffers = Observation.feature_buffers(rows)
        guides = (rows + self.per_guide - 1) // self.per_guide if self.per_guide > 0 else 1
        old = getattr(self, "quality", np.ones(0))
        self.quality = np.ones(guides, np.float64)
        self.quality[: old.shape[0]] = old
        self._load = np.zeros(guides, np.int64)
        self._personal_load = np.zeros(guides, np.int64)

    def _grow(self, rows: int) -> None:
        """Make room for at least ``rows`` rows (by a quarter more at least, so growth is rare)."""
        rows = max(rows, self.state.n + self.state.n // 4 + BLOCK)
        self.state = self.state.grown(rows)
        self.groups = self.groups.grown(rows, self.scenario.groups.heat_start)
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

        Pool-level statistics of the day (joins, staff, groups) are in :attr:`world`. If ``reward``
        (float64, length n) is given it receives each customer's net profit of the day.
        """
        self._open_window()
        action = self._none if action is None else self.validate(action)
        st, p, sc = self.state, self.params, self.scenario
        self.world[:] = 0.0
        channel = action.channel
        if sc.groups.broadcast and (channel == GROUP).any():  # a group message is a post to the group
            action = Action(channel.copy(), action.content.copy(), action.slot.copy())
            channel = action.channel
            world.broadcast_posts(channel, action.content, action.slot, st.reach, st.status, st.month_count,
                                  int(p.caps[GROUP]), self.groups.size)
        if self.per_guide > 0 and (channel == WECOM).any():
            channel = channel.copy()  # 1:1 chats beyond a guide's capacity are not delivered
            self.world[S["undelivered_capacity"]] = world.ration_chats(
                channel, st.account, st.status, self.per_guide, sc.staff.chat_capacity_per_day,
                self._load, self._personal_load)
        p.scalars[P_MOMENTS_FOLD] = sc.platform.fold_factor if self.day <= self._folded_until else 1.0
        stats = self._stats  # kept: growth at the end of the day reallocates the buffer
        stats[:] = 0.0
        g = self.groups
        kernels.step_day(self.day, self.seed, p.scalars, p.channels, p.contents,
                         channel, action.content, action.slot,
                         *st.arrays().values(), g.size, g.open_factor, g.conv_factor, g.trust_hit, g.heat,
                         self.per_guide, self.quality, stats,
                         self._no_reward if reward is None else reward, self.full_days)
        self._world_day(stats)
        self.day += 1
        return stats

    def _groups_day(self, out: np.ndarray) -> None:
        g, st = self.groups, self.state
        world.groups_day(g.params(self.scenario, self.day), g.size, st.status, st.reach, st.events, g.heat,
                         g.damage, g.alive, g.formed, g.members, g.open_factor, g.conv_factor, g.trust_hit,
                         g.tally, out)

    def inject_complaint(self, customer: int) -> None:
        """Make ``customer`` complain publicly in their group today (a what-if for group studies)."""
        st = self.state
        if st.status[customer] != ACTIVE or not (st.reach[customer] >> GROUP) & 1:
            raise ValueError(f"customer {customer} is not an active group member")
        self._injected.append(int(customer))

    def _world_day(self, stats: np.ndarray) -> None:
        """Groups, staff, platform folding, running costs and joiners after the customers' day."""
        st, sc, w = self.state, self.scenario, self.world
        for i in self._injected:
            st.events[i] |= EV_GROUP_COMPLAINT
        self._injected.clear()
        out = np.zeros(3)
        self._groups_day(out)
        w[S["groups_alive"]], w[S["group_heat_sum"]], w[S["group_members"]] = out
        guides = 1
        if self.per_guide > 0:
            sp = sc.staff
            guides = -(-self.joined // self.per_guide)
            n_guides = self.quality.shape[0]
            lost, banned, departed = (np.zeros(n_guides, np.int64), np.zeros(n_guides, np.int64),
                                      np.zeros(n_guides, np.int64))
            world.staff_day(self.seed, self.day, self.per_guide, sp.chat_capacity_per_day,
                            sp.turnover_per_year / 365.0, sp.ban_threshold_per_day, sp.ban_rate,
                            sp.response_delay_hours, sp.delay_quality, self._load, self._personal_load,
                            st.status, st.reach, st.account, self.quality, lost, banned, departed)
            w[S["staff_lost_customers"]] = lost.sum()
            w[S["banned_accounts"]] = banned[:guides].sum()
            w[S["staff_departures"]] = departed[:guides].sum()
            w[S["running_cost"]] += sp.salary_per_day * guides
        w[S["running_cost"]] += sc.economics.running_cost_per_day
        audience = stats[:, S["moments_audience"]].sum()
        posted = stats[:, S["moments_delivered"]].sum()
        if audience > 0 and posted / audience > sc.platform.moments_fold_share:
            self._folded_until = self.day + sc.platform.fold_days
        w[S["joined"]] = self.joined  # the census above saw these; today's joiners count from tomorrow
        if self.inflow:
            self._join(stats)

    def _join(self, stats: np.ndarray) -> None:
        st, w = self.state, self.world
        busy = np.flatnonzero(stats[:, S["referrals"]] > 0)
        inviters = world.referral_inviters(st.events, busy, BLOCK) if busy.size else np.zeros(0, np.int64)
        joiners = daily_joiners(self.scenario, self.seed, self.day, st.trust[inviters].astype(np.float64))
        for key, value in joiners.stats.items():
            w[S[key]] += value
        w[S["acquisition_cost"]] += joiners.cost
        k = joiners.kind.size
        if k == 0:
            return
        if self.joined + k > self.n:
            self._grow(self.joined + k)
        st = self.state  # may have grown
        rows = np.arange(self.joined, self.joined + k, dtype=np.int64)
        redraw(self.scenario, st, rows, self.seed, self.day + 1)
        world.settle_joiners(rows, joiners.kind[:k], joiners.age[:k], joiners.trust[:k], self.day + 1,
                             self.scenario.population.channel_reach[GROUP],
                             np.array(self.scenario.tiers.thresholds_yuan), st.value, st.cycle, st.salience,
                             st.trust, st.need_clock, st.reach, st.last_purchase, st.first_purchase,
                             st.frequency, st.monetary, st.tier, st.stage, st.origin, self.seed)
        self.joined += k
        w[S["acquired"]] = k

    def residual_value(self) -> float:
        """Expected remaining margin of the reachable active pool over the residual horizon (yuan)."""
        return float(self.residual_blocks().sum())

    def residual_blocks(self) -> np.ndarray:
        """Residual value per block of customers (for standard errors)."""
        st = self.state
        out = np.zeros(self.n_blocks, np.float64)
        kernels.residual_value(self.params.scalars, st.value, st.price_sens, st.cycle, st.dropout,
                               st.salience, st.trust, st.deal, st.status, st.reach, out)
        return out

    def residual_rows(self, out: np.ndarray | None = None) -> np.ndarray:
        """Residual value of each customer (yuan; float64, length n); sums to :meth:`residual_value`."""
        st = self.state
        out = np.zeros(self.n, np.float64) if out is None else out
        kernels.residual_rows(self.params.scalars, st.value, st.price_sens, st.cycle, st.dropout,
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
            daily[t] = blocks.sum(axis=0) + self.world
            if self.n_blocks > totals.shape[0]:  # the pool grew: new blocks start at zero
                totals = np.vstack([totals, np.zeros((self.n_blocks - totals.shape[0], N_STATS))])
            totals[: blocks.shape[0]] += blocks
            totals[0] += self.world  # pool-level flows are booked to the first block
            if progress is not None:
                progress(t + 1)
        stocks = [S[name] for name in STOCKS]
        totals[:, stocks] = 0.0
        totals[: blocks.shape[0], stocks] = blocks[:, stocks]
        totals[0, stocks] += self.world[stocks]
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
