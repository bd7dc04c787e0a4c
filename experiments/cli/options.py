"""Arguments several commands share: scenario and sizes, seeds, worker processes, and user errors."""

from __future__ import annotations

import argparse
import math

from sim.config import preset_names

DEFAULT_SCENARIO = "beauty"


class UserError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def tolerance(text: str) -> float:
    """Argparse type: a finite number >= 0 (NaN would switch a check off, a negative one flag everything)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got '{text[:40]}'") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text[:40]}")
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


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """``--scenario``, ``--customers`` and ``--days``: what is simulated, how big and how long."""
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                   help=f"preset ({', '.join(preset_names())}) or TOML file (default {DEFAULT_SCENARIO})")
    p.add_argument("--customers", type=positive_int, default=None, metavar="N",
                   help="pool size (default: the scenario's)")
    p.add_argument("--days", type=positive_int, default=180, metavar="D", help="horizon in days (default 180)")


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: runs in N worker processes (same results; faster for many small runs)."""
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="run in N worker processes, splitting the cores (same results; "
                             "faster for many small pools; default 1)")


def add_report_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-report``: skip the HTML and Markdown report."""
    parser.add_argument("--no-report", action="store_true", help="skip report.html / report.md")
