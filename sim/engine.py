"""The simulation loop: observe, let the policy act, validate, step the kernels, account.

:class:`Simulation` owns one population and its day counter; :meth:`Simulation.run` plays a
policy over a horizon and returns a :class:`RunResult` with the summary, the daily series and
per-block totals (independent blocks of customers, used for standard errors).
"""

from __future__ import annotations

import copy
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from sim import invitations, kernels
from sim.config import Scenario
from sim.defaults import (BLOCK, CHANNELS, CONTENTS, COST_FLOWS, MONTH_DAYS, N_SLOTS, N_STATS, S, SLOTS,
                          STAT_NAMES, STOCKS)
from sim.observation import ACTION_LIMITS, Action, InvalidActionError, Observation
from sim._threads import engine_threads
from sim.acquisition import expected_daily_inflow
from sim.defaults import ACTIVE, GROUP, NOT_JOINED
from sim.guard import BYTES_PER_ROW, check_memory, whole_number
from sim.params import calendar_today, days_to_event, pack
from sim.protocol import Policy as PolicyLike
from sim.state import State, generate
from sim.world import GroupState, World

ACTION_ERRORS = {
    kernels.E_CHANNEL: "channel code out of range",
    kernels.E_CONTENT: "content code out of range",
    kernels.E_SLOT: "slot code out of range",
    kernels.E_UNREACHABLE: "channel no longer reaches this customer (muted, deleted or never joined)",
    kernels.E_CAP: "30-day contact cap of this channel is used up for this customer",
    kernels.E_DROPPED: "customer has left the pool",
}
"""What each error code of ``kernels.check_actions`` means, for messages naming the customer at fault."""
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
        self._joined_first = state is None or bool((self.state.status[:self.joined] != NOT_JOINED).all())
        """Whether the joined customers are the first rows (a given state may interleave unjoined rows)."""
        self.day = 0
        self.world = World(scenario, self.params, self.state.n, self.seed)
        """Pool-level rules and their state: groups, guides, platform folding, joiners."""
        self.per_guide = scenario.staff.customers_per_guide
        self._no_reward = np.zeros(0, np.float64)
        self._window_day = -1
        self._invite_enabled = invitations.invite_codes(scenario)
        self._day_view: tuple[int, State, tuple[np.ndarray, ...]] | None = None
        self._expected: np.ndarray | None = None
        self._size_buffers()
        with engine_threads(self.n):  # a small pool's first census through the serial twin, as every day's
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
        self._no_ask = np.zeros(rows, np.uint8)
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

    @property
    def day_rows(self) -> int:
        """Rows the day's customer kernel visits: the joined customers, to the end of their last block.

        The rows reserved for joiners after them are not in the pool yet (``NOT_JOINED``): the day would
        only skip them one by one (9% of the rows of a fresh 10,000-customer pool). Same results: those
        rows have no events, no statistics and no reward. Every row when a given state's unjoined rows
        are not all after its joined ones.
        """
        if not self._joined_first:
            return self.n
        return min(self.n, -(-self.joined // BLOCK) * BLOCK)

    def __getstate__(self) -> dict[str, Any]:
        """What a copy or a pickle keeps: everything but the cached views (a copy would detach them from its state)."""
        return {**self.__dict__, "_day_view": None}

    def _day_arrays(self) -> tuple[np.ndarray, ...]:
        """The state arrays' first :attr:`day_rows` rows, in kernel order (views, kept while rows and state stay)."""
        rows, st = self.day_rows, self.state
        kept = self._day_view
        if kept is None or kept[0] != rows or kept[1] is not st:
            kept = self._day_view = (rows, st, tuple(a[:rows] for a in st.columns()))
        return kept[2]

    def observe(self) -> Observation:
        """The CRM view of today, before today's contacts."""
        st = self.state
        self._open_window()
        return Observation(self.day, st.reach, st.last_purchase, st.first_purchase, st.frequency,
                           st.monetary, st.last_contact, st.last_flags, st.active_slot,
                           st.month_count, st.tier, self.params.caps, group_size=self.groups.size,
                           customers_per_guide=self.per_guide,
                           chat_capacity=self.scenario.staff.chat_capacity_per_day,
                           buffers=self._feature_buffers, event=calendar_today(self.scenario, self.day),
                           days_to_event=days_to_event(self.scenario, self.day), account=st.account,
                           member_until=st.member_until, invite_enabled=self._invite_enabled, gender=st.gender,
                           fan_tier=self.fan_tiers())

    def fan_tiers(self) -> np.ndarray | None:
        """Each fan's tier by interaction (0 for buyers), when the scenario runs fan tiers (``[fans]``)."""
        fans = self.scenario.fans
        if not fans.enabled:
            return None
        st = self.state
        return np.where(st.tier == 0, np.minimum(st.fan_opens // fans.opens_per_tier, 3), 0).astype(np.uint8)

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
        ask = None if action.ask is None else self._validate_ask(action.ask, ch)
        invite = None if action.invite is None else self._validate_invite(action.invite, ch)
        st = self.state
        code, i = kernels.check_actions(ch, ct, sl, st.reach, st.month_count, st.status,
                                        self.params.caps, len(CONTENTS), N_SLOTS)
        if code != kernels.E_OK:
            what = f"channel={int(ch[i])}, content={int(ct[i])}, slot={int(sl[i])}"
            raise InvalidActionError(f"day {self.day}, customer {i}: {ACTION_ERRORS[code]} ({what}); "
                                     f"allowed: {ACTION_LIMITS}, on reachable channels within caps")
        return Action(ch, ct, sl, ask, invite)

    def _validate_ask(self, ask: Any, channel: np.ndarray) -> np.ndarray:
        """``action.ask`` as uint8 0/1, or :class:`InvalidActionError`: an ask rides on a contact."""
        a = np.asarray(ask)
        if a.shape != (self.n,):
            raise InvalidActionError(f"action.ask has shape {a.shape}, expected ({self.n},)")
        if not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer)):
            raise InvalidActionError(f"action.ask must hold 0/1 or booleans, got {a.dtype}")
        bad = (a != 0) & (a != 1) | (a != 0) & (channel < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InvalidActionError(f"day {self.day}, customer {i}: action.ask={int(a[i])} is not allowed; "
                                     "ask is 0 or 1, and 1 only with a contact (an ask rides on a message)")
        return a.astype(np.uint8)

    def _validate_invite(self, invite: Any, channel: np.ndarray) -> np.ndarray:
        """``action.invite`` as uint8 codes, or :class:`InvalidActionError` (see :func:`sim.invitations.check`)."""
        st = self.state
        return invitations.check(invite, channel, st.reach, st.account, st.member_until > self.day, self.scenario,
                                 self.day)

    def step(self, action: Action | None = None, reward: np.ndarray | None = None) -> np.ndarray:
        """Advance one day; returns the day's record per block of customers, shape (blocks, N_STATS).

        Pool-level statistics of the day (joins, staff, groups) are booked into the first block, so
        the record's column sums are the day's totals. If ``reward`` (float64, length n) is given it
        receives each customer's net profit of the day.
        """
        with engine_threads(self.n):
            return self._step(action, reward)

    def expect_purchases(self) -> np.ndarray:
        """From today on, each customer's chance of a purchase the CRM sees, summed day by day (the array returned).

        Its sum over days is their expected purchases given the days' states: the purchases a forecast counts, with
        the noise of the purchase draws taken out (:func:`sim.kernels.organic_chance`). A day that contacts a
        customer adds whether they bought (the drawn purchase) instead: a contact's own response has no chance
        summed, and a drawn day is as unbiased, only noisier. The others' chances that day are summed as usual.
        """
        self._expected = np.zeros(self.joined)
        return self._expected

    def _step(self, action: Action | None, reward: np.ndarray | None) -> np.ndarray:
        self._open_window()
        action = self._none if action is None else self.validate(action)
        st, p, w = self.state, self.params, self.world
        action, moments_fold = w.deliver(self.day, action, st)
        stats = self._stats  # kept: growth at the end of the day reallocates the buffer
        stats[:] = 0.0
        g = w.groups
        today = calendar_today(self.scenario, self.day)
        drawn = None if self._expected is None else self._add_expected(action, today.need_pull, today.discount)
        kernels.step_day(self.day, self.seed, p.records.customer, p.records.channels, p.records.contents,
                         moments_fold,
                         today.need_pull, today.attention, today.discount,
                         action.channel, action.content, action.slot,
                         self._no_ask if action.ask is None else action.ask,
                         self._no_ask if action.invite is None else action.invite,
                         *self._day_arrays(), g.size, g.open_factor, g.conv_factor, g.trust_hit, g.heat,
                         w.per_guide, w.quality, stats,
                         self._no_reward if reward is None else reward, self.full_days)
        if drawn is not None:  # the contacted customers' day: whether they bought (one order a day, as the CRM's)
            rows, before = drawn
            self._expected[rows] += st.frequency[rows] != before
        if reward is not None:
            reward[self.day_rows:] = 0.0  # the reserved rows the kernel did not visit
        w.after_customers(self.day, stats, st, self.joined, today.cost)
        if today.kind:  # contacts that joined a calendar event (for the report's lever table)
            w.record[S["event_contacts"]] = stats[:, S["contacts"]].sum()
        if self.inflow:
            self._join(stats)
        stats[0] += w.record
        self.day += 1
        return stats

    def _add_expected(self, action: Action, need_pull: float, discount: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Add today's chances to :meth:`expect_purchases`' array (before the day's draws), but the contacted's.

        Returns the contacted customers' rows and their purchase counts before the day (None: nobody contacted), for
        the step to add whether they bought.
        """
        n, st, g = self._expected.size, self.state, self.world.groups
        rows = np.flatnonzero(action.channel[:n] >= 0)
        kept = self._expected[rows]  # a copy: their chance is not added
        kernels.organic_chance(self.params.records.customer, need_pull, discount, self.day, st.price_sens[:n],
                               st.cycle[:n], st.dropout[:n], st.salience[:n], st.fatigue[:n], st.trust[:n],
                               st.deal[:n], st.need_clock[:n], st.status[:n], st.reach[:n], st.tier[:n],
                               st.member_until[:n], st.first_purchase[:n], g.size, g.trust_hit,
                               self._expected)
        if rows.size == 0:
            return None
        self._expected[rows] = kept
        return rows, st.frequency[rows].copy()

    def inject_complaint(self, customer: int) -> None:
        """Make ``customer`` complain publicly in their group today (a what-if for group studies)."""
        st = self.state
        customer = whole_number("customer", customer, 0, self.joined - 1)
        if st.status[customer] != ACTIVE or not (st.reach[customer] >> GROUP) & 1:
            raise ValueError(f"customer {customer} is not an active group member")
        self.world.inject_complaint(customer)

    def _join(self, stats: np.ndarray) -> None:
        """Today's joiners take the next reserved rows (growing the arrays when they are full)."""
        joiners, settled = self.world.join(self.day, stats, self.state, self.joined)
        k = joiners.kind.size
        if not settled:
            self._grow(self.joined + k)
            self.world.settle(self.day, self.joined, joiners, self.state)
        self.joined += k

    def residual_blocks(self, policy: PolicyLike | None = None) -> np.ndarray:
        """Value of the pool handed over today, per block of customers (yuan): what it actually brings after.

        The discounted net profit of a continuation: the same customers (nobody joins), the same random
        numbers (the days after today), run on for ``economics.residual_horizon_days`` days under
        ``policy`` (default: the reference continuation, :func:`continuation_policy`), each day's profit
        discounted at ``economics.discount_rate_per_year``. A copy is run, so this simulation is untouched.
        Reach is worth what contacting through it brings, and salience and fatigue go on decaying, so a
        policy cannot raise this value without the continuation realising it.
        """
        out = np.zeros(self.n_blocks, np.float64)
        days = residual_days(self.scenario)
        if days == 0:
            return out
        fork = copy.deepcopy(self)
        fork.inflow = False
        policy = continuation_policy() if policy is None else policy
        policy.reset(fork.n, fork.seed)
        weights = discount_weights(self.scenario, days)
        for t in range(days):
            with engine_threads(fork.n):
                blocks = fork._step(policy.act(fork.observe()), None)
            out += weights[t] * net_profit(blocks)
        return out

    def residual_value(self, policy: PolicyLike | None = None) -> float:
        """Value of the pool handed over today (yuan; see :meth:`residual_blocks`)."""
        return float(self.residual_blocks(policy).sum())

    def potential(self) -> float:
        """Closed-form proxy of the pool's future margin (yuan): the RL shaping potential, not a value.

        Cheap enough to take every day; see :meth:`potential_rows`.
        """
        return float(self.potential_rows().sum())

    def potential_rows(self, out: np.ndarray | None = None) -> np.ndarray:
        """Closed-form proxy of each customer's future margin (yuan; float64, length n).

        Margin of the purchases a reachable active customer would make over the residual horizon if left
        alone at today's brand share. It ignores decay and which channels are left, so it is only fit to
        be a shaping potential (any potential keeps the optimal policy, Ng et al. 1999), never a headline.
        """
        st = self.state
        out = np.zeros(self.n, np.float64) if out is None else out
        with engine_threads(self.n):
            kernels.potential_rows(self.params.records.customer, st.value, st.price_sens, st.cycle, st.dropout,
                                   st.salience, st.trust, st.deal, st.status, st.reach, out)
        return out

    def run(self, policy: PolicyLike, days: int, progress: Callable[[int], None] | None = None,
            residual: bool = True) -> "RunResult":
        """Play ``policy`` for ``days`` days from the current state.

        With ``residual`` (default) the pool handed over at the end is valued by its continuation
        (:meth:`residual_blocks`); without it the residual is left at zero (for runs that are
        themselves a continuation).
        """
        days = whole_number("days", days, 1, MAX_DAYS)
        check_memory(f"{days:,} days of daily statistics", days * N_STATS * 8.0)
        policy.reset(self.n, self.seed)
        ledger = Ledger(self.n_blocks, days)
        for t in range(days):
            with engine_threads(self.n):  # the policy's jitted rules too
                ledger.add(self._step(policy.act(self.observe()), None))
            if progress is not None:
                progress(t + 1)
        daily, totals = ledger.daily(), ledger.block_totals(self.n_blocks)
        value = self.residual_blocks() if residual else np.zeros(totals.shape[0], np.float64)
        return RunResult.build(self, policy.name, days, daily, totals, value)


class Ledger:
    """The books of a run as its days come in: each day's totals and the sums per block of customers.

    Flows add up over days; stocks (pool size, heat, ...) keep the last day's level. One definition
    for :meth:`Simulation.run` and for adapters that step the engine themselves (the Mesa model).
    """

    def __init__(self, n_blocks: int, days: int = 0) -> None:
        self._daily = np.zeros((max(days, 1), N_STATS), np.float64)
        self.days = 0
        self._totals = np.zeros((n_blocks, N_STATS), np.float64)
        self._last = self._totals

    def add(self, blocks: np.ndarray) -> np.ndarray:
        """Book one day's record per block (:meth:`Simulation.step`); returns the day's totals."""
        if self.days == self._daily.shape[0]:
            self._daily = np.vstack([self._daily, np.zeros_like(self._daily)])
        row = self._daily[self.days]
        row[:] = blocks.sum(axis=0)
        self.days += 1
        if blocks.shape[0] > self._totals.shape[0]:  # the pool grew: new blocks start at zero
            grown = np.zeros((blocks.shape[0], N_STATS), np.float64)
            grown[: self._totals.shape[0]] = self._totals
            self._totals = grown
        self._totals[: blocks.shape[0]] += blocks
        self._last = blocks
        return row

    def daily(self) -> np.ndarray:
        """(days, N_STATS) totals of each day booked so far (a copy)."""
        return self._daily[: self.days].copy()

    def block_totals(self, n_blocks: int = 0) -> np.ndarray:
        """(blocks, N_STATS): flows summed over the days, stocks at the last day's level.

        ``n_blocks`` pads with empty blocks to the pool's current size (it may have grown on the last day).
        """
        totals = np.zeros((max(n_blocks, self._totals.shape[0]), N_STATS), np.float64)
        totals[: self._totals.shape[0]] = self._totals
        stocks = [S[name] for name in STOCKS]
        totals[:, stocks] = 0.0
        totals[: self._last.shape[0], stocks] = self._last[:, stocks]
        return totals


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
            "residual_days": residual_days(sim.scenario),
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


CONTINUATION = ("fatigue_capped", {})
"""The reference continuation policy that values the pool handed over: the rule kind and its parameters.

A respectful rule with its default settings: a frequency cap, quiet hours, need-timed offers, silence
after complaints, on WeCom, groups, Moments and the official account. SMS is left out, as in the rule's
defaults (its opens rarely pay for its unsubscribes), so a customer reachable only by SMS is worth their
organic purchases and no more.
"""


def residual_days(scenario: Scenario) -> int:
    """Days of the continuation that values the pool handed over (``economics.residual_horizon_days``)."""
    return int(round(scenario.economics.residual_horizon_days))


def discount_weights(scenario: Scenario, days: int) -> np.ndarray:
    """Discount factor of each continuation day's profit: day ``t`` (from 0) is paid ``t + 1`` days out."""
    daily = (1.0 + scenario.economics.discount_rate_per_year) ** (-1.0 / 365.0)
    return daily ** np.arange(1, days + 1, dtype=np.float64)


def continuation_policy() -> PolicyLike:
    """A fresh instance of the reference continuation policy (:data:`CONTINUATION`)."""
    from policies.registry import make_policy  # policies build on sim: imported when first needed

    kind, params = CONTINUATION
    return make_policy(kind, params, name="continuation")


def realize_residual(sim: Simulation) -> float:
    """Play the reference continuation on ``sim`` itself and return its discounted net profit (yuan).

    The check of :meth:`Simulation.residual_value` through the public run path: call it after a run,
    on the same simulation; it equals that run's ``residual_value``. ``sim`` is spent afterwards.
    """
    days = residual_days(sim.scenario)
    if days == 0:
        return 0.0
    sim.inflow = False
    after = sim.run(continuation_policy(), days, residual=False)
    return float(np.dot(discount_weights(sim.scenario, days), after.daily["net_profit"]))


def run(scenario: Scenario, policy: PolicyLike, customers: int | None = None, days: int = 180,
        seed: int = 0, progress: Callable[[int], None] | None = None) -> RunResult:
    """Draw a population for ``seed`` and play ``policy`` on it for ``days`` days."""
    return Simulation(scenario, customers, seed).run(policy, days, progress)


__all__ = ["Simulation", "RunResult", "Ledger", "run", "continuation_policy", "CONTINUATION", "realize_residual",
           "residual_days", "discount_weights", "code_version", "CHANNELS", "CONTENTS", "SLOTS"]
