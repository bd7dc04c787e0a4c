"""What ``siyu tune`` writes: the tuned policy file, every trial, the optimisation history and a summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from experiments.console import count, number
from experiments.store.io import atomic_write_text, write_csv
from experiments.tune.search import SearchResult
from experiments.tune.settings import FRESH_DIR, TuneSettings
from experiments.tune.result import TuneResult
from experiments.tune.space import at_edge, flat_space


def seed_range(seeds: list[int]) -> str:
    """``10000-10004`` (or one seed)."""
    return str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"


def toml_value(value: Any) -> str:
    """A JSON-native value (bool, number, text, list, table) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} to a policy file")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (journeys' base_params)
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to a policy file")


def write_policy_file(path: Path, settings: TuneSettings, found: SearchResult) -> Path:
    """``tuned_<policy>.toml``: the best trial's parameters, loadable by ``siyu run --policy`` and ``siyu compare``."""
    best = found.best
    lines = [
        f"# siyu tune {settings.policy} on {settings.scenario.name}: {count(settings.customers, 'customer')}, "
        f"{count(settings.days, 'day')}; trial {best.number}, the best of {count(len(found.trials), 'trial')} (TPE)",
        f"# mean {settings.metric} on training seeds {seed_range(settings.train_seed_list)}: {number(best.value)} "
        f"(default parameters: {number(found.default.value)}); fresh seeds: see tune.md",
        f'policy = "{settings.policy}"',
        f'name = "{path.stem}"',
        "",
        "[params]",
        *(f"{k} = {toml_value(v)}" for k, v in best.params.items()),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def write_trials(path: Path, settings: TuneSettings, found: SearchResult) -> None:
    """``trials.csv``: one row per trial, its value per training seed, its mean, the best so far and its parameters."""
    names = list(flat_space(settings.policy))
    seeds = [f"seed_{s}" for s in settings.train_seed_list]
    sign = 1.0 if settings.maximize else -1.0
    rows, best = [], -math.inf
    for t in found.trials:
        best = max(best, sign * t.value)
        rows.append({"trial": t.number, "default": t.default, settings.metric: t.value, "best_so_far": sign * best,
                     **dict(zip(seeds, t.seed_values)), **{n: t.trial_params[n] for n in names}})
    write_csv(path, rows, ["trial", "default", settings.metric, "best_so_far", *seeds, *names])


def write_history(path: Path, settings: TuneSettings, found: SearchResult) -> None:
    """``history.png``: every trial's mean over the training seeds, the best so far and the default parameters."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from experiments.reporting.figures import SI

    x = [t.number for t in found.trials]
    y = [t.value for t in found.trials]
    sign = 1.0 if settings.maximize else -1.0
    running, best = [], -math.inf
    for v in y:
        best = max(best, sign * v)
        running.append(sign * best)
    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=14, alpha=0.6, color="#4c78a8", label="trial")
    ax.step(x, running, where="post", color="#e45756", lw=1.6, label="best so far")
    ax.axhline(found.default.value, color="#555555", ls="--", lw=1, label="default parameters")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{settings.metric}, mean over {count(settings.train_seeds, 'training seed')} (yuan)"
                  if settings.metric.endswith(("value", "profit", "revenue", "margin", "cost"))
                  else f"{settings.metric}, mean over {count(settings.train_seeds, 'training seed')}")
    ax.yaxis.set_major_formatter(SI)
    ax.set_title(f"tuning {settings.policy} on {settings.scenario.name} (TPE, sampler seed {settings.sampler_seed})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if settings.maximize else "upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary_lines(result: TuneResult) -> list[str]:
    """``tune.md``: the setup, the tuned parameters next to the defaults, and the fresh-seed comparison."""
    s, found = result.settings, result.search
    best, default = found.best, found.default
    metric = s.metric
    lines = [
        f"# Tuning `{s.policy}` on `{s.scenario.name}`", "",
        f"Search: Optuna TPE (sampler seed {s.sampler_seed}), {count(len(found.trials), 'trial')}; trial 0 is the "
        f"default parameters. Every trial ran on the same training seeds {seed_range(s.train_seed_list)} "
        f"(common random numbers), {count(s.customers, 'customer')}, {count(s.days, 'day')}; it is scored by "
        f"the mean `{metric}` over those seeds.", "",
        f"Best: trial {best.number}, mean `{metric}` {number(best.value)} on the training seeds "
        f"(default parameters: {number(default.value)}). Policy file: `{result.policy_file.name}`.", "",
        "| parameter | tuned | default |", "|---|---|---|",
    ]
    for k, v in best.params.items():
        d = default.params[k]
        mark = "" if v == d else " (changed)"
        lines.append(f"| {k} | {json.dumps(v)}{mark} | {json.dumps(d)} |")
    edges = at_edge(s.policy, best.trial_params)
    if edges:
        lines += ["", "**At the edge of its search range** (the optimum may lie beyond; widen the range in "
                  "`policies/baselines.py`): " + "; ".join(edges) + "."]
    seeds = s.test_seed_list
    tuned, rival = result.tuned, result.best_baseline
    verdict = ("better than" if rival.lead > 0 and rival.significant else
               "worse than" if rival.lead < 0 and rival.significant else "not distinguishable from")
    lines += [
        "", f"## On fresh seeds {seed_range(seeds)}", "",
        f"The tuned rule and every baseline at its default parameters, on {count(len(seeds), 'seed')} none of "
        f"which the search saw. Lead = tuned minus the policy (positive: the tuned rule is better), paired by "
        f"seed, with the interval and significance of `siyu compare` (paired t, Bonferroni over the baselines; runs in "
        f"`{FRESH_DIR}/`).", "",
        f"| policy | {metric} | net_profit | lead of the tuned rule [CI] | significant |",
        "|---|---|---|---|---|",
    ]
    for r in result.rows:
        lead = "—" if math.isnan(r.lead) else (f"{number(r.lead, True)} "
                                               f"[{number(r.ci_low, True)}, {number(r.ci_high, True)}]")
        sig = "—" if math.isnan(r.lead) else ("yes" if r.significant else "no")
        lines.append(f"| {r.policy} | {number(r.mean)} | {number(r.net_profit)} | {lead} | {sig} |")
    lines += [
        "", f"Verdict: `{tuned.policy}` ({number(tuned.mean)}) is {verdict} the best default baseline, "
        f"`{rival.policy}` ({number(rival.mean)}): lead {number(rival.lead, True)} "
        f"[{number(rival.ci_low, True)}, {number(rival.ci_high, True)}].", "",
        *(f"**Warning:** {w}.\n" for w in result.warnings()),
        "Reproduce the fresh-seed table:", "", "```",
        f"siyu compare --scenario {s.scenario_ref} --customers {s.customers} --days {s.days} --seeds {len(seeds)} "
        f"--policies {result.policy_file},{','.join(r.policy for r in result.rows[1:])}", "```",
    ]
    return lines



def write_summary(path: Path, result: TuneResult) -> None:
    """Write ``tune.md``."""
    atomic_write_text(path, "\n".join(summary_lines(result)) + "\n")
