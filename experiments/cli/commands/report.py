"""``siyu report DIR``: write report.html (self-contained) and report.md for an experiment folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.options import UserError
from experiments.console import console, count, out_console, short
from experiments.store.outdir import claim
from sim.config import ConfigError


def cmd_report(args: argparse.Namespace) -> int:
    """Render the report of a folder written by ``siyu experiment`` or ``siyu compare``."""
    from experiments.reporting.report import write_report
    folder = Path(args.dir)
    if not (folder / "experiment.json").is_file():
        raise UserError(f"DIR {short(args.dir)}: no experiment.json there; give the --out folder of "
                        "siyu experiment or siyu compare")
    claim(folder, "DIR")
    with console.status("writing the report"):
        try:
            files = write_report(folder)
        except ConfigError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:  # tables edited or cut short by hand
            raise UserError(f"DIR {short(args.dir)}: its tables do not match its experiment.json "
                            f"({type(exc).__name__}: {short(str(exc))}); rerun the experiment into it") from None
    out_console.print(f"wrote {files.html}, {files.markdown} and {count(len(files.figures), 'figure')} in "
                      f"{files.figures[0].parent if files.figures else args.dir}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu report``."""
    p = sub.add_parser("report", help="HTML and Markdown report of an experiment folder")
    p.add_argument("dir", metavar="DIR", help="folder given as --out to siyu experiment or siyu compare")
    p.set_defaults(func=cmd_report)

