"""``siyu compare``: several policies on the same seeds, the shorthand of ``siyu experiment``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.commands.experiment import run_and_report
from experiments.cli.options import (UserError, add_backend_arguments, add_jobs_argument, add_realize_argument,
                                     add_report_argument, add_scenario_arguments, add_trust_argument, backend_of,
                                     positive_int, seed_int)

DEFAULT_POLICIES = "no_contact,blast,fixed_cadence,rfm_tiered,fatigue_capped"


def cmd_compare(args: argparse.Namespace) -> int:
    """Several policies on the same seeds: paired t intervals, comparison.csv, tidy tables and a report.

    The same runner as ``siyu experiment``, so rerunning with the same --out resumes.
    """
    from experiments.running.spec import experiment_from_refs
    refs = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not refs:
        raise UserError("--policies needs at least one policy name or file")
    exp = experiment_from_refs(args.scenario, refs, args.seeds, args.seed, args.customers, args.days,
                               source="--policies/--scenario", realize_residual=args.realize_residual)
    with backend_of(args) as backend:
        run_and_report(exp, Path(args.out), report=not args.no_report, jobs=args.jobs, backend=backend)
    return 0


def register(sub: Any) -> None:
    """Add ``siyu compare``."""
    p = sub.add_parser("compare", help="compare policies on common seeds with paired confidence intervals")
    add_scenario_arguments(p)
    p.add_argument("--policies", default=DEFAULT_POLICIES, metavar="A,B,C",
                   help=f"comma-separated; the first is the reference (default {DEFAULT_POLICIES})")
    p.add_argument("--seeds", type=positive_int, default=5, metavar="K", help="number of seeds (default 5)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="first seed (default 0)")
    p.add_argument("--out", default="runs/compare", metavar="DIR",
                   help="output folder (default runs/compare); rerunning with the same folder resumes")
    add_report_argument(p)
    add_jobs_argument(p)
    add_backend_arguments(p)
    add_realize_argument(p)
    add_trust_argument(p)
    p.set_defaults(func=cmd_compare)
