"""The comparison table: per policy and KPI the mean, the paired difference and who leads.

Each row holds the paired difference against the reference with its bootstrap 95% interval and
Holm-adjusted p-value, and marks the best policy and whether its lead is significant.

Policies are compared on the same seeds (common random numbers), so seed ``s`` of one policy is paired
with seed ``s`` of every other. Holm's correction runs over the policies compared with the reference,
separately for each KPI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.stats.bootstrap import ALPHA, PairedDiff, bootstrap_diff, bootstrap_indices, holm
from experiments.store.tables import Table, select

COMPARE_METRICS: tuple[str, ...] = (
    "total_value", "net_profit", "residual_value", "revenue", "gross_margin", "incentive_cost",
    "contact_cost", "purchases", "contacts", "opens", "open_rate", "unsubscribes", "complaints",
    "referrals", "reachable_end", "active_end",
)
"""KPIs in the comparison table, headline first."""

LOWER_IS_BETTER = frozenset({"incentive_cost", "contact_cost", "unsubscribes", "complaints"})
NEUTRAL = frozenset({"contacts"})
"""KPIs with no better direction: no policy is 'best' at them."""

COLUMNS = ["policy", "metric", "mean", "diff_vs_reference", "ci_low", "ci_high",
           "p_value", "p_adjusted", "significant", "best", "lead_significant", "n_seeds"]
"""Columns of ``comparison.csv``: the first six are fixed, the rest are added after them."""


MONEY = frozenset({"total_value", "net_profit", "residual_value", "revenue", "gross_margin",
                   "incentive_cost", "contact_cost"})


def unit(metric: str) -> str:
    """Unit of a KPI for axis labels and tables."""
    if metric in MONEY:
        return "yuan"
    if metric == "open_rate":
        return "share of contacts"
    return "customers" if metric.endswith("_end") else "count"


def direction(metric: str) -> int:
    """+1 when more is better, -1 when less is better, 0 when neither."""
    return 0 if metric in NEUTRAL else -1 if metric in LOWER_IS_BETTER else 1


@dataclass(frozen=True)
class Leader:
    """The best policy on one KPI, its lead over the runner-up, and whether the lead is significant.

    ``significant`` holds when the best policy beats every other one after Holm's correction.
    """

    metric: str
    best: str
    runner_up: str | None
    lead: PairedDiff | None
    significant: bool


@dataclass
class Comparison:
    """Per-seed values of every KPI for each policy, paired by seed."""

    policies: list[str]
    seeds: list[int]
    values: dict[tuple[str, str], np.ndarray]
    """(policy, metric) -> one value per seed, in seed order."""

    @property
    def reference(self) -> str:
        """The policy every other one is compared with (the first)."""
        return self.policies[0]

    @classmethod
    def from_table(cls, runs: Table, policies: list[str], seeds: list[int],
                   metrics: tuple[str, ...] = COMPARE_METRICS) -> "Comparison":
        """Collect values from a runs table (one row per policy and seed, already at one grid point)."""
        values = {}
        for pol in policies:
            rows = select(runs, policy=pol)
            order = {int(s): i for i, s in enumerate(rows["seed"])}
            missing = [s for s in seeds if s not in order]
            if missing:
                raise ValueError(f"policy {pol} has no run for seeds {missing}")
            for m in metrics:
                values[(pol, m)] = np.array([float(rows[m][order[s]]) for s in seeds])
        return cls(list(policies), list(seeds), values)

    def series(self, policy: str, metric: str) -> np.ndarray:
        """One value per seed, in seed order."""
        return self.values[(policy, metric)]

    def silent(self) -> list[str]:
        """Policies that contacted nobody on any seed: a deliberate control, or a policy that does nothing."""
        return [p for p in self.policies if not np.any(self.series(p, "contacts"))]

    def rows(self, metrics: tuple[str, ...] = COMPARE_METRICS) -> list[dict[str, Any]]:
        """Long-form rows with the columns in :data:`COLUMNS`."""
        plan = bootstrap_indices(len(self.seeds))
        out = []
        for metric in metrics:
            base = self.series(self.reference, metric)
            diffs = [bootstrap_diff(base, self.series(p, metric), plan) for p in self.policies]
            adjusted = holm([d.p_value for d in diffs[1:]])
            lead = self.leader(metric, plan)
            for i, (pol, d) in enumerate(zip(self.policies, diffs)):
                p_adj = float(adjusted[i - 1]) if i else math.nan
                is_best = lead is not None and pol == lead.best
                out.append({
                    "policy": pol, "metric": metric, "mean": float(self.series(pol, metric).mean()),
                    "diff_vs_reference": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high,
                    "p_value": d.p_value if i else math.nan, "p_adjusted": p_adj,
                    "significant": bool(p_adj < ALPHA), "best": is_best,
                    "lead_significant": bool(is_best and lead is not None and lead.significant),
                    "n_seeds": len(self.seeds),
                })
        return out

    def leader(self, metric: str, plan: np.ndarray | None = None) -> Leader | None:
        """The best policy on ``metric`` and whether it beats all others (None for neutral KPIs)."""
        sign = direction(metric)
        if sign == 0:
            return None
        means = {p: float(self.series(p, metric).mean()) for p in self.policies}
        ranked = sorted(self.policies, key=lambda p: -sign * means[p])
        best = ranked[0]
        if len(ranked) == 1:
            return Leader(metric, best, None, None, False)
        plan = bootstrap_indices(len(self.seeds)) if plan is None else plan
        top = self.series(best, metric)
        diffs = [bootstrap_diff(self.series(p, metric), top, plan) for p in ranked[1:]]
        adjusted = holm([d.p_value for d in diffs])
        significant = bool(np.all(adjusted < ALPHA))
        return Leader(metric, best, ranked[1], diffs[0], significant)
