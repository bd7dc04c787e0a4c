"""Result files written atomically: a reader never sees half a file, an interrupted run leaves none."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: Any) -> None:
    """Atomically write ``data`` as indented JSON."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_plain) + "\n")


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    """Atomically write ``rows`` (dicts) as CSV with ``columns`` in order."""
    import io as _io
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in columns})
    atomic_write_text(path, buf.getvalue())


def daily_rows(daily: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The daily series of a run as CSV rows, ``day`` first."""
    columns = ["day"] + [k for k in daily if k != "day"]
    n = len(daily["day"])
    rows = [{k: daily[k][t] for k in columns} for t in range(n)]
    return rows, columns


def _fmt(v: Any) -> Any:
    if hasattr(v, "item"):  # numpy scalar -> Python scalar
        v = v.item()
    if isinstance(v, float):
        return repr(v)
    return v


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v)}")
