"""The ``siyu`` command line: the parser of every command, and the one place errors are turned into lines.

User errors (unknown names, bad files, bad numbers, folders that cannot be written) end with one
line on stderr and exit code 2; never a traceback. A command that needs an optional part that is not
installed names the pip extra in one line and exits 3. An unexpected failure is one line too, and exit
code 1; ``--debug`` (or ``SIYU_TRACEBACK=1``) shows the traceback. Ctrl-C ends a command with one line
and exit code 130. A crash of the interpreter itself (a segmentation fault in compiled code) prints every
thread's Python stack (:mod:`faulthandler`), so that it can be found and reported.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
from typing import Any, NoReturn, Sequence

from rich.markup import escape

from experiments.cli.commands import (bench, calibrate, compare, experiment, explore, forecast, regress, report, run,
                                      scenarios, train, tune)
from experiments.cli.commands import ope, plan, validate
from experiments.cli.completion import bash_script
from experiments.cli.options import UserError
from experiments.console import console, short
from experiments.store import outdir
from policies.model_file import trust_models
from sim import interrupts
from sim.config import ConfigError
from sim.engine import code_version
from sim.extras import MissingExtra
from sim.observation import InvalidActionError

COMMANDS = (run, compare, experiment, report, regress, train, tune, scenarios, bench, explore, calibrate, forecast)
"""Command modules, in the order ``siyu --help`` lists them."""
COMMANDS += (plan, ope, validate)  # issue 12: off-policy checks and tomorrow's contact list


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
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    for child in sub.choices.values():  # also accepted after the command: siyu run --debug
        child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``siyu`` console script."""
    _report_crashes()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.completion:
        print(bash_script(parser), end="")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    trust_models(bool(getattr(args, "trust_model", False)))  # for this command only
    sigint = interrupts.install()  # Ctrl-C ends the engine's day first: never inside a compiled call
    from sim import _cache
    if _cache.COLD and args.command not in ("scenarios",):
        console.print("[dim]first run of this siyu version here: compiling the numba kernels "
                      "(about 15 s on 2 cores; cached afterwards)[/dim]")
    debug = args.debug or bool(os.environ.get("SIYU_TRACEBACK"))
    hook = sys.unraisablehook
    if not debug:
        sys.unraisablehook = _quiet_interrupts
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserError, InvalidActionError, ValueError, OSError, RecursionError, MemoryError) as exc:
        if debug:
            raise
        error(args.command, _user_message(exc))
        return 2
    except MissingExtra as exc:
        message = str(exc)
        console.print(message if message.startswith("siyu ") else f"siyu {args.command}: {message}",
                      markup=False, highlight=False)
        return 3
    except KeyboardInterrupt:
        return _interrupted(args.command)
    except Exception as exc:
        if interrupts.interrupted(exc):  # a Ctrl-C that numba wrapped in a SystemError
            return _interrupted(args.command)
        if debug:
            raise
        error(args.command, f"{type(exc).__name__}: {exc} (--debug shows where)")
        return 1
    finally:
        interrupts.restore(sigint)
        outdir.release()
        sys.unraisablehook = hook
        trust_models(False)


def _interrupted(command: str) -> int:
    """Ctrl-C: one line, exit code 130."""
    console.print(f"siyu {command}: interrupted; finished runs are kept", markup=False, highlight=False)
    return 130


def _report_crashes() -> None:
    """Print every thread's stack on stderr if the interpreter crashes (unless something, pytest say, already does)."""
    if faulthandler.is_enabled():
        return
    try:
        faulthandler.enable(all_threads=True)
    except (AttributeError, ValueError, OSError):  # a stderr with no file descriptor
        pass


def _quiet_interrupts(unraisable: Any) -> None:
    """Drop the "Exception ignored ... KeyboardInterrupt" traceback of a Ctrl-C landing in a destructor."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def _user_message(exc: BaseException) -> str:
    """The message of a user-facing error; OS errors name the file, the rest say what they are."""
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        where = f"{short(str(exc.filename), 200)}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, MemoryError):
        return "not enough memory for this size; try fewer customers or days"
    return str(exc) or type(exc).__name__


def error(command: str, message: str) -> None:
    """One red line on stderr: ``siyu COMMAND: error: MESSAGE``, however wide the terminal and the message."""
    line = " ".join(message.split())
    if len(line) > 1000:
        line = line[:999] + "…"
    console.print(f"[red]siyu {command}: error:[/red] {escape(line)}", markup=True, highlight=False)

