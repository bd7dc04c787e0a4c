"""Counter-based randomness: every draw is a pure function of (seed, customer id, day, purpose).

A draw hashes its counter with the SplitMix64 finaliser, so there is no generator state to carry:
results do not depend on the order customers are visited, on the thread count, or on what other
processes drew before. Two policies run on the same seed face the same luck (common random
numbers) because a customer's draws for a given day and purpose are the same under both.
"""

from __future__ import annotations

import threading

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


# numpy's SeedSequence (numpy/random/bit_generator.pyx), its constants as numpy defines them
_SS_INIT_A, _SS_MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_SS_INIT_B, _SS_MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_SS_MIX_L, _SS_MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_SS_SHIFT = np.uint64(16)
_M32 = np.uint64(0xFFFFFFFF)
_PCG_MULT_HI, _PCG_MULT_LO = np.uint64(2549297995355413924), np.uint64(4865540595714422341)
"""PCG64's 128-bit multiplier (numpy's ``PCG_DEFAULT_MULTIPLIER_128``), its high and low words."""
_ONE, _W32, _W63 = np.uint64(1), np.uint64(32), np.uint64(63)


@njit(cache=True, inline="always")
def _hashmix(v, h):  # pragma: no cover - jitted
    v = (v ^ h) & _M32
    h = (h * _SS_MULT_A) & _M32
    v = (v * h) & _M32
    return v ^ (v >> _SS_SHIFT), h


@njit(cache=True)
def _seed_words(seed, day, purpose):  # pragma: no cover - jitted
    """``SeedSequence([seed, day, purpose]).generate_state(4, np.uint64)``, the same 256 bits in one compiled call.

    The entropy is each non-negative int as little-endian 32-bit words (at least one), as numpy coerces it.
    """
    ent = np.zeros(6, np.uint64)
    m = 0
    for x in (seed, day, purpose):
        u = np.uint64(x)
        ent[m] = u & _M32
        m += 1
        if u >> np.uint64(32):
            ent[m] = u >> np.uint64(32)
            m += 1
    pool = np.zeros(4, np.uint64)
    h = _SS_INIT_A
    for i in range(4):
        pool[i], h = _hashmix(ent[i] if i < m else np.uint64(0), h)
    for s in range(4):
        for d in range(4):
            if s != d:
                v, h = _hashmix(pool[s], h)
                r = (_SS_MIX_L * pool[d] - _SS_MIX_R * v) & _M32
                pool[d] = r ^ (r >> _SS_SHIFT)
    for s in range(4, m):
        for d in range(4):
            v, h = _hashmix(ent[s], h)
            r = (_SS_MIX_L * pool[d] - _SS_MIX_R * v) & _M32
            pool[d] = r ^ (r >> _SS_SHIFT)
    out = np.zeros(4, np.uint64)
    hb = _SS_INIT_B
    for k in range(8):
        v = pool[k % 4] ^ hb
        hb = (hb * _SS_MULT_B) & _M32
        v = (v * hb) & _M32
        v ^= v >> _SS_SHIFT
        out[k // 2] |= v << np.uint64(32 * (k % 2))
    return out


@njit(cache=True, inline="always")
def _mul_hi(a, b):  # pragma: no cover - jitted
    """The high 64 bits of the 128-bit product of two uint64."""
    a0, a1, b0, b1 = a & _M32, a >> _W32, b & _M32, b >> _W32
    p01, p10 = a0 * b1, a1 * b0
    mid = ((a0 * b0) >> _W32) + (p01 & _M32) + (p10 & _M32)
    return a1 * b1 + (p01 >> _W32) + (p10 >> _W32) + (mid >> _W32)


@njit(cache=True)
def _pcg64_seeded(seed, day, purpose):  # pragma: no cover - jitted
    """PCG64's (state, inc) seeded by ``SeedSequence([seed, day, purpose])``, as (state hi, lo, inc hi, lo) words.

    numpy's seeding (``pcg_setseq_128_srandom_r``): state 0, inc = 2 * seq + 1, step, add the first 128
    bits of the seed words, step; a step is ``state * multiplier + inc`` modulo 2**128.
    """
    w = _seed_words(seed, day, purpose)
    inc_hi, inc_lo = (w[2] << _ONE) | (w[3] >> _W63), (w[3] << _ONE) | _ONE
    lo = inc_lo + w[1]  # the first step leaves inc; add the state words
    hi = inc_hi + w[0] + (_ONE if lo < inc_lo else np.uint64(0))
    hi = _mul_hi(lo, _PCG_MULT_LO) + hi * _PCG_MULT_LO + lo * _PCG_MULT_HI  # the second step, modulo 2**128
    lo = lo * _PCG_MULT_LO
    lo2 = lo + inc_lo
    hi = hi + inc_hi + (_ONE if lo2 < lo else np.uint64(0))
    return hi, lo2, inc_hi, inc_lo


_day_local = threading.local()
"""Per Python thread: the one PCG64 generator :func:`day_generator` reseeds."""


def day_generator(seed: int, day: int, purpose: int) -> np.random.Generator:
    """``np.random.default_rng([seed, day, purpose])`` to the bit, by reseeding one generator in place.

    Why: building a seed sequence, a bit generator and a generator costs about 13 us, a fixed cost of
    every simulated day of a small pool; reseeding costs about 4 (``benchmarks/fixed_costs.py``), the seed
    sequence's hashing and PCG64's seeding steps in one compiled call (:func:`_pcg64_seeded`). The
    generator is this thread's and is reseeded by the next call: draw from it before calling again.
    ``seed``, ``day`` and ``purpose`` are non-negative and below 2**63.
    """
    if min(seed, day, purpose) < 0 or max(seed, day, purpose) >= 2**63:
        raise ValueError(f"day_generator takes ints in [0, 2**63), got {(seed, day, purpose)}")
    gen = getattr(_day_local, "gen", None)
    if gen is None:
        gen = _day_local.gen = np.random.Generator(np.random.PCG64(0))
    state_hi, state_lo, inc_hi, inc_lo = _pcg64_seeded(seed, day, purpose)
    gen.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": state_hi << 64 | state_lo,
                                                                   "inc": inc_hi << 64 | inc_lo},
                               "has_uint32": 0, "uinteger": 0}
    return gen
