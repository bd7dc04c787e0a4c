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
from typing import Any, Iterable

import numpy as np

from experiments.store.io import atomic_write_text
from experiments.recording import SEGMENTS, ContactRecorder, hidden_histograms
from sim.defaults import ACTIVE, CONTENTS
from sim.engine import RunResult, Simulation

RECORD_FORMAT = 2
"""Version of the run-file layout; part of every run's key (2: segments from sim.segments, with a due row)."""
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


class TableBuilder:
    """Accumulates the columns of one tidy table, row by row."""

    def __init__(self) -> None:
        """An empty table."""
        self.columns: dict[str, list[Any]] = {}
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (every row must have the same columns)."""
        if not self.columns:
            self.columns = {k: [] for k in row}
        for k, v in row.items():
            self.columns[k].append(v)
        self.rows += 1

    def extend(self, ids: dict[str, Any], columns: dict[str, list[Any]]) -> None:
        """Append rows sharing ``ids``, with per-row values given column-wise."""
        n = len(next(iter(columns.values())))
        for i in range(n):
            self.add({**ids, **{k: v[i] for k, v in columns.items()}})


def build_tables(runs: Iterable[tuple[dict[str, Any], Record]]) -> dict[str, dict[str, list[Any]]]:
    """The tidy tables of an experiment from (identifying columns, record) pairs.

    ``runs``: one row per run (identity, grid values, summary); ``daily``: one row per run-day;
    ``hidden``: one row per run, variable and bin; ``segments``: one row per run, day and segment.
    """
    t = {name: TableBuilder() for name in ("runs", "daily", "hidden", "segments")}
    for ids, rec in runs:
        short = {k: ids[k] for k in ("run_id", "point", "policy", "seed")}
        t["runs"].add({**ids, **{k: table_cell(v) for k, v in rec["summary"].items() if k not in ids}})
        daily = rec["daily"]
        t["daily"].extend(short, {"day": daily["day"], **{k: v for k, v in daily.items() if k != "day"}})
        for var, h in rec["hidden"].items():
            edges = h["edges"]
            t["hidden"].extend({**short, "variable": var},
                               {"bin_low": edges[:-1], "bin_high": edges[1:], "customers": h["counts"]})
        seg = rec["segments"]
        for day, (cells, reach) in enumerate(zip(seg["contacts"], seg["reachable"])):
            t["segments"].extend({**short, "day": daily["day"][day]}, {
                "segment": seg["names"], "reachable": reach, "contacts": [sum(c) for c in cells],
                **{f"contacts_{ct}": [c[j] for c in cells] for j, ct in enumerate(seg["contents"])}})
    return {name: b.columns for name, b in t.items()}
