"""``siyu experiment SPEC.toml --out DIR``: run an experiment file, resuming whatever is already done.

:func:`run_and_report` is shared with ``siyu compare``, which builds the same kind of experiment
from its flags.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli import (EXTRA_COMMANDS, _short, _with_progress, add_jobs_argument, console,
                             out_console, print_comparison)
from experiments.runner import ExperimentResult, execute, finish, plan, resume, unique
from experiments.spec import Experiment, load_experiment


def run_and_report(exp: Experiment, out: Path, report: bool = True, jobs: int = 1) -> ExperimentResult:
    """Run what is missing in ``out`` (each run saved as it finishes), print the comparison, write the report."""
    tasks = plan(exp)
    done = resume(tasks, out)
    todo = [t for t in unique(tasks) if t.key not in done]
    if done:
        console.print(f"resuming {out}: {len(done)} runs already done, {len(todo)} to run")
    days = sum(t.days for t in todo)
    label = f"{len(todo)} runs ({len(exp.policies)} policies x {len(exp.seeds)} seeds" + \
        (f" x {len(exp.points)} grid points)" if exp.axes else ")")
    records = _with_progress(days, label, lambda tick: execute(tasks, out, done, tick, jobs)) if days else \
        execute(tasks, out, done)
    result = finish(exp, tasks, records, out)
    print_result(result)
    out_console.print(f"wrote {out / 'comparison.csv'}, tidy tables (runs, daily, hidden, segments) and "
                      f"{len(unique(tasks))} run files in {out / 'runs'}")
    if report:
        from experiments.report import write_report
        with console.status("writing the report"):
            files = write_report(out)
        out_console.print(f"report: {files.html} and {files.markdown}")
    return result


def print_result(result: ExperimentResult) -> None:
    """The comparison table at the reported grid point, the headline, and the sweep optima."""
    from experiments.report import headline
    exp = result.experiment
    comp = result.comparison()
    where = ""
    if exp.axes:
        where = " at " + ", ".join(f"{k} = {v}" for k, v in exp.points[result.point].values.items())
        print_optima(result)
    metrics = (exp.metric,) + tuple(m for m in ("total_value", "net_profit", "residual_value", "purchases",
                                                 "contacts", "unsubscribes", "reachable_end") if m != exp.metric)
    title = (f"{exp.scenario.name}{where}: {exp.customers:,} customers, {exp.days} days, {len(exp.seeds)} seeds "
             f"(paired 95% bootstrap CI of the difference vs {exp.reference})")
    print_comparison(comp.rows(metrics), comp.policies, title, metrics)
    out_console.print(headline(comp, exp.metric), highlight=False)


def print_optima(result: ExperimentResult) -> None:
    """Per policy, the grid point with the best headline value."""
    from experiments.sweep import surface_rows, varying_policies
    exp = result.experiment
    shown = varying_policies(exp, result.runs)
    table = Table(title=f"sweep optimum of {exp.metric} per policy ({len(exp.points)} grid points)",
                  title_justify="left")
    for col in ["policy"] + [a.label for a in exp.axes] + [exp.metric, "95% CI"]:
        table.add_column(col, justify="left" if col == "policy" else "right")
    for row in surface_rows(exp, result.runs, exp.metric):
        if row["optimum"] and row["policy"] in shown:
            table.add_row(row["policy"], *(str(row[a.label]) for a in exp.axes), _short(row["mean"]),
                          f"[{_short(row['ci_low'])}, {_short(row['ci_high'])}]")
    out_console.print(table)


def cmd_experiment(args: argparse.Namespace) -> int:
    """Run an experiment spec into --out (default runs/NAME) and write its report."""
    exp = load_experiment(args.spec)
    out = Path(args.out) if args.out else Path("runs") / exp.name
    run_and_report(exp, out, report=not args.no_report, jobs=args.jobs)
    return 0


def register(sub: Any) -> None:
    """Add ``siyu experiment``."""
    p = sub.add_parser("experiment", help="run an experiment file (policies, seeds, grid); resumable")
    p.add_argument("spec", metavar="SPEC.toml", help="experiment file (see examples/)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/NAME); "
                   "rerunning with the same folder resumes")
    p.add_argument("--no-report", action="store_true", help="skip report.html / report.md")
    add_jobs_argument(p)
    p.set_defaults(func=cmd_experiment)


EXTRA_COMMANDS.append(register)
