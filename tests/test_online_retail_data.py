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


def test_the_holdout_ends_in_the_season_and_the_baselines_are_close_before_it(tmp_path):
    """The season's weeks, and the figures benchmarks/online_retail_season.py prints for BG/NBD.

    docs/calibration.md, "Online Retail's holdout and the season".
    """
    import importlib.util

    import numpy as np

    from experiments.calibrate import bgnbd
    from experiments.calibrate.history import histories, holdout_weekly
    from experiments.calibrate.holdout import baseline_forecast, holdout_weeks, weekly_counts
    path = Path(__file__).parents[1] / "benchmarks" / "online_retail_season.py"
    spec = importlib.util.spec_from_file_location("online_retail_season", path)
    season = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(season)
    end = date(2011, 6, 30).toordinal()
    (tmp_path / "online_retail.csv").write_bytes(gzip.decompress(LOG.read_bytes()))
    tx = read_transactions(tmp_path / "online_retail.csv", calibration_end=end)
    weeks = holdout_weeks(tx, end)
    actual = np.cumsum(holdout_weekly(tx, end, weeks))
    weekly = weekly_counts(actual)
    before = season.SEASON_WEEK - 1
    assert weeks == 23 and round(weekly[:before].mean()) == 243 and round(weekly[before:].mean()) == 378
    assert weekly[before:].min() > weekly[:before].max()  # every week of the season above every week before it
    _, cumulative = baseline_forecast(bgnbd, histories(tx, end), weeks)
    at_17, curve_17, at_23, curve_23 = season.split(cumulative, actual, season.SEASON_WEEK)
    assert round(100 * at_17, 1) == 0.3 and round(100 * curve_17, 1) == 4.4
    assert round(100 * at_23, 1) == -12.5 and round(100 * curve_23, 1) == 5.2
