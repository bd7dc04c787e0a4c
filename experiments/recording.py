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
from numba import njit, prange

from sim._threads import twin
from sim.defaults import BLOCK, CONTENTS
from sim.observation import Action, Observation, days_since, purchase_interval
from sim.segments import SEGMENTS as SEGMENTS, segment_codes as segment_codes, segment_of, typical_interval

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
        ns, nc = len(SEGMENTS), len(CONTENTS)
        cells, reachable = np.zeros(ns * nc, np.int64), np.zeros(ns, np.int64)
        _count_contacts(obs.crm_record(), np.float32(typical_interval(obs)), obs.tier, np.asarray(action.channel),
                        np.asarray(action.content), nc, cells, reachable)
        self.contacts.append(cells.reshape(ns, nc))
        self.reachable.append(reachable)
        return action

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Contacts (days, segments, contents) and reachable customers (days, segments)."""
        ns, nc = len(SEGMENTS), len(CONTENTS)
        if not self.contacts:
            return np.zeros((0, ns, nc), np.int64), np.zeros((0, ns), np.int64)
        return np.stack(self.contacts), np.stack(self.reachable)


@twin(cache=True)
def _count_contacts(record, typical, tier, channel, content, nc, cells, reachable):  # pragma: no cover - jitted
    """Today's contacts by (segment, content) into ``cells`` and reachable customers by segment, in one pass.

    Counted per block of customers (:func:`_count_block`) and summed in block order (integers: the same
    whatever the threads). Contents outside the table are counted in its nearest end, as the action's
    validation would reject them.
    """
    day, reach, _, _, last_purchase, first_purchase, frequency, _ = record
    n = reach.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    nk = cells.shape[0]
    width = nk + reachable.shape[0]
    part = np.empty((nb, width), np.int64)  # every row written whole: np.zeros would be a parallel loop of its own
    for b in prange(nb):
        lo, hi = b * BLOCK, min((b + 1) * BLOCK, n)
        _count_block(day, typical, nc, nk, last_purchase[lo:hi], first_purchase[lo:hi], frequency[lo:hi],
                     tier[lo:hi], reach[lo:hi], channel[lo:hi], content[lo:hi], part[b])
    for b in range(nb):  # scalar loops: an array expression here is a parallel region per block
        for k in range(nk):
            cells[k] += part[b, k]
        for k in range(reachable.shape[0]):
            reachable[k] += part[b, nk + k]


@njit(cache=True, error_model="numpy")
def _count_block(day, typical, nc, nk, last_purchase, first_purchase, frequency, tier, reach, channel, content,
                 out):  # pragma: no cover - jitted
    """One block's counts into ``out`` (contacts by segment x content, then reachable by segment).

    Two branch-free passes: the segments (the divisions vectorize: a function of its own, with numpy's
    error model, because inside a parallel loop's body they did not, 7.7 against 3.8 ns a row at 10^6
    customers), then the counts into four interleaved tallies (consecutive rows rarely wait on the same
    counter). No division here can be by zero: the typical interval is never 0.
    """
    m = reach.shape[0]
    segs = np.empty(m, np.int64)
    for i in range(m):
        segs[i] = segment_of(days_since(day, last_purchase[i]),
                             purchase_interval(last_purchase[i], first_purchase[i], frequency[i]), typical,
                             frequency[i], tier[i])
    width = out.shape[0]
    lanes = np.zeros((4, width), np.int64)
    for i in range(m):
        seg = segs[i]
        lanes[i & 3, seg * nc + min(max(np.int64(content[i]), 0), nc - 1)] += channel[i] >= 0
        lanes[i & 3, nk + seg] += reach[i] != 0
    for k in range(width):
        out[k] = lanes[0, k] + lanes[1, k] + lanes[2, k] + lanes[3, k]


def hidden_histograms(values: dict[str, np.ndarray], in_pool: np.ndarray) -> dict[str, dict[str, list]]:
    """Histogram on :data:`HIDDEN_BINS` of each hidden variable over customers still in the pool."""
    out = {}
    for name, edges in HIDDEN_BINS.items():
        x = np.clip(np.asarray(values[name], np.float64)[in_pool], edges[0], edges[-1])
        counts, _ = np.histogram(x, bins=edges)
        out[name] = {"edges": edges.tolist(), "counts": counts.tolist()}
    return out
