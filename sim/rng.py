"""Counter-based randomness: every draw is a pure function of (seed, customer id, day, purpose).

A draw hashes its counter with the SplitMix64 finaliser, so there is no generator state to carry:
results do not depend on the order customers are visited, on the thread count, or on what other
processes drew before. Two policies run on the same seed face the same luck (common random
numbers) because a customer's draws for a given day and purpose are the same under both.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.defaults import N_CHANNELS

STREAMS: dict[str, int] = {}
"""Every random-stream purpose by name: one independent stream per stochastic process (cf. starsim's
named distributions). A purpose code used twice would make two processes draw the same luck."""


def purpose(name: str, code: int) -> int:
    """Register the stream purpose ``name`` under ``code``; refuses a name or code already taken."""
    taken = {c: n for n, c in STREAMS.items()}
    if name in STREAMS or code in taken:
        raise ValueError(f"stream purpose {name}={code} collides with {taken.get(code, name)}")
    STREAMS[name] = code
    return code


P_TRAITS = purpose("traits", 1)
P_INITIAL = purpose("initial", 2)
P_CONTACT = purpose("contact", 3)
P_ORGANIC = purpose("organic", 4)
P_REFERRAL = purpose("referral", 5)
P_POLICY = purpose("policy", 6)
P_ENV = purpose("env", 7)
P_STAFF = purpose("staff", 8)
P_JOIN = purpose("join", 9)
P_GROUP = purpose("group", 10)
P_ACQUISITION = purpose("acquisition", 11)
P_LANDING = purpose("landing", 12)
P_ASK = purpose("ask", 13)
P_INVITE = purpose("invite", 14)
P_FAN = purpose("fan", 15)
P_HOLDOUT = purpose("holdout", 20)
P_EPISODE = purpose("episode", 99)

# Drawing a customer uses keys of pseudo-days before day 0, and more streams split off them by XOR salts.
DAY_TRAITS = -1
"""Pseudo-day of the trait and initial-state keys of a customer."""
DAY_HABITS = -2
"""Pseudo-day of the habit key (active slots, channel reach, account, need position)."""
SALT_TRAITS_SECOND = 0xA5A5A5A5
"""Second trait draw: deal-proneness and dropout hazard."""
SALT_SLOTS = 0x99
"""Active time slots."""
SALT_REACH = 17
"""Reach of channel c uses salt ``SALT_REACH + c``."""
SALT_ACCOUNT = 0x3C
"""Whether the guide holds the chat on a personal account."""
SALT_BUYER = 0x51
"""Whether the customer bought before the start."""
SALT_HISTORY = 0x77
"""Initial salience and trust, past purchases."""
SALT_GENDER = 0x6E
"""The customer's gender."""
SUBSTREAMS: dict[str, tuple[int, int, int]] = {
    "traits.second": (P_TRAITS, DAY_TRAITS, SALT_TRAITS_SECOND),
    "habits.slots": (P_TRAITS, DAY_HABITS, SALT_SLOTS),
    "habits.account": (P_TRAITS, DAY_HABITS, SALT_ACCOUNT),
    "traits.gender": (P_TRAITS, DAY_TRAITS, SALT_GENDER),
    **{f"habits.reach.{c}": (P_TRAITS, DAY_HABITS, SALT_REACH + c) for c in range(N_CHANNELS)},
    "initial.buyer": (P_INITIAL, DAY_TRAITS, SALT_BUYER),
    "initial.history": (P_INITIAL, DAY_TRAITS, SALT_HISTORY),
}
"""Streams split off a (purpose, pseudo-day) key by XOR with a salt: name -> (purpose, day, salt)."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_U21 = 1.0 / 2097152.0  # 2**-21
_U24 = 1.0 / 16777216.0  # 2**-24


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective avalanche of 64 bits."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_key(seed: int, day: int, purpose: int) -> np.uint64:
    """Key of one (seed, day, purpose) stream; customers are then hashed into it."""
    k = mix64(np.uint64(seed) * _GOLDEN + np.uint64(purpose))
    k = mix64(k + np.uint64(day + 1) * _GOLDEN)
    return k


@njit(cache=True, inline="always")
def draw(key: np.uint64, cid: int) -> np.uint64:
    """64 random bits for customer ``cid`` in stream ``key``."""
    return mix64(key + np.uint64(cid) * _GOLDEN)


@njit(cache=True, inline="always")
def u24(bits: np.uint64, which: int) -> float:
    """Uniform in [0, 1) from the upper (0) or lower (1) 24-bit field of ``bits``."""
    if which == 0:
        return float(bits >> np.uint64(40)) * _U24
    return float((bits >> np.uint64(8)) & np.uint64(0xFFFFFF)) * _U24


@njit(cache=True, inline="always")
def u21(bits: np.uint64, which: int) -> float:
    """Uniform in [0, 1) from one of three 21-bit fields (0, 1, 2) of ``bits``."""
    return float((bits >> np.uint64(43 - 21 * which)) & np.uint64(0x1FFFFF)) * _U21


@njit(cache=True, inline="always")
def normal_pair(bits: np.uint64) -> tuple[float, float]:
    """Two independent standard normals from 64 bits (Box-Muller)."""
    u1 = (float(bits >> np.uint64(32)) + 0.5) * (1.0 / 4294967296.0)
    u2 = float(bits & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0)
    r = np.sqrt(-2.0 * np.log(u1))
    return r * np.cos(2.0 * np.pi * u2), r * np.sin(2.0 * np.pi * u2)


def uniforms(seed: int, day: int, purpose: int, n: int) -> np.ndarray:
    """``n`` uniforms in [0, 1) for customers 0..n-1: the same function, for Python callers."""
    return _uniforms(np.int64(seed), np.int64(day), np.int64(purpose), np.int64(n))


@njit(cache=True)
def _uniforms(seed, day, purpose, n):  # pragma: no cover - trivial loop
    key = stream_key(seed, day, purpose)
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = u24(draw(key, i), 0)
    return out
