"""Result files written atomically: a reader never sees half a file, an interrupted run leaves none."""

from __future__ import annotations

import csv
import json
import glob
import os
import tempfile
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers see the old file or the whole new one."""
    with atomic_path(path) as tmp:
        write(tmp)


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary file next to ``path``, renamed onto it when the block ends without error, else removed.

    Why: a file written piece by piece (a table streamed run by run) is seen whole or not at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_partial(path: Path) -> int:
    """Remove the temporary files a killed writer of ``path`` left behind; how many there were.

    Why: a process killed between creating its temporary file and the rename (a lost worker) cannot
    clean up after itself; whoever knows that no writer of ``path`` is left calls this.
    """
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, synced to disk before the rename."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    atomic_write(path, write)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        w.writerow(csv_cells(r, columns))
    atomic_write_text(path, buf.getvalue())


def csv_cells(row: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
    """The cells of one CSV row as written: floats by ``repr`` (exact round trip), numpy scalars as Python's."""
    return {k: _fmt(row.get(k)) for k in columns}


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
