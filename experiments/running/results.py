"""One file per finished run, verified on read, and the tidy tables built from them.

A run file holds the run's identity (scenario, policy, seed, sizes, code version, config hash), its
summary, its daily series, the end-of-run hidden-state histograms and the contacts by segment, plus a
checksum of all that. It is written atomically; on resume a file that does not parse, lacks a field,
fails its checksum or belongs to another run is treated as missing and the run is redone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from experiments.store.io import atomic_write_text
from experiments.recording import SEGMENTS, ContactRecorder, hidden_histograms
from sim.defaults import ACTIVE, CHANNELS, CONTENTS
from sim.engine import RunResult, Simulation

RECORD_FORMAT = 3
"""Version of the run-file layout; part of every run's key (2: segments from sim.segments, with a due row; 3: the
daily table's lever columns for men and fans)."""
RECORD_FIELDS = ("format", "key", "meta", "summary", "daily", "hidden", "segments")

Record = dict[str, Any]
"""A run file's content: JSON-native dicts and lists only."""


def make_record(key: str, meta: dict[str, Any], result: RunResult, sim: Simulation,
                recorder: ContactRecorder) -> Record:
    """Everything kept of one finished run, as JSON-native values."""
    contacts, reachable = recorder.counts()
    st = sim.state
    record = {
        "format": RECORD_FORMAT, "key": key, "meta": meta, "summary": result.summary,
        "daily": {k: np.asarray(v).tolist() for k, v in result.daily.items()},
        "hidden": hidden_histograms({"fatigue": st.fatigue, "salience": st.salience}, st.status == ACTIVE),
        "segments": {"names": list(SEGMENTS), "contents": list(CONTENTS),
                     "contacts": contacts.tolist(), "reachable": reachable.tolist()},
    }
    return json.loads(json.dumps(record, default=_plain))


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v.tolist()


def _checksum(record: Record) -> str:
    body = {k: record[k] for k in RECORD_FIELDS}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save_record(path: Path, record: Record) -> None:
    """Write a run file atomically, with its checksum."""
    text = json.dumps({**record, "checksum": _checksum(record)}, separators=(",", ":"))
    atomic_write_text(path, text + "\n")


def load_record(path: Path, key: str) -> Record | None:
    """The run stored at ``path`` if it is complete, intact and the run ``key``; otherwise None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or any(k not in data for k in RECORD_FIELDS + ("checksum",)):
        return None
    if data["key"] != key or data["format"] != RECORD_FORMAT or data["checksum"] != _checksum(data):
        return None
    return {k: data[k] for k in RECORD_FIELDS}


# --- tidy tables ---------------------------------------------------------------------------------

def table_cell(value: Any) -> Any:
    """A value fit for a table column: numbers and text stay, lists and tables become JSON text."""
    return value if isinstance(value, (int, float, str, bool)) else json.dumps(value)


TABLES = ("runs", "daily", "hidden", "segments")
"""The tidy tables of an experiment, in the order they are written."""
Chunk = tuple[str, dict[str, Any], dict[str, list[Any]]]
"""Rows of one table from one run: table name, columns shared by the rows, per-row columns."""


def run_chunks(ids: dict[str, Any], rec: Record) -> Iterator[Chunk]:
    """The rows one run adds to the tidy tables, given its identifying columns.

    ``runs``: one row per run (identity, grid values, summary); ``daily``: one row per run-day;
    ``hidden``: one row per run, variable and bin; ``segments``: one row per run, day and segment.
    """
    short = {k: ids[k] for k in ("run_id", "point", "policy", "seed")}
    summary = {k: table_cell(v) for k, v in rec["summary"].items() if k not in ids}
    yield "runs", ids, {k: [v] for k, v in summary.items()} if summary else {"run_id": [ids["run_id"]]}
    daily = rec["daily"]
    yield "daily", short, {"day": daily["day"], **{k: v for k, v in daily.items() if k != "day"}}
    for var, h in rec["hidden"].items():
        edges = h["edges"]
        yield "hidden", {**short, "variable": var}, {"bin_low": edges[:-1], "bin_high": edges[1:],
                                                     "customers": h["counts"]}
    seg = rec["segments"]
    for day, (cells, reach) in enumerate(zip(seg["contacts"], seg["reachable"])):
        yield "segments", {**short, "day": daily["day"][day]}, {
            "segment": seg["names"], "reachable": reach, "contacts": [sum(c) for c in cells],
            **{f"contacts_{ct}": [c[j] for c in cells] for j, ct in enumerate(seg["contents"])}}


MIX_COLUMNS = {"daily": ("reachable", "unreachable", "contacts", *(f"{ch}_delivered" for ch in CHANNELS)),
               "segments": tuple(f"contacts_{c}" for c in CONTENTS)}
"""Columns of the daily and segments tables whose totals make a :class:`ContactMix`."""


def mix_totals(table: str, columns: Mapping[str, Any]) -> dict[str, float]:
    """Totals of the :data:`MIX_COLUMNS` of ``table`` found in ``columns`` (some rows of that table).

    Why: totals add up, so the mix of a policy can be gathered run by run without holding the tables.
    """
    return {c: float(np.sum(np.asarray(columns[c], np.float64))) for c in MIX_COLUMNS.get(table, ()) if c in columns}
