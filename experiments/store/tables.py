"""Tidy tables on disk: Parquet when pyarrow is importable, CSV otherwise; read back as numpy columns.

A :data:`Table` is a dict of equally long columns. Files are written atomically and are readable by
pandas (``read_parquet`` / ``read_csv``) and polars alike.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from experiments.store.io import atomic_write, write_csv

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
    for other in FORMATS:
        stale = folder / f"{name}.{other}"
        if other != fmt and stale.exists():
            stale.unlink()
    return path


def _write_parquet(path: Path, columns: Mapping[str, Sequence[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({k: list(v) if not isinstance(v, np.ndarray) else v for k, v in columns.items()})
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


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
