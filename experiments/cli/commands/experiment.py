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

from experiments.cli.options import (add_backend_arguments, add_jobs_argument, add_report_argument,
                                     add_trust_argument, backend_of)
from experiments.console import console, count, number, out_console, with_progress
from experiments.running.backends import Backend
from experiments.running.runner import ExperimentResult, execute, finish, plan, preflight, resume, unique
from experiments.running.spec import Experiment, load_experiment
from experiments.store.outdir import claim


def run_and_report(exp: Experiment, out: Path, report: bool = True, jobs: int = 1,
                   backend: Backend | None = None) -> ExperimentResult:
    """Run what is missing in ``out`` (each run saved as it finishes), print the comparison, write the report.

    The runs go to ``backend`` (default: ``jobs`` local processes); the tables are the same on every backend.
    """
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
    if backend is not None and backend.name != "local":
        label += f" on {backend.name} ({count(backend.workers, 'worker')})"
    records = with_progress(days, label, lambda tick: execute(tasks, out, done, tick, jobs, backend)) if days else \
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
    """The sweep optima, the comparison table, what each policy did, then one-line verdicts and warnings."""
    from experiments.reporting.report import headline, level_text, silence_warnings
    from experiments.running.sweep import sweep_warnings
    from experiments.stats.intervals import UNDERPOWERED_BELOW
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
             f"(paired t CI of the difference vs {exp.reference}, {level_text(len(exp.policies) - 1)})")
    if comp.underpowered:
        title += f"; underpowered: fewer than {UNDERPOWERED_BELOW} seeds"
    print_comparison(comp.rows(metrics), comp.policies, title, metrics)
    print_policies(result)
    for sentence in headline(comp, exp.metric).replace(". ", ".\n").splitlines():
        out_console.print(sentence, highlight=False)
    for warning in sweep_warnings(exp, result.runs) + silence_warnings(comp):
        console.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False)


def print_policies(result: ExperimentResult) -> None:
    """What each policy did at the reported point: its rule (parameters changed from the defaults) and contact mix."""
    from experiments.reporting.mix import describe_entry, mix_from_totals
    exp = result.experiment
    table = Table(title="what each policy does", title_justify="left")
    for col in ("policy", "rule", "contacts per customer-month", "delivered by channel", "by content"):
        table.add_column(col, justify="right" if col.startswith("contacts") else "left")
    specs = {p.name: p.describe() for p in exp.points[result.point].policies}
    for pol in exp.policy_names:
        mix = mix_from_totals(pol, result.mix_totals.get((result.point, pol), {}))
        table.add_row(pol, describe_entry(specs.get(pol, {"name": pol}), changed_only=True),
                      f"{mix.per_customer_month:.2f}", mix.channel_text(), mix.content_text())
    out_console.print(table)


def print_comparison(rows: list[dict[str, Any]], policies: list[str], title: str, metrics: Sequence[str]) -> None:
    """Policies as rows; per KPI its mean, and for the headline the paired difference with its interval.

    The best policy on the headline is starred (two stars: its intervals against every other policy
    exclude zero); a difference is green or red when its interval excludes zero.
    """
    by = {(r["policy"], r["metric"]): r for r in rows}
    table = Table(title=title, title_justify="left", caption_justify="left",
                  caption=f"* best on {metrics[0]}; ** and its intervals against every other policy exclude zero")
    table.add_column("policy")
    table.add_column(metrics[0], justify="right")
    table.add_column(f"diff vs {policies[0]} [CI]", justify="right")
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
    """Per policy, the grid point with the best headline value and the runner-up, each with its 95% interval."""
    from experiments.running.sweep import optima, point_text
    exp = result.experiment
    table = Table(title=f"sweep optimum of {exp.metric} per policy ({count(len(exp.points), 'grid point')}; "
                  "95% t intervals)", title_justify="left")
    for col in ("policy", "optimum", exp.metric, "runner-up", f"{exp.metric} ", "edge of grid in"):
        table.add_column(col, justify="right" if col.strip() == exp.metric else "left")
    for o in optima(exp, result.runs, exp.metric):
        r = o.runner_up
        table.add_row(o.policy, point_text(o.best, list(o.axes)), _mean_ci(o.best),
                      point_text(r, list(o.axes)) if r else "", _mean_ci(r) if r else "",
                      ", ".join(o.edges) or "no")
    out_console.print(table)


def _mean_ci(row: dict[str, Any]) -> str:
    return f"{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]"


def cmd_experiment(args: argparse.Namespace) -> int:
    """Run an experiment spec into --out (default runs/NAME) and write its report."""
    exp = load_experiment(args.spec)
    out = Path(args.out) if args.out else Path("runs") / exp.name
    with backend_of(args) as backend:
        run_and_report(exp, out, report=not args.no_report, jobs=args.jobs, backend=backend)
    return 0


def register(sub: Any) -> None:
    """Add ``siyu experiment``."""
    p = sub.add_parser("experiment", help="run an experiment file (policies, seeds, grid); resumable")
    p.add_argument("spec", metavar="SPEC.toml", help="experiment file (see examples/)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/NAME); "
                   "rerunning with the same folder resumes")
    add_report_argument(p)
    add_jobs_argument(p)
    add_backend_arguments(p)
    add_trust_argument(p)
    p.set_defaults(func=cmd_experiment)
