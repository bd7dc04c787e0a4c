"""``siyu tune POLICY``: search a rule's parameters on training seeds, judge the best on fresh seeds.

Needs the ``[tune]`` extra (Optuna). Rerunning with the same arguments and ``--out`` resumes the
search where it stopped; other arguments are refused in one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from experiments.cli.options import (add_backend_arguments, add_jobs_argument, add_scenario_arguments, backend_of,
                                     positive_int, seed_int)
from experiments.console import console, count, number, out_console, progress_bar
from experiments.running.backends import Backend
from experiments.tune.settings import TRAIN_FIRST_SEED, TUNE_METRICS, TuneSettings, tunable_policies
from sim.config import load_scenario
from sim.extras import require


def cmd_tune(args: argparse.Namespace) -> int:
    """Search, write the policy file, compare with every default baseline on fresh seeds, write the summary."""
    require("tune", "siyu tune")
    from experiments.tune.outputs import seed_range
    from experiments.tune.search import check_resumable, open_study

    sc = load_scenario(args.scenario)
    settings = TuneSettings(args.policy, args.scenario, sc, args.customers or sc.population.customers, args.days,
                            args.trials, args.train_seeds, args.test_seeds, args.metric, args.sampler_seed,
                            args.jobs, args.batch)
    out = Path(args.out) if args.out else Path("runs") / "tune" / args.policy
    if check_resumable(settings, out):
        done = len([t for t in open_study(settings, out).trials if t.state.is_finished()])
        console.print(f"resuming {out}: {count(done, 'trial')} already done", highlight=False)
    console.print(f"tuning {args.policy} on {sc.name}: {count(settings.trials, 'trial')} on training seeds "
                  f"{seed_range(settings.train_seed_list)}, {count(settings.customers, 'customer')}, "
                  f"{count(settings.days, 'day')}; study in {out}", highlight=False)
    with backend_of(args) as backend:
        return _tune(args, settings, out, backend)


def _tune(args: argparse.Namespace, settings: TuneSettings, out: Path, backend: Backend) -> int:
    """The search and the fresh-seed comparison of ``cmd_tune``, on ``backend``."""
    from experiments.cli.commands.experiment import run_and_report
    from experiments.tune.outputs import seed_range, write_policy_file
    from experiments.tune.search import search
    from experiments.tune.settings import FRESH_DIR
    from experiments.tune.tuner import conclude, fresh_experiment, tuned_name
    with progress_bar(f"tuning {args.policy}", unit="trials") as bar:
        task = bar.add_task("tuning", total=settings.trials)
        found = search(settings, out, lambda trial, done: bar.update(task, completed=done), backend=backend)
    best, default = found.best, found.default
    out_console.print(f"best: trial {best.number}, mean {settings.metric} {number(best.value)} on the training seeds "
                      f"(default parameters: {number(default.value)})", highlight=False)
    policy_file = write_policy_file(out / f"{tuned_name(args.policy)}.toml", settings, found)
    fresh = run_and_report(fresh_experiment(settings, policy_file), out / FRESH_DIR, report=False, jobs=args.jobs,
                           backend=backend)
    result = conclude(settings, out, found, policy_file, fresh)
    rival = result.best_baseline
    out_console.print(f"on fresh seeds {seed_range(settings.test_seed_list)}: {result.tuned.policy} "
                      f"{number(result.tuned.mean)} vs the best default baseline {rival.policy} "
                      f"{number(rival.mean)}: lead {number(rival.lead, True)} "
                      f"[{number(rival.ci_low, True)}, {number(rival.ci_high, True)}]"
                      f"{' (significant)' if rival.significant else ' (not significant)'}", highlight=False)
    for warning in result.warnings():
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]", highlight=False)
    out_console.print(f"wrote {policy_file}, {out / 'trials.csv'}, {out / 'history.png'} and {out / 'tune.md'}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu tune``."""
    p = sub.add_parser("tune", help="tune a rule's parameters (Optuna TPE) and judge it on fresh seeds; resumable")
    p.add_argument("policy", choices=tunable_policies(), metavar="POLICY",
                   help=f"rule to tune: {', '.join(tunable_policies())}")
    add_scenario_arguments(p)
    p.add_argument("--trials", type=positive_int, default=60, metavar="T",
                   help="trials of the search, the defaults first (default 60; raise it to continue a search)")
    p.add_argument("--train-seeds", type=positive_int, default=5, metavar="K",
                   help=f"training seeds every trial runs on: {TRAIN_FIRST_SEED}, {TRAIN_FIRST_SEED + 1}, ... "
                        "(default 5)")
    p.add_argument("--test-seeds", type=positive_int, default=10, metavar="K",
                   help="fresh seeds 0..K-1 of the final comparison with every default baseline (default 10)")
    p.add_argument("--metric", choices=TUNE_METRICS, default="total_value", metavar="NAME",
                   help=f"summary metric to optimise (default total_value): {', '.join(TUNE_METRICS)}")
    p.add_argument("--sampler-seed", type=seed_int, default=0, metavar="S",
                   help="seed of the TPE sampler (default 0); the same seed and arguments give the same search")
    p.add_argument("--batch", type=positive_int, default=1, metavar="K",
                   help="trials drawn together and scored in parallel, then recorded in order (default 1); "
                        "the search depends on K, not on --jobs or --backend")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default runs/tune/POLICY); rerunning with the same folder resumes")
    add_jobs_argument(p)
    add_backend_arguments(p)
    p.set_defaults(func=cmd_tune)
