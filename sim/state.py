"""Population state as a struct of arrays: one numpy array per field, one row per customer.

Fields fall in three groups: traits (drawn once), hidden state (what the customer feels; never
shown to a policy) and the CRM record (what the brand can see). :func:`generate` draws a
population from a scenario with the counter-based generator, so customer ``i`` of seed ``s`` is
the same customer whatever the pool size or thread count.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields

import numpy as np
from numba import njit, prange

from sim.config import Scenario
from sim.defaults import (A1, A2, A4, A5, ACCOUNT_PERSONAL, ACCOUNT_WECOM, ACTIVE, GENDER_FEMALE, GENDER_MALE,
                          N_CHANNELS, NEVER, NOT_JOINED)
from sim._threads import PARALLEL_FROM, twin
from sim.params import POPULATION, as_record, pack_group
from sim.rng import (DAY_HABITS, DAY_TRAITS, P_EPISODE, P_INITIAL, P_TRAITS, SALT_ACCOUNT, SALT_BUYER,
                     SALT_GENDER, SALT_HISTORY, SALT_REACH, SALT_SLOTS, SALT_TRAITS_SECOND, draw, normal_pair,
                     stream_key, u21, u24)

TRAITS = ("value", "price_sens", "receptive", "cycle", "slot_mask", "dropout", "referral", "gender")
HIDDEN = ("salience", "fatigue", "trust", "deal", "need_clock", "status")
CRM = ("reach", "last_purchase", "first_purchase", "frequency", "monetary", "last_contact",
       "last_flags", "active_slot", "month_count", "tier", "stage", "account", "origin")


@dataclass
class State:
    """Struct-of-arrays state of ``n`` customers (see module docstring for the three groups)."""

    # traits
    value: np.ndarray  # float32, yuan: list price of this customer's usual order
    price_sens: np.ndarray  # float32, 0-1: deal-proneness
    receptive: np.ndarray  # float32, 0-1: receptiveness to new products (age band)
    cycle: np.ndarray  # float32, days: personal repurchase cycle
    slot_mask: np.ndarray  # uint8, bit s set when active in slot s
    dropout: np.ndarray  # float32, 1/day: base hazard of leaving the category
    referral: np.ndarray  # float32, 1/day: referral propensity as an advocate with full trust
    # hidden state
    salience: np.ndarray  # float32, 0-1: how present the brand is in the customer's mind
    fatigue: np.ndarray  # float32, >=0: accumulated annoyance from contacts
    trust: np.ndarray  # float32, 0-1: built by content and service, eroded by spam
    deal: np.ndarray  # float32, 0-1: discount the customer has learned to wait for
    need_clock: np.ndarray  # int16, days since the customer's need was last met (anywhere)
    status: np.ndarray  # uint8: ACTIVE or DROPPED (left for good)
    # CRM record
    reach: np.ndarray  # uint8, bit c set while channel c reaches the customer
    last_purchase: np.ndarray  # int32, day of the last purchase from the brand (NEVER if none)
    first_purchase: np.ndarray  # int32, day of the first purchase (NEVER if none)
    frequency: np.ndarray  # int16, purchases from the brand
    monetary: np.ndarray  # float32, yuan spent with the brand
    last_contact: np.ndarray  # int32, day of the last contact (NEVER if none)
    last_flags: np.ndarray  # uint8, FLAG_* bits of the last contact's outcome
    active_slot: np.ndarray  # int8, slot of the last observed activity: an open or an order (-1 if none)
    month_count: np.ndarray  # uint8 (n, channels), contacts in the current 30-day cap window
    tier: np.ndarray  # int8, 0 fan, 1-3 member tiers by spend
    stage: np.ndarray  # int8, 5A stage 0-4
    account: np.ndarray  # uint8, ACCOUNT_WECOM or ACCOUNT_PERSONAL: where the guide holds the 1:1 chat
    origin: np.ndarray  # uint8, index into ORIGINS: how the customer joined
    events: np.ndarray  # uint8, EV_* bits of today's events (scratch for the group and referral kernels)
    member_until: np.ndarray  # int32, day a paid membership runs out (NEVER if never a paid member)
    gender: np.ndarray  # uint8, GENDER_FEMALE or GENDER_MALE: a trait the CRM sees (the WeChat profile)
    fan_opens: np.ndarray  # uint8, messages a fan (never bought) opened while fan tiers run, capped at 255

    @property
    def n(self) -> int:
        """Number of customers."""
        return int(self.value.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """All fields by name."""
        return dict(zip(_FIELDS, _columns(self)))

    def columns(self) -> tuple[np.ndarray, ...]:
        """All fields in kernel argument order (what a kernel taking the whole state is passed, every day)."""
        return _columns(self)

    def nbytes_per_customer(self) -> float:
        """Bytes of state per customer."""
        return sum(a.nbytes for a in self.arrays().values()) / max(self.n, 1)

    def grown(self, rows: int) -> "State":
        """A copy with ``rows`` rows: the current ones, then rows reserved for joiners."""
        out = empty(rows)
        for name, arr in self.arrays().items():
            getattr(out, name)[: self.n] = arr
        return out

    def copy(self) -> "State":
        """A deep copy (for branching a simulation)."""
        return State(**{k: v.copy() for k, v in self.arrays().items()})


_FIELDS = tuple(f.name for f in fields(State))
"""The state arrays in kernel argument order (looked up once: :meth:`State.columns` runs every day)."""
_columns = operator.attrgetter(*_FIELDS)


def empty(n: int) -> State:
    """Allocate a zeroed state of ``n`` rows, all reserved for customers who have not joined."""
    f4, i4, u1 = np.float32, np.int32, np.uint8
    st = State(
        value=np.zeros(n, f4), price_sens=np.zeros(n, f4), receptive=np.zeros(n, f4),
        cycle=np.ones(n, f4), slot_mask=np.zeros(n, u1), dropout=np.zeros(n, f4),
        referral=np.zeros(n, f4),
        salience=np.zeros(n, f4), fatigue=np.zeros(n, f4), trust=np.zeros(n, f4),
        deal=np.zeros(n, f4), need_clock=np.zeros(n, np.int16), status=np.full(n, NOT_JOINED, u1),
        reach=np.zeros(n, u1), last_purchase=np.full(n, NEVER, i4), first_purchase=np.full(n, NEVER, i4),
        frequency=np.zeros(n, np.int16), monetary=np.zeros(n, f4), last_contact=np.full(n, NEVER, i4),
        last_flags=np.zeros(n, u1), active_slot=np.full(n, -1, np.int8),
        month_count=np.zeros((n, N_CHANNELS), u1), tier=np.zeros(n, np.int8),
        stage=np.zeros(n, np.int8), account=np.zeros(n, u1), origin=np.zeros(n, u1),
        events=np.zeros(n, u1), member_until=np.full(n, NEVER, i4), gender=np.zeros(n, u1),
        fan_opens=np.zeros(n, u1),
    )
    return st


def generate(scenario: Scenario, n: int, seed: int, capacity: int | None = None) -> State:
    """Draw ``n`` customers from ``scenario``'s trait distributions for ``seed``.

    ``capacity`` (>= n) reserves rows for customers who join later (acquisition, referral).
    """
    st = empty(max(n, capacity or 0))
    redraw(as_record(pack_group(scenario, POPULATION)), st, np.arange(n, dtype=np.int64), seed, day=0)
    return st


def redraw(population: np.ndarray, state: State, rows: np.ndarray, seed: int, day: int) -> None:
    """Fill ``rows`` of ``state`` with fresh customers drawn for ``seed``, their history ending at ``day``.

    ``population`` is the scenario's :class:`~sim.params.PopulationParams` as a record
    (``pack(scenario).records.population``: cheap to pass, see :func:`~sim.params.as_record`).
    Customer ``rows[j]`` is a pure function of (seed, rows[j]): the same seed redraws the same person.
    Used by :func:`generate`, by the day's joiners (its serial twin, in :func:`sim.world.join_rows`) and by
    RL environments that reset single customers (with a new seed per episode, e.g. from
    :func:`episode_seed`). Fewer than
    :data:`~sim._threads.PARALLEL_FROM` rows (a day's joiners) are drawn by the serial twin whatever
    the pool size: a parallel launch costs more than a few dozen customers.
    """
    kernel = _generate.serial if len(rows) < PARALLEL_FROM else _generate
    kernel(np.int64(seed), np.int64(day), np.ascontiguousarray(rows, dtype=np.int64), population,
           *state.columns())


def episode_seed(seed: int, episode: int) -> int:
    """A distinct, reproducible seed for episode ``episode`` of a run seeded ``seed``."""
    return int(_episode_seed(np.int64(seed), np.int64(episode)))


@njit(cache=True)
def _episode_seed(seed, episode):  # pragma: no cover - jitted
    return np.int64(stream_key(seed, episode, P_EPISODE) >> np.uint64(1))


@njit(cache=True, inline="always")
def tier_of(monetary: float, t1: float, t2: float, t3: float) -> int:
    """Member tier for a cumulative spend."""
    if monetary < t1:
        return 0
    if monetary < t2:
        return 1
    if monetary < t3:
        return 2
    return 3


@njit(cache=True, inline="always")
def pick_slot(mask: int, u: float) -> int:
    """One of the active slots in ``mask``, chosen by the uniform ``u`` (the slot an order is placed in)."""
    count = 0
    for s in range(8):
        count += (mask >> s) & 1
    k = int(u * count)
    for s in range(8):
        if (mask >> s) & 1:
            if k == 0:
                return s
            k -= 1
    return 0


@njit(cache=True, inline="always")
def mean_one_lognormal(sigma: float, z: float) -> float:
    """A lognormal factor of mean 1 at the standard normal ``z``: exp(sigma z - sigma^2 / 2).

    At sigma 0.5 it is exp(0.5 z - 0.125) bit for bit, the dropout draw from before its spread was a parameter.
    """
    return np.exp(sigma * z - 0.5 * sigma * sigma)


@njit(cache=True, inline="always")
def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


@twin(cache=True)
def _generate(seed, day0, rows, pp_rec,
              value, price_sens, receptive, cycle, slot_mask, dropout, referral,
              salience, fatigue, trust, deal, need_clock, status,
              reach, last_purchase, first_purchase, frequency, monetary, last_contact,
              last_flags, active_slot, month_count, tier, stage, account, origin, events,
              member_until, gender, fan_opens):  # pragma: no cover - jitted
    n = rows.shape[0]
    kt = stream_key(seed, DAY_TRAITS, P_TRAITS)
    ki = stream_key(seed, DAY_TRAITS, P_INITIAL)
    kc = stream_key(seed, DAY_HABITS, P_TRAITS)
    for j in prange(n):
        pp = pp_rec[0]  # inside: a record may not cross into numba's parallel region
        band_cdf, slot_act, ch_reach, thr = pp.age_band_cdf, pp.slot_activity, pp.channel_reach, pp.tier_thresholds
        i = rows[j]
        b1 = draw(kt, i)
        b2 = draw(kt ^ np.uint64(SALT_TRAITS_SECOND), i)
        b3 = draw(ki, i)
        b4 = draw(kc, i)
        z1, z2 = normal_pair(b1)
        z3, z4 = normal_pair(b2)
        value[i] = np.exp(pp.log_order_value + pp.order_value_sigma * z1)
        cycle[i] = max(1.0, np.exp(pp.log_cycle + pp.cycle_sigma * z2))
        # deal-proneness: a logit-normal with the requested mean and concentration
        m = min(max(pp.price_sens_mean, 1e-3), 1 - 1e-3)
        sd = 1.0 / np.sqrt(pp.price_sens_concentration + 1.0) * 2.5
        ps = 1.0 / (1.0 + np.exp(-(np.log(m / (1 - m)) + sd * z3)))
        price_sens[i] = ps
        u = u24(b3, 0)
        band = 0
        while band < band_cdf.shape[0] - 1 and u >= band_cdf[band]:
            band += 1
        receptive[i] = pp.age_band_receptiveness[band]
        mask = 0
        b6 = draw(kc ^ np.uint64(SALT_SLOTS), i)
        for s in range(slot_act.shape[0]):
            us = float((b6 >> np.uint64(16 * s)) & np.uint64(0xFFFF)) * (1.0 / 65536.0)
            if us < slot_act[s]:
                mask |= 1 << s
        if mask == 0:
            mask = 1 << 2
        slot_mask[i] = mask
        r = 0
        for c in range(ch_reach.shape[0]):
            if u24(draw(kc ^ np.uint64(SALT_REACH + c), i), 0) < ch_reach[c]:
                r |= 1 << c
        reach[i] = r
        dropout[i] = pp.dropout_per_day * mean_one_lognormal(pp.dropout_sigma, z4)
        referral[i] = pp.referral_per_day * (0.25 + 1.5 * u21(b1, 2))
        buyer = u24(draw(ki ^ np.uint64(SALT_BUYER), i), 0) < pp.buyer_share
        b5 = draw(ki ^ np.uint64(SALT_HISTORY), i)
        z5, z6 = normal_pair(b5)
        sal = _clip01(pp.initial_salience + 0.15 * z5 + (0.1 if buyer else -0.1))
        tr = _clip01(pp.initial_trust + 0.12 * z6 + (0.1 if buyer else -0.1))
        salience[i] = sal
        trust[i] = tr
        fatigue[i] = 0.0
        deal[i] = _clip01(pp.initial_deal * 2.0 * ps)
        status[i] = ACTIVE
        personal = u24(draw(kc ^ np.uint64(SALT_ACCOUNT), i), 0) < pp.personal_share
        account[i] = ACCOUNT_PERSONAL if personal else ACCOUNT_WECOM
        gender[i] = GENDER_MALE if u24(draw(kt ^ np.uint64(SALT_GENDER), i), 0) < pp.male_share else GENDER_FEMALE
        origin[i] = 0
        events[i] = 0
        member_until[i] = NEVER
        fan_opens[i] = 0
        ago = int(u24(b4, 1) * cycle[i])
        need_clock[i] = min(ago, 30000)
        last_contact[i] = NEVER
        last_flags[i] = 0
        active_slot[i] = -1
        for c in range(month_count.shape[1]):
            month_count[i, c] = 0
        if buyer:
            f = 1 + int(-np.log(1.0 - u24(b5, 1) * 0.999) * 1.5)
            frequency[i] = min(f, 30000)
            last_purchase[i] = day0 - ago
            first_purchase[i] = day0 - ago - int((f - 1) * cycle[i])
            monetary[i] = f * value[i]
            tier[i] = tier_of(monetary[i], thr[0], thr[1], thr[2])
            active_slot[i] = pick_slot(mask, u21(b5, 2))
            stage[i] = A5 if (f >= 2 and tr >= pp.advocate_trust) else A4
        else:
            frequency[i] = 0
            last_purchase[i] = NEVER
            first_purchase[i] = NEVER
            monetary[i] = 0.0
            tier[i] = 0
            stage[i] = A2 if sal > 0.5 else A1
