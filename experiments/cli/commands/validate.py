"""``siyu validate``: the scenario's predicted value of each logged arm and policy next to the logs' estimate."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli.commands.ope import add_campaign_arguments, load_campaign
from experiments.cli.options import positive_int
from experiments.console import count, out_console, with_progress


def cmd_validate(args: argparse.Namespace) -> int:
    """Simulate each arm and policy, estimate it on the logs, write validate.csv and validate.md."""
    from experiments.ope.validate import COLUMNS, ESTIMATOR, validate
    from policies import load_policy
    from sim.config import load_scenario
    scenario = load_scenario(args.scenario)
    policies = [load_policy(ref) for ref in args.policy or []]
    d = load_campaign(args, scenario)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = with_progress(args.replicates, "simulating pools",
                         lambda tick: validate(scenario, d, policies, args.replicates, args.warmup, args.horizon,
                                               args.customers, args.seed, tick, args.pool))
    tmp = out / "validate.csv.part"
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(r.cells() for r in rows)
    tmp.replace(out / "validate.csv")
    title = (f"{Path(args.scenario).name} against {count(d.reward.size, 'logged decision')}: revenue per customer over "
             f"{count(args.horizon, 'day')}")
    table = Table(title=title)
    for col in ("arm or policy", "simulated (95%)", f"logs, {ESTIMATOR} (95%)", "z", "verdict"):
        table.add_column(col, justify="left" if col in ("arm or policy", "verdict") else "right")
    lines = [f"# {title}", "", f"| arm or policy | simulated (95%) | logs, {ESTIMATOR} (95%) | z | verdict |",
             "|---|---:|---:|---:|---|"]
    for r in rows:
        cells = [r.policy, f"{r.simulated:.2f} ({r.sim_low:.2f} .. {r.sim_high:.2f})",
                 f"{r.logged:.2f} ({r.log_low:.2f} .. {r.log_high:.2f})", f"{r.z:+.2f}", r.verdict]
        table.add_row(*cells[:-1], f"[{'green' if r.verdict == 'agrees' else 'red'}]{r.verdict}[/]")
        lines.append("| " + " | ".join(cells) + " |")
    (out / "validate.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out_console.print(table)
    out_console.print(f"wrote {out / 'validate.csv'} and {out / 'validate.md'}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu validate``."""
    p = sub.add_parser("validate", help="the scenario's predictions against a logged randomised campaign")
    p.add_argument("scenario", metavar="SCENARIO", help="preset name or scenario TOML (e.g. a calibrated one)")
    add_campaign_arguments(p, scenario=False)
    p.add_argument("--policy", action="append", default=None, metavar="POLICY",
                   help="a candidate policy to check besides the logged arms (repeatable)")
    p.add_argument("--replicates", type=positive_int, default=10, metavar="R",
                   help="simulated pools per arm and policy (default 10)")
    p.add_argument("--warmup", type=positive_int, default=30, metavar="D",
                   help="days each simulated pool runs under fatigue_capped before the campaign day (default 30)")
    p.add_argument("--customers", type=positive_int, default=None, metavar="N",
                   help="customers per simulated pool (default: as many as the logged decisions)")
    p.add_argument("--pool", choices=("scenario", "brand"), default="scenario",
                   help="simulate the scenario's own warmed-up population (default), or the brand's customers of "
                        "the CRM record, each conditioned on their history (biased low on engine logs: docs/ope.md)")
    p.add_argument("--out", default="runs/validate", metavar="DIR", help="output folder (default runs/validate)")
    p.set_defaults(func=cmd_validate)
