"""``siyu regress [--update] [--spec FILE]``: check fixed runs against golden metrics; exit 1 on drift."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli.options import add_trust_argument, tolerance
from experiments.console import console, count, number, out_console, with_progress
from experiments.regress.golden import (GOLDEN, SUITE, Check, Suite, check, read_golden, run_spec, run_suite,
                                        spec_suite, write_golden)
from experiments.running.runner import plan, unique
from experiments.running.spec import load_experiment

MAX_ROWS = 40
"""Drift rows printed at most (largest relative change first)."""


def cmd_regress(args: argparse.Namespace) -> int:
    """Run the suite; with --update rewrite the golden file, else compare and exit 1 on drift."""
    if args.spec:  # a brand's own suite: the runs of an experiment file
        exp = load_experiment(args.spec)
        path = Path(args.golden) if args.golden else Path(args.spec).with_suffix(".golden.json")
        golden = None if args.update else read_golden(path)
        n = len(unique(plan(exp)))
        suite: Suite | dict[str, Any] = spec_suite(exp)
        runs, hashes = with_progress(n * exp.days, f"regress: {count(n, 'run')} of {args.spec}",
                                      lambda tick: run_spec(exp, progress=tick))
    else:
        path = Path(args.golden) if args.golden else GOLDEN
        golden = None if args.update else read_golden(path)
        suite = SUITE
        runs, hashes = with_progress(SUITE.runs * SUITE.days, f"regress: {count(SUITE.runs, 'run')}",
                                      lambda tick: run_suite(SUITE, progress=tick))
    if args.update:
        write_golden(path, suite, runs, hashes)
        metrics = len(next(iter(runs.values())))
        out_console.print(f"wrote {path}: {count(len(runs), 'run')} x {count(metrics, 'metric')}")
        return 0
    result = check(golden, runs, hashes, suite, args.rtol, args.atol)
    print_check(result, path)
    return 0 if result.ok else 1


def print_check(result: Check, path: Path) -> None:
    """A table of what moved (or one line saying nothing did)."""
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    if result.ok:
        out_console.print(f"regress: ok, {count(result.runs, 'run')} x {count(result.metrics, 'metric')} "
                          f"within tolerance of {path}")
        return
    table = Table(title=f"regress: {count(len(result.drifts), 'metric')} moved beyond tolerance (golden: {path})",
                  title_justify="left")
    for col in ("run", "metric", "golden", "now", "change"):
        table.add_column(col, justify="left" if col in ("run", "metric") else "right")
    ranked = sorted(result.drifts, key=lambda d: -abs(d.relative))
    for d in ranked[:MAX_ROWS]:
        rel = "missing" if d.missing else f"{100 * d.relative:+.3f}%"
        table.add_row(d.case, d.metric, number(d.golden), number(d.now), rel)
    out_console.print(table)
    if len(ranked) > MAX_ROWS:
        out_console.print(f"... and {len(ranked) - MAX_ROWS} more")
    out_console.print("if the change is intended: siyu regress --update (and commit the golden file)")


def register(sub: Any) -> None:
    """Add ``siyu regress``."""
    p = sub.add_parser("regress", help="check fixed runs against golden metrics (CI); exit 1 on drift")
    p.add_argument("--update", action="store_true", help="rewrite the golden file after an intended change")
    p.add_argument("--spec", default=None, metavar="SPEC.toml",
                   help="check your own suite: the runs of an experiment file (golden file next to it)")
    p.add_argument("--golden", default=None, metavar="PATH",
                   help="golden file (default: the packaged one, or SPEC.golden.json with --spec)")
    add_trust_argument(p)
    p.add_argument("--rtol", type=tolerance, default=None, help="relative tolerance (default: the golden file's)")
    p.add_argument("--atol", type=tolerance, default=None, help="absolute tolerance (default: the golden file's)")
    p.set_defaults(func=cmd_regress)

