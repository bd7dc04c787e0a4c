"""Tidy tables on disk: Parquet when pyarrow is importable, CSV otherwise; read back as numpy columns.

A :data:`Table` is a dict of equally long columns. Files are written atomically and are readable by
pandas (``read_parquet`` / ``read_csv``) and polars alike.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from experiments.store.io import atomic_path, atomic_write, csv_cells, write_csv

Table = dict[str, np.ndarray]
"""Column name -> values (numbers as float or int arrays, text as str arrays)."""
FORMATS = ("parquet", "csv")


def parquet_available() -> bool:
    """Whether pyarrow can be imported (Parquet output); otherwise tables are CSV."""
    return importlib.util.find_spec("pyarrow") is not None


def write_table(folder: Path, name: str, columns: Mapping[str, Sequence[Any]]) -> Path:
    """Write ``folder/name.parquet`` (or ``.csv`` without pyarrow) atomically; returns the path.

    A file of the same name in the other format is removed, so a reader never sees a stale one.
    """
    fmt = "parquet" if parquet_available() else "csv"
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        _write_parquet(path, columns)
    else:
        n = len(next(iter(columns.values()))) if columns else 0
        rows = ({k: columns[k][i] for k in columns} for i in range(n))
        write_csv(path, rows, list(columns))
    _remove_stale(folder, name, fmt)
    return path


def _write_parquet(path: Path, columns: Mapping[str, Sequence[Any]]) -> None:
    import pyarrow.parquet as pq
    table = _arrow(columns)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _arrow(columns: Mapping[str, Sequence[Any]]) -> Any:
    import pyarrow as pa
    return pa.table({k: list(v) if not isinstance(v, np.ndarray) else v for k, v in columns.items()})


def _remove_stale(folder: Path, name: str, fmt: str) -> None:
    """Remove table ``name`` in the formats other than ``fmt``, so a reader never sees a stale one."""
    for other in FORMATS:
        stale = folder / f"{name}.{other}"
        if other != fmt and stale.exists():
            stale.unlink()


class TableBuilder:
    """Accumulates the columns of one tidy table, row by row."""

    def __init__(self) -> None:
        """An empty table."""
        self.columns: dict[str, list[Any]] = {}
        self.rows = 0

    def add(self, row: Mapping[str, Any]) -> None:
        """Append one row (every row must have the same columns)."""
        if not self.columns:
            self.columns = {k: [] for k in row}
        for k, v in row.items():
            self.columns[k].append(v)
        self.rows += 1

    def extend(self, ids: Mapping[str, Any], columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows sharing ``ids``, with per-row values given column-wise."""
        n = len(next(iter(columns.values())))
        for i in range(n):
            self.add({**ids, **{k: v[i] for k, v in columns.items()}})


ROW_GROUP_ROWS = 64 * 1024
"""Rows a :class:`TableStream` holds before writing them out (one Parquet row group); it bounds the memory.

A streamed table of at most this many rows is byte for byte the file :func:`write_table` makes of it;
a longer one has row groups of this many rows (the same rows and types read back)."""


class TableStream(TableBuilder):
    """A table written to ``folder/name.parquet`` (or ``.csv``) as rows arrive, holding at most ``row_group`` rows.

    Why: the tables of an experiment grow with its runs; streamed, the driver's memory does not. The file
    appears (atomically) on :meth:`close`; rows later given other column types than the first are cast to
    them, as one table would be. Use as a context manager: an error leaves no file.
    """

    def __init__(self, folder: Path, name: str, row_group: int | None = None) -> None:
        super().__init__()
        self.folder, self.name = folder, name
        self.row_group = row_group or ROW_GROUP_ROWS
        self.format = "parquet" if parquet_available() else "csv"
        self.path = folder / f"{name}.{self.format}"
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        self._writer: Any = None
        self._header: list[str] | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        """Append one row, writing out the rows held once there are ``row_group`` of them."""
        super().add(row)
        if self.rows >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        if self.format == "parquet":
            import pyarrow.parquet as pq
            table = _arrow(self.columns)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            if not table.schema.equals(self._writer.schema):
                table = self._cast(table)
            self._writer.write_table(table)
        else:
            import csv
            if self._writer is None:
                self._header = list(self.columns)
                self._writer = open(self._tmp, "w", encoding="utf-8", newline="")
                csv.writer(self._writer, lineterminator="\n").writerow(self._header)
            w = csv.DictWriter(self._writer, fieldnames=self._header, extrasaction="ignore", lineterminator="\n")
            for i in range(self.rows):
                w.writerow(csv_cells({k: v[i] for k, v in self.columns.items()}, self._header))
        self.columns, self.rows = {}, 0

    def _cast(self, table: Any) -> Any:
        """``table`` with the column types of the rows written before (an int column later holding 1.5 cannot)."""
        import pyarrow as pa
        try:
            return table.cast(self._writer.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            changed = [f.name for f, g in zip(table.schema, self._writer.schema) if f.type != g.type]
            raise ValueError(f"{self.path}: column {', '.join(changed)} changed type after "
                             f"{self.row_group} rows ({exc})") from exc

    def close(self) -> Path:
        """Write the rows still held and put the file in place; returns its path."""
        if self._writer is None and not self.rows:  # no rows at all: the file an empty table makes
            self._abandon()
            return write_table(self.folder, self.name, {})
        self._flush()
        if self.format == "parquet":
            self._writer.close()
        else:
            self._writer.flush()
            os.fsync(self._writer.fileno())
            self._writer.close()
        self._atomic.__exit__(None, None, None)
        _remove_stale(self.folder, self.name, self.format)
        return self.path

    def _abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        try:
            self._atomic.__exit__(RuntimeError, RuntimeError("abandoned"), None)
        except RuntimeError:
            pass

    def __enter__(self) -> "TableStream":
        """Use as a context manager: :meth:`close` on success, no file on error."""
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        """Put the file in place, or remove the partial one if the block raised."""
        if kind is None:
            self.close()
        else:
            self._abandon()


def table_path(folder: Path, name: str) -> Path | None:
    """The existing file of table ``name`` in ``folder`` (Parquet first), or None."""
    for fmt in FORMATS:
        path = folder / f"{name}.{fmt}"
        if path.exists():
            return path
    return None


def read_table(folder: Path, name: str) -> Table:
    """Read table ``name`` from ``folder`` in whichever format it was written."""
    path = table_path(folder, name)
    if path is None:
        raise FileNotFoundError(f"{folder}: no {name}.parquet or {name}.csv")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        return as_arrays(pq.read_table(path).to_pydict())
    return read_csv(path)


def read_csv(path: Path) -> Table:
    """A CSV file as columns: numeric columns as float arrays, the rest as text."""
    import csv
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        cells = list(zip(*reader)) or [() for _ in header]
    return {name: _column(list(values)) for name, values in zip(header, cells)}


def _column(values: list[str]) -> np.ndarray:
    if values and all(v in ("True", "False") for v in values):
        return np.array([v == "True" for v in values])
    try:
        return np.array([float(v) for v in values], np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def as_arrays(columns: Mapping[str, Sequence[Any]]) -> Table:
    """Columns given as lists, as numpy arrays."""
    return {k: np.asarray(v) for k, v in columns.items()}


def select(table: Table, **equal: Any) -> Table:
    """Rows of ``table`` whose columns equal the given values (``select(t, policy="blast")``)."""
    keep = np.ones(n_rows(table), bool)
    for col, value in equal.items():
        keep &= table[col] == value
    return {k: v[keep] for k, v in table.items()}


def n_rows(table: Table) -> int:
    """Number of rows."""
    return len(next(iter(table.values()))) if table else 0
