"""Shared fixtures and statistical helpers for the test suite."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("siyu", derandomize=True, print_blob=True)
settings.load_profile("siyu")  # property tests draw the same examples on every run and machine

from sim import load_scenario  # noqa: E402  (after the hypothesis profile)
from sim.engine import RunResult  # noqa: E402


@pytest.fixture
def warm_cache(monkeypatch):
    """No "compiling the numba kernels" notice (a first run after a source change): errors are counted in lines."""
    import sim._cache
    monkeypatch.setattr(sim._cache, "COLD", False)


@pytest.fixture(scope="session")
def beauty():
    """The default preset."""
    return load_scenario("beauty")


def paired_z(a: RunResult, b: RunResult, metric: str) -> tuple[float, float, float]:
    """Total of ``b - a`` for ``metric``, its standard error and z score.

    Both runs used the same seed, so block k holds the same customers with the same luck in both
    (common random numbers). Blocks are independent draws: the SE of the total difference is
    sqrt(blocks) x the sd of the per-block differences.
    """
    d = b.block_value(metric) - a.block_value(metric)
    total = float(d.sum())
    se = math.sqrt(d.size) * float(d.std(ddof=1))
    return total, se, total / se if se > 0 else math.copysign(math.inf, total)


def proportion_z(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-sample z score of x2/n2 - x1/n1 with the pooled binomial standard error."""
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return (x2 / n2 - x1 / n1) / se


Z = 3.0
"""Required z for a directional claim: a false pass has chance about 1 in 740 per claim."""


def values_close(a: dict, b: dict, keys) -> bool:
    """Exact equality of numeric summary fields."""
    return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in keys)


def engine_histories(path, customers: int, days: int, seed: int, scenario: str = "beauty"):
    """An engine log of ``scenario`` written to ``path`` and read back: (transactions, histories, calibration end).

    The calibration end is the log's last day, as a day number.
    """
    from experiments.calibrate.history import histories
    from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
    from experiments.logs.transactions import read_transactions
    c, d, a = engine_log(load_scenario(scenario), customers, days, seed)
    write_log(path, c, d, a)
    end = BASE_DATE.toordinal() + days - 1
    tx = read_transactions(path, calibration_end=end)
    return tx, histories(tx, end), end


def engine_fit(path, customers: int, days: int, seed: int):
    """An engine log of ``beauty`` at ``path`` and one quick search of it (simulation seed 0, a pool of 4,000).

    Returns the calibration and the log's calibration end (a day number).
    """
    from experiments.calibrate.fit import calibrate
    from experiments.calibrate.history import daily, weekly_repeats
    tx, h, end = engine_histories(path, customers, days, seed)
    cust, day, _ = daily(tx.before(end))
    cal = calibrate(h, load_scenario("beauty"), weekly_repeats(cust, day, int(h.first.min()), end), seed=0,
                    starts=1, min_pool=4000)
    return cal, end


@pytest.fixture(scope="session")
def small_fit(tmp_path_factory):
    """An engine log of ``beauty`` (1,000 customers, 240 days, seed 11) and one quick search of it.

    Returns (calibration, log path, calibration end). The log shows no dropout: the base's is kept.
    """
    path = tmp_path_factory.mktemp("small_fit") / "tx.csv"
    cal, end = engine_fit(path, 1000, 240, 11)
    return cal, path, end
