"""``contacts.csv``: one row per contact (or deliberate non-contact, ``content = none``) of a customer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.logs.rows import LogError, LogReport, cell, check_usable, customer_and_day, open_rows
from sim.defaults import CHANNELS, CONTENTS, SLOTS

CONTROL = "none"
"""Content of a row that records a customer deliberately left out of a campaign (a control)."""
FLAGS = ("opened", "clicked", "unsubscribed")
"""Optional 0/1 outcome columns."""
PROPENSITY = "propensity"
"""Optional column: probability that the logging policy chose the row's action, in (0, 1]."""
_TRUE, _FALSE = {"1", "true", "yes", "y", "t"}, {"0", "false", "no", "n", "f", ""}


@dataclass(frozen=True)
class Contacts:
    """Valid contact rows.

    ``channel`` indexes :data:`sim.defaults.CHANNELS` (-1 for a ``none`` row with an empty channel: the
    policy chose no contact, rather than a contact held back); ``content`` indexes
    :data:`sim.defaults.CONTENTS`, or is -1 for a ``none`` row; flags are -1 when the column is absent.
    """

    customer: np.ndarray
    """int64, index into the transactions' ``ids``."""
    day: np.ndarray
    channel: np.ndarray
    content: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    unsubscribed: np.ndarray
    slot: np.ndarray
    """Index into :data:`sim.defaults.SLOTS`, -1 when the file has no ``slot`` column."""
    report: LogReport
    line: np.ndarray | None = None
    """Line of the file of each valid row."""
    propensity: np.ndarray | None = None
    """Logging probability of each row's action, when the file has a ``propensity`` column (off-policy checks)."""


def parse_channel_map(items: list[str] | None) -> dict[str, str]:
    """``["email=sms"]`` -> ``{"email": "sms"}``; the target must be a scenario channel."""
    out: dict[str, str] = {}
    for item in items or []:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or dst.strip() not in CHANNELS:
            raise LogError(f"--channel-map: expected NAME=CHANNEL with CHANNEL one of {', '.join(CHANNELS)}; "
                           f"got '{item[:40]}'")
        out[src.strip()] = dst.strip()
    return out


def read_contacts(path: str | Path, ids: np.ndarray, date_format: str = "iso", calibration_end: int | None = None,
                  channel_map: dict[str, str] | None = None, strict: bool = False,
                  plan_days: tuple[int, int] | None = None, propensity: str = PROPENSITY) -> Contacts:
    """Read and check ``path`` against the customers ``ids`` of the transactions.

    Dropped: empty or unknown customers (not in the transactions), unparsable dates, channels the
    scenario does not define (map them with ``channel_map``), unknown contents or slots, flags that are
    not 0/1, and exact duplicates. Kept but noted: contacts after ``calibration_end``. A contact plan
    (``plan_days`` = its first and last day) also drops rows outside those days and a second contact of a
    customer on one day (the engine sends one message a day). A ``propensity`` column (the name is the
    argument) is read when present; a row whose value is not in (0, 1] is dropped.
    """
    path = Path(path)
    cols, rows = open_rows(path, {"customer_id": "customer_id", "date": "date", "channel": "channel",
                                  "content": "content"}, {f: f for f in (*FLAGS, "slot")} | {PROPENSITY: propensity})
    report = LogReport(str(path))
    index = {str(cid): i for i, cid in enumerate(ids)}
    mapping = channel_map or {}
    seen: set[tuple[str, ...]] = set()
    planned: set[tuple[int, int]] = set()
    out: list[tuple[int, int, int, int, int, int, int, int]] = []
    lines: list[int] = []
    props: list[float] = []
    total = 0
    for line, cells in rows:
        total += 1
        got = customer_and_day(cells, cols, date_format, report, line)
        if got is None:
            continue
        cid, day = got
        if cid not in index:
            report.drop("a customer_id not in the transactions", line)
            continue
        name = cell(cells, cols["channel"])
        name = mapping.get(name, name)
        content = cell(cells, cols["content"])
        if name not in CHANNELS and not (name == "" and content == CONTROL):
            report.drop(f"a channel the scenario does not define (map it with --channel-map NAME="
                        f"{'|'.join(CHANNELS)})", line)
            continue
        if content != CONTROL and content not in CONTENTS:
            report.drop(f"a content not in {', '.join(CONTENTS)}, {CONTROL}", line)
            continue
        flags = []
        for f in FLAGS:
            text = cell(cells, cols[f]).lower() if f in cols else None
            flags.append(-1 if text is None else 1 if text in _TRUE else 0 if text in _FALSE else -2)
        if -2 in flags:
            report.drop("an opened/clicked/unsubscribed flag that is not 0 or 1", line)
            continue
        prop = _propensity(cell(cells, cols[PROPENSITY])) if PROPENSITY in cols else 1.0
        if prop is None:
            report.drop("a propensity that is not a probability in (0, 1]", line)
            continue
        slot = cell(cells, cols["slot"]) if "slot" in cols else ""
        if slot and slot not in SLOTS:
            report.drop(f"a slot not in {', '.join(SLOTS)}", line)
            continue
        key = tuple(cells)
        if key in seen:
            report.drop("a duplicate of an earlier row", line)
            continue
        seen.add(key)
        if plan_days is not None:
            if not plan_days[0] <= day <= plan_days[1]:
                report.drop("a date outside the forecast (after --calibration-end, up to --until)", line)
                continue
            if (index[cid], day) in planned:
                report.drop("a second contact of a customer on one day", line)
                continue
            planned.add((index[cid], day))
        if calibration_end is not None and day > calibration_end:
            report.note("a date after the calibration end (not used in the fit)", line)
        lines.append(line)
        props.append(prop)
        out.append((index[cid], day, CHANNELS.index(name) if name else -1,
                    CONTENTS.index(content) if content != CONTROL else -1,
                    *flags, SLOTS.index(slot) if slot else -1))
    report.fail_if_strict(strict)
    check_usable(path, len(out), total, report)
    a = np.array(out, np.int64).reshape(-1, 8)
    return Contacts(*(a[:, k] for k in range(8)), report=report, line=np.array(lines, np.int64),
                    propensity=np.array(props, np.float64) if PROPENSITY in cols else None)


def _propensity(text: str) -> float | None:
    """``text`` as a probability in (0, 1], or None."""
    try:
        v = float(text)
    except ValueError:
        return None
    return v if 0.0 < v <= 1.0 else None
