"""``siyu plan``: tomorrow's contact list from a CRM snapshot (or from transactions and contacts logs)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.cli.options import DEFAULT_SCENARIO, UserError, add_trust_argument, seed_int
from experiments.console import console, count, number, out_console


def add_crm_arguments(p: argparse.ArgumentParser, scenario: bool = True) -> None:
    """Where the CRM record comes from: ``--crm`` or ``--transactions`` [+ ``--contacts``], and how to read it.

    With ``scenario``, also ``--scenario`` (the caps, staff, groups and calendar the policy decides under).
    """
    p.add_argument("--crm", default=None, metavar="CRM.csv",
                   help="CRM snapshot, one row per customer (columns in docs/ope.md)")
    p.add_argument("--transactions", default=None, metavar="TX.csv",
                   help="orders (customer_id, date, amount): build the CRM record from logs when there is no --crm")
    p.add_argument("--contacts", default=None, metavar="CONTACTS.csv",
                   help="contacts (customer_id, date, channel, content[, opened, clicked, unsubscribed]); with "
                        "--crm too, they give rules with memory their last offers and join dates")
    p.add_argument("--reachable", default=",".join(_channels()), metavar="CH,...",
                   help="channels that reach every customer of a record built from logs (default: all)")
    p.add_argument("--crm-columns", default=None, metavar="ROLE=NAME,...",
                   help="snapshot header names if not the default ones (e.g. customer_id=cust,spend=gmv)")
    p.add_argument("--date-format", default="iso", metavar="FMT",
                   help="strptime format of the dates, e.g. %%Y%%m%%d (default: ISO, YYYY-MM-DD)")
    p.add_argument("--strict", action="store_true", help="fail on the first kind of bad row instead of leaving it out")
    if scenario:
        p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                       help=f"scenario giving caps, staff, groups and calendar (default {DEFAULT_SCENARIO})")


def _channels() -> tuple[str, ...]:
    from sim.defaults import CHANNELS
    return CHANNELS


def warn(lines: list[str]) -> None:
    """Each problem line of a reader's report as one yellow warning."""
    for line in lines:
        console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)


def load_view(args: argparse.Namespace, scenario: Any, day: int) -> tuple[Any, Any]:
    """The CRM record as of ``day`` and the policy memory the contacts log gives (None without ``--contacts``).

    The record is ``--crm``, or built from ``--transactions`` and ``--contacts``.
    """
    from experiments.crm.from_logs import memory_from_logs, view_from_logs
    from experiments.crm.snapshot import parse_columns, read_snapshot
    from experiments.logs.contacts import read_contacts
    from experiments.logs.transactions import read_transactions
    if args.crm:
        view = read_snapshot(args.crm, scenario, parse_columns(args.crm_columns), args.date_format, args.strict)
        warn(view.report.lines())
        if not args.contacts:
            return view, None
        contacts = read_contacts(args.contacts, view.ids, args.date_format, strict=args.strict)
        warn(contacts.report.lines())
        return view, memory_from_logs(view, contacts, day)
    if not args.transactions:
        raise UserError("give the CRM record: --crm CRM.csv, or --transactions TX.csv [--contacts CONTACTS.csv]")
    reach = tuple(c.strip() for c in args.reachable.split(",") if c.strip())
    unknown = [c for c in reach if c not in _channels()]
    if unknown or not reach:
        raise UserError(f"--reachable: expected channels from {', '.join(_channels())}; got '{args.reachable[:60]}'")
    tx = read_transactions(args.transactions, None, args.date_format, strict=args.strict)
    warn(tx.report.lines())
    contacts = None
    if args.contacts:
        contacts = read_contacts(args.contacts, tx.ids, args.date_format, strict=args.strict)
        warn(contacts.report.lines())
    view = view_from_logs(tx, contacts, day, scenario, reach)
    return view, None if contacts is None else memory_from_logs(view, contacts, day)


def cmd_plan(args: argparse.Namespace) -> int:
    """Apply the policy to the CRM record, write plan.csv and print its summary."""
    from experiments.crm.plan import decide, summarize, write_plan
    from experiments.crm.snapshot import BASE_DATE, day_of
    from experiments.logs.rows import parse_date_argument
    from policies import load_policy
    from sim.config import load_scenario
    from datetime import date
    started = time.perf_counter()
    day = day_of(date.fromordinal(parse_date_argument(args.date, "--date")))
    if day < 0:
        raise UserError(f"--date: must be on or after {BASE_DATE.isoformat()}, got {args.date}")
    scenario = load_scenario(args.scenario)
    policy = load_policy(args.policy)
    view, memory = load_view(args, scenario, day)
    plan = decide(policy, view, scenario, day, args.seed, memory)
    rows = write_plan(plan, view, Path(args.out))
    s = summarize(plan, scenario)
    table = Table(title=f"{policy.name} on {count(view.n, 'customer')}, {args.date}")
    table.add_column("by channel")
    table.add_column("contacts", justify="right")
    table.add_column("by content")
    table.add_column("contacts", justify="right")
    for (ch, k), (ct, m) in zip(s.by_channel.items(), s.by_content.items()):
        table.add_row(ch, f"{k:,}", ct, f"{m:,}")
    table.add_row("total", f"{s.contacts:,}", "sending cost (yuan)", number(s.send_cost))
    if s.invitations:
        table.add_row("", "", "invitations", f"{s.invitations:,}")
    out_console.print(table)
    if s.over_capacity:
        console.print(f"[yellow]warning:[/yellow] {count(s.over_capacity, 'WeCom contact')} beyond the guides' daily "
                      "chat capacity left out of the plan", highlight=False)
    out_console.print(f"wrote {args.out}: {count(rows, 'contact')} in {time.perf_counter() - started:.1f} s")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu plan``."""
    p = sub.add_parser("plan", help="tomorrow's contact list: a policy applied to a CRM snapshot")
    p.add_argument("policy", metavar="POLICY", help="baseline name, policy TOML, or rl:MODEL")
    add_crm_arguments(p)
    p.add_argument("--date", required=True, metavar="DATE", help="day the contacts are sent (YYYY-MM-DD)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed of the policy's own randomness")
    add_trust_argument(p)
    p.add_argument("--out", default="plan.csv", metavar="PLAN.csv", help="output file (default plan.csv)")
    p.set_defaults(func=cmd_plan)
