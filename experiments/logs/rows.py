"""Row-level reading shared by the log readers: the CSV header, dates, and the report of bad rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

MIN_VALID_SHARE = 0.5
"""Below this share of usable rows a file is refused: the columns or the date format are probably wrong."""
SHOWN_ROWS = 5
"""Line numbers quoted per kind of problem; the count covers them all."""


class LogError(ValueError):
    """A log that cannot be used: one line naming the file, what is wrong and where."""


@dataclass
class LogReport:
    """Problems found in one log file, by kind: the line numbers (header = line 1) of each kind.

    A kind is dropped (the rows are left out, and said so), or kept (only noted).
    """

    source: str
    dropped: dict[str, list[int]] = field(default_factory=dict)
    noted: dict[str, list[int]] = field(default_factory=dict)

    def drop(self, kind: str, line: int) -> None:
        """Leave line ``line`` out because of ``kind``."""
        self.dropped.setdefault(kind, []).append(line)

    def note(self, kind: str, line: int) -> None:
        """Keep line ``line`` but say it is ``kind``."""
        self.noted.setdefault(kind, []).append(line)

    @property
    def n_dropped(self) -> int:
        """Rows left out, over every kind."""
        return sum(len(v) for v in self.dropped.values())

    def lines(self) -> list[str]:
        """One line per kind of problem: the count, what it is, the first line numbers, and what was done."""
        out = [f"{self.source}: {_rows(v)} {kind}: dropped" for kind, v in self.dropped.items()]
        out += [f"{self.source}: {_rows(v)} {kind}: kept" for kind, v in self.noted.items()]
        return out

    def fail_if_strict(self, strict: bool) -> None:
        """With ``strict``, the first dropped kind is an error rather than a warning."""
        if strict and self.dropped:
            kind, rows = next(iter(self.dropped.items()))
            raise LogError(f"{self.source}: {_rows(rows)} {kind} (--strict)")


def _rows(lines: list[int]) -> str:
    shown = ", ".join(str(i) for i in lines[:SHOWN_ROWS])
    more = ", ..." if len(lines) > SHOWN_ROWS else ""
    noun = "row" if len(lines) == 1 else "rows"
    return f"{len(lines):,} {noun} (line {shown}{more}) with"


def open_rows(path: Path, required: dict[str, str], optional: dict[str, str] | None = None
              ) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """Column positions of ``required`` and present ``optional`` roles, and the (line, cells) of each data row.

    Both mappings go from a role (``"customer_id"``) to the column name expected in the header.
    Missing required columns are one :class:`LogError` naming them and the columns found.
    """
    if not path.is_file():
        raise LogError(f"{path}: no such file")
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise LogError(f"{path}: empty file (expected a header with {', '.join(required.values())})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise LogError(f"{path}: not a UTF-8 CSV file: {exc}") from None
    missing = [name for name in required.values() if name not in header]
    if missing:
        handle.close()
        raise LogError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                       f"(found: {', '.join(header) or 'none'}; column names are set with --columns)")
    cols = {role: header.index(name) for role, name in required.items()}
    cols.update({role: header.index(name) for role, name in (optional or {}).items() if name in header})

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            try:
                for cells in reader:
                    if not cells or all(not c.strip() for c in cells):
                        continue
                    yield reader.line_num, cells
            except (UnicodeDecodeError, csv.Error) as exc:
                raise LogError(f"{path}: line {reader.line_num}: not readable as CSV: {exc}") from None

    return cols, rows()


def parse_day(text: str, date_format: str) -> int | None:
    """The day number (proleptic ordinal) of ``text`` in ``date_format``; None when it does not parse."""
    text = text.strip()
    try:
        if date_format == "iso":
            return date.fromisoformat(text[:10]).toordinal()
        return datetime.strptime(text, date_format).date().toordinal()
    except ValueError:
        return None


def parse_date_argument(text: str, noun: str) -> int:
    """A command-line date (ISO, YYYY-MM-DD) as a day number; a one-line error naming ``noun`` otherwise."""
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        raise LogError(f"{noun}: expected a date as YYYY-MM-DD, got '{text[:40]}'") from None


def day_text(day: int) -> str:
    """A day number as an ISO date."""
    return date.fromordinal(int(day)).isoformat()


def customer_and_day(cells: list[str], cols: dict[str, int], date_format: str, report: LogReport,
                     line: int) -> tuple[str, int] | None:
    """The row's customer id and day, or None once the report says why the row is dropped."""
    cid = cell(cells, cols["customer_id"])
    if not cid:
        report.drop("an empty customer_id", line)
        return None
    day = parse_day(cell(cells, cols["date"]), date_format)
    if day is None:
        fmt = "YYYY-MM-DD" if date_format == "iso" else date_format
        report.drop(f"a date not in the format {fmt}", line)
        return None
    return cid, day


def check_usable(path: Path, kept: int, total: int, report: LogReport, hint: str = "") -> None:
    """Fail in one line when under :data:`MIN_VALID_SHARE` of the ``total`` data rows were ``kept``."""
    if total and kept < MIN_VALID_SHARE * total:
        first = report.lines()[0] if report.dropped else ""
        raise LogError(f"{path}: only {kept:,} of {total:,} rows are usable{hint}; {first}")


def cell(cells: list[str], col: int) -> str:
    """The stripped cell at ``col``, or "" when the row is short."""
    return cells[col].strip() if col < len(cells) else ""
