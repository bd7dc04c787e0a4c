"""``siyu regress``: a small fixed set of runs checked against golden metrics stored in the package.

``--spec FILE`` checks a brand's own suite instead: the runs of an experiment file (scenario with
overrides, its policies, seeds and sizes) against a golden file kept next to it.

The engine is deterministic (same seed, same numbers, whatever the thread count), so any change of
the dynamics, a preset or a baseline moves some metric; the tolerance only absorbs floating-point
noise across platforms. After an intended change, ``siyu regress --update`` rewrites the golden file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from experiments.store.io import write_json
from experiments.running.runner import plan, unique
from experiments.running.spec import Experiment
from policies import load_policy
from sim.config import Scenario, apply_overrides, load_scenario
from sim.engine import Simulation, code_version

GOLDEN = Path(__file__).with_name("golden.json")
"""The golden file shipped inside the package (package data)."""
RTOL = 1e-3
"""Default relative tolerance: a metric drifts when |now - golden| > atol + rtol * |golden|."""
ATOL = 1e-6
METRICS = (
    "total_value", "net_profit", "residual_value", "revenue", "incentive_cost", "contact_cost",
    "purchases", "purchases_contacted", "purchases_organic", "lost_to_rivals", "contacts", "opens",
    "unsubscribes", "complaints", "dropouts", "referrals", "coupons_redeemed", "reachable_end",
    "active_end", "salience_mean_end", "fatigue_mean_end", "trust_mean_end", "deal_mean_end",
)
"""Metrics compared for every run."""


@dataclass(frozen=True)
class Suite:
    """The fixed runs of the regression check: every scenario x policy x seed."""

    scenarios: tuple[str, ...] = ("beauty", "mother_baby")
    policies: tuple[str, ...] = ("blast", "rfm_tiered", "fatigue_capped")
    seeds: tuple[int, ...] = (0, 1)
    customers: int = 4000
    days: int = 90

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.scenarios) * len(self.policies) * len(self.seeds)

    def describe(self) -> dict[str, Any]:
        """JSON form stored in the golden file."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


SUITE = Suite()


@dataclass(frozen=True)
class Drift:
    """One metric of one run outside tolerance (NaN golden or now: the run or metric is missing)."""

    case: str
    metric: str
    golden: float
    now: float

    @property
    def missing(self) -> bool:
        """The run or the metric exists on one side only."""
        return math.isnan(self.golden) or math.isnan(self.now)

    @property
    def relative(self) -> float:
        """(now - golden) / |golden|; infinite when golden is 0 or the value is missing."""
        if self.missing or self.golden == 0:
            return math.inf
        return (self.now - self.golden) / abs(self.golden)


@dataclass
class Check:
    """Outcome of comparing a suite's metrics with the golden file."""

    runs: int
    metrics: int
    drifts: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing moved beyond tolerance."""
        return not self.drifts


def scenario_for(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A suite scenario, with optional dotted-path overrides (to test that drift is caught)."""
    sc = load_scenario(name)
    return apply_overrides(sc, overrides, "regress overrides") if overrides else sc


Case = tuple[str, Scenario, Callable[[], Any], int, int, int]
"""One regression run: (key, scenario, policy factory, customers, days, seed)."""


def run_cases(cases: list[Case], progress: Callable[[int], None] | None = None) -> dict[str, dict[str, float]]:
    """The compared metrics of every case, by key; ``progress`` gets the days simulated so far."""
    out: dict[str, dict[str, float]] = {}
    done = 0
    for key, scenario, make, customers, days, seed in cases:
        def tick(day: int, base: int = done) -> None:
            if progress is not None:
                progress(base + day)
        s = Simulation(scenario, customers, seed).run(make(), days, tick).summary
        out[key] = {m: float(s[m]) for m in METRICS}
        done += days
    return out


def run_suite(suite: Suite = SUITE, overrides: dict[str, Any] | None = None,
              progress: Callable[[int], None] | None = None) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Metrics of every run (``"scenario/policy/seedS"`` -> metric -> value) and each scenario's config hash."""
    scenarios = {name: scenario_for(name, overrides) for name in suite.scenarios}
    cases: list[Case] = [(f"{name}/{policy}/seed{seed}", sc, partial(load_policy, policy), suite.customers,
                          suite.days, seed)
                         for name, sc in scenarios.items() for policy in suite.policies for seed in suite.seeds]
    return run_cases(cases, progress), {name: sc.config_hash() for name, sc in scenarios.items()}


def run_spec(exp: Experiment, progress: Callable[[int], None] | None = None
             ) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Metrics of every run of an experiment file: a brand's own suite (``siyu regress --spec``).

    Runs are keyed ``"scenario/policy/seedS"`` (``"scenario@point/..."`` when the file has a grid).
    """
    cases: list[Case] = []
    hashes = {}
    for task in unique(plan(exp)):
        label = task.scenario.name + (f"@{task.point.index}" if exp.axes else "")
        hashes[label] = task.scenario.config_hash()
        cases.append((f"{label}/{task.policy.name}/seed{task.seed}", task.scenario, task.policy.build,
                      task.customers, task.days, task.seed))
    return run_cases(cases, progress), hashes


def spec_suite(exp: Experiment) -> dict[str, Any]:
    """What the golden file records of an experiment-file suite (to notice when the file changed)."""
    return {"spec": exp.name, "scenario": exp.scenario.name, "policies": [p.name for p in exp.policies],
            "seeds": list(exp.seeds), "customers": exp.customers, "days": exp.days, "points": len(exp.points)}


def _described(suite: Suite | dict[str, Any]) -> dict[str, Any]:
    return suite.describe() if isinstance(suite, Suite) else suite


def write_golden(path: Path, suite: Suite | dict[str, Any], runs: dict[str, dict[str, float]],
                 hashes: dict[str, str], rtol: float = RTOL, atol: float = ATOL) -> None:
    """Rewrite the golden file from a fresh run of the suite."""
    write_json(path, {
        "about": "Golden metrics of `siyu regress`; rewrite with `siyu regress --update` after an intended change.",
        "code_version": code_version(), "suite": _described(suite),
        "tolerance": {"rtol": rtol, "atol": atol}, "config_hashes": hashes, "runs": runs,
    })


def read_golden(path: Path) -> dict[str, Any]:
    """The golden file's content; FileNotFoundError or ValueError with a one-line reason."""
    if not path.is_file():
        raise FileNotFoundError(f"no golden file at {path}; create it with `siyu regress --update`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        data = None
    if not _golden_shape(data):
        raise ValueError(f"{path}: not a golden file of siyu regress; recreate it with `siyu regress --update`")
    return data


def _golden_shape(data: Any) -> bool:
    """Whether ``data`` has the golden file's layout: runs of named numbers, optional tables of settings."""
    if not isinstance(data, dict) or not {"runs", "suite"} <= set(data):
        return False
    runs = data["runs"]
    if not isinstance(runs, dict) or not all(isinstance(r, dict) for r in runs.values()):
        return False
    numbers = (v for r in runs.values() for v in r.values())
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        return False
    return all(isinstance(data.get(k, {}), dict) for k in ("tolerance", "config_hashes"))


def check(golden: dict[str, Any], runs: dict[str, dict[str, float]], hashes: dict[str, str],
          suite: Suite | dict[str, Any] = SUITE, rtol: float | None = None, atol: float | None = None) -> Check:
    """Compare fresh metrics with the golden ones; tolerances default to the golden file's."""
    tol = golden.get("tolerance", {})
    rtol = tol.get("rtol", RTOL) if rtol is None else rtol
    atol = tol.get("atol", ATOL) if atol is None else atol
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
            raise ValueError(f"tolerance {name} must be a finite number >= 0, got {str(value)[:40]}")
    result = Check(len(runs), len(METRICS))
    if golden["suite"] != _described(suite):
        result.notes.append("the golden file was made for another suite; run `siyu regress --update`")
    for name, h in hashes.items():
        old = golden.get("config_hashes", {}).get(name)
        if old and old != h:
            result.notes.append(f"scenario {name} changed since the golden file (config {old} -> {h})")
    gold_runs = golden["runs"]
    for case in sorted(set(runs) | set(gold_runs)):
        now, ref = runs.get(case, {}), gold_runs.get(case, {})
        for m in METRICS:
            g, v = float(ref.get(m, math.nan)), float(now.get(m, math.nan))
            if math.isnan(g) or math.isnan(v) or abs(v - g) > atol + rtol * abs(g):
                result.drifts.append(Drift(case, m, g, v))
    return result
