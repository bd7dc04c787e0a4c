"""What people read: the two consoles, the progress bar, and numbers written as people write them.

The CLI, the report and the figures format every number with :func:`number` and every count with
:func:`count`, so a figure reads the same on the terminal, in ``report.md`` and on an axis.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sim.config import short as short  # values echoed in messages are cut to 80 characters

console = Console(stderr=True, soft_wrap=True)
"""Messages, warnings, errors and progress: stderr, so piping stdout keeps only the results; a message is
one line however long (soft wrap), so a log or CI reads it whole."""
out_console = Console() if sys.stdout.isatty() else Console(width=160)
"""Results (tables, paths written): stdout, 160 columns wide when it is not a terminal."""


def number(v: float, signed: bool = False, digits: int | None = None) -> str:
    """A number as people write it: ``4.71M``, ``23.6k``, ``1,234``, ``+8``, ``0.16``; NaN as ``n/a``.

    Millions and thousands keep three significant digits; from 1 up a number is whole (a total of
    8.293 yuan reads ``8``); below 1 it keeps two significant digits. ``digits`` asks for that many
    significant digits below 10,000 instead (axis ticks such as 2.5).
    """
    v = float(v)
    if v != v:
        return "n/a"
    a = abs(v)
    if a >= 1e4:
        a = float(f"{a:.3g}")  # round first, so 999,999.7 reads 1M, not 1,000k
        body = _three(a / 1e6) + "M" if a >= 1e6 else _three(a / 1e3) + "k"
    elif digits and a < 10 ** digits:
        body = f"{a:.{digits}g}"
    elif a >= 1 or a == 0:
        body = f"{a:,.0f}"
    else:
        body = f"{a:.2g}"
    if v < 0 and body.strip("0.,") != "":
        return "-" + body
    return ("+" if signed else "") + body


def _three(x: float) -> str:
    """Three significant digits, never in exponent form."""
    text = f"{x:.3g}"
    return f"{float(text):,.0f}" if "e" in text else text


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 seed``, ``3 seeds``, ``2 policies``, ``20,000 customers``."""
    if n == 1:
        return f"1 {noun}"
    if plural is None:
        plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{n:,} {plural}"


def progress_bar(label: str, unit: str = "days") -> Progress:
    """A rich progress bar on stderr, hidden when stderr is not a terminal."""
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                    TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)


def with_progress(total: int, label: str, work: Callable[[Callable[[int], None]], Any], unit: str = "days") -> Any:
    """Run ``work(tick)`` under a progress bar of ``total`` ``unit``; ``tick(done)`` moves it."""
    with progress_bar(label, unit) as bar:
        task = bar.add_task(label, total=total)
        return work(lambda done: bar.update(task, completed=done))
