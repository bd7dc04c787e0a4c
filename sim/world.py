"""The pool as a living system: groups, staff, platform folding, and customers joining.

Groups and guides are contiguous blocks of rows (group of row i = i // group size, guide of row i =
i // customers per guide), so each group's or guide's members are one slice and the kernels that
update them run in parallel over groups or guides, deterministically. Customers who join later
(acquisition, referral) take reserved rows at the end, in a fixed order, and so form new groups and
are served by new guides, as a growing brand's welfare groups and staff do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange

from sim._threads import twin

from sim.config import Scenario
from sim.defaults import (A2, A4, ACCOUNT_PERSONAL, ACTIVE, EV_GROUP_BUY, EV_GROUP_COMPLAINT, EV_GROUP_CONTACT,
                          EV_GROUP_OPEN, EV_GROUP_PROMO, EV_REFERRED, GROUP, MOMENTS, NEVER, NO_CONTACT, ORIGIN_AD,
                          ORIGIN_ORDER, ORIGIN_REFERRAL, BLOCK, N_STATS, S, SMS, WECOM)
from sim.acquisition import JOIN_STATS, JoinRates, Joiners, _joiner_rows, joiner_draws, joining_cost
from sim.observation import Action
from sim.params import KernelParams, shill_heat
from sim.rng import P_JOIN, P_STAFF, draw, stream_key, u24
from sim.state import State, _generate, tier_of

OPEN_HEAT_HALF = 0.2
"""Heat at which a group's messages reach half of their full open rate (social attention)."""
JOIN_SALIENCE_ORDER = 0.75
"""Salience of a buyer who adds the brand after a public-domain order: they just bought."""
JOIN_SALIENCE = 0.6
"""Salience of a store visitor or referred friend on the day they join."""
JOIN_SALIENCE_AD = 0.4
"""Salience of a customer added through a paid ad: the weakest tie."""
GROUP_CENSUS = ("groups_alive", "group_heat_sum", "group_members")
"""What :func:`groups_day` counts into its ``out``, in order: adjacent columns of the day's record."""
GROUP_COLUMNS = slice(S[GROUP_CENSUS[0]], S[GROUP_CENSUS[-1]] + 1)
"""The record's columns of :data:`GROUP_CENSUS`, where :meth:`World.after_customers` has the census written."""
assert [S[c] for c in GROUP_CENSUS] == list(range(GROUP_COLUMNS.start, GROUP_COLUMNS.stop)), "not adjacent"
JOIN_COLUMNS = np.array([S[name] for name in JOIN_STATS])
"""Columns of the day's record that :data:`~sim.acquisition.JOIN_STATS` are booked into."""
ACQUIRED = S["acquired"]
"""Column of the day's record that counts the day's joiners."""
ACQUISITION_COST = S["acquisition_cost"]
"""Column of the day's record with what the day's joiners cost."""
MOMENTS_AUDIENCE, MOMENTS_DELIVERED = S["moments_audience"], S["moments_delivered"]
"""Columns of the day's record that :func:`moments_crowded` compares."""


@dataclass
class GroupState:
    """Struct of arrays over groups: heat, complaint damage, and today's factors for the step kernel."""

    size: int
    heat: np.ndarray  # float64, 0-1: activity of the group
    damage: np.ndarray  # float64, 0-1: share of conversion lost to public complaints
    alive: np.ndarray  # uint8: 1 while the group is read; a dead group stays dead
    formed: np.ndarray  # uint8: 1 once the group has had members
    members: np.ndarray  # int32: active members reachable on the group channel
    open_factor: np.ndarray  # float64: multiplier of group open rates tomorrow
    conv_factor: np.ndarray  # float64: multiplier of group conversion tomorrow
    trust_hit: np.ndarray  # float64: trust each member loses tomorrow (public complaints)
    tally: np.ndarray  # int64 (groups, 4): cumulative group-channel contacts, opens, purchases, complaints

    @classmethod
    def create(cls, rows: int, size: int, heat_start: float) -> "GroupState":
        """Groups covering ``rows`` rows, all at ``heat_start``."""
        g = (rows + size - 1) // size
        return cls(size, np.full(g, heat_start), np.zeros(g), np.ones(g, np.uint8), np.zeros(g, np.uint8),
                   np.zeros(g, np.int32), np.ones(g), np.ones(g), np.zeros(g), np.zeros((g, 4), np.int64))

    def grown(self, rows: int, heat_start: float) -> "GroupState":
        """The same groups plus new, unformed groups covering ``rows`` rows."""
        new = GroupState.create(rows, self.size, heat_start)
        g = self.heat.shape[0]
        for name in ("heat", "damage", "alive", "formed", "members", "open_factor", "conv_factor", "trust_hit",
                     "tally"):
            getattr(new, name)[:g] = getattr(self, name)
        return new


@twin(cache=True)
def broadcast_posts(channel, content, slot, reach, status, month_count, cap, size):  # pragma: no cover - jitted
    """Turn group messages into group posts (changes the action arrays in place).

    In a group where any member is sent a group message, every active member still in the group
    with cap left and no other contact today receives the first such member's message (content
    and slot).
    """
    n = channel.shape[0]
    for g in prange((n + size - 1) // size):
        lo, hi = g * size, min((g + 1) * size, n)
        first = -1
        for i in range(lo, hi):
            if channel[i] == GROUP:
                first = i
                break
        if first < 0:
            continue
        k, s = content[first], slot[first]
        for i in range(lo, hi):
            c = channel[i]
            if c == GROUP or (c == NO_CONTACT and status[i] == ACTIVE and (reach[i] >> GROUP) & 1
                              and month_count[i, GROUP] < cap):
                channel[i] = GROUP
                content[i] = k
                slot[i] = s


@twin(light=True, cache=True)
def groups_day(gp_rec, shill, size, status, reach, events, heat, damage, alive, formed, members, open_factor,
               conv_factor, trust_hit, tally, out):  # pragma: no cover - jitted
    """Update every group from its members' events of the day; ``out`` gets (alive, heat sum, members).

    ``gp_rec`` is the :class:`~sim.params.GroupParams` of the scenario as a record
    (:attr:`sim.params.KernelParams.records`), ``shill`` the heat shills add today.
    """
    gp = gp_rec[0]
    n = status.shape[0]
    ng = heat.shape[0]
    decay, engage, drain, rest = gp.heat_decay, gp.engagement_heat, gp.promotion_drain, gp.resting_heat
    dmg_decay, dmg_step, hit_step = gp.damage_decay, gp.complaint_damage, gp.complaint_trust_hit
    death, heat_conv = gp.death_heat, gp.heat_conversion
    for g in prange(ng):
        lo = g * size
        hi = min(lo + size, n)
        ev, st, rc = events[lo:hi], status[lo:hi], reach[lo:hi]  # slices: the loop vectorizes
        m = 0
        opens = 0
        promos = 0
        complaints = 0
        contacts = 0
        buys = 0
        for j in range(ev.shape[0]):
            e = ev[j]
            m += (st[j] == ACTIVE) & ((rc[j] >> GROUP) & 1 == 1)
            opens += (e & EV_GROUP_OPEN) != 0
            promos += (e & EV_GROUP_PROMO) != 0
            complaints += (e & EV_GROUP_COMPLAINT) != 0
            contacts += (e & EV_GROUP_CONTACT) != 0
            buys += (e & EV_GROUP_BUY) != 0
        tally[g, 0] += contacts
        tally[g, 2] += buys
        tally[g, 1] += opens
        tally[g, 3] += complaints
        members[g] = m
        if m > 0:
            formed[g] = 1
        h = rest + (heat[g] - rest) * decay
        if m > 0:
            h += engage * (opens / m) * (1.0 - h) - drain * (promos / m) * h
        h += shill * (1.0 - h)
        h = min(max(h, 0.0), 1.0)
        heat[g] = h
        if formed[g] and (h < death or m == 0):
            alive[g] = 0
        d = damage[g] * dmg_decay
        for _ in range(complaints):
            d += dmg_step * (1.0 - d)
        damage[g] = d
        trust_hit[g] = hit_step * complaints
        if alive[g]:
            open_factor[g] = (1.0 + OPEN_HEAT_HALF) * h / (h + OPEN_HEAT_HALF)
            conv_factor[g] = max(0.0, (1.0 - d) * (1.0 + heat_conv * (h - 0.5)))
        else:
            open_factor[g] = 0.0
            conv_factor[g] = 0.0
    out[0] = 0.0
    out[1] = 0.0
    out[2] = 0.0
    for g in range(ng):
        if formed[g] and alive[g]:
            out[0] += 1.0
            out[1] += heat[g]
        out[2] += members[g]


@njit(cache=True)
def ration_chats(act_channel, account, status, sp_rec, load, personal_load):  # pragma: no cover
    """Cancel 1:1 contacts beyond each guide's daily capacity (in row order); returns how many."""
    sp = sp_rec[0]
    per_guide, capacity = sp.customers_per_guide, sp.chat_capacity
    load[:] = 0
    personal_load[:] = 0
    dropped = 0
    for i in range(act_channel.shape[0]):
        if act_channel[i] != WECOM:
            continue
        s = i // per_guide
        if load[s] >= capacity:
            act_channel[i] = -1
            dropped += 1
            continue
        load[s] += 1
        if account[i] == ACCOUNT_PERSONAL:
            personal_load[s] += 1
    return dropped


@twin(cache=True)
def staff_day(seed, day, sp_rec, load, personal_load, status, reach, account, quality, lost, banned,
              departed):  # pragma: no cover - jitted
    """Guides leave or get banned; their personal-WeChat customers go with them. Sets tomorrow's quality."""
    sp = sp_rec[0]
    per_guide, capacity, turnover = sp.customers_per_guide, sp.chat_capacity, sp.turnover
    ban_threshold, ban_rate = sp.ban_threshold, sp.ban_rate
    delay_hours, delay_quality = sp.response_delay, sp.delay_quality
    ns = quality.shape[0]
    n = status.shape[0]
    key = stream_key(seed, day, P_STAFF)
    for s in prange(ns):
        bits = draw(key, s)
        gone = u24(bits, 0) < turnover
        ban = False
        if ban_threshold > 0 and personal_load[s] > ban_threshold:
            ban = u24(bits, 1) < ban_rate * (personal_load[s] / ban_threshold - 1.0)
        lost[s] = 0
        banned[s] = 1 if ban else 0
        departed[s] = 1 if gone else 0
        if gone or ban:
            for i in range(s * per_guide, min((s + 1) * per_guide, n)):
                if status[i] == ACTIVE and account[i] == ACCOUNT_PERSONAL and (reach[i] >> WECOM) & 1:
                    reach[i] = np.uint8(reach[i] & (0xFF ^ ((1 << WECOM) | (1 << MOMENTS))))
                    lost[s] += 1
        busy = load[s] / capacity if capacity > 0 else 0.0
        quality[s] = np.exp(-delay_quality * delay_hours * (1.0 + 2.0 * busy))


@njit(cache=True)
def inviter_trust(events, trust, referrals, block):  # pragma: no cover - jitted
    """Trust of the rows that referred a friend today, in row order, scanning only the blocks with ``referrals``.

    ``referrals`` is the day's referral count per block of ``block`` rows (a column of the day's record).
    """
    n = events.shape[0]
    count = 0
    for b in range(referrals.shape[0]):
        if referrals[b] > 0:
            for i in range(b * block, min((b + 1) * block, n)):
                count += (events[i] & EV_REFERRED) != 0
    out = np.empty(count, np.float64)
    k = 0
    for b in range(referrals.shape[0]):
        if referrals[b] > 0:
            for i in range(b * block, min((b + 1) * block, n)):
                if events[i] & EV_REFERRED:
                    out[k] = trust[i]
                    k += 1
    return out


@twin(cache=True)
def settle_joiners(rows, kind, age, trust0, day, jp_rec, value, cycle, salience, trust, need_clock,
                   reach, last_purchase, first_purchase, frequency, monetary, tier, stage, origin,
                   seed):  # pragma: no cover - jitted
    """Turn freshly drawn rows into joiners of ``kind`` (ORIGINS index): who they are on day one."""
    jp = jp_rec[0]
    key = stream_key(seed, day, P_JOIN)
    thr = jp.tier_thresholds.copy()
    group_reach = jp.group_reach  # plain values: a record may not cross into numba's parallel region
    for j in prange(rows.shape[0]):
        i = rows[j]
        k = kind[j]
        origin[i] = k
        r = (1 << WECOM) | (1 << MOMENTS)
        if u24(draw(key, i), 0) < group_reach:
            r |= 1 << GROUP
        if k == ORIGIN_ORDER:  # a public-domain order: the phone number comes with it
            r |= 1 << SMS
        reach[i] = r
        if k == ORIGIN_ORDER:
            a = int(age[j])
            frequency[i] = 1
            monetary[i] = value[i]
            last_purchase[i] = day - a
            first_purchase[i] = day - a
            need_clock[i] = a
            tier[i] = tier_of(monetary[i], thr[0], thr[1], thr[2])
            stage[i] = A4
            salience[i] = JOIN_SALIENCE_ORDER
        else:
            frequency[i] = 0
            monetary[i] = 0.0
            last_purchase[i] = NEVER
            first_purchase[i] = NEVER
            tier[i] = 0
            stage[i] = A2
            salience[i] = JOIN_SALIENCE_AD if k == ORIGIN_AD else JOIN_SALIENCE
            if k == ORIGIN_REFERRAL:
                trust[i] = trust0[j]
                need_clock[i] = int(age[j] * cycle[i])


_generate_serial = _generate.serial
_settle_serial = settle_joiners.serial


@njit(cache=True)
def join_rows(first, seed, day, pp_rec, jp_rec, kind, age, trust0,
              value, price_sens, receptive, cycle, slot_mask, dropout, referral,
              salience, fatigue, trust, deal, need_clock, status,
              reach, last_purchase, first_purchase, frequency, monetary, last_contact,
              last_flags, active_slot, month_count, tier, stage, account, origin, events,
              member_until, gender, fan_opens):  # pragma: no cover - jitted
    """Draw the day's joiners into rows ``first``, ``first + 1``, ... and settle them in, in one compiled call.

    What :func:`~sim.state.redraw` then :func:`settle_joiners` do (their serial twins, the same values), for
    customers drawn on ``day`` (the day after the one they joined on). Why one call: a day's few dozen
    joiners cost less than the two calls' Python wrappers and argument passing, a fixed cost of every day.
    """
    rows = np.arange(first, first + kind.shape[0], 1, np.int64)
    _generate_serial(np.int64(seed), np.int64(day), rows, pp_rec,
                     value, price_sens, receptive, cycle, slot_mask, dropout, referral,
                     salience, fatigue, trust, deal, need_clock, status,
                     reach, last_purchase, first_purchase, frequency, monetary, last_contact,
                     last_flags, active_slot, month_count, tier, stage, account, origin, events,
                     member_until, gender, fan_opens)
    _settle_serial(rows, kind, age, trust0, day, jp_rec, value, cycle, salience, trust, need_clock,
                   reach, last_purchase, first_purchase, frequency, monetary, tier, stage, origin, seed)


@njit(cache=True)
def join_day(friends_join, invitee_need, inherit_trust, referrals, draws, max_age, order_add, store, ads, first, seed,
             day, pp_rec, jp_rec, record,
             value, price_sens, receptive, cycle, slot_mask, dropout, referral, salience, fatigue, trust,
             deal, need_clock, status, reach, last_purchase, first_purchase, frequency, monetary, last_contact,
             last_flags, active_slot, month_count, tier, stage, account, origin, events,
             member_until, gender, fan_opens):  # pragma: no cover - jitted
    """The day's joiners in one compiled call: laid out, then drawn and settled in when the rows hold them.

    Today's inviters' friends come first, then the drawn ones; when the rows from ``first`` on hold them
    all, they are drawn and settled in for ``day`` (the day after joining). ``friends_join`` says whether
    invited friends join; ``referrals`` is the day's referral count per block;
    the rest of the joiners come as :class:`~sim.acquisition.JoinDraws`. Their counts are booked into the
    day's ``record`` (:data:`JOIN_COLUMNS`, :data:`ACQUIRED`). Returns (kind, age, trust, counts, settled): the
    joiners (:class:`~sim.acquisition.Joiners`' arrays), their :data:`~sim.acquisition.JOIN_STATS` counts and
    whether they were settled (when not, the caller grows the state and calls :func:`join_rows`).
    """
    inviters = inviter_trust(events, trust, referrals, BLOCK)
    refs = inviters.shape[0] if friends_join else 0
    kind, age, trust0, counts = _joiner_rows(refs, invitee_need, inherit_trust, inviters, draws, max_age,
                                             order_add, store, ads)
    for k in range(counts.shape[0]):
        record[JOIN_COLUMNS[k]] += counts[k]
    record[ACQUIRED] = kind.shape[0]
    settled = first + kind.shape[0] <= value.shape[0]
    if settled and kind.shape[0] > 0:
        join_rows(first, seed, day, pp_rec, jp_rec, kind, age, trust0,
                  value, price_sens, receptive, cycle, slot_mask, dropout, referral,
                  salience, fatigue, trust, deal, need_clock, status,
                  reach, last_purchase, first_purchase, frequency, monetary, last_contact,
                  last_flags, active_slot, month_count, tier, stage, account, origin, events,
                  member_until, gender, fan_opens)
    return kind, age, trust0, counts, settled


@njit(cache=True)
def moments_crowded(stats, share):  # pragma: no cover - jitted
    """Whether the day's Moments posts per audience member passed ``share`` (``stats``: the day's record by block).

    WeChat then folds the brand's Moments for ``platform.fold_days``. One compiled call: two column sums of a
    few blocks cost more in numpy's calls than in their additions, every day.
    """
    audience = 0.0
    posted = 0.0
    for b in range(stats.shape[0]):
        audience += stats[b, MOMENTS_AUDIENCE]
        posted += stats[b, MOMENTS_DELIVERED]
    return audience > 0 and posted / audience > share


class World:
    """Pool-level rules around the customers' day: group posts, guides, platform folding, costs and joiners.

    :class:`~sim.engine.Simulation` orchestrates the day; this holds the state of groups and guides
    and the rules that act on the pool as a whole. Its statistics of the day (:attr:`record`, one
    row of :data:`~sim.defaults.STAT_NAMES`; its columns are disjoint from the customer kernel's)
    are booked into the first block of the day's record.
    """

    def __init__(self, scenario: Scenario, params: KernelParams, rows: int, seed: int) -> None:
        self.scenario = scenario
        self.params = params
        self.seed = seed
        self.groups = GroupState.create(rows, scenario.groups.size, scenario.groups.heat_start)
        self.per_guide = scenario.staff.customers_per_guide
        self.join_rates = JoinRates.of(scenario)
        self.quality = np.ones(0, np.float64)
        self.record = np.zeros(N_STATS, np.float64)
        """Pool-level statistics of the current day."""
        self._folded_until = -1
        self._group_week = np.zeros((0, 7), np.int64)  # group-channel contacts of each group, last 7 days
        self._group_folded_until = np.zeros(0, np.int64)  # last day each group chat is folded (-1: never)
        self._injected: list[int] = []
        self.resize(rows)

    def resize(self, rows: int) -> None:
        """Cover ``rows`` rows: new groups start unformed, new guides at full quality."""
        if rows > self.groups.heat.shape[0] * self.groups.size:
            self.groups = self.groups.grown(rows, self.scenario.groups.heat_start)
        ng, had = self.groups.heat.shape[0], self._group_week.shape[0]
        if ng > had:
            self._group_week = np.concatenate([self._group_week, np.zeros((ng - had, 7), np.int64)])
            self._group_folded_until = np.concatenate([self._group_folded_until, np.full(ng - had, -1, np.int64)])
        guides = (rows + self.per_guide - 1) // self.per_guide if self.per_guide > 0 else 1
        old = self.quality
        self.quality = np.ones(guides, np.float64)
        self.quality[: old.shape[0]] = old
        self._load = np.zeros(guides, np.int64)
        self._personal_load = np.zeros(guides, np.int64)
        self._staff_out = np.zeros((3, guides), np.int64)  # lost customers, bans, departures: refilled every day

    def start(self, day: int, state: State) -> None:
        """Set the groups' factors for the first day."""
        self.update_groups(day, state, np.zeros(3))

    def inject_complaint(self, customer: int) -> None:
        """Make ``customer`` complain publicly in their group today."""
        self._injected.append(int(customer))

    def deliver(self, day: int, action: Action, state: State) -> tuple[Action, float]:
        """Today's deliveries: group messages become posts, 1:1 chats beyond capacity drop; the Moments fold factor."""
        sc, st = self.scenario, state
        self.record[:] = 0.0
        channel = action.channel
        if sc.groups.broadcast and (channel == GROUP).any():  # a group message is a post to the group
            action = replace(action, channel=channel.copy(), content=action.content.copy(), slot=action.slot.copy())
            channel = action.channel
            broadcast_posts(channel, action.content, action.slot, st.reach, st.status, st.month_count,
                            int(self.params.caps[GROUP]), self.groups.size)
        if self.per_guide > 0 and (channel == WECOM).any():
            channel = channel.copy()  # 1:1 chats beyond a guide's capacity are not delivered
            self.record[S["undelivered_capacity"]] = ration_chats(channel, st.account, st.status,
                                                                  self.params.records.staff, self._load,
                                                                  self._personal_load)
            action = replace(action, channel=channel)
        fold = sc.platform.fold_factor if day <= self._folded_until else 1.0
        return action, fold

    def update_groups(self, day: int, state: State, out: np.ndarray) -> None:
        """Group heat, damage and tomorrow's factors from today's events; ``out`` gets (alive, heat, members)."""
        g, st = self.groups, state
        folding = self.scenario.platform.group_fold_per_week > 0
        before = g.tally[:, 0].copy() if folding else None  # today's group contacts, only when groups can fold
        groups_day(self.params.records.groups, shill_heat(self.scenario, day), g.size, st.status, st.reach, st.events,
                   g.heat, g.damage, g.alive, g.formed, g.members, g.open_factor, g.conv_factor, g.trust_hit,
                   g.tally, out)
        if folding:
            self.fold_groups(day, g.tally[:, 0] - before)

    def fold_groups(self, day: int, contacts: np.ndarray) -> None:
        """Fold the group chats whose members got more than ``platform.group_fold_per_week`` messages in 7 days.

        ``contacts`` are today's group-channel contacts per group. A folded group's open factor (tomorrow's,
        set by :func:`groups_day`) is multiplied by ``platform.fold_factor`` until ``fold_days`` after the
        day it crossed the line, as WeChat folds over-active Moments (《价值千万的私域心法》).
        """
        pf, g = self.scenario.platform, self.groups
        self._group_week[:, day % 7] = contacts
        per_member = self._group_week.sum(axis=1) / np.maximum(g.members, 1)
        crossed = (g.members > 0) & (per_member > pf.group_fold_per_week)
        self._group_folded_until[crossed] = day + pf.fold_days
        folded = self._group_folded_until >= day + 1
        g.open_factor[folded] *= pf.fold_factor
        self.record[S["group_days_folded"]] = float(folded.sum())

    def after_customers(self, day: int, stats: np.ndarray, state: State, joined: int,
                        event_cost: float = 0.0) -> None:
        """Groups, guides, platform folding and running costs (``event_cost``: today's events) after the day."""
        sc, w, st = self.scenario, self.record, state
        for i in self._injected:
            st.events[i] |= EV_GROUP_COMPLAINT
        self._injected.clear()
        self.update_groups(day, st, w[GROUP_COLUMNS])  # the census straight into the record
        if self.per_guide > 0:
            guides = -(-joined // self.per_guide)
            lost, banned, departed = self._staff_out
            staff_day(self.seed, day, self.params.records.staff, self._load, self._personal_load, st.status, st.reach,
                      st.account, self.quality, lost, banned, departed)
            w[S["staff_lost_customers"]] = lost.sum()
            w[S["banned_accounts"]] = banned[:guides].sum()
            w[S["staff_departures"]] = departed[:guides].sum()
            w[S["running_cost"]] += sc.staff.salary_per_day * guides
        w[S["running_cost"]] += sc.economics.running_cost_per_day + event_cost
        if moments_crowded(stats, sc.platform.moments_fold_share):
            self._folded_until = day + sc.platform.fold_days
        w[S["joined"]] = joined  # the census above saw these; today's joiners count from tomorrow

    def join(self, day: int, stats: np.ndarray, state: State, first: int) -> tuple[Joiners, bool]:
        """Who joins today (referred friends of today's inviters first), their cost and counts booked.

        Returns them and whether they were settled into the rows from ``first`` on (when not: grow, then
        :meth:`settle`).
        """
        r, rec = self.join_rates, self.params.records
        drawn = joiner_draws(r, self.seed, day)
        kind, age, trust, counts, settled = join_day(r.referral, r.invitee_need, r.inherit_trust,
                                                     stats[:, S["referrals"]], drawn.draws, r.max_age, r.order_add,
                                                     drawn.store, drawn.ads, first, self.seed, day + 1,
                                                     rec.population, rec.joiners, self.record, *state.columns())
        joiners = Joiners(kind, age, trust, joining_cost(r, int(counts[0]), drawn), counts)
        self.record[ACQUISITION_COST] += joiners.cost
        return joiners, settled

    def settle(self, day: int, first: int, joiners: Joiners, state: State) -> None:
        """Draw the joiners into rows from ``first`` on (in join order); who they are on the day after ``day``.

        By the serial kernels whatever the pool size: a parallel launch costs more than a day's few hundred
        joiners (and waits for a descheduled thread on a busy machine).
        """
        rec = self.params.records
        join_rows(first, self.seed, day + 1, rec.population, rec.joiners, joiners.kind, joiners.age, joiners.trust,
                  *state.columns())
