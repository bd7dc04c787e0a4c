"""``siyu scenarios [list|show NAME|fields SECTION]``: the presets, one as TOML with its response card, the fields."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

from experiments.cli.options import DEFAULT_SCENARIO, UserError
from experiments.console import out_console
from sim.config import field_docs, load_scenario, preset_names, preset_text


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List presets, print one preset's TOML, or list every field a scenario file can set."""
    if args.action == "show":
        if not args.name:
            raise UserError(f"scenarios show needs a NAME; presets: {', '.join(preset_names())}")
        out_console.print(preset_text(args.name), markup=False, highlight=False)
        if not args.no_response:
            from experiments.response import card_lines
            sc = load_scenario(args.name)
            out_console.print("\n".join(card_lines(sc, sc.population.customers)), markup=False, highlight=False)
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


def register(sub: Any) -> None:
    """Add ``siyu scenarios``."""
    p = sub.add_parser("scenarios", help="list scenario presets, show one as TOML, or list the fields")
    p.add_argument("action", nargs="?", choices=["list", "show", "fields"], default="list",
                   help="list the presets (default), show one, or list the fields")
    p.add_argument("name", nargs="?", help="preset to show, or section of the fields to list")
    p.add_argument("--no-response", action="store_true",
                   help="show: skip the response card (what one message does, measured; a few seconds)")
    p.set_defaults(func=cmd_scenarios)
