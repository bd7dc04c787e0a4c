"""The comparison table: per policy and KPI the mean, the paired difference and who leads.

Each row holds the paired difference against the reference with its interval
(:func:`experiments.stats.intervals.interval`) and p-value, and marks the best policy and whether its
lead is significant.

Policies are compared on the same seeds (common random numbers), so seed ``s`` of one policy is paired
with seed ``s`` of every other. The ``k`` policies compared with the reference form one Bonferroni
family per KPI: each interval is a ``1 - 0.05 / k`` interval (``ci_level``) and a difference is
significant exactly when its interval excludes zero. The leader is compared with each of the ``k``
others in the same way, and its lead is significant when all ``k`` intervals lie on its side of zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.stats.intervals import PairedDiff, level, paired_diff, seeds_to_resolve, underpowered
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
           "p_value", "p_adjusted", "significant", "best", "lead_significant", "n_seeds", "ci_level",
           "seeds_needed"]
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

    ``others`` holds the best policy's paired difference (best minus other: negative where less is
    better) with each other policy, runner-up first, as one Bonferroni family; ``significant`` holds
    when every one of those intervals lies on the best policy's side of zero.
    """

    metric: str
    best: str
    runner_up: str | None
    lead: PairedDiff | None
    significant: bool
    others: tuple[tuple[str, PairedDiff], ...] = ()

    @property
    def weakest(self) -> tuple[str, PairedDiff] | None:
        """The other policy whose interval comes closest to zero (the one that decides significance)."""
        if not self.others:
            return None
        sign = direction(self.metric) or 1
        return min(self.others, key=lambda o: o[1].ci_low if sign > 0 else -o[1].ci_high)


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

    @property
    def underpowered(self) -> bool:
        """Too few seeds for a comparison to resolve much (:func:`experiments.stats.intervals.underpowered`)."""
        return underpowered(len(self.seeds))

    def rows(self, metrics: tuple[str, ...] = COMPARE_METRICS) -> list[dict[str, Any]]:
        """Long-form rows with the columns in :data:`COLUMNS`.

        ``seeds_needed`` is the number of seeds at which the difference's interval would exclude zero
        if its observed mean and spread held (NaN for the reference, or when beyond the cap).
        """
        k = max(len(self.policies) - 1, 1)
        out = []
        for metric in metrics:
            base = self.series(self.reference, metric)
            lead = self.leader(metric)
            for i, pol in enumerate(self.policies):
                d = paired_diff(base, self.series(pol, metric), k)
                is_best = lead is not None and pol == lead.best
                need = seeds_to_resolve(self.series(pol, metric) - base, k) if i else None
                out.append({
                    "policy": pol, "metric": metric, "mean": float(self.series(pol, metric).mean()),
                    "diff_vs_reference": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high,
                    "p_value": d.p_value if i else math.nan, "p_adjusted": d.p_adjusted if i else math.nan,
                    "significant": bool(i and d.significant), "best": is_best,
                    "lead_significant": bool(is_best and lead is not None and lead.significant),
                    "n_seeds": len(self.seeds), "ci_level": level(k),
                    "seeds_needed": float(need) if need is not None else math.nan,
                })
        return out

    def leader(self, metric: str) -> Leader | None:
        """The best policy on ``metric`` and whether it beats all others (None for neutral KPIs).

        Its paired difference with each of the other ``k`` policies gets a ``1 - 0.05 / k`` interval;
        the lead is significant when all of them exclude zero on the best policy's side.
        """
        sign = direction(metric)
        if sign == 0:
            return None
        means = {p: float(self.series(p, metric).mean()) for p in self.policies}
        ranked = sorted(self.policies, key=lambda p: -sign * means[p])
        best = ranked[0]
        if len(ranked) == 1:
            return Leader(metric, best, None, None, False)
        k = len(ranked) - 1
        top = self.series(best, metric)
        others = tuple((p, paired_diff(self.series(p, metric), top, k)) for p in ranked[1:])
        significant = all((d.ci_low > 0) if sign > 0 else (d.ci_high < 0) for _, d in others)
        return Leader(metric, best, ranked[1], others[0][1], significant, others)
