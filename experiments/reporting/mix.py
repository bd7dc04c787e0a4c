"""What each policy does, in words: its rule and parameters, and the contacts it actually sent.

The rule comes from the policy class (:func:`policies.base.describe_rule`); the contact mix from what
every run already records, so no run needs redoing: delivered contacts per channel in the daily table
(``<channel>_delivered``, counted by the engine), contacts per content in the segments table
(``contacts_<content>``, the policy's decisions as counted by :class:`experiments.recording.ContactRecorder`),
and the engine's daily ``contacts`` over the pool size per day (``reachable + unreachable``) for contacts
per customer-month. Channel by content is not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


from experiments.running.results import mix_totals
from experiments.store.tables import Table, select
from policies.base import describe_rule
from policies.baselines import BASELINES
from sim.defaults import CHANNELS, CONTENTS

DAYS_PER_MONTH = 30.0
"""Days in the 'month' of contacts per customer-month."""


def describe_entry(entry: dict[str, Any], changed_only: bool = False) -> str:
    """The rule of a policy as recorded in ``experiment.json`` (``kind``/``params`` or an opaque ``ref``)."""
    kind = entry.get("kind")
    if kind in BASELINES:
        cls = BASELINES[kind]
        return describe_rule(cls, cls.Params(**(entry.get("params") or {})), changed_only)
    ref = entry.get("ref") or entry.get("name", "?")
    return f"Loaded from {ref}: not a rule, so only its contact mix says what it does."


@dataclass(frozen=True)
class ContactMix:
    """Contacts a policy sent, pooled over seeds: rate per customer-month and shares by channel and content."""

    policy: str
    per_customer_month: float
    by_channel: dict[str, float]
    """Share of delivered contacts per channel (sums to 1 when anything was delivered)."""
    by_content: dict[str, float]
    """Share of the policy's contacts per content, as decided (sums to 1 when anything was sent)."""

    def channel_text(self) -> str:
        """Non-zero channel shares, largest first: 'wecom 62%, group 30%, ...' (or 'none')."""
        return _shares(self.by_channel)

    def content_text(self) -> str:
        """Non-zero content shares, largest first (or 'none')."""
        return _shares(self.by_content)


def _shares(shares: dict[str, float]) -> str:
    shown = sorted(((v, k) for k, v in shares.items() if v > 0), reverse=True)
    if not shown:
        return "none"
    return ", ".join(f"{k} {v:.0%}" if v >= 0.005 else f"{k} <1%" for v, k in shown)


def contact_mix(daily: Table, segments: Table, policy: str) -> ContactMix:
    """The :class:`ContactMix` of ``policy`` from the daily and segments tables of one grid point."""
    totals = {**mix_totals("daily", select(daily, policy=policy)),
              **mix_totals("segments", select(segments, policy=policy))}
    return mix_from_totals(policy, totals)


def mix_from_totals(policy: str, totals: Mapping[str, float]) -> ContactMix:
    """The :class:`ContactMix` of ``policy`` from its column totals (:func:`mix_totals`, summed over runs)."""
    def total(column: str) -> float:
        return totals.get(column, 0.0)

    pool_days = total("reachable") + total("unreachable")
    rate = total("contacts") / pool_days * DAYS_PER_MONTH if pool_days > 0 else 0.0
    return ContactMix(policy, rate, _normalised({ch: total(f"{ch}_delivered") for ch in CHANNELS}),
                      _normalised({c: total(f"contacts_{c}") for c in CONTENTS}))


def _normalised(counts: dict[str, float]) -> dict[str, float]:
    s = sum(counts.values())
    return {k: (v / s if s > 0 else 0.0) for k, v in counts.items()}
