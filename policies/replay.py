"""Replay of a contact plan: each day, exactly the plan's contacts for that day, nothing else.

Why: ``siyu forecast --contacts PLAN.csv`` simulates a brand's own customers under the campaign it plans
(or the one its log shows), so the plan is data read from a CSV, never code. A contact the platform
cannot deliver that day (the customer no longer reachable on the channel, or its 30-day cap used up) is
skipped, as a real send would fail, and counted in :attr:`Replay.refused`. With a ``timing`` the slot is the
customer's own, as a brand that times messages by the customer's last activity would pick it (the contact
fit replays a log on simulated customers: :mod:`experiments.calibrate.contact_match`).
"""

from __future__ import annotations

import numpy as np

from sim.defaults import CHANNELS, CONTENTS, SLOTS
from sim.observation import Action, Observation


class Replay:
    """Contacts exactly the plan's rows of each day (customer row, channel, content, slot)."""

    kind = "replay"

    def __init__(self, customer: np.ndarray, day: np.ndarray, channel: np.ndarray, content: np.ndarray,
                 slot: np.ndarray, name: str = "replay", timing: np.ndarray | None = None) -> None:
        """Rows of the plan; ``day`` counts from the run's first day (0); at most one row per customer and day.

        ``timing[a + 1]``: the slot to send at to a customer whose last activity the CRM saw in slot ``a``
        (``-1``: none seen), or -1 to keep the row's slot; None keeps every row's slot.
        """
        order = np.lexsort((customer, day))
        self.customer = np.asarray(customer, np.int64)[order]
        self.day = np.asarray(day, np.int64)[order]
        self.channel = np.asarray(channel, np.int8)[order]
        self.content = np.asarray(content, np.int8)[order]
        self.slot = np.asarray(slot, np.int8)[order]
        same = (np.diff(self.day) == 0) & (np.diff(self.customer) == 0)
        if same.any():
            i = int(np.argmax(same))
            raise ValueError(f"plan: customer row {self.customer[i]} has two contacts on day {self.day[i]}")
        for what, a, names in (("channel", self.channel, CHANNELS), ("content", self.content, CONTENTS),
                               ("slot", self.slot, SLOTS)):
            if a.size and (a.min() < 0 or a.max() >= len(names)):
                raise ValueError(f"plan: a {what} code outside 0..{len(names) - 1}")
        self.timing = None if timing is None else np.asarray(timing, np.int8)
        if self.timing is not None and (self.timing.shape != (len(SLOTS) + 1,) or self.timing.max() >= len(SLOTS)):
            raise ValueError(f"plan: timing needs {len(SLOTS) + 1} slot codes (or -1)")
        self.name = name
        self.n = 0
        self.sent = 0
        """Contacts handed to the engine so far in this run."""
        self.refused = 0
        """Plan rows skipped so far because the channel could not reach the customer that day."""

    def reset(self, n: int, seed: int) -> None:
        """Start a run over ``n`` customers; the plan may not name a row beyond them."""
        if self.customer.size and self.customer.max() >= n:
            raise ValueError(f"plan: customer row {int(self.customer.max())} but the run has {n} customers")
        self.n, self.sent, self.refused = n, 0, 0

    def act(self, obs: Observation) -> Action:
        """Today's plan rows whose channel the customer can still be reached on."""
        action = Action.none(obs.n)
        lo, hi = np.searchsorted(self.day, [obs.day, obs.day + 1])
        if hi == lo:
            return action
        rows, ch = self.customer[lo:hi], self.channel[lo:hi]
        ok = ((obs.usable[rows] >> ch) & 1).astype(bool)
        action.channel[rows[ok]] = ch[ok]
        action.content[rows[ok]] = self.content[lo:hi][ok]
        slot = self.slot[lo:hi][ok]
        if self.timing is not None:
            own = self.timing[np.asarray(obs.active_slot)[rows[ok]].astype(np.int64) + 1]
            slot = np.where(own >= 0, own, slot)
        action.slot[rows[ok]] = slot
        self.sent += int(ok.sum())
        self.refused += int((~ok).sum())
        return action

    def describe(self) -> str:
        """The plan in words."""
        days = np.unique(self.day).size
        return f"Replays a contact plan: {self.customer.size:,} contacts on {days:,} days."
