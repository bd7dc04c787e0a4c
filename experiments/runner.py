"""Run policies on a scenario over seeds and write the results a strategist and CI read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.io import daily_rows, write_csv, write_json
from experiments.stats import paired_diff
from policies import load_policy
from sim.config import Scenario
from sim.engine import RunResult, Simulation

COMPARE_METRICS = (
    "total_value", "net_profit", "residual_value", "revenue", "gross_margin", "incentive_cost",
    "contact_cost", "purchases", "contacts", "opens", "open_rate", "unsubscribes", "complaints",
    "referrals", "reachable_end", "active_end",
)
"""KPIs in the comparison table, headline first."""


def run_one(scenario: Scenario, policy_ref: str, customers: int, days: int, seed: int,
            progress: Callable[[int], None] | None = None) -> RunResult:
    """One policy on one seed."""
    policy = load_policy(policy_ref)
    return Simulation(scenario, customers, seed).run(policy, days, progress)


def write_run(out: Path, result: RunResult) -> None:
    """``summary.json`` and ``daily.csv`` of a single run in ``out``."""
    write_json(out / "summary.json", result.summary)
    rows, columns = daily_rows(result.daily)
    write_csv(out / "daily.csv", rows, columns)


def run_file_name(policy: str, seed: int) -> str:
    """File name of one run's summary inside a comparison's ``runs/`` folder."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in policy)
    return f"{safe}__seed{seed}.json"


@dataclass
class Comparison:
    """Summaries of every (policy, seed) run and the paired statistics against the reference."""

    policies: list[str]
    seeds: list[int]
    summaries: dict[tuple[str, int], dict[str, Any]]

    def values(self, policy: str, metric: str) -> np.ndarray:
        """One value per seed, in seed order."""
        return np.array([float(self.summaries[(policy, s)][metric]) for s in self.seeds])

    def rows(self, metrics: tuple[str, ...] = COMPARE_METRICS) -> list[dict[str, Any]]:
        """Long-form rows: policy, metric, mean, diff_vs_reference, ci_low, ci_high."""
        ref = self.policies[0]
        out = []
        for metric in metrics:
            base = self.values(ref, metric)
            for pol in self.policies:
                vals = self.values(pol, metric)
                d = paired_diff(base, vals)
                out.append({"policy": pol, "metric": metric, "mean": float(vals.mean()),
                            "diff_vs_reference": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high})
        return out


def compare(scenario: Scenario, policy_refs: list[str], seeds: list[int], customers: int, days: int,
            out: Path | None = None, progress: Callable[[int], None] | None = None) -> Comparison:
    """Every policy on the same seeds (common random numbers); per-run summaries go to ``out/runs``."""
    names = [load_policy(ref).name for ref in policy_refs]  # validates every reference up front
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be distinct, got {', '.join(names)}")
    summaries: dict[tuple[str, int], dict[str, Any]] = {}
    done = 0
    for seed in seeds:
        for ref, name in zip(policy_refs, names):
            def tick(day: int, _base: int = done) -> None:
                if progress is not None:
                    progress(_base + day)
            result = run_one(scenario, ref, customers, days, seed, tick)
            summaries[(name, seed)] = result.summary
            if out is not None:
                write_json(out / "runs" / run_file_name(name, seed), result.summary)
            done += days
    comp = Comparison(names, list(seeds), summaries)
    if out is not None:
        cols = ["policy", "metric", "mean", "diff_vs_reference", "ci_low", "ci_high"]
        write_csv(out / "comparison.csv", comp.rows(), cols)
    return comp
