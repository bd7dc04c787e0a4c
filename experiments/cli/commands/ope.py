"""``siyu ope``: candidate policies valued on a brand's logged randomised campaign (IPS, SNIPS, DR)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli.commands.plan import add_crm_arguments, warn
from experiments.cli.options import UserError, add_trust_argument, positive_int, seed_int
from experiments.console import console, count, out_console

COLUMNS = ("policy", "estimator", "value", "low", "high", "decisions", "matched", "ess", "unsupported", "warning")
"""Header of ``ope.csv``: one row per policy and estimator (value per customer, yuan over the horizon)."""


def add_campaign_arguments(p: argparse.ArgumentParser, scenario: bool = True) -> None:
    """The logged campaign: contacts and transactions, propensities, campaign date, arms and horizon."""
    add_crm_arguments(p, scenario)
    p.add_argument("--propensity", default="propensity", metavar="COLUMN|uniform|control:SHARE",
                   help="column of contacts.csv with each row's logging probability; 'uniform' (every arm of "
                        "the campaign day equally likely); or 'control:SHARE' (a rule's contacts with a randomised "
                        "control group of that share: none rows SHARE, contact rows 1 - SHARE); default: the "
                        "column 'propensity'")
    p.add_argument("--campaign-date", default=None, metavar="DATE",
                   help="the campaign day (YYYY-MM-DD; default: the only date of contacts.csv)")
    p.add_argument("--arms", default=None, metavar="none,CH:CONTENT,...",
                   help="the campaign's arms (default: none and every channel:content logged that day)")
    p.add_argument("--horizon", type=positive_int, default=14, metavar="D",
                   help="days of revenue counted from the campaign day (default 14)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S",
                   help="seed of the bootstrap and of the policies' own randomness (default 0)")
    add_trust_argument(p)


def load_campaign(args: argparse.Namespace, scenario: Any) -> Any:
    """The logged decisions of the campaign day, from the files named by ``args``."""
    import numpy as np

    from experiments.crm.from_logs import view_from_logs
    from experiments.crm.snapshot import BASE_DATE, day_of, parse_columns, read_snapshot
    from experiments.logs.contacts import read_contacts
    from experiments.logs.rows import LogError, cell, open_rows, parse_date_argument
    from experiments.logs.transactions import read_transactions
    from experiments.ope.decisions import from_logs
    from policies.randomized import parse_arms
    from datetime import date
    if not args.contacts or not args.transactions:
        raise UserError("give the logged campaign: --contacts CONTACTS.csv --transactions TX.csv")
    tx = read_transactions(args.transactions, None, args.date_format, strict=args.strict)
    warn(tx.report.lines())
    cols, rows = open_rows(Path(args.contacts), {"customer_id": "customer_id"})
    seen = {str(x) for x in tx.ids}
    extra = list(dict.fromkeys(c for _, cells in rows if (c := cell(cells, cols["customer_id"])) and c not in seen))
    ids = np.array(list(tx.ids) + extra, dtype=object)
    share = control_share(args.propensity)
    uniform = args.propensity == "uniform"
    given = not uniform and share is None
    contacts = read_contacts(args.contacts, ids, args.date_format, strict=args.strict,
                             propensity=args.propensity if given else "")
    warn(contacts.report.lines())
    if given and contacts.propensity is None:
        raise LogError(f"{args.contacts}: no column '{args.propensity}' (name it with --propensity, or say "
                       "--propensity uniform for a campaign that gave every arm the same odds)")
    days = np.unique(contacts.day)
    if args.campaign_date:
        day = day_of(date.fromordinal(parse_date_argument(args.campaign_date, "--campaign-date")))
    elif days.size == 1:
        day = int(days[0]) - BASE_DATE.toordinal()
    else:
        raise UserError(f"{args.contacts}: {days.size} dates; name the campaign day with --campaign-date")
    on = contacts.day - BASE_DATE.toordinal() == day
    if args.arms:
        try:
            arms = parse_arms(args.arms)
        except ValueError as exc:
            raise UserError(f"--arms: {exc}") from None
    else:
        pairs = {(int(c), int(t)) for c, t in zip(contacts.channel[on], contacts.content[on]) if t >= 0}
        arms = [(-1, 0)] + sorted(pairs)
    prop = contacts.propensity
    if uniform:
        prop = np.full(contacts.day.size, 1.0 / len(arms))
    elif share is not None:
        prop = np.where(contacts.content < 0, share, 1.0 - share)
    if args.crm:
        view = read_snapshot(args.crm, scenario, parse_columns(args.crm_columns), args.date_format, args.strict)
        warn(view.report.lines())
    else:
        reach = tuple(c.strip() for c in args.reachable.split(",") if c.strip())
        view = view_from_logs(tx, contacts, day, scenario, reach, ids)
    d = from_logs(view, tx, contacts, ids, prop, arms, day, args.horizon, str(args.contacts))
    return d


def control_share(text: str) -> float | None:
    """The share of ``control:SHARE``, None for anything else; a share outside (0, 1) is a :class:`UserError`."""
    if not text.startswith("control:"):
        return None
    try:
        share = float(text.partition(":")[2])
    except ValueError:
        share = -1.0
    if not 0.0 < share < 1.0:
        raise UserError(f"--propensity: control:SHARE needs a share in (0, 1), got '{text[:40]}'")
    return share


def cmd_ope(args: argparse.Namespace) -> int:
    """Estimate each policy's value on the logged campaign; write ope.csv and print the table."""
    from experiments.ope.decisions import value
    from policies import load_policy
    from sim.config import load_scenario
    scenario = load_scenario(args.scenario)
    policies = [load_policy(ref) for ref in args.policies]
    d = load_campaign(args, scenario)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"{count(d.reward.size, 'logged decision')}, arms {', '.join(d.arm_names)}; "
                        f"revenue per customer over {count(args.horizon, 'day')}")
    for col in ("policy", "estimator", "value", "95% interval", "ESS"):
        table.add_column(col, justify="left" if col in ("policy", "estimator") else "right")
    rows = []
    for policy in policies:
        est = value(policy, d, scenario, seed=args.seed)
        for e in est.estimates:
            table.add_row(policy.name, e.estimator, f"{e.value:,.2f}", f"{e.low:,.2f} .. {e.high:,.2f}",
                          f"{est.ess:,.0f}")
            rows.append([policy.name, e.estimator, e.value, e.low, e.high, est.n, est.matched, round(est.ess, 1),
                         est.unsupported, est.warning or ""])
        if est.warning:
            console.print(f"[yellow]warning:[/yellow] {policy.name}: {est.warning}", highlight=False)
    tmp = out / "ope.csv.part"
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)
    tmp.replace(out / "ope.csv")
    out_console.print(table)
    out_console.print(f"wrote {out / 'ope.csv'}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu ope``."""
    p = sub.add_parser("ope", help="value candidate policies on a logged randomised campaign (IPS, SNIPS, DR)")
    p.add_argument("policies", nargs="+", metavar="POLICY", help="baseline name, policy TOML, or rl:MODEL")
    add_campaign_arguments(p)
    p.add_argument("--out", default="runs/ope", metavar="DIR", help="output folder (default runs/ope)")
    p.set_defaults(func=cmd_ope)
