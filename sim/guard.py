"""Checks of the Python API's arguments: whole numbers that are whole, and sizes the machine can hold.

A float customer count silently truncated, a channel code that wraps around int8, or a pool that asks
numpy for terabytes are errors of the caller: they get a ``ValueError`` or ``TypeError`` naming the
argument, before anything is allocated or simulated.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

BYTES_PER_ROW = 300
"""Memory a simulation needs per row of customers: the state (75 bytes) plus policy, observation and
recording buffers, with margin (a rule policy peaks at about 125 bytes per row)."""


def whole_number(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi]; refuses booleans, fractions, NaN and strings, naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__} {_short(value)}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif math.isfinite(float(value)) and float(value).is_integer():
        v = int(value)
    else:
        raise ValueError(f"{name} must be a whole number, got {_short(value)}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in {lo:,}..{hi:,}, got {v:,}")
    return v


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 2**63


def check_memory(what: str, needed: float) -> None:
    """Refuse, naming ``what``, a size whose estimated memory exceeds what the machine has available."""
    have = available_memory()
    if needed > have:
        raise ValueError(f"{what} needs about {_bytes(needed)} of memory; this machine has {_bytes(have)} available")


def check_run_memory(scenario: Any, customers: int, days: int, what: str = "a run") -> None:
    """Refuse a run whose pool, grown by the expected joiners over ``days`` (or the reserve), exceeds memory.

    Why before the run: inflow settings within their ranges (``ad_adds_per_day`` with a long
    ``reserve_days`` or horizon) can ask for terabytes; a sweep should fail before its first run,
    not at the grid point that needs them.
    """
    from sim.acquisition import expected_daily_inflow
    inflow = expected_daily_inflow(scenario, customers) * max(float(scenario.acquisition.reserve_days), days)
    rows = customers + math.ceil(inflow)
    check_memory(f"{what} ({customers:,} customers and about {math.ceil(inflow):,} joiners "
                 f"over {max(float(scenario.acquisition.reserve_days), days):,.0f} days)", rows * BYTES_PER_ROW)


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _short(value: object, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
