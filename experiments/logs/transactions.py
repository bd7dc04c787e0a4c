"""``transactions.csv``: one row per order, ``customer_id, date, amount`` (names and date format configurable)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.logs.rows import LogError, LogReport, cell, check_usable, customer_and_day, open_rows



@dataclass(frozen=True)
class Columns:
    """Header names of the transaction columns."""

    customer_id: str = "customer_id"
    date: str = "date"
    amount: str = "amount"

    @classmethod
    def parse(cls, text: str | None) -> "Columns":
        """``customer_id=cust,date=order_date`` -> Columns; unknown roles are a :class:`LogError`."""
        if not text:
            return cls()
        names: dict[str, str] = {}
        for part in text.split(","):
            role, sep, name = part.partition("=")
            role, name = role.strip(), name.strip()
            if not sep or role not in ("customer_id", "date", "amount") or not name:
                raise LogError(f"--columns: expected ROLE=NAME pairs with ROLE in customer_id, date, amount; "
                               f"got '{part[:40]}'")
            names[role] = name
        return cls(**names)


@dataclass(frozen=True)
class Transactions:
    """Valid orders, sorted by customer then day; ``customer`` indexes ``ids``."""

    ids: np.ndarray
    """Customer ids as found in the file (str), in order of first appearance."""
    customer: np.ndarray
    """int64, index into ``ids`` of each order."""
    day: np.ndarray
    """int64, day number (proleptic ordinal) of each order."""
    amount: np.ndarray
    """float64, amount of each order."""
    report: LogReport

    @property
    def n_customers(self) -> int:
        """Customers with at least one valid order."""
        return int(self.ids.size)

    def before(self, end_day: int) -> "Transactions":
        """Orders on or before ``end_day`` (the calibration period); customers without any are removed."""
        keep = self.day <= end_day
        used, customer = np.unique(self.customer[keep], return_inverse=True)
        return Transactions(self.ids[used], customer.astype(np.int64), self.day[keep], self.amount[keep],
                            self.report)


def read_transactions(path: str | Path, columns: Columns | None = None, date_format: str = "iso",
                      calibration_end: int | None = None, strict: bool = False) -> Transactions:
    """Read and check ``path``; every bad row is reported in ``report`` (or, with ``strict``, an error).

    Dropped: rows with an empty customer id, an unparsable date, a non-numeric or negative amount, and
    exact duplicates of an earlier row. Kept but noted: orders after ``calibration_end`` (a holdout).
    """
    path = Path(path)
    c = columns or Columns()
    cols, rows = open_rows(path, {"customer_id": c.customer_id, "date": c.date, "amount": c.amount})
    report = LogReport(str(path))
    seen: set[tuple[str, int, float]] = set()
    ids: dict[str, int] = {}
    cust: list[int] = []
    days: list[int] = []
    amounts: list[float] = []
    total = 0
    for line, cells in rows:
        total += 1
        got = customer_and_day(cells, cols, date_format, report, line)
        if got is None:
            continue
        cid, day = got
        try:
            amount = float(cell(cells, cols["amount"]).replace(",", ""))
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount):
            report.drop("a non-numeric amount", line)
            continue
        if amount < 0:
            report.drop("a negative amount (refund?)", line)
            continue
        key = (cid, day, amount)
        if key in seen:
            report.drop("a duplicate of an earlier row", line)
            continue
        seen.add(key)
        if calibration_end is not None and day > calibration_end:
            report.note("a date after the calibration end (used only to check the forecast)", line)
        cust.append(ids.setdefault(cid, len(ids)))
        days.append(day)
        amounts.append(amount)
    report.fail_if_strict(strict)
    if total == 0:
        raise LogError(f"{path}: no data rows")
    check_usable(path, len(days), total, report, " (check --columns and --date-format)")
    customer = np.array(cust, np.int64)
    day_arr = np.array(days, np.int64)
    order = np.lexsort((day_arr, customer))
    return Transactions(np.array(list(ids), dtype=object), customer[order], day_arr[order],
                        np.array(amounts, np.float64)[order], report)
