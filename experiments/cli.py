"""The ``siyu`` command line: run, compare, scenarios, bench (later issues add commands).

User errors (unknown names, bad files, bad numbers) end with one line on stderr and exit code 2;
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from sim.config import ConfigError, load_scenario, preset_names, preset_text
from sim.observation import InvalidActionError

DEFAULT_SCENARIO = "beauty"
DEFAULT_POLICIES = "no_contact,blast,fixed_cadence,rfm_tiered,fatigue_capped"
console = Console(stderr=True)
out_console = Console() if sys.stdout.isatty() else Console(width=160)


class UserError(Exception):
    """A problem with the user's input: reported in one line."""


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def seed_int(text: str) -> int:
    """Argparse type: a seed in 0..2**63-1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got '{text}'") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"must be in 0..2**63-1, got {v}")
    return v


def progress_bar(total: int, label: str) -> Progress:
    """A rich progress bar on stderr (hidden when stderr is not a terminal)."""
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                    TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)


def _with_progress(total: int, label: str, work: Callable[[Callable[[int], None]], Any]) -> Any:
    with progress_bar(total, label) as bar:
        task = bar.add_task(label, total=total)
        return work(lambda done: bar.update(task, completed=done))


# --- commands --------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    """One policy, one seed: summary.json and daily.csv."""
    from experiments.runner import run_one, write_run
    sc = load_scenario(args.scenario)
    customers = args.customers or sc.population.customers
    result = _with_progress(args.days, "simulating",
                            lambda tick: run_one(sc, args.policy, customers, args.days, args.seed, tick))
    out = Path(args.out)
    write_run(out, result)
    s = result.summary
    table = Table(title=f"{s['policy']} on {s['scenario']} "
                        f"(seed {s['seed']}, {customers:,} customers, {args.days} days)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k in ("total_value", "net_profit", "residual_value", "revenue", "incentive_cost", "contact_cost",
              "purchases", "contacts", "opens", "unsubscribes", "complaints", "reachable_end", "active_end"):
        table.add_row(k, _num(s[k]))
    out_console.print(table)
    out_console.print(f"wrote {out / 'summary.json'} and {out / 'daily.csv'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Several policies on the same seeds: paired bootstrap CIs, comparison.csv, tidy tables and a report.

    The shorthand of ``siyu experiment``: the same runner, so rerunning with the same --out resumes.
    """
    from experiments.commands.experiment import run_and_report
    from experiments.spec import experiment_from_refs
    refs = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not refs:
        raise UserError("--policies needs at least one policy name or file")
    exp = experiment_from_refs(args.scenario, refs, args.seeds, args.seed, args.customers, args.days,
                               source="--policies/--scenario")
    run_and_report(exp, Path(args.out), report=not args.no_report, jobs=args.jobs)
    return 0


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: runs in N worker processes (same results; faster for many small runs)."""
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="run in N worker processes, splitting the cores (same results; "
                             "faster for many small pools; default 1)")


def print_comparison(rows: list[dict[str, Any]], policies: list[str], title: str,
                     metrics: Sequence[str] = ("total_value", "net_profit", "residual_value", "purchases",
                                               "contacts", "unsubscribes", "reachable_end")) -> None:
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
            text = f"{_short(head['diff_vs_reference'], True)} [{_short(lo, True)}, {_short(hi, True)}]"
            diff = f"[{color}]{text}[/{color}]" if color else text
        star = (" **" if head.get("lead_significant") else " *") if head.get("best") else ""
        table.add_row(pol + star, _short(head["mean"]), diff, *(_short(by[(pol, m)]["mean"]) for m in metrics[1:]))
    out_console.print(table)


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List presets, print one preset's TOML, or list every field a scenario file can set."""
    if args.action == "show":
        if not args.name:
            raise UserError(f"scenarios show needs a NAME; presets: {', '.join(preset_names())}")
        out_console.print(preset_text(args.name), markup=False, highlight=False)
        return 0
    if args.action == "fields":
        return print_fields(args.name)
    table = Table(title="scenario presets (siyu scenarios show NAME prints the TOML; "
                        "siyu scenarios fields [SECTION] lists what a file can set)")
    table.add_column("name")
    table.add_column("mode")
    table.add_column("description")
    for name in preset_names():
        sc = load_scenario(name)
        table.add_row(name + (" (default)" if name == DEFAULT_SCENARIO else ""), sc.mode, sc.description)
    out_console.print(table)
    return 0


def print_fields(section: str | None) -> int:
    """Every scenario field (or one section's): path, unit, range, default, description."""
    from sim.config import field_docs
    rows = field_docs()
    sections = sorted({r["path"].split(".")[0] for r in rows if "." in r["path"]})
    if section:
        if section not in sections:
            raise UserError(f"unknown section '{section}'; sections: {', '.join(sections)}")
        rows = [r for r in rows if r["path"].startswith(section + ".")]
    table = Table(title=escape("scenario fields (TOML: [section] then key = value; out of range is rejected)"),
                  title_justify="left")
    for col in ("path", "unit", "range", "default", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(escape(r[k]) for k in ("path", "unit", "range", "default", "description")))
    out_console.print(table)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Customer-days per second, bytes per customer and peak memory; --json for tools."""
    from experiments.bench import run_bench, warm_start_seconds
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s < 1 for s in sizes):
        raise UserError("--sizes must be positive whole numbers")
    threads = [int(t) for t in args.threads.split(",")]
    with console.status("benchmarking") as status:
        rows = run_bench(sizes, threads, args.min_seconds, lambda msg: status.update(f"benchmarking {msg}"))
        warm = warm_start_seconds()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="siyu bench (beauty preset)")
    for col in ("customers", "threads", "engine customer-days/s", "end-to-end customer-days/s",
                "bytes/customer", "peak MB of a run"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['customers']:,}", str(r["threads"]), f"{r['customer_days_per_s'] / 1e6:,.1f} M",
                      f"{r['run_customer_days_per_s'] / 1e6:,.1f} M ({r['policy']})",
                      f"{r['bytes_per_customer']:.0f}", f"{r['peak_mb']:.0f}")
    out_console.print(table)
    out_console.print(f"warm start (fresh interpreter to first step, numba cache warm): {warm:.2f} s")
    return 0


# --- parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="siyu", description="Simulate a brand's private traffic pool "
                                     "and compare contact policies on it.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def scenario_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                       help=f"preset ({', '.join(preset_names())}) or TOML file (default {DEFAULT_SCENARIO})")
        p.add_argument("--customers", type=positive_int, default=None, metavar="N",
                       help="pool size (default: the scenario's)")
        p.add_argument("--days", type=positive_int, default=180, metavar="D", help="horizon in days (default 180)")

    p = sub.add_parser("run", help="run one policy on one seed")
    scenario_args(p)
    p.add_argument("--policy", default="fatigue_capped", metavar="NAME|PATH", help="baseline name or policy TOML")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S")
    p.add_argument("--out", default="runs/run", metavar="DIR", help="output folder (default runs/run)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="compare policies on common seeds with paired confidence intervals")
    scenario_args(p)
    p.add_argument("--policies", default=DEFAULT_POLICIES, metavar="A,B,C",
                   help=f"comma-separated; the first is the reference (default {DEFAULT_POLICIES})")
    p.add_argument("--seeds", type=positive_int, default=5, metavar="K", help="number of seeds (default 5)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="first seed (default 0)")
    p.add_argument("--out", default="runs/compare", metavar="DIR",
                   help="output folder (default runs/compare); rerunning with the same folder resumes")
    p.add_argument("--no-report", action="store_true", help="skip report.html / report.md")
    add_jobs_argument(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("scenarios", help="list scenario presets, show one as TOML, or list the fields")
    p.add_argument("action", nargs="?", choices=["list", "show", "fields"], default="list")
    p.add_argument("name", nargs="?", help="preset to show, or section of the fields to list")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("bench", help="engine throughput, memory and warm start")
    p.add_argument("--sizes", default="10000,100000,1000000", help="customer counts, comma-separated")
    p.add_argument("--threads", default="1,2", help="numba thread counts, comma-separated")
    p.add_argument("--min-seconds", type=float, default=1.0, help="minimum timing per measurement")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_bench)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


EXTRA_COMMANDS: list[Callable[[Any], None]] = []
"""Functions adding subcommands (experiment, report, regress, train) to the parser."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``siyu`` console script."""
    _load_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from sim import _cache
    if _cache.COLD and args.command not in ("scenarios",):
        console.print("[dim]first run of this siyu version here: compiling the numba kernels "
                      "(about 15 s on 2 cores; cached afterwards)[/dim]")
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserError, InvalidActionError, ValueError, FileNotFoundError) as exc:
        console.print(f"[red]siyu {args.command}: error:[/red] {exc}", markup=True, highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted; finished runs are kept")
        return 130


def _load_extra_commands() -> None:
    """Import command modules of later layers that register themselves in EXTRA_COMMANDS."""
    import importlib
    for mod in ("experiments.commands",):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def _num(v: float) -> str:
    if v != v:
        return "nan"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.3f}"


def _short(v: float, signed: bool = False) -> str:
    """Compact number: 4.71M, 23.6k, 0.163."""
    if v != v:
        return "n/a"
    sign = "+" if signed and v >= 0 else ""
    a = abs(v)
    if a >= 1e6:
        return f"{sign}{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{sign}{v / 1e3:.1f}k"
    if a >= 100 or float(v).is_integer():
        return f"{sign}{v:,.0f}"
    return f"{sign}{v:.3f}"


def _signed(v: float) -> str:
    if v != v:
        return "nan"
    return f"{v:+,.0f}" if abs(v) >= 100 else f"{v:+,.3f}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
