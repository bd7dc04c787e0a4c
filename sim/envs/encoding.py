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

With levers (``levers=True`` in the envs) the action gains a referral ask and an invitation code, the
mask their flags, and the features the calendar, the chat's account and paid membership
(:data:`LEVER_FEATURES`); without, everything is as before.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numba import njit

from sim.config import EVENT_KINDS
from sim.defaults import (ACCOUNT_PERSONAL, CHANNELS, EVENING, GENDER_MALE, INVITES, MONTH_DAYS, N_CHANNELS,
                          N_CONTENTS, N_SLOTS, SLOTS)
from sim.invitations import allowed
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
_TIER0, _FLAG0, _SLOT0 = _F["tier_0"], _F["last_delivered"], _F["active_slot_none"]
_REACH0, _CAP0, _PHASE = _F[f"reach_{CHANNELS[0]}"], _F[f"cap_left_{CHANNELS[0]}"], _F["cap_window_phase"]


def observation_space() -> spaces.Box:
    """Box of the per-customer features (all in [0, 1])."""
    return spaces.Box(0.0, 1.0, (N_FEATURES,), np.float32)


def action_space() -> spaces.MultiDiscrete:
    """MultiDiscrete ``[1 + channels, contents, 1 + slots]``."""
    return spaces.MultiDiscrete(ACTION_NVEC)


def encode(obs: Observation) -> np.ndarray:
    """Per-customer features of the CRM record, shape ``(obs.n, N_FEATURES)``, float32 in [0, 1]."""
    out = np.zeros((obs.n, N_FEATURES), np.float32)
    caps = np.maximum(np.asarray(obs.caps, np.float32), np.float32(1.0))
    _encode(obs.day, obs.recency, obs.days_since_contact, obs.interval, obs.frequency, obs.monetary, obs.tier,
            obs.last_flags, obs.active_slot, obs.reach, obs.cap_left, caps, out)
    return out


_LOG_RECENCY, _LOG_GAP = float(np.log1p(_RECENCY_CAP)), float(np.log1p(_GAP_CAP))
_LOG_FREQUENCY, _LOG_MONETARY = float(np.log1p(50.0)), float(np.log1p(1e5))


@njit(cache=True, error_model="numpy")
def _encode(day, recency, since_contact, interval, frequency, monetary, tier, last_flags, active_slot, reach,
            cap_left, caps, out):  # pragma: no cover - jitted
    """The features of :data:`FEATURES`, one row per customer (float32 steps where the CRM is float32)."""
    f32 = np.float32
    for i in range(out.shape[0]):
        rec = f32(recency[i])
        never = rec >= UNKNOWN_DAYS
        out[i, 0] = 1.0 if never else np.log1p(min(rec, f32(_RECENCY_CAP))) / _LOG_RECENCY
        out[i, 1] = 1.0 if never else min(rec, f32(90.0)) / f32(90.0)
        iv = interval[i]
        rel = rec / max(iv, f32(1.0)) if iv > 0 else f32(0.0)
        out[i, 2] = min(rel, f32(_REL_CAP)) / f32(_REL_CAP)
        out[i, 3] = 1.0 if iv > 0 else 0.0
        out[i, 4] = 1.0 if never else 0.0
        gap = f32(since_contact[i])
        never_c = gap >= UNKNOWN_DAYS
        out[i, 5] = 1.0 if never_c else np.log1p(min(gap, f32(_GAP_CAP))) / _LOG_GAP
        out[i, 6] = 1.0 if never_c else min(gap, f32(30.0)) / f32(30.0)
        out[i, 7] = 1.0 if never_c else 0.0
        out[i, 8] = min(np.log1p(f32(frequency[i])) / _LOG_FREQUENCY, 1.0)
        out[i, 9] = min(np.log1p(max(monetary[i], f32(0.0))) / _LOG_MONETARY, 1.0)
        out[i, _TIER0 + min(max(tier[i], 0), 3)] = 1.0
        for b in range(5):
            out[i, _FLAG0 + b] = (last_flags[i] >> b) & 1
        out[i, _SLOT0 + 1 + min(max(active_slot[i], -1), N_SLOTS - 1)] = 1.0
        for c in range(N_CHANNELS):
            out[i, _REACH0 + c] = (reach[i] >> c) & 1
            out[i, _CAP0 + c] = min(cap_left[i, c] / caps[c], f32(1.0))
        out[i, _PHASE] = (day % MONTH_DAYS) / MONTH_DAYS


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


# --- the levers (ask, invitation) and the calendar: an opt-in extension (``levers=True`` in the envs) --------
LEVER_FEATURES: tuple[str, ...] = (
    ("event_today",) + tuple(f"event_{k}" for k in EVENT_KINDS)
    + ("days_to_event_60d", "no_event_ahead", "personal_account", "paid_member", "male", "fan_tier_3")
)
"""Observation columns appended with levers: today's calendar event and its kind, days to the next one (capped at
60), whether the chat is on a guide's personal WeChat, paid membership, the profile's gender (1: male) and the
fan tier by interaction (/3). All from the brand's own records."""
LEVER_NVEC = np.array([2, len(INVITES)], np.int64)
"""Sizes of the two lever components appended to the action: referral ask (0/1), invitation code (INVITES)."""
ACTION_NVEC_LEVERS = np.concatenate([ACTION_NVEC, LEVER_NVEC])
MASK_SIZE_LEVERS = int(ACTION_NVEC_LEVERS.sum())
_EVENT_HORIZON = 60.0


def observation_space_levers() -> spaces.Box:
    """Box of the per-customer features with the lever columns (all in [0, 1])."""
    return spaces.Box(0.0, 1.0, (N_FEATURES + len(LEVER_FEATURES),), np.float32)


def action_space_levers() -> spaces.MultiDiscrete:
    """MultiDiscrete ``[1 + channels, contents, 1 + slots, 2 (ask), invitations]``."""
    return spaces.MultiDiscrete(ACTION_NVEC_LEVERS)


def encode_levers(obs: Observation) -> np.ndarray:
    """:func:`encode` followed by the :data:`LEVER_FEATURES` columns, shape ``(obs.n, N_FEATURES + 11)``."""
    extra = np.zeros((obs.n, len(LEVER_FEATURES)), np.float32)
    if obs.event_kind:
        extra[:, 0] = 1.0
        extra[:, 1 + EVENT_KINDS.index(obs.event_kind)] = 1.0
    k = 1 + len(EVENT_KINDS)
    ahead = obs.days_to_event
    extra[:, k] = 1.0 if ahead < 0 else min(ahead, _EVENT_HORIZON) / _EVENT_HORIZON
    extra[:, k + 1] = 1.0 if ahead < 0 else 0.0
    extra[:, k + 2] = obs.account == ACCOUNT_PERSONAL
    extra[:, k + 3] = obs.paid_member
    extra[:, k + 4] = obs.gender == GENDER_MALE
    extra[:, k + 5] = obs.fan_tier / 3.0
    return np.hstack([encode(obs), extra])


def lever_allowed(obs: Observation) -> np.ndarray:
    """``(n, 2 + len(INVITES))`` bool: ask and invitation values each customer may take today.

    "No ask" and "no invitation" always; an ask or an invitation only for a customer some channel can reach
    today (it rides on the message); an invitation code only where :func:`sim.invitations.allowed` and the
    brand's programme (``obs.invite_enabled``) let it. A lever taken with "no contact" is dropped.
    """
    reachable = obs.usable != 0
    out = np.zeros((obs.n, int(LEVER_NVEC.sum())), bool)
    out[:, 0] = True
    out[:, 1] = reachable
    out[:, 2] = True
    for code in range(1, len(INVITES)):
        if obs.invite_enabled[code]:
            out[:, 2 + code] = reachable & allowed(code, obs.reach, obs.account, obs.paid_member)
    return out


def enforce_levers(actions: np.ndarray, allowed_channels: np.ndarray,
                   allowed_levers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`enforce` on the first three components; forbidden or contact-less levers become none (flagged)."""
    a = np.asarray(actions, np.int64).reshape(-1, len(ACTION_NVEC_LEVERS))
    base, bad = enforce(a[:, :3], allowed_channels)
    rows = np.arange(a.shape[0])
    ask = np.clip(a[:, 3], 0, 1)
    inv = np.clip(a[:, 4], 0, len(INVITES) - 1)
    wrong = (ask != a[:, 3]) | (inv != a[:, 4]) | ~allowed_levers[rows, ask] | ~allowed_levers[rows, 2 + inv]
    silent = base[:, 0] == 0
    out = np.column_stack([base, np.where(wrong | silent, 0, ask), np.where(wrong | silent, 0, inv)])
    return out, bad | wrong


def decode_levers(actions: np.ndarray, obs: Observation) -> Action:
    """Engine :class:`Action` with ask and invitation from ``(n, 5)`` agent actions taken on ``obs``."""
    a = np.asarray(actions).reshape(-1, len(ACTION_NVEC_LEVERS))
    action = decode(a[:, :3], obs)
    contact = a[:, 0] > 0
    action.ask = np.where(contact, a[:, 3], 0).astype(np.uint8)
    action.invite = np.where(contact, a[:, 4], 0).astype(np.uint8)
    return action
