"""What the report needs beyond the engine's daily totals, recorded without touching the engine.

* Who got what and when: :class:`ContactRecorder` wraps a policy and counts, each day, its contacts
  by CRM lifecycle segment (:data:`sim.segments.SEGMENTS`, re-exported here) and content, and the
  reachable customers per segment.
* What the CRM cannot see: :func:`hidden_histograms` bins the end-of-run fatigue and salience of the
  customers still in the pool on fixed edges, so histograms add up across seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.defaults import CONTENTS
from sim.observation import Action, Observation
from sim.segments import SEGMENTS as SEGMENTS, segment_codes

HIDDEN_BINS: dict[str, np.ndarray] = {
    "fatigue": np.linspace(0.0, 8.0, 33),
    "salience": np.linspace(0.0, 1.0, 21),
}
"""Fixed bin edges of the end-of-run hidden-state histograms; values above the last edge go in the last bin."""


class ContactRecorder:
    """A policy wrapper counting contacts by segment, content and day; decisions pass through unchanged."""

    def __init__(self, policy: Any) -> None:
        """Wrap ``policy`` (anything with name, reset and act)."""
        self.policy = policy
        self.name = policy.name
        self.contacts: list[np.ndarray] = []
        self.reachable: list[np.ndarray] = []

    def reset(self, n: int, seed: int) -> None:
        """Reset the wrapped policy and the counts."""
        self.policy.reset(n, seed)
        self.contacts, self.reachable = [], []

    def act(self, obs: Observation) -> Action:
        """The wrapped policy's action; today's counts are taken from the same observation."""
        action = self.policy.act(obs)
        seg = segment_codes(obs)
        ns, nc = len(SEGMENTS), len(CONTENTS)
        ch = np.asarray(action.channel)
        hit = ch >= 0
        content = np.asarray(action.content).astype(np.int64)[hit]
        cells = np.bincount(seg[hit] * nc + np.clip(content, 0, nc - 1), minlength=ns * nc)
        self.contacts.append(cells.reshape(ns, nc))
        self.reachable.append(np.bincount(seg[obs.reachable], minlength=ns))
        return action

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Contacts (days, segments, contents) and reachable customers (days, segments)."""
        ns, nc = len(SEGMENTS), len(CONTENTS)
        if not self.contacts:
            return np.zeros((0, ns, nc), np.int64), np.zeros((0, ns), np.int64)
        return np.stack(self.contacts), np.stack(self.reachable)


def hidden_histograms(values: dict[str, np.ndarray], in_pool: np.ndarray) -> dict[str, dict[str, list]]:
    """Histogram on :data:`HIDDEN_BINS` of each hidden variable over customers still in the pool."""
    out = {}
    for name, edges in HIDDEN_BINS.items():
        x = np.clip(np.asarray(values[name], np.float64)[in_pool], edges[0], edges[-1])
        counts, _ = np.histogram(x, bins=edges)
        out[name] = {"edges": edges.tolist(), "counts": counts.tolist()}
    return out
