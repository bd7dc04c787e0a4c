"""``siyu run``: one policy on one seed, written as summary.json and daily.csv."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli.options import add_realize_argument, add_scenario_arguments, add_trust_argument, seed_int
from experiments.console import count, number, out_console, with_progress
from experiments.store.outdir import claim
from sim.config import load_scenario
from sim.engine import MAX_DAYS, MAX_ROWS
from sim.guard import check_run_memory, whole_number

SHOWN = ("total_value", "net_profit", "residual_value", "revenue", "incentive_cost", "contact_cost",
         "purchases", "contacts", "opens", "unsubscribes", "complaints", "reachable_end", "active_end")
"""Summary metrics printed in the run's table."""


def cmd_run(args: argparse.Namespace) -> int:
    """One policy, one seed: summary.json and daily.csv."""
    from experiments.running.runner import run_one, write_run
    sc = load_scenario(args.scenario)
    customers = whole_number("--customers", args.customers or sc.population.customers, 1, MAX_ROWS)
    whole_number("--days", args.days, 1, MAX_DAYS)
    check_run_memory(sc, customers, args.days, "the run")
    out = claim(Path(args.out))  # a folder that cannot be written fails now, not after the simulation
    result = with_progress(args.days, "simulating",
                           lambda tick: run_one(sc, args.policy, customers, args.days, args.seed, tick,
                                                    args.realize_residual))
    write_run(out, result)
    s = result.summary
    table = Table(title=f"{s['policy']} on {s['scenario']} "
                        f"(seed {s['seed']}, {count(customers, 'customer')}, {count(args.days, 'day')})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k in SHOWN + (("residual_realized",) if args.realize_residual else ()):
        table.add_row(k, number(s[k]))
    out_console.print(table)
    out_console.print(f"wrote {out / 'summary.json'} and {out / 'daily.csv'}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu run``."""
    p = sub.add_parser("run", help="run one policy on one seed")
    add_scenario_arguments(p)
    p.add_argument("--policy", default="fatigue_capped", metavar="NAME|PATH",
                   help="baseline name or policy TOML (default fatigue_capped)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed (default 0)")
    add_trust_argument(p)
    p.add_argument("--out", default="runs/run", metavar="DIR", help="output folder (default runs/run)")
    add_realize_argument(p)
    p.set_defaults(func=cmd_run)
