"""The Policy protocol and the helpers every rule shares (channel choice, phases, slots).

A policy acts on the whole pool at once: ``act(observation) -> Action``. It sees only the CRM
record (:class:`sim.observation.Observation`) and must return valid actions: a channel that still
reaches the customer and has cap left, or NO_CONTACT.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

from sim.defaults import CHANNELS, CONTENTS, NO_CONTACT, SLOTS
from sim.observation import Action, Observation


@runtime_checkable
class Policy(Protocol):
    """Decides each day whom to contact, on which channel, with what and when."""

    name: str

    def reset(self, n: int, seed: int) -> None:
        """Prepare for a run over ``n`` customers (seed for any randomness of the policy's own)."""

    def act(self, obs: Observation) -> Action:
        """Today's action for every customer."""


class Params(BaseModel):
    """Base of every policy's parameters: strict, validated, documented fields."""

    model_config = ConfigDict(extra="forbid")


class RulePolicy:
    """Base class for rule baselines: holds validated parameters and the run's seed."""

    kind: ClassVar[str] = "rule"
    Params: ClassVar[type[Params]] = Params

    def __init__(self, params: Params | None = None, name: str | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.name = name or self.kind
        self.n = 0
        self.seed = 0

    def reset(self, n: int, seed: int) -> None:
        """Remember the pool size and seed."""
        self.n = n
        self.seed = seed

    def act(self, obs: Observation) -> Action:  # pragma: no cover - abstract
        """Today's action for every customer."""
        raise NotImplementedError


def channel_codes(names: list[str]) -> list[int]:
    """Channel names to codes, rejecting unknown names."""
    out = []
    for n in names:
        if n not in CHANNELS:
            raise ValueError(f"unknown channel '{n}'; channels: {', '.join(CHANNELS)}")
        out.append(CHANNELS.index(n))
    return out


def content_code(name: str) -> int:
    """Content name to code."""
    if name not in CONTENTS:
        raise ValueError(f"unknown content '{name}'; contents: {', '.join(CONTENTS)}")
    return CONTENTS.index(name)


def slot_code(name: str) -> int:
    """Slot name to code."""
    if name not in SLOTS:
        raise ValueError(f"unknown slot '{name}'; slots: {', '.join(SLOTS)}")
    return SLOTS.index(name)


def pick_channel(obs: Observation, want: np.ndarray, preference: list[int]) -> np.ndarray:
    """First channel in ``preference`` that can still reach each wanted customer; NO_CONTACT otherwise."""
    out = np.full(obs.n, NO_CONTACT, np.int8)
    left = want.copy()
    for c in preference:
        ok = left & obs.can_use(c)
        out[ok] = c
        left &= ~ok
        if not left.any():
            break
    return out


def phase(n: int, period: int) -> np.ndarray:
    """Spread customers over a cycle of ``period`` days, so contacts do not all land on one day."""
    ids = np.arange(n, dtype=np.int64)
    return ((ids * 2654435761) >> 7) % max(period, 1)


def due(obs: Observation, period: int, offset: int = 0) -> np.ndarray:
    """Customers whose turn it is today on a ``period``-day cadence (never when period is 0)."""
    if period <= 0:
        return np.zeros(obs.n, bool)
    return (obs.day + offset + phase(obs.n, period)) % period == 0


def typical_interval(obs: Observation, fallback: float = 45.0) -> float:
    """Median repurchase interval of repeat buyers as the CRM records it (fallback without any)."""
    repeat = obs.frequency >= 2
    if repeat.sum() < 10:
        return fallback
    return float(np.median(obs.interval[repeat]))


def slot_for(obs: Observation, default: int, avoid: tuple[int, ...] = ()) -> np.ndarray:
    """The slot a customer last opened in, else ``default``; slots in ``avoid`` fall back to default."""
    s = obs.active_slot.astype(np.int8)
    out = np.where(s >= 0, s, default).astype(np.int8)
    for a in avoid:
        out[out == a] = default
    return out


def build_action(channel: np.ndarray, content: np.ndarray | int, slot: np.ndarray | int) -> Action:
    """An :class:`Action` from arrays or scalars, broadcast to the channel array's length."""
    n = channel.shape[0]
    ct = np.broadcast_to(np.asarray(content, np.int8), (n,)).copy()
    sl = np.broadcast_to(np.asarray(slot, np.int8), (n,)).copy()
    return Action(channel.astype(np.int8), ct, sl)
