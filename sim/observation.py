"""What a policy may see (the CRM record) and what it may do (one action per customer per day).

:class:`Observation` exposes only fields a real CRM holds: recency, frequency, monetary value,
tier, days since last contact, last responses, reachable channels, remaining caps and the brand's
own calendar (today's event, if any). Hidden
state (salience, fatigue, trust, deal conditioning, true need) is never reachable from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit, prange

from sim._threads import twin

from sim.defaults import BLOCK, CHANNELS, CONTENTS, INVITES, N_CHANNELS, NEVER, NO_CONTACT, SLOTS
from sim.params import ORDINARY_DAY, EventToday
from sim.prefetch import prefetch

UNKNOWN_DAYS = 9999
"""Recency or days-since-contact of a customer who never bought or was never contacted."""


def _frozen(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


class Observation:
    """CRM view of the whole pool on one day; arrays are read-only, computed on first use.

    Like a CRM screen, an observation shows today: its arrays are views that the next day's
    step updates, so copy what must be kept across days.
    """

    def __init__(self, day: int, reach: np.ndarray, last_purchase: np.ndarray,
                 first_purchase: np.ndarray, frequency: np.ndarray, monetary: np.ndarray,
                 last_contact: np.ndarray, last_flags: np.ndarray, active_slot: np.ndarray,
                 month_count: np.ndarray, tier: np.ndarray, caps: np.ndarray, group_size: int = 0,
                 customers_per_guide: int = 0, chat_capacity: int = 0,
                 buffers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
                 event: EventToday = ORDINARY_DAY, days_to_event: int = -1,
                 account: np.ndarray | None = None, member_until: np.ndarray | None = None,
                 invite_enabled: tuple[bool, ...] = (), gender: np.ndarray | None = None,
                 fan_tier: np.ndarray | None = None) -> None:
        self.day = day
        self.event = event.name
        """Name of today's calendar event ("" on an ordinary day): the brand knows its own calendar."""
        self.event_kind = event.kind
        """Kind of today's event (festival, big_sale, new_arrival, live_stream), "" on an ordinary day."""
        self.event_day = event.day
        """Day of today within the event (0 on its first day), -1 on an ordinary day."""
        self.days_to_event = days_to_event
        """Days to the next first day of an event (0 if one starts today), -1 if none is planned."""
        self.n = int(reach.shape[0])
        self.reach = _frozen(reach)
        """uint8 bit mask of channels that still reach each customer (bit c = CHANNELS[c])."""
        self.frequency = _frozen(frequency)
        """Purchases from the brand so far."""
        self.monetary = _frozen(monetary)
        """Yuan spent with the brand so far."""
        self.tier = _frozen(tier)
        """Member tier: 0 fan (never bought), 1-3 by cumulative spend."""
        self.last_flags = _frozen(last_flags)
        """FLAG_* bits of the last contact's outcome (delivered, opened, bought, complained, unsubscribed)."""
        self.active_slot = _frozen(active_slot)
        """Slot of the customer's last observed activity (an opened message or an order), -1 if none."""
        self.caps = caps
        self.account = _frozen(account) if account is not None else np.zeros(self.n, np.uint8)
        """Where the guide holds each 1:1 chat: ACCOUNT_WECOM (0) or ACCOUNT_PERSONAL (1, a guide's personal WeChat)."""
        self._member_until = member_until
        self.gender = _frozen(gender) if gender is not None else np.zeros(self.n, np.uint8)
        """Gender of each customer's WeChat profile: GENDER_FEMALE (0) or GENDER_MALE (1) (a CRM field)."""
        self.fan_tier = _frozen(fan_tier) if fan_tier is not None else np.zeros(self.n, np.uint8)
        """Fan tier by interaction, 0-3, of customers who never bought (0 for buyers and without ``[fans]``)."""
        self.invite_enabled = invite_enabled or (False,) * len(INVITES)
        """Per invitation code (:data:`sim.defaults.INVITES`), whether the brand runs it (its scenario enables it)."""
        """Contacts allowed per customer and channel in a 30-day window."""
        self.group_size = group_size
        """Customers per group: customer i's group is i // group_size (member while reachable on group)."""
        self.customers_per_guide = customers_per_guide
        """Customers per guide (0: no staff limits); customer i's guide is i // customers_per_guide."""
        self.chat_capacity = chat_capacity
        """1:1 chats a guide can deliver per day; WeCom contacts beyond it are not delivered."""
        self._last_purchase = last_purchase
        self._first_purchase = first_purchase
        self._last_contact = last_contact
        self._month_count = month_count
        self._buffers = buffers

    @staticmethod
    def feature_buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arrays to hold the derived features of ``n`` customers (a simulation reuses them day after day)."""
        return np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32), np.empty(n, np.uint8)

    @cached_property
    def _features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = self.n
        out = self._buffers if self._buffers is not None else self.feature_buffers(n)
        _crm_features(*self.crm_record(), *out)
        return tuple(_frozen(a) for a in out)  # type: ignore[return-value]

    def crm_record(self) -> tuple:
        """The record the derived features come from, for compiled rules that derive them in their own pass.

        (day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact): pass it on
        and call :func:`crm_row` on it per customer, which saves a pass over the pool and the feature arrays.
        """
        return (self.day, self.reach, self._month_count, self.caps.astype(np.int64), self._last_purchase,
                self._first_purchase, self.frequency, self._last_contact)

    @property
    def recency(self) -> np.ndarray:
        """Days since the last purchase from the brand (UNKNOWN_DAYS if never)."""
        return self._features[0]

    @property
    def days_since_contact(self) -> np.ndarray:
        """Days since the brand last contacted the customer (UNKNOWN_DAYS if never)."""
        return self._features[1]

    @property
    def interval(self) -> np.ndarray:
        """Mean days between the customer's purchases; 0 with fewer than two purchases."""
        return self._features[2]

    @property
    def usable(self) -> np.ndarray:
        """uint8 bit mask of channels that reach the customer and still have cap left."""
        return self._features[3]

    @cached_property
    def paid_member(self) -> np.ndarray:
        """Whether each customer holds a paid membership today (the member programme's own record)."""
        if self._member_until is None:
            return _frozen(np.zeros(self.n, bool))
        return _frozen(self._member_until > self.day)

    @cached_property
    def cap_left(self) -> np.ndarray:
        """Contacts still allowed per customer and channel in the current 30-day window, (n, channels)."""
        return _frozen(np.maximum(self.caps[None, :] - self._month_count.astype(np.int16), 0))

    @cached_property
    def typical_interval(self) -> float:
        """Median repurchase interval of repeat buyers (0 when fewer than 10 are known).

        Taken on an evenly spaced sample of about 50,000 customers: the CRM's category norm.
        """
        return float(_typical_interval(self._last_purchase, self._first_purchase, self.frequency,
                                       max(1, self.n // 50_000)))

    def can_use(self, channel: int) -> np.ndarray:
        """Boolean mask of customers reachable on ``channel`` with cap left."""
        return ((self.usable >> channel) & 1).astype(bool)

    @property
    def reachable(self) -> np.ndarray:
        """Boolean mask of customers reachable on at least one channel."""
        return self.reach != 0


@twin(cache=True)
def _crm_features(day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact,
                  recency, since_contact, interval, usable):  # pragma: no cover - jitted
    """One pass over the CRM record: recency, days since contact, purchase interval, usable channels."""
    n = reach.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min((b + 1) * BLOCK, n)
        _crm_rows(day, reach[lo:hi], month_count[lo:hi], caps, last_purchase[lo:hi], first_purchase[lo:hi],
                  frequency[lo:hi], last_contact[lo:hi], recency[lo:hi], since_contact[lo:hi],
                  interval[lo:hi], usable[lo:hi])


@njit(cache=True, error_model="numpy")
def _crm_rows(day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact,
              recency, since_contact, interval, usable):  # pragma: no cover - jitted
    """:func:`_crm_features` over slices of one block (branch-free, so the loop vectorizes)."""
    for i in range(reach.shape[0]):
        recency[i], since_contact[i], interval[i], usable[i] = crm_row(i, (day, reach, month_count, caps,
                                                                           last_purchase, first_purchase, frequency,
                                                                           last_contact))


@njit(cache=True, inline="always")
def crm_row(i, record):
    """(recency, days since contact, purchase interval, usable channels) of customer ``i``.

    The derived features row by row; ``record`` is :meth:`Observation.crm_record`. A rule that needs only
    some of them for some customers calls :func:`days_since`, :func:`purchase_interval` and
    :func:`usable_channels` itself.
    """
    day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact = record
    return (days_since(day, last_purchase[i]), days_since(day, last_contact[i]),
            purchase_interval(last_purchase[i], first_purchase[i], frequency[i]),
            usable_channels(reach[i], month_count[i], caps))


@njit(cache=True, inline="always")
def days_since(day: int, stamp: int) -> int:
    """Days from a day stamp to ``day``; UNKNOWN_DAYS if the stamp is NEVER (recency, days since contact)."""
    return UNKNOWN_DAYS if stamp == NEVER else day - stamp


@njit(cache=True, inline="always")
def usable_channels(reach: int, month_count: np.ndarray, caps: np.ndarray) -> int:
    """Bit mask of the channels in ``reach`` whose 30-day count (``month_count``, one customer's) is below cap.

    The used-up channels are gathered in a machine integer and cleared from ``reach`` once: clearing
    them one by one in uint8 took twice the time (docs/performance.md).
    """
    full = 0
    for c in range(N_CHANNELS):
        full |= np.int64(month_count[c] >= caps[c]) << c
    return reach & ~np.uint8(full)


@njit(cache=True, inline="always")
def purchase_interval(last_purchase: int, first_purchase: int, frequency: int) -> np.float32:
    """Mean days between a customer's purchases; 0 with fewer than two (the CRM's ``interval``).

    Divided in float32: the same value as the float64 quotient rounded to float32 (whole numbers below 2^24
    are exact in float32, and rounding a float64 quotient again to float32 is the correctly rounded float32
    quotient: 53 >= 2 * 24 + 2 bits, Figueroa 1995; ``tests/test_speed.py`` checks it), and a vectorized
    float32 division is about a quarter of the float64 one's cost per value (``fatigue_capped``: 8.0
    against 8.7 ms at 10^6 customers, docs/performance.md).
    """
    return np.float32(last_purchase - first_purchase) / np.float32(max(frequency - 1, 1)) if frequency >= 2 \
        else np.float32(0.0)


SAMPLE_AHEAD = 16
"""Sampled customers whose record :func:`_typical_interval` fetches ahead of the one it reads: 0.63-0.83 against
0.84-1.02 ms at 10^6 customers (one thread, cold arrays, medians of 21-41; docs/performance.md)."""

PREFETCH_STRIDE = 8
"""Sample strides (rows between sampled customers) from which :func:`_typical_interval` fetches ahead. Below it the
hardware's own prefetcher follows the reads and the instructions only cost: with cold caches, one thread, medians
of 7, 131 against 96 µs a day at 20,000 customers (stride 1) and 293 against 237 µs at 200,000 (stride 4); they
pay from stride 10 (374 against 428 µs at 500,000) and 20 (633 against 864 µs at 10^6) (docs/performance.md)."""


@njit(cache=True)
def _typical_interval(last_purchase, first_purchase, frequency, step):  # pragma: no cover - jitted
    """Median :func:`purchase_interval` of the repeat buyers among every ``step``-th customer; 0 below 10.

    The same float32 median as numpy's: the middle value, or the float32 mean of the two middle values. The
    repeat buyers are kept without a branch (each row's interval is written, the count moves on for repeat
    buyers): whether a customer bought twice is a coin toss to the branch predictor. When every customer is
    sampled the divisions run first, in a loop of their own that vectorizes (timings: docs/performance.md).
    """
    n = frequency.shape[0]
    iv = np.empty((n + step - 1) // step, np.float32)
    m = 0
    if step == 1:  # every customer: the divisions vectorize, and the repeat buyers are kept in a second pass
        for i in range(n):
            iv[i] = purchase_interval(last_purchase[i], first_purchase[i], frequency[i])
        for i in range(n):
            iv[m] = iv[i]  # in place: m <= i
            m += frequency[i] >= 2
    else:
        far = SAMPLE_AHEAD * step
        ahead = step >= PREFETCH_STRIDE
        for i in range(0, n, step):
            if ahead and i + far < n:  # the sample's rows are a stride apart in cold memory: ask for them ahead
                prefetch(frequency, i + far)
                prefetch(last_purchase, i + far)
                prefetch(first_purchase, i + far)
            f = frequency[i]
            iv[m] = purchase_interval(last_purchase[i], first_purchase[i], f)
            m += f >= 2
    if m < 10:
        return np.float32(0.0)
    return _median(_order_keys(iv[:m]))


@njit(cache=True)
def _order_keys(values):  # pragma: no cover - jitted
    """The bits of float32 ``values`` as unsigned integers that sort as the floats do (a negative's bits flipped)."""
    bits = values.view(np.uint32)
    keys = np.empty(bits.shape[0], np.uint32)
    for j in range(bits.shape[0]):
        b = bits[j]
        keys[j] = ~b if b >> np.uint32(31) else b | np.uint32(0x80000000)
    return keys


@njit(cache=True, inline="always")
def _from_key(key):  # pragma: no cover - jitted
    """The float32 whose :func:`_order_keys` key is ``key``."""
    b = key & np.uint32(0x7FFFFFFF) if key >> np.uint32(31) else ~key
    return np.array([b], np.uint32).view(np.float32)[0]


@njit(cache=True)
def _median(keys):  # pragma: no cover - jitted
    """The float32 median, as numpy computes it, of the floats whose :func:`_order_keys` are ``keys`` (at least one).

    A radix select on the keys in three digits (the top 11 bits, the next 11, the last 10): each counting pass
    finds the digit that holds the middle, and only the keys sharing the digits found so far go on to the next
    (gathered without a branch). The largest key below each level's digit is kept on the way: the lower middle
    of an even count when the upper one opens its digit.
    """
    m = keys.shape[0]
    k = m // 2
    counts = _count_digits(keys, np.uint32(21), np.uint32(0x7FF))
    d1, below = _digit_of(counts, k)
    p1 = np.uint32(d1)
    bucket, under1 = _gather(keys, np.uint32(21), p1, counts[d1])
    r1 = k - below  # rank of the upper middle among the bucket's keys
    counts = _count_digits(bucket, np.uint32(10), np.uint32(0x7FF))
    d2, below = _digit_of(counts, r1)
    p2 = (p1 << np.uint32(11)) | np.uint32(d2)
    sub, under2 = _gather(bucket, np.uint32(10), p2, counts[d2])
    r2 = r1 - below
    counts = _count_digits(sub, np.uint32(0), np.uint32(0x3FF))
    d3, _ = _digit_of(counts, r2)
    hi = _from_key((p2 << np.uint32(10)) | np.uint32(d3))
    if m % 2:
        return hi
    if r2 >= 1:
        lo = _from_key((p2 << np.uint32(10)) | np.uint32(_digit_of(counts, r2 - 1)[0]))
    elif r1 >= 1:
        lo = _from_key(under2)
    else:
        lo = _from_key(under1)
    return (lo + hi) / np.float32(2.0)


@njit(cache=True, inline="always")
def _digit_of(counts, rank):  # pragma: no cover - jitted
    """The digit whose keys hold the ``rank``-th smallest (from 0), and how many keys have smaller digits."""
    d, below = 0, 0
    while rank - below >= counts[d]:
        below += counts[d]
        d += 1
    return d, below


@njit(cache=True)
def _gather(keys, shift, prefix, size):  # pragma: no cover - jitted
    """The ``size`` keys whose bits from ``shift`` up are ``prefix``, and the largest key below them (0: none)."""
    out = np.empty(size + 1, np.uint32)  # every key is written; the count moves on for those kept
    q = 0
    under = np.uint32(0)
    for j in range(keys.shape[0]):
        key = keys[j]
        t = key >> shift
        out[q] = key
        q += t == prefix
        under = max(under, key * np.uint32(t < prefix))  # a product, not a select: no branch to mispredict
    return out[:size], under


@njit(cache=True)
def _count_digits(keys, shift, digits):  # pragma: no cover - jitted
    """How many ``keys`` have each digit ``(key >> shift) & digits`` (``digits`` below 2048).

    Counted in four interleaved lanes: consecutive keys often share a digit, and one counter would make each
    increment wait for the one before (a quarter off the typical interval at 20,000 customers).
    """
    lanes = np.zeros((4, 2048), np.int32)
    n = keys.shape[0]
    j = 0
    while j + 4 <= n:
        for lane in range(4):
            lanes[lane, (keys[j + lane] >> shift) & digits] += 1
        j += 4
    while j < n:
        lanes[0, (keys[j] >> shift) & digits] += 1
        j += 1
    return lanes[0] + lanes[1] + lanes[2] + lanes[3]


@dataclass
class Action:
    """One decision per customer for today: channel (or NO_CONTACT), content, time slot, and a referral ask."""

    channel: np.ndarray  # int8: index into CHANNELS, or NO_CONTACT (-1)
    content: np.ndarray  # int8: index into CONTENTS
    slot: np.ndarray  # int8: index into SLOTS
    ask: np.ndarray | None = None
    """uint8 or bool, optional: 1 where the message also asks the customer to refer a friend (needs a contact)."""
    invite: np.ndarray | None = None
    """uint8, optional: an invitation the message carries (index into :data:`sim.defaults.INVITES`; 0 none)."""

    @classmethod
    def none(cls, n: int) -> "Action":
        """Contact nobody."""
        return cls(np.full(n, NO_CONTACT, np.int8), np.zeros(n, np.int8), np.zeros(n, np.int8))

    def contacts(self) -> int:
        """Number of customers contacted."""
        return int((self.channel >= 0).sum())


class InvalidActionError(ValueError):
    """A policy asked for something the CRM or the platform forbids."""


ACTION_LIMITS = (
    f"channel in -1..{N_CHANNELS - 1} ({', '.join(CHANNELS)}), content in 0..{len(CONTENTS) - 1} "
    f"({', '.join(CONTENTS)}), slot in 0..{len(SLOTS) - 1} ({', '.join(SLOTS)})"
)
