"""The Policy protocol and the helpers every rule shares (channel choice, phases, slots).

A policy acts on the whole pool at once: ``act(observation) -> Action``. It sees only the CRM
record (:class:`sim.observation.Observation`) and must return valid actions: a channel that still
reaches the customer and has cap left, or NO_CONTACT. ``Policy`` is defined in :mod:`sim.protocol` and
``typical_interval`` in :mod:`sim.segments` (with the repurchase ratio and the segments); both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numba import njit, prange
from pydantic import BaseModel

from sim.config import STRICT, short
from sim.defaults import CHANNELS, CONTENTS, NO_CONTACT, SLOTS
from sim._threads import twin
from sim.observation import Action, Observation, usable_channels
from sim.protocol import Policy as Policy
from sim.segments import typical_interval as typical_interval


class Params(BaseModel):
    """Base of every policy's parameters: strict, validated, documented fields."""

    model_config = STRICT


def search_int(low: int, high: int, log: bool = False) -> dict[str, Any]:
    """Field metadata (``json_schema_extra``): a tuner searches this integer in [low, high].

    Why here: the range a tuner may try sits next to the parameter it belongs to, in one place;
    ``siyu tune`` reads it through :func:`search_space`.
    """
    return {"search": {"type": "int", "low": low, "high": high, "log": log}}


def search_float(low: float, high: float, step: float | None = None, log: bool = False) -> dict[str, Any]:
    """Field metadata: a tuner searches this number in [low, high], in steps of ``step`` or on a log scale.

    A step keeps tuned values to what a practitioner would write (0.65, not 0.6327).
    """
    return {"search": {"type": "float", "low": low, "high": high, "step": step, "log": log}}


def search_choice(*choices: Any) -> dict[str, Any]:
    """Field metadata: a tuner picks one of ``choices`` (names, flags, or whole lists such as channel orders)."""
    return {"search": {"type": "categorical", "choices": list(choices)}}


def search_each(*items: dict[str, Any]) -> dict[str, Any]:
    """Field metadata of a tuple: each element searched in its own range (``search_float(...)`` per element)."""
    return {"search": {"type": "tuple", "items": [item["search"] for item in items]}}


def search_space(params: type[Params]) -> dict[str, dict[str, Any]]:
    """Parameter name -> declared search range, for the fields of ``params`` that declare one (in field order)."""
    out = {}
    for name, info in params.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "search" in extra:
            out[name] = extra["search"]
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class PolicyMemory:
    """What a brand's logs say about the days before a policy is applied outside the simulator.

    A rule that remembers across days (the last offer it sent, when it first saw a customer) rebuilds its
    memory from this in :meth:`RulePolicy.restore`; arrays are per customer of the CRM record, days are
    the engine's day numbers.
    """

    first_day: int
    """First day of the logs: the day the brand's programme is taken to have started."""
    last_offer: np.ndarray
    """Day of each customer's last coupon or flash-sale contact sent (NEVER if none)."""
    first_seen: np.ndarray
    """Day the CRM first saw each customer: their first contact or first purchase (NEVER if neither)."""


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

    def restore(self, memory: PolicyMemory) -> None:
        """After :meth:`reset`, take up what the logs say happened before today (a stateless rule needs nothing).

        The hook ``siyu plan`` calls so that a rule with memory decides on its first day outside the
        simulator as it would after running on the brand's pool.
        """

    def act(self, obs: Observation) -> Action:  # pragma: no cover - abstract
        """Today's action for every customer."""
        raise NotImplementedError

    def describe(self) -> str:
        """What the rule does, in words: its class docstring's first line and every parameter's value.

        Why: a table that names policies must also say what they are; built from the docstring and the
        validated parameters, the sentence cannot drift from the code.
        """
        return describe_rule(type(self), self.params)


def describe_rule(cls: type, params: BaseModel | None, changed_only: bool = False) -> str:
    """First line of ``cls``'s docstring, then ``name = value`` per parameter (lists joined by '/').

    ``changed_only`` lists only the parameters that differ from the class's defaults (for a terminal).
    """
    doc = (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".")
    if params is None:
        return doc + "."
    given = params.model_dump(mode="json")
    defaults = type(params)().model_dump(mode="json") if changed_only else {}
    values = []
    for key, value in given.items():
        if changed_only and defaults.get(key) == value:
            continue
        shown = "/".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        values.append(f"{key} = {shown}")
    if not values:
        return doc + (". Default parameters." if changed_only and given else ".")
    return doc + ". Parameters: " + ", ".join(values) + "."


def channel_codes(names: list[str]) -> list[int]:
    """Channel names to codes, rejecting unknown names."""
    out = []
    for n in names:
        if n not in CHANNELS:
            raise ValueError(f"unknown channel '{short(n)}'; channels: {', '.join(CHANNELS)}")
        out.append(CHANNELS.index(n))
    return out


def content_code(name: str) -> int:
    """Content name to code."""
    if name not in CONTENTS:
        raise ValueError(f"unknown content '{short(name)}'; contents: {', '.join(CONTENTS)}")
    return CONTENTS.index(name)


def slot_code(name: str) -> int:
    """Slot name to code."""
    if name not in SLOTS:
        raise ValueError(f"unknown slot '{short(name)}'; slots: {', '.join(SLOTS)}")
    return SLOTS.index(name)


def pick_channel(obs: Observation, want: np.ndarray, preference: list[int]) -> np.ndarray:
    """First channel in ``preference`` that can still reach each wanted customer; NO_CONTACT otherwise.

    From the CRM record itself (reach and the month's counts against the caps), for the wanted customers
    only: the observation's derived features (:attr:`~sim.observation.Observation.usable` among them) are
    not computed for it, a pass over the pool a rule that reads nothing else need not pay for.
    """
    _, reach, month_count, caps = obs.crm_record()[:4]
    return _pick(np.ascontiguousarray(want, dtype=np.bool_), reach, month_count, caps,
                 first_usable_table(np.asarray(preference, np.int64)))


@twin(cache=True)
def _pick(want, reach, month_count, caps, first):  # pragma: no cover - jitted
    """:func:`pick_channel`: ``first`` is :func:`first_usable_table` of the preference."""
    out = np.empty(want.shape[0], np.int8)
    for i in prange(want.shape[0]):
        out[i] = first[usable_channels(reach[i], month_count[i], caps)] if want[i] else NO_CONTACT
    return out


@njit(cache=True, inline="always")
def first_usable(usable: int, preference: np.ndarray) -> int:
    """First channel of ``preference`` set in the ``usable`` bit mask; NO_CONTACT if none (for jitted rules)."""
    for c in preference:
        if (usable >> c) & 1:
            return c
    return NO_CONTACT


@njit(cache=True)
def first_usable_table(preference: np.ndarray) -> np.ndarray:
    """:func:`first_usable` of every 8-bit usable mask (int8, 256 entries), for jitted rules.

    One table lookup per contacted customer instead of a loop over the preference (bit-identical).
    """
    out = np.empty(256, np.int8)
    for u in range(256):
        out[u] = first_usable(u, preference)
    return out


@lru_cache(maxsize=64)
def phase(n: int, period: int) -> np.ndarray:
    """Spread customers over a cycle of ``period`` days, so contacts do not all land on one day."""
    ids = np.arange(n, dtype=np.int64)
    out = (((ids * 2654435761) >> 7) % max(period, 1)).astype(np.int32)
    out.flags.writeable = False
    return out


def due(obs: Observation, period: int, offset: int = 0) -> np.ndarray:
    """Customers whose turn it is today on a ``period``-day cadence (never when period is 0)."""
    phases, turn = cadence(obs, period, offset)
    return phases == turn


def cadence(obs: Observation, period: int, offset: int = 0) -> tuple[np.ndarray, int]:
    """(phases, today's turn) of a ``period``-day cadence: customer i is due when phases[i] == turn.

    The turn is -1 (nobody) when period is 0. For jitted rules that test many cadences in one pass.
    """
    if period <= 0:
        return phase(obs.n, 1), -1
    return phase(obs.n, period), (-(obs.day + offset)) % period


def slot_for(obs: Observation, default: int, avoid: tuple[int, ...] = ()) -> np.ndarray:
    """The slot of the customer's last activity, else ``default``; slots in ``avoid`` fall back to default."""
    mask = 0
    for a in avoid:
        mask |= 1 << a
    return _slot_for(obs.active_slot, np.int8(default), np.int64(mask))


@twin(light=True, cache=True)
def _slot_for(active, default, avoid_mask):  # pragma: no cover - jitted
    out = np.empty(active.shape[0], np.int8)
    for i in prange(active.shape[0]):
        out[i] = slot_or_default(active[i], default, avoid_mask)
    return out


@njit(cache=True, inline="always")
def slot_or_default(active: int, default: int, avoid_mask: int) -> int:
    """The slot of the customer's last activity, unless unknown or in ``avoid_mask``; else ``default``.

    Without a branch (the shift of an unknown slot reads bit 0 and is ignored), so loops calling it vectorize.
    """
    return default if (active < 0) | (((avoid_mask >> max(active, 0)) & 1) != 0) else active


def build_action(channel: np.ndarray, content: np.ndarray | int, slot: np.ndarray | int) -> Action:
    """An :class:`Action` from arrays or scalars, broadcast to the channel array's length."""
    n = channel.shape[0]
    ct = np.broadcast_to(np.asarray(content, np.int8), (n,)).copy()
    sl = np.broadcast_to(np.asarray(slot, np.int8), (n,)).copy()
    return Action(channel.astype(np.int8), ct, sl)
