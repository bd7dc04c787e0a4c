"""The second real log shipped for benchmarks/online_retail.py reads as its README says (benchmarks/data/README.md)."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

from experiments.logs.transactions import read_transactions

LOG = Path(__file__).parents[1] / "benchmarks" / "data" / "online_retail.csv.gz"


def test_the_online_retail_log_has_its_invoices_and_only_the_repeated_rows_are_reported(tmp_path):
    path = tmp_path / "online_retail.csv"
    path.write_bytes(gzip.decompress(LOG.read_bytes()))
    tx = read_transactions(path, calibration_end=date(2011, 6, 30).toordinal())
    assert tx.n_customers == 4338 and tx.customer.size == 18532 - 39
    assert list(tx.report.dropped) == ["a duplicate of an earlier row"]
    assert len(tx.report.dropped["a duplicate of an earlier row"]) == 39
    assert len(tx.report.noted["a date after the calibration end (used only to check the forecast)"]) == 9719
    assert date.fromordinal(int(tx.day.min())) == date(2010, 12, 1)
    assert date.fromordinal(int(tx.day.max())) == date(2011, 12, 9)
    assert abs(float(tx.amount.sum()) - 8_895_602.44) < 0.01 and (tx.amount > 0).all()  # cancellations left out
