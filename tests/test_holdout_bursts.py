"""The bursts in the real logs' holdouts (benchmarks/holdout_split.py): found, and where the baselines' errors lie.

docs/calibration.md, "Bursts in the real holdouts, and weeks outside the band".
"""

from __future__ import annotations

import gzip
import importlib.util
from datetime import date
from pathlib import Path

import numpy as np

from experiments.calibrate import bgnbd, paretonbd
from experiments.calibrate.history import histories, holdout_weekly
from experiments.calibrate.holdout import baseline_forecast, holdout_weeks, weekly_counts
from experiments.logs.transactions import read_transactions

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def _module(name: str):
    """A benchmark script as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _holdout(path: Path, end: int, model=bgnbd) -> tuple[np.ndarray, np.ndarray]:
    """The actual and the baseline's cumulative repeat transactions over the log's holdout weeks."""
    tx = read_transactions(path, calibration_end=end)
    weeks = holdout_weeks(tx, end)
    return np.cumsum(holdout_weekly(tx, end, weeks)), baseline_forecast(model, histories(tx, end), weeks)[1]


def test_online_retail_s_holdout_ends_in_the_season_and_the_baselines_are_close_before_it(tmp_path):
    split = _module("holdout_split")
    path = tmp_path / "online_retail.csv"
    path.write_bytes(gzip.decompress((BENCHMARKS / "data" / "online_retail.csv.gz").read_bytes()))
    actual, cumulative = _holdout(path, date(2011, 6, 30).toordinal())
    assert actual.size == 23 and split.bursts(actual, cumulative) == [(18, 23)]
    weekly = weekly_counts(actual)
    assert round(weekly[:17].mean()) == 243 and round(weekly[17:].mean()) == 378
    assert weekly[17:].min() > weekly[:17].max()  # every week of the season above every week before it
    assert [round(100 * v, 1) for v in split.split(cumulative, actual, [(18, 23)])] == [-35.6, 0.3, -12.5, 4.4, 100.0]


def test_cdnow_s_bursts_hold_the_baselines_shortfall(tmp_path):
    """Three runs of weeks in the master file; outside them both baselines are within 3%, sample and master alike."""
    split, cdnow = _module("holdout_split"), _module("cdnow")
    end = date.fromisoformat(cdnow.END).toordinal()
    master = cdnow.panel_file(cdnow.MASTER, tmp_path)
    actual, cumulative = _holdout(master, end)
    runs = split.bursts(actual, cumulative)
    assert runs == [(6, 11), (22, 26), (33, 37)]
    assert [round(100 * v, 1) for v in split.split(cumulative, actual, runs)[:3]] == [-27.1, -2.6, -14.3]
    # outside the bursts the master's last third runs at 0.812 of its first (Poisson SE 0.020), BG/NBD's at 0.773
    assert [round(v, 3) for v in split.other_weeks_fade(actual, actual.size, runs)] == [0.812, 0.020]
    assert round(split.split(cumulative, actual, runs)[4], 3) == 0.773
    for model, figures in ((bgnbd, [-25.8, 0.4, -12.1]), (paretonbd, [-25.2, 1.0, -11.5])):
        actual, cumulative = _holdout(cdnow.panel_file(0, tmp_path), end, model)
        assert [round(100 * v, 1) for v in split.split(cumulative, actual, runs)[:3]] == figures
