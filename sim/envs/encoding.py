"""The one translation between the CRM view and an RL agent: features, action space, masks.

Customer-v0, the batched :class:`~sim.envs.vec.CustomerVecEnv` and the ``rl:`` policy all use this
module, so a model sees exactly the same numbers in training and in ``siyu compare``. Features are
computed from :class:`~sim.observation.Observation` only (the CRM record), never from hidden state.

An action is ``(channel + 1, content, slot choice)``: channel 0 means "no contact", ``c + 1`` means
``CHANNELS[c]``; slot choice 0 means "the customer's own slot" (the slot of their last activity in
the CRM, the evening if none is known), ``s + 1`` means ``SLOTS[s]``. The own-slot shortcut makes
the usually right timing one constant choice instead of a lookup the agent must learn. A mask row
holds ``1 + N_CHANNELS`` channel flags, then ``N_CONTENTS`` content flags and ``1 + N_SLOTS`` slot
flags, concatenated as sb3-contrib's MaskablePPO expects for MultiDiscrete.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from sim.defaults import CHANNELS, EVENING, MONTH_DAYS, N_CHANNELS, N_CONTENTS, N_SLOTS, SLOTS
from sim.observation import UNKNOWN_DAYS, Action, Observation

FEATURES: tuple[str, ...] = (
    ("recency_log", "recency_90d", "recency_per_interval", "has_interval", "never_bought",
     "contact_gap_log", "contact_gap_30d", "never_contacted", "frequency_log", "monetary_log")
    + tuple(f"tier_{t}" for t in range(4))
    + ("last_delivered", "last_opened", "last_bought", "last_complained", "last_unsubscribed")
    + ("active_slot_none",) + tuple(f"active_slot_{s}" for s in SLOTS)
    + tuple(f"reach_{c}" for c in CHANNELS)
    + tuple(f"cap_left_{c}" for c in CHANNELS)
    + ("cap_window_phase",)
)
"""Names of the observation columns, in order; every value lies in [0, 1]."""
N_FEATURES = len(FEATURES)
ACTION_NVEC = np.array([1 + N_CHANNELS, N_CONTENTS, 1 + N_SLOTS], np.int64)
"""Sizes of the three action components: channel-or-none, content, own-slot-or-slot."""
DEFAULT_SLOT = EVENING
"""The own slot of a customer whose active slot the CRM does not know yet."""
MASK_SIZE = int(ACTION_NVEC.sum())

_RECENCY_CAP = 730.0
_GAP_CAP = 365.0
_REL_CAP = 4.0
_F = {name: i for i, name in enumerate(FEATURES)}


def observation_space() -> spaces.Box:
    """Box of the per-customer features (all in [0, 1])."""
    return spaces.Box(0.0, 1.0, (N_FEATURES,), np.float32)


def action_space() -> spaces.MultiDiscrete:
    """MultiDiscrete ``[1 + channels, contents, 1 + slots]``."""
    return spaces.MultiDiscrete(ACTION_NVEC)


def _log_scaled(days: np.ndarray, cap: float) -> np.ndarray:
    return np.log1p(np.minimum(days, cap)) / np.log1p(cap)


def encode(obs: Observation) -> np.ndarray:
    """Per-customer features of the CRM record, shape ``(obs.n, N_FEATURES)``, float32 in [0, 1]."""
    n = obs.n
    out = np.zeros((n, N_FEATURES), np.float32)
    rec = obs.recency.astype(np.float32)
    never = rec >= UNKNOWN_DAYS
    out[:, _F["recency_log"]] = np.where(never, 1.0, _log_scaled(rec, _RECENCY_CAP))
    out[:, _F["recency_90d"]] = np.where(never, 1.0, np.minimum(rec, 90.0) / 90.0)
    interval = obs.interval
    has_interval = interval > 0
    rel = np.where(has_interval, rec / np.maximum(interval, 1.0), 0.0)
    out[:, _F["recency_per_interval"]] = np.minimum(rel, _REL_CAP) / _REL_CAP
    out[:, _F["has_interval"]] = has_interval
    out[:, _F["never_bought"]] = never
    gap = obs.days_since_contact.astype(np.float32)
    never_c = gap >= UNKNOWN_DAYS
    out[:, _F["contact_gap_log"]] = np.where(never_c, 1.0, _log_scaled(gap, _GAP_CAP))
    out[:, _F["contact_gap_30d"]] = np.where(never_c, 1.0, np.minimum(gap, 30.0) / 30.0)
    out[:, _F["never_contacted"]] = never_c
    out[:, _F["frequency_log"]] = np.minimum(np.log1p(obs.frequency.astype(np.float32)) / np.log1p(50.0), 1.0)
    out[:, _F["monetary_log"]] = np.minimum(np.log1p(np.maximum(obs.monetary, 0.0)) / np.log1p(1e5), 1.0)
    t0 = _F["tier_0"]
    out[np.arange(n), t0 + np.clip(obs.tier, 0, 3)] = 1.0
    f0 = _F["last_delivered"]
    for b in range(5):
        out[:, f0 + b] = (obs.last_flags >> b) & 1
    s0 = _F["active_slot_none"]
    out[np.arange(n), s0 + 1 + np.clip(obs.active_slot, -1, N_SLOTS - 1)] = 1.0
    r0 = _F[f"reach_{CHANNELS[0]}"]
    for c in range(N_CHANNELS):
        out[:, r0 + c] = (obs.reach >> c) & 1
    c0 = _F[f"cap_left_{CHANNELS[0]}"]
    caps = np.maximum(np.asarray(obs.caps, np.float32), 1.0)
    out[:, c0:c0 + N_CHANNELS] = np.minimum(obs.cap_left / caps[None, :], 1.0)
    out[:, _F["cap_window_phase"]] = (obs.day % MONTH_DAYS) / MONTH_DAYS
    return out


def channel_allowed(obs: Observation) -> np.ndarray:
    """``(n, 1 + N_CHANNELS)`` bool: column 0 (no contact) always, column ``c + 1`` if usable today."""
    allowed = np.ones((obs.n, 1 + N_CHANNELS), bool)
    usable = obs.usable
    for c in range(N_CHANNELS):
        allowed[:, c + 1] = (usable >> c) & 1
    return allowed


def masks_from_allowed(allowed: np.ndarray) -> np.ndarray:
    """MaskablePPO masks ``(n, MASK_SIZE)`` from channel permissions (content and slot always free)."""
    out = np.ones((allowed.shape[0], MASK_SIZE), bool)
    out[:, :allowed.shape[1]] = allowed
    return out


def action_masks(obs: Observation) -> np.ndarray:
    """MaskablePPO masks of every customer: unreachable channels and exhausted caps are off."""
    return masks_from_allowed(channel_allowed(obs))


def enforce(actions: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Actions with forbidden channels replaced by no contact, and the mask of replaced rows."""
    a = np.asarray(actions, np.int64).reshape(-1, 3)
    ch = np.clip(a[:, 0], 0, N_CHANNELS)
    bad = ~allowed[np.arange(a.shape[0]), ch] | (a[:, 0] != ch)
    if bad.any():
        a = a.copy()
        a[bad, 0] = 0
    return a, bad


def own_slot(obs: Observation) -> np.ndarray:
    """Each customer's own slot: that of their last activity, else :data:`DEFAULT_SLOT`."""
    return np.where(obs.active_slot >= 0, obs.active_slot, DEFAULT_SLOT).astype(np.int8)


def decode(actions: np.ndarray, obs: Observation) -> Action:
    """Engine :class:`Action` from ``(n, 3)`` agent actions taken on ``obs``."""
    a = np.asarray(actions).reshape(-1, 3)
    slot = np.where(a[:, 2] == 0, own_slot(obs), a[:, 2] - 1).astype(np.int8)
    return Action((a[:, 0] - 1).astype(np.int8), a[:, 1].astype(np.int8), slot)


def masked_argmax(scores: np.ndarray, masks: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """Greedy choice per action component among allowed values: ``(n, len(nvec))`` ints.

    ``scores`` and ``masks`` are ``(n, sum(nvec))``: logits or Q-values laid out component by
    component, as SB3 lays out MultiDiscrete logits.
    """
    out = np.empty((scores.shape[0], len(nvec)), np.int64)
    lo = 0
    for k, size in enumerate(nvec):
        s = np.where(masks[:, lo:lo + size], scores[:, lo:lo + size], -np.inf)
        out[:, k] = np.argmax(s, axis=1)
        lo += size
    return out


def unflatten_actions(flat: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """``(n,)`` flat Discrete actions to ``(n, len(nvec))`` components (C order)."""
    return np.stack(np.unravel_index(np.asarray(flat, np.int64).reshape(-1), tuple(nvec)), axis=1)


def flatten_masks(masks: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """Component masks ``(n, sum(nvec))`` to flat masks ``(n, prod(nvec))``: all components allowed."""
    n = masks.shape[0]
    out = np.ones((n, 1), bool)
    lo = 0
    for size in nvec:
        out = (out[:, :, None] & masks[:, None, lo:lo + size]).reshape(n, -1)
        lo += size
    return out
