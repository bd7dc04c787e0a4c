"""Search, write the tuned policy file, and judge it on fresh seeds next to every default baseline.

The fresh-seed comparison is an experiment run by the same runner as ``siyu compare``, with the tuned
policy file first (the reference) and every baseline at its defaults after it, on seeds
0 .. test_seeds - 1: ``siyu compare --policies DIR/tuned_<policy>.toml,no_contact,...`` with the same
sizes gives the same numbers. Its run files, tables and ``comparison.csv`` are in ``DIR/fresh``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from experiments.running.backends import Backend
from experiments.running.runner import ExperimentResult, Progress, run_experiment
from experiments.running.spec import Experiment, experiment_from_refs
from experiments.stats.comparison import direction
from experiments.tune.outputs import write_history, write_policy_file, write_summary, write_trials
from experiments.tune.result import FreshRow, TuneResult
from experiments.tune.search import SearchResult, TrialResult, search
from experiments.tune.settings import FRESH_DIR, TuneSettings
from policies.baselines import BASELINES


def tuned_name(policy: str) -> str:
    """Name of the tuned policy, and stem of its file: ``tuned_<policy>``."""
    return f"tuned_{policy}"


def fresh_experiment(settings: TuneSettings, policy_file: Path) -> Experiment:
    """The tuned policy file and every default baseline on the fresh seeds (``siyu compare``'s experiment)."""
    return experiment_from_refs(settings.scenario_ref, [str(policy_file), *BASELINES], settings.test_seeds, 0,
                                settings.customers, settings.days, name=tuned_name(settings.policy),
                                source="siyu tune")


def fresh_rows(settings: TuneSettings, result: ExperimentResult) -> list[FreshRow]:
    """The fresh-seed comparison, as the tuned policy's lead over each baseline."""
    comp = result.comparison()
    metric = settings.metric
    sign = direction(metric)
    rows = {r["policy"]: r for r in comp.rows((metric,))}
    out = []
    for i, pol in enumerate(comp.policies):
        r = rows[pol]
        mean_np = float(comp.series(pol, "net_profit").mean())
        if i == 0:
            out.append(FreshRow(pol, r["mean"], mean_np, math.nan, math.nan, math.nan, False))
            continue
        # the table holds policy - tuned; the lead is tuned - policy, turned to "positive is better"
        lo, hi = sorted((-sign * r["ci_low"], -sign * r["ci_high"]))
        significant = bool(r.get("significant", lo > 0 or hi < 0))
        out.append(FreshRow(pol, r["mean"], mean_np, -sign * r["diff_vs_reference"], lo, hi, significant))
    return out


def conclude(settings: TuneSettings, out: Path, found: SearchResult, policy_file: Path,
             fresh: ExperimentResult) -> TuneResult:
    """The fresh-seed verdict of a finished search; writes ``trials.csv``, ``history.png`` and ``tune.md``."""
    result = TuneResult(settings, found, policy_file, fresh, fresh_rows(settings, fresh))
    write_trials(out / "trials.csv", settings, found)
    write_history(out / "history.png", settings, found)
    write_summary(out / "tune.md", result)
    return result


def tune(settings: TuneSettings, out: Path, on_trial: Callable[[TrialResult, int], None] | None = None,
         progress: Progress | None = None, backend: Backend | None = None) -> TuneResult:
    """Search (resuming from ``out``), write ``tuned_<policy>.toml``, compare on fresh seeds, write the outputs.

    ``on_trial(trial, done)`` follows the search; ``progress(days)`` the fresh-seed runs. Runs go to
    ``backend`` (default: ``settings.jobs`` local processes).
    """
    found = search(settings, out, on_trial, backend=backend)
    policy_file = write_policy_file(out / f"{tuned_name(settings.policy)}.toml", settings, found)
    fresh = run_experiment(fresh_experiment(settings, policy_file), out / FRESH_DIR, progress, settings.jobs,
                           backend)
    return conclude(settings, out, found, policy_file, fresh)
