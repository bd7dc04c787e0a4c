"""Arguments several commands share: scenario and sizes, seeds, worker processes, and user errors."""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from sim.config import preset_names, short

DEFAULT_SCENARIO = "beauty"


class UserError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


def _parsed(text: str, convert: Callable[[str], Any], noun: str, allowed: str, ok: Callable[[Any], bool]) -> Any:
    """``convert(text)`` if it parses and passes ``ok``; else a one-line argparse error naming what is allowed."""
    try:
        v = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {noun} {allowed}, got '{short(text, 40)}'") from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {short(text, 40)}")
    return v


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    return _parsed(text, int, "a whole number", ">= 1", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    """Argparse type: an integer in 0..64 (a count of helper processes)."""
    return _parsed(text, int, "a whole number", "in 0..64", lambda v: 0 <= v <= 64)


def tolerance(text: str) -> float:
    """Argparse type: a finite number >= 0 (NaN would switch a check off, a negative one flag everything)."""
    return _parsed(text, float, "a number", "finite and >= 0", lambda v: math.isfinite(v) and v >= 0)


MAX_JOBS = 64
"""Worker processes at most (each holds a pool and its own numba threads)."""


def jobs_int(text: str) -> int:
    """Argparse type: a number of worker processes in 1..:data:`MAX_JOBS`."""
    return _parsed(text, int, "a whole number", f"in 1..{MAX_JOBS}", lambda v: 1 <= v <= MAX_JOBS)


def positive_number(text: str) -> float:
    """Argparse type: a finite number > 0."""
    return _parsed(text, float, "a number", "finite and > 0", lambda v: math.isfinite(v) and v > 0)


def positive_int_list(text: str) -> list[int]:
    """Argparse type: comma-separated whole numbers >= 1 (at most 32 of them)."""
    items = [t.strip() for t in text.split(",")]
    if not 1 <= len(items) <= 32:
        raise argparse.ArgumentTypeError(f"expected 1 to 32 comma-separated whole numbers, got {len(items)}")
    return [positive_int(t) for t in items]


def seed_int(text: str) -> int:
    """Argparse type: a seed in 0..2**63-1."""
    return _parsed(text, int, "a whole number", "in 0..2**63-1", lambda v: 0 <= v < 2**63)


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """``--scenario``, ``--customers`` and ``--days``: what is simulated, how big and how long."""
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                   help=f"preset ({', '.join(preset_names())}) or TOML file (default {DEFAULT_SCENARIO})")
    p.add_argument("--customers", type=positive_int, default=None, metavar="N",
                   help="pool size (default: the scenario's)")
    p.add_argument("--days", type=positive_int, default=180, metavar="D", help="horizon in days (default 180)")


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: runs in N worker processes (same results; faster for many small runs)."""
    parser.add_argument("--jobs", type=jobs_int, default=1, metavar="N",
                        help="run in N worker processes, splitting the cores (same results; "
                             "faster for many small pools; default 1)")


def add_realize_argument(parser: argparse.ArgumentParser) -> None:
    """``--realize-residual``: check the residual value by playing the continuation on the run itself."""
    parser.add_argument("--realize-residual", action="store_true",
                        help="also play the reference continuation on each finished run and write residual_realized "
                             "next to residual_value (they agree; costs one more continuation per run)")


def add_report_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-report``: skip the HTML and Markdown report."""
    parser.add_argument("--no-report", action="store_true", help="skip report.html / report.md")


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-model``: allow ``rl:`` stable-baselines3 zips, which run code from the file when loaded."""
    parser.add_argument("--trust-model", action="store_true",
                        help="allow rl: policies that are stable-baselines3 .zip files: loading one RUNS CODE "
                             "FROM THE FILE, so only for files you trust (siyu train writes model.pt, which "
                             "needs no trust)")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend local|ray`` and ``--ray-address``: where the runs execute (same results on either)."""
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local: this machine, --jobs processes (default); ray: Ray tasks on the cluster at "
                             "--ray-address, or a local Ray instance (needs siyu[distributed]; same results)")
    parser.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                        help="Ray cluster to connect to with --backend ray (default: RAY_ADDRESS, else start "
                             "a local Ray instance)")


def backend_of(args: argparse.Namespace) -> Any:
    """The :class:`~experiments.running.backends.Backend` the arguments ask for (close it when done)."""
    from experiments.running.backends import make_backend
    if args.ray_address and args.backend != "ray":
        raise UserError("--ray-address goes with --backend ray")
    if args.backend == "ray" and getattr(args, "jobs", 1) > 1:
        raise UserError("--jobs goes with --backend local; on Ray every CPU of the cluster runs one task")
    return make_backend(args.backend, getattr(args, "jobs", 1), args.ray_address)
