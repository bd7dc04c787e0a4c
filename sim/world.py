"""The pool as a living system: groups, staff, platform folding, and customers joining.

Groups and guides are contiguous blocks of rows (group of row i = i // group size, guide of row i =
i // customers per guide), so each group's or guide's members are one slice and the kernels that
update them run in parallel over groups or guides, deterministically. Customers who join later
(acquisition, referral) take reserved rows at the end, in a fixed order, and so form new groups and
are served by new guides, as a growing brand's welfare groups and staff do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from sim.config import Scenario
from sim.defaults import (A4, ACTIVE, EV_GROUP_BUY, EV_GROUP_COMPLAINT, EV_GROUP_CONTACT, EV_GROUP_OPEN,
                          EV_GROUP_PROMO,
                          EV_REFERRED, GROUP, MOMENTS, NO_CONTACT, SMS, WECOM)
from sim.rng import P_JOIN, P_STAFF, draw, stream_key, u24
from sim.state import tier_of

OPEN_HEAT_HALF = 0.2
"""Heat at which a group's messages reach half of their full open rate (social attention)."""


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

    def params(self, scenario: Scenario, day: int) -> np.ndarray:
        """Scalars of the group kernel for ``day``."""
        gp = scenario.groups
        shill = 0.0
        if gp.shills > 0 and day >= gp.shill_start_day:
            shill = gp.shills * gp.shill_heat * 0.5 ** ((day - gp.shill_start_day) / gp.shill_half_life_days)
        return np.array([0.5 ** (1 / gp.heat_half_life_days), gp.engagement_heat, gp.promotion_drain, shill,
                         0.5 ** (1 / gp.damage_half_life_days), gp.complaint_damage * (1 - gp.complaint_response),
                         gp.complaint_trust_hit * (1 - gp.complaint_response), gp.death_heat,
                         gp.heat_conversion, gp.resting_heat], np.float64)


@njit(cache=True, parallel=True)
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


@njit(cache=True, parallel=True)
def groups_day(gp, size, status, reach, events, heat, damage, alive, formed, members, open_factor,
               conv_factor, trust_hit, tally, out):  # pragma: no cover - jitted
    """Update every group from its members' events of the day; ``out`` gets (alive, heat sum, members)."""
    n = status.shape[0]
    ng = heat.shape[0]
    decay, engage, drain, shill, dmg_decay, dmg_step, hit_step, death, heat_conv, rest = (
        gp[0], gp[1], gp[2], gp[3], gp[4], gp[5], gp[6], gp[7], gp[8], gp[9])
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
def ration_chats(act_channel, account, status, per_guide, capacity, load, personal_load):  # pragma: no cover
    """Cancel 1:1 contacts beyond each guide's daily capacity (in row order); returns how many."""
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
        if account[i] == 1:
            personal_load[s] += 1
    return dropped


@njit(cache=True, parallel=True)
def staff_day(seed, day, per_guide, capacity, turnover, ban_threshold, ban_rate, delay_hours, delay_quality,
              load, personal_load, status, reach, account, quality, lost, banned, departed):  # pragma: no cover
    """Guides leave or get banned; their personal-WeChat customers go with them. Sets tomorrow's quality."""
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
                if status[i] == ACTIVE and account[i] == 1 and (reach[i] >> WECOM) & 1:
                    reach[i] = np.uint8(reach[i] & (0xFF ^ ((1 << WECOM) | (1 << MOMENTS))))
                    lost[s] += 1
        busy = load[s] / capacity if capacity > 0 else 0.0
        quality[s] = np.exp(-delay_quality * delay_hours * (1.0 + 2.0 * busy))


@njit(cache=True)
def referral_inviters(events, blocks, block):  # pragma: no cover - jitted
    """Rows that referred a friend today, in row order, scanning only ``blocks`` (those with referrals)."""
    n = events.shape[0]
    count = 0
    for b in blocks:
        for i in range(b * block, min((b + 1) * block, n)):
            if events[i] & EV_REFERRED:
                count += 1
    out = np.empty(count, np.int64)
    k = 0
    for b in blocks:
        for i in range(b * block, min((b + 1) * block, n)):
            if events[i] & EV_REFERRED:
                out[k] = i
                k += 1
    return out


@njit(cache=True, parallel=True)
def settle_joiners(rows, kind, age, trust0, day, group_reach, thr, value, cycle, salience, trust, need_clock,
                   reach, last_purchase, first_purchase, frequency, monetary, tier, stage, origin,
                   seed):  # pragma: no cover - jitted
    """Turn freshly drawn rows into joiners of ``kind`` (ORIGINS index): who they are on day one."""
    key = stream_key(seed, day, P_JOIN)
    for j in prange(rows.shape[0]):
        i = rows[j]
        k = kind[j]
        origin[i] = k
        r = (1 << WECOM) | (1 << MOMENTS)
        if u24(draw(key, i), 0) < group_reach:
            r |= 1 << GROUP
        if k == 1:  # a public-domain order: the phone number comes with it
            r |= 1 << SMS
        reach[i] = r
        if k == 1:
            a = int(age[j])
            frequency[i] = 1
            monetary[i] = value[i]
            last_purchase[i] = day - a
            first_purchase[i] = day - a
            need_clock[i] = a
            tier[i] = tier_of(monetary[i], thr[0], thr[1], thr[2])
            stage[i] = A4
            salience[i] = 0.75
        else:
            frequency[i] = 0
            monetary[i] = 0.0
            last_purchase[i] = -1_000_000
            first_purchase[i] = -1_000_000
            tier[i] = 0
            stage[i] = 1
            salience[i] = 0.6 if k != 3 else 0.4
            if k == 4:
                trust[i] = trust0[j]
                need_clock[i] = int(age[j] * cycle[i])
