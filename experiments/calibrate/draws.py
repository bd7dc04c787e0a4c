"""Parameter draws weighted to the quasi-posterior, and their file (``draws.csv`` beside a calibrated scenario).

A forecast's replicates take their fitted values from these draws, each picked with its weight, instead of from a
normal around the estimate: along a ridge the log barely pins, the normal's draws leave the ridge (on CDNOW's
master file some fit the calibration period hundreds of units of J worse than the estimate) and move the forecast
with the fit's simulation seed. The draws are made by :mod:`experiments.calibrate.quasi`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "draws.csv"
"""The draws' file name, beside the ``scenario.toml`` that refers to it."""


@dataclass(frozen=True)
class Draws:
    """Draws of the matched parameters with importance weights: the quasi-posterior, sampled (:mod:`.quasi`)."""

    names: tuple[str, ...]
    values: np.ndarray
    """(draws, parameters) values, in the scenario's units."""
    j: np.ndarray
    """Each draw's misfit criterion on the common simulation: what it is weighed by."""
    weight: np.ndarray
    """Normalised importance weights (sum 1)."""
    dispersion: float = 1.0
    """The phi the differences of J were divided by (:func:`experiments.calibrate.seeds.dispersion`)."""

    def ess(self) -> float:
        """Kish's effective sample size, 1 / sum(w^2): how many equally weighted draws they are worth."""
        return float(1.0 / np.sum(self.weight ** 2))

    def value(self, i: int) -> dict[str, float]:
        """Draw ``i``'s values by name."""
        return {n: float(v) for n, v in zip(self.names, self.values[i])}

    def pick(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of ``n`` draws by systematic resampling: each draw picked floor or ceil(n w) times, unbiased."""
        edges = np.cumsum(self.weight)
        edges[-1] = 1.0
        return np.searchsorted(edges, (rng.random() + np.arange(n)) / n, side="right").astype(np.int64)

    def summary(self) -> dict[str, tuple[float, float, float]]:
        """Per parameter: the weighted median and 5% and 95% quantiles."""
        out = {}
        for k, name in enumerate(self.names):
            order = np.argsort(self.values[:, k], kind="stable")
            cum = np.cumsum(self.weight[order])
            at = [float(self.values[order[min(int(np.searchsorted(cum, p)), cum.size - 1)], k]) for p in (.5, .05, .95)]
            out[name] = (at[0], at[1], at[2])
        return out


def write_draws(draws: Draws, path: Path) -> None:
    """``path`` (a CSV): one row per draw, its weight, J and values."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["weight", "J", *draws.names])
        for wk, jk, row in zip(draws.weight, draws.j, draws.values):
            w.writerow([f"{wk:.6e}", f"{jk:.4f}", *(f"{v:.8e}" for v in row)])


def read_draws(path: Path, allowed: dict[str, tuple[float, float]]) -> Draws:
    """The draws in ``path``, checked: known parameter names, finite non-negative weights, values in ``allowed``.

    A bad file (hand-edited, truncated) fails in one line naming the row, rather than forecasting from half of it.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0][:2] != ["weight", "J"] or len(rows[0]) < 3:
        raise ValueError(f"{path}: the header must be weight, J and the parameters' names")
    names = tuple(rows[0][2:])
    unknown = [n for n in names if n not in allowed]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"{path}: {', '.join(unknown) or 'a repeated name'}: not a fitted parameter "
                         f"(known: {', '.join(sorted(allowed))})")
    weight, j, values = [], [], []
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(names) + 2:
            raise ValueError(f"{path}, row {r}: {len(row)} fields, expected {len(names) + 2}")
        try:
            nums = [float(x) for x in row]
        except ValueError:
            raise ValueError(f"{path}, row {r}: not a number") from None
        if not all(math.isfinite(x) for x in nums) or nums[0] < 0:
            raise ValueError(f"{path}, row {r}: weights and values must be finite, weights not negative")
        for n, v in zip(names, nums[2:]):
            lo, hi = allowed[n]
            if not lo <= v <= hi:
                raise ValueError(f"{path}, row {r}: {n} = {v:g} is outside {lo:g} to {hi:g}")
        weight.append(nums[0])
        j.append(nums[1])
        values.append(nums[2:])
    total = float(np.sum(weight)) if weight else 0.0
    if total <= 0:
        raise ValueError(f"{path}: no draw with a positive weight")
    return Draws(names, np.array(values), np.array(j), np.array(weight) / total)
