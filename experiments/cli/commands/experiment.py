"""``siyu experiment SPEC.toml --out DIR``: run an experiment file, resuming whatever is already done.

:func:`run_and_report` is shared with ``siyu compare``, which builds the same kind of experiment
from its flags.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from rich.markup import escape
from rich.table import Table

from experiments.cli.options import add_jobs_argument, add_report_argument, add_trust_argument
from experiments.console import console, count, number, out_console, with_progress
from experiments.running.runner import ExperimentResult, execute, finish, plan, preflight, resume, unique
from experiments.running.spec import Experiment, load_experiment
from experiments.store.outdir import claim


def run_and_report(exp: Experiment, out: Path, report: bool = True, jobs: int = 1) -> ExperimentResult:
    """Run what is missing in ``out`` (each run saved as it finishes), print the comparison, write the report."""
    preflight(exp)
    claim(out)
    tasks = plan(exp)
    done = resume(tasks, out)
    todo = [t for t in unique(tasks) if t.key not in done]
    if done:
        console.print(f"resuming {out}: {count(len(done), 'run')} already done, {len(todo)} to run")
    days = sum(t.days for t in todo)
    label = f"{count(len(todo), 'run')} ({count(len(exp.policies), 'policy')} x {count(len(exp.seeds), 'seed')}" + \
        (f" x {count(len(exp.points), 'grid point')})" if exp.axes else ")")
    records = with_progress(days, label, lambda tick: execute(tasks, out, done, tick, jobs)) if days else \
        execute(tasks, out, done)
    result = finish(exp, tasks, records, out)
    print_result(result)
    out_console.print(f"wrote {out / 'comparison.csv'}, tidy tables (runs, daily, hidden, segments) and "
                      f"{count(len(unique(tasks)), 'run file')} in {out / 'runs'}")
    if report:
        from experiments.reporting.report import write_report
        with console.status("writing the report"):
            files = write_report(out)
        out_console.print(f"report: {files.html} and {files.markdown}")
    return result


def print_result(result: ExperimentResult) -> None:
    """The comparison table at the reported grid point, the headline, and the sweep optima."""
    from experiments.reporting.report import headline, silence_warnings
    exp = result.experiment
    comp = result.comparison()
    where = ""
    if exp.axes:
        where = " at " + ", ".join(f"{k} = {v}" for k, v in exp.points[result.point].values.items())
        print_optima(result)
    metrics = (exp.metric,) + tuple(m for m in ("total_value", "net_profit", "residual_value", "purchases",
                                                 "contacts", "unsubscribes", "reachable_end") if m != exp.metric)
    title = (f"{exp.scenario.name}{where}: {count(exp.customers, 'customer')}, {count(exp.days, 'day')}, "
             f"{count(len(exp.seeds), 'seed')} "
             f"(paired 95% bootstrap CI of the difference vs {exp.reference})")
    print_comparison(comp.rows(metrics), comp.policies, title, metrics)
    out_console.print(headline(comp, exp.metric), highlight=False)
    for warning in silence_warnings(comp):
        console.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False)


def print_comparison(rows: list[dict[str, Any]], policies: list[str], title: str, metrics: Sequence[str]) -> None:
    """Policies as rows; per KPI its mean, and for the headline the paired difference with its 95% CI.

    The best policy on the headline is starred (two stars: its lead over every other policy is
    significant after Holm's correction); a difference is green or red when significant after Holm.
    """
    by = {(r["policy"], r["metric"]): r for r in rows}
    table = Table(title=title, title_justify="left", caption_justify="left",
                  caption=f"* best on {metrics[0]}; ** and its lead over every other policy is significant (Holm)")
    table.add_column("policy")
    table.add_column(metrics[0], justify="right")
    table.add_column(f"diff vs {policies[0]} [95% CI]", justify="right")
    for m in metrics[1:]:
        table.add_column(m, justify="right")
    for i, pol in enumerate(policies):
        head = by[(pol, metrics[0])]
        diff = "reference"
        if i > 0:
            lo, hi = head["ci_low"], head["ci_high"]
            sig = head.get("significant", lo > 0 or hi < 0)
            color = "green" if sig and head["diff_vs_reference"] > 0 else "red" if sig else ""
            text = f"{number(head['diff_vs_reference'], True)} [{number(lo, True)}, {number(hi, True)}]"
            diff = f"[{color}]{text}[/{color}]" if color else text
        star = (" **" if head.get("lead_significant") else " *") if head.get("best") else ""
        table.add_row(pol + star, number(head["mean"]), diff, *(number(by[(pol, m)]["mean"]) for m in metrics[1:]))
    out_console.print(table)


def print_optima(result: ExperimentResult) -> None:
    """Per policy, the grid point with the best headline value."""
    from experiments.running.sweep import surface_rows, varying_policies
    exp = result.experiment
    shown = varying_policies(exp, result.runs)
    table = Table(title=f"sweep optimum of {exp.metric} per policy ({count(len(exp.points), 'grid point')})",
                  title_justify="left")
    for col in ["policy"] + [a.label for a in exp.axes] + [exp.metric, "95% CI"]:
        table.add_column(col, justify="left" if col == "policy" else "right")
    for row in surface_rows(exp, result.runs, exp.metric):
        if row["optimum"] and row["policy"] in shown:
            table.add_row(row["policy"], *(str(row[a.label]) for a in exp.axes), number(row["mean"]),
                          f"[{number(row['ci_low'])}, {number(row['ci_high'])}]")
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
    add_report_argument(p)
    add_jobs_argument(p)
    add_trust_argument(p)
    p.set_defaults(func=cmd_experiment)
