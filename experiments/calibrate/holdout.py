"""The holdout check: forecasts of the weeks after the calibration end against what the log shows."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from experiments.calibrate import bgnbd, paretonbd
from experiments.calibrate.forecast import Forecast, Uncertainty, forecast
from experiments.calibrate.history import Histories, distinct, holdout_weekly
from experiments.logs.transactions import Transactions
from sim.config import Scenario


def holdout_weeks(tx: Transactions, end: int) -> int:
    """Whole weeks of data the log has after ``end`` (0 when none)."""
    return max(int(tx.day.max()) - end, 0) // 7 if tx.day.size else 0


def mape(forecast_cum: np.ndarray, actual_cum: np.ndarray) -> tuple[float, float]:
    """(error of the total, mean absolute percentage error of the cumulative curve), both as shares."""
    ok = actual_cum > 0
    total = abs(forecast_cum[-1] - actual_cum[-1]) / actual_cum[-1] if actual_cum[-1] > 0 else float("nan")
    curve = float(np.mean(np.abs(forecast_cum[ok] - actual_cum[ok]) / actual_cum[ok])) if ok.any() else float("nan")
    return float(total), curve


def in_weeks(h: Histories | dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD's and Pareto/NBD's (x, t_x, T) as published: repeats, last repeat's time and age, in weeks.

    ``h``: every customer's histories, or the distinct ones (:func:`~experiments.calibrate.history.distinct`).
    """
    x, t_x, T = (h[k] for k in ("x", "t_x", "T")) if isinstance(h, dict) else (h.x, h.t_x, h.T)
    return np.asarray(x, np.float64), t_x / 7.0, T / 7.0


def baseline_forecast(model: ModuleType, h: Histories, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """A customer-base model's parameters and the cohort's expected cumulative repeats at each holdout week's end.

    ``model`` is :mod:`~experiments.calibrate.bgnbd` or :mod:`~experiments.calibrate.paretonbd`, fitted in
    weeks as published, over the distinct histories weighted by their customers (68,842 for the 727,835 customers
    of a million-customer engine log).
    """
    data, counts, _ = distinct(h)
    x, t_x, T = in_weeks(data)
    params = model.fit(x, t_x, T, counts)
    return params, np.array([counts @ model.expected(params, float(w), x, t_x, T) for w in range(1, weeks + 1)])


@dataclass(frozen=True)
class Holdout:
    """Actual, siyu, BG/NBD and Pareto/NBD cumulative repeat transactions over the holdout weeks, with errors."""

    weeks: int
    actual: np.ndarray
    siyu: Forecast
    bgnbd: np.ndarray
    bgnbd_params: np.ndarray
    siyu_error: tuple[float, float]
    bgnbd_error: tuple[float, float]
    inside_band: float
    """Share of weeks whose actual cumulative count lies in siyu's 90% band."""
    last_inside: bool
    """Whether the actual total at the last week lies in the band."""
    paretonbd: np.ndarray
    paretonbd_params: np.ndarray
    paretonbd_error: tuple[float, float]


def compare(scenario: Scenario, h: Histories, tx: Transactions, weeks: int, replicates: int = 40,
            seed: int = 0, errors: Uncertainty | None = None) -> Holdout:
    """Forecast ``weeks`` weeks with the scenario (its fitted ``errors`` in the band), BG/NBD and Pareto/NBD."""
    actual = np.cumsum(holdout_weekly(tx, h.end, weeks))
    fc = forecast(scenario, h, 7 * weeks, replicates, seed, errors=errors)
    params, bg = baseline_forecast(bgnbd, h, weeks)
    pn_params, pn = baseline_forecast(paretonbd, h, weeks)
    inside = (actual >= fc.low) & (actual <= fc.high)
    return Holdout(weeks, actual, fc, bg, params, mape(fc.mean, actual), mape(bg, actual), float(np.mean(inside)),
                   bool(inside[-1]), pn, pn_params, mape(pn, actual))
