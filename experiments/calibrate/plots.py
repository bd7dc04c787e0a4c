"""Figures of a calibration and a forecast (matplotlib's Agg canvas, no pyplot), each written as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from experiments.calibrate.history import Histories

FREQ_BINS = 8
"""Repeat-transaction counts shown one by one; the last bin holds that many and more."""
RECENCY_WEEKS = (0, 4, 8, 13, 26, 39, 52, 78, 10**6)
"""Bins of weeks since the last transaction at the calibration end."""


def frequency_counts(h: Histories) -> np.ndarray:
    """Customers with 0, 1, ..., FREQ_BINS-1 or more repeat transactions."""
    return np.bincount(np.minimum(h.x, FREQ_BINS - 1), minlength=FREQ_BINS).astype(np.float64)


def recency_counts(h: Histories) -> np.ndarray:
    """Customers per bin of weeks since their last transaction (:data:`RECENCY_WEEKS`)."""
    weeks = (h.end - h.last) // 7
    return np.histogram(weeks, bins=RECENCY_WEEKS)[0].astype(np.float64)


def recency_labels() -> list[str]:
    """Labels of the recency bins."""
    b = RECENCY_WEEKS
    return [f"{b[i]}-{b[i + 1] - 1}" for i in range(len(b) - 2)] + [f"{b[-2]}+"]


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def fit_figure(data: Histories, sim: Histories, data_weekly: np.ndarray, sim_weekly: np.ndarray, path: Path) -> None:
    """Observed against fitted: frequency and recency distributions and the calibration-period tracking curve.

    The simulated log is scaled to the observed number of customers.
    """
    scale = data.n / max(sim.n, 1)
    fig = Figure(figsize=(13, 3.6))
    ax = fig.add_subplot(1, 3, 1)
    k = np.arange(FREQ_BINS)
    ax.bar(k - 0.2, frequency_counts(data), 0.4, label="observed")
    ax.bar(k + 0.2, frequency_counts(sim) * scale, 0.4, label="fitted (engine)")
    ax.set_xticks(k, [str(i) for i in range(FREQ_BINS - 1)] + [f"{FREQ_BINS - 1}+"])
    ax.set_xlabel("repeat transactions in the calibration period")
    ax.set_ylabel("customers")
    ax.legend()
    ax = fig.add_subplot(1, 3, 2)
    k = np.arange(len(RECENCY_WEEKS) - 1)
    ax.bar(k - 0.2, recency_counts(data), 0.4, label="observed")
    ax.bar(k + 0.2, recency_counts(sim) * scale, 0.4, label="fitted (engine)")
    ax.set_xticks(k, recency_labels(), fontsize=8)
    ax.set_xlabel("weeks since the last transaction")
    ax.set_ylabel("customers")
    ax = fig.add_subplot(1, 3, 3)
    n = min(data_weekly.size, sim_weekly.size)
    ax.plot(np.arange(1, n + 1), np.cumsum(data_weekly[:n]), label="observed")
    ax.plot(np.arange(1, n + 1), np.cumsum(sim_weekly[:n]) * scale, "--", label="fitted (engine)")
    ax.set_xlabel("week of the calibration period")
    ax.set_ylabel("cumulative repeat transactions")
    ax.legend()
    _save(fig, path)


def forecast_figure(weeks: np.ndarray, mean: np.ndarray, low: np.ndarray, high: np.ndarray,
                    actual: np.ndarray | None, path: Path, bgnbd: np.ndarray | None = None,
                    paretonbd: np.ndarray | None = None, departures: Sequence[tuple[int, int]] = ()) -> None:
    """Cumulative repeat transactions after the calibration end: the forecast band and, where known, what happened.

    ``departures``: the first and last week of each run outside siyu's weekly band
    (:func:`~experiments.calibrate.holdout.departures`), shaded.
    """
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot(1, 1, 1)
    for k, (first, last) in enumerate(departures):
        ax.axvspan(first - 0.5, last + 0.5, color="tab:red", alpha=0.12,
                   label="each week's actual count outside siyu's band for it" if k == 0 else None)
    ax.fill_between(weeks, low, high, alpha=0.3, label="siyu 90% band")
    ax.plot(weeks, mean, label="siyu forecast")
    if bgnbd is not None:
        ax.plot(weeks[: bgnbd.size], bgnbd, ":", label="BG/NBD")
    if paretonbd is not None:
        ax.plot(weeks[: paretonbd.size], paretonbd, "--", label="Pareto/NBD")
    if actual is not None and actual.size:
        ax.plot(weeks[: actual.size], actual, "k", label="actual")
    ax.set_xlabel("weeks after the calibration end")
    ax.set_ylabel("cumulative repeat transactions")
    ax.legend(loc="lower right", fontsize="small")  # cumulative curves leave that corner empty
    _save(fig, path)


def draws_figure(names: tuple[str, ...], values: np.ndarray, j: np.ndarray, weight: np.ndarray,
                 estimate: dict[str, float], path: Path, dispersion: float = 1.0) -> None:
    """Each draw's J against each parameter (log scale over decades), dot area its weight: the quasi-posterior."""
    fig = Figure(figsize=(3.3 * len(names), 3.4))
    size = 4 + 400 * weight / max(float(weight.max()), 1e-300)
    top = float(j.min()) + 2 * dispersion * np.log(1e3)  # beyond, a draw weighs under 1/1000 of the best's
    keep = j <= top  # the worst draws (J in the thousands) would squash the scale
    for k, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), k + 1)
        ax.scatter(values[keep, k], j[keep], s=size[keep], alpha=0.5, color="tab:blue", edgecolors="none")
        if name in estimate:
            ax.axvline(estimate[name], color="tab:red", lw=1, label="estimate")
        lo, hi = float(values[:, k].min()), float(values[:, k].max())
        if lo > 0 and hi > 10 * lo:  # a spread over decades: log scale; a narrow one stays readable on a linear one
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(name.split(".")[-1])
        if k == 0:
            ax.set_ylabel("J (misfit) of the draw")
            ax.legend(fontsize=7)
    fig.suptitle(f"Draws of the quasi-posterior: J against each parameter (dot area: weight; {int((~keep).sum())} "
                 "draws of negligible weight, J beyond the axis, left out)", fontsize=9)
    _save(fig, path)
