"""The ``siyu`` command line: the parser of every command, and the one place errors are turned into lines.

User errors (unknown names, bad files, bad numbers) end with one line on stderr and exit code 2;
never a traceback. A command that needs an optional part that is not installed names the pip extra
in one line and exits 3. When stderr is not a terminal (CI, a pipe), an unexpected failure is one line
too, and exit code 1; ``SIYU_TRACEBACK=1`` shows the traceback anyway.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Sequence

from rich.markup import escape

from experiments.cli.commands import (bench, calibrate, compare, experiment, forecast, regress, report, run, scenarios,
                                      train)
from experiments.cli.completion import bash_script
from experiments.cli.options import UserError
from experiments.console import console
from sim.config import ConfigError
from sim.engine import code_version
from sim.extras import MissingExtra
from sim.observation import InvalidActionError

COMMANDS = (run, compare, experiment, report, regress, train, scenarios, bench, calibrate, forecast)
"""Command modules, in the order ``siyu --help`` lists them."""


class Parser(argparse.ArgumentParser):
    """argparse reporting a bad argument in one line; the usage comes first only on a terminal."""

    def error(self, message: str) -> NoReturn:
        """Print ``siyu COMMAND: error: MESSAGE`` and exit 2."""
        if console.is_terminal:
            self.print_usage(sys.stderr)
        console.print(f"{self.prog}: error: {message}", markup=False, highlight=False)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = Parser(prog="siyu", description="Simulate a brand's private traffic pool "
                                     "and compare contact policies on it.")
    parser.add_argument("--version", action="version", version=f"siyu {code_version()}")
    parser.add_argument("--completion", action="store_true",
                        help='print bash completion; enable it with: eval "$(siyu --completion)"')
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``siyu`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.completion:
        print(bash_script(parser), end="")
        return 0
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
        error(args.command, str(exc))
        return 2
    except MissingExtra as exc:
        message = str(exc)
        console.print(message if message.startswith("siyu ") else f"siyu {args.command}: {message}",
                      markup=False, highlight=False)
        return 3
    except KeyboardInterrupt:
        console.print("interrupted; finished runs are kept")
        return 130
    except Exception as exc:
        if console.is_terminal or os.environ.get("SIYU_TRACEBACK"):
            raise
        error(args.command, f"{type(exc).__name__}: {exc} (SIYU_TRACEBACK=1 shows where)")
        return 1


def error(command: str, message: str) -> None:
    """One red line on stderr: ``siyu COMMAND: error: MESSAGE``."""
    console.print(f"[red]siyu {command}: error:[/red] {escape(message)}", markup=True, highlight=False)

