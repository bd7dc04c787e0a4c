"""Who buys in the holdout: each model's expectation per customer against each customer's actual repeat count.

The error of the holdout total judges the level of a forecast, and on the real logs it rewards one that runs high
before a burst no model foresees (docs/calibration.md, "Bursts in the real holdouts"). A brand's contact list
needs the other half: the customers in the right order. These scores judge that order and are blind to the level,
so a forecast cannot gain on them by running high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from sim.rng import purpose

P_CUSTOMER_CHECK = purpose("customer_check", 33)
"""Stream of the customers' resampling for the differences' intervals."""
TOP_SHARE = 0.2
"""The share of customers a contact list takes: the fifth each model expects most repeat transactions of."""
RESAMPLES = 400
"""Bootstrap resamples of the customers. A 90% percentile interval's end is then a 5% quantile of 400 draws, whose own
noise is about 3% of the interval's width where the differences are near normal (sqrt(0.05 * 0.95 / 400) over the
normal density at its 5% point, against the width's 3.29 SDs)."""
RESAMPLED_VALUES = 2 ** 26
"""The most resampled values held at once (512 MB of float64): above it the resamples are drawn in batches. Drawn all
at once, 400 resamples of the four arrays of a 145,455-customer log held 1.9 GB (a million-customer log 9 GB or more);
every real log here stays below it, and is drawn in one batch as before."""
LEVEL = 0.9
"""Confidence level of the differences' intervals."""
METRICS = ("top fifth's share", "AUC", "scaled RMSE")
"""The three scores, in :class:`Scores`' order; higher is better for the first two, lower for the last."""


@dataclass(frozen=True)
class Scores:
    """One model's scores on the holdout customers."""

    top_share: float
    """Share of the holdout's repeat transactions made by the fifth of customers it expects most of."""
    auc: float
    """Chance that a customer who bought again is expected more of than one who did not (ties count half)."""
    scaled_rmse: float
    """Root mean square error per customer with the expectations scaled to the actual total: the error net of
    the level."""

    def values(self) -> tuple[float, float, float]:
        """The scores in :data:`METRICS`' order."""
        return self.top_share, self.auc, self.scaled_rmse


def top_share(expected: np.ndarray, actual: np.ndarray, share: float = TOP_SHARE) -> float:
    """Share of ``actual``'s total made by the ``share`` of customers with the highest ``expected``.

    Customers tied at the cut count in proportion, so that the result does not depend on their order.
    """
    total = actual.sum()
    if total <= 0:
        return float("nan")
    k = share * expected.size
    cut = max(math.ceil(k), 1)
    edge = -np.partition(-expected, cut - 1)[cut - 1]
    above, tied = expected > edge, expected == edge
    fraction = (k - above.sum()) / tied.sum()
    return float((actual[above].sum() + fraction * actual[tied].sum()) / total)


def auc(expected: np.ndarray, bought: np.ndarray) -> float:
    """Area under the ROC curve of ``expected`` for ``bought`` (the Mann-Whitney statistic over its maximum)."""
    n1 = int(bought.sum())
    n0 = bought.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(expected)
    return float((ranks[bought].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


REPEAT_GROUPS = ((0, 0), (1, 1), (2, 3), (4, None))
"""Calibration-period repeats of the groups :func:`auc_within` scores apart: 0, 1, 2-3, 4 or more."""


def auc_within(expected: np.ndarray, actual: np.ndarray, repeats: np.ndarray) -> float:
    """AUC over the pairs of customers with as many calibration repeats (:data:`REPEAT_GROUPS`).

    The order by recency and age alone, which the count of repeats does not give away.
    """
    pairs = total = 0.0
    for low, high in REPEAT_GROUPS:
        group = (repeats >= low) & (repeats <= (np.inf if high is None else high))
        bought = actual[group] > 0
        n = float(bought.sum()) * float((~bought).sum())
        if n > 0:
            pairs += n
            total += n * auc(expected[group], bought)
    return total / pairs if pairs else float("nan")


def scaled_rmse(expected: np.ndarray, actual: np.ndarray) -> float:
    """RMSE of ``expected`` scaled to ``actual``'s total, per customer."""
    total = expected.sum()
    if total <= 0:
        return float("nan")
    return float(np.sqrt(np.mean((expected * (actual.sum() / total) - actual) ** 2)))


def scores(expected: np.ndarray, actual: np.ndarray) -> Scores:
    """The three scores of one model's ``expected`` against ``actual`` (per customer, the same order)."""
    return Scores(top_share(expected, actual), auc(expected, actual > 0), scaled_rmse(expected, actual))


@dataclass(frozen=True)
class Difference:
    """siyu's score minus a baseline's, with a 90% interval from resampling the customers."""

    baseline: str
    metric: str
    value: float
    low: float
    high: float

    def text(self) -> str:
        """``+0.012 (-0.003 to +0.027)``; points for shares."""
        scale, digits, unit = (100.0, 1, " points") if self.metric == METRICS[0] else (1.0, 3, "")
        low, value, high = (f"{scale * v:+.{digits}f}" for v in (self.low, self.value, self.high))
        return f"{value}{unit} ({low} to {high})"


@dataclass(frozen=True)
class CustomerCheck:
    """Every model's scores on the holdout customers, and siyu's differences from the baselines."""

    customers: int
    bought: int
    """Customers with a repeat transaction in the holdout."""
    scores: dict[str, Scores]
    differences: tuple[Difference, ...]
    replicates: int
    """siyu's expectations are means over this many replicates."""
    within: dict[str, float] = field(default_factory=dict)
    """Each model's :func:`auc_within` (empty when the repeats were not given)."""
    records: int = 0
    """Distinct records over which siyu's expectations were pooled (0: each customer's own replicates)."""
    chances: bool = False
    """Whether siyu's expectations sum each day's purchase chance rather than count the drawn purchases."""

    def header(self) -> list[str]:
        """The scores' markdown table header (with the AUC within equal repeats when known)."""
        extra = " AUC among customers with as many repeats |" if self.within else ""
        return ["| model | repeat transactions made by its top fifth | AUC: bought again or not | RMSE per customer, "
                "scaled to the actual total |" + extra, "|---|---:|---:|---:|" + ("---:|" if extra else "")]

    def row(self, model: str, label: str | None = None) -> str:
        """``model``'s row of the table, named ``label`` (default: the model)."""
        s = self.scores[model]
        extra = f" {self.within[model]:.3f} |" if model in self.within else ""
        return f"| {label or model} | {s.top_share:.1%} | {s.auc:.3f} | {s.scaled_rmse:.3f} |" + extra

    def lines(self) -> list[str]:
        """fit.md's section: the table, the differences and how to read them."""
        out = ["", "## Who buys in the holdout", "",
               f"Each model's expected repeat transactions per customer against each customer's own count ("
               f"{self.bought:,} of the {self.customers:,} customers bought again). The error of the total above "
               "judges the level; these judge the order, which a contact list needs, and a forecast cannot gain on "
               "them by running high." + (" The last column is the AUC among customers with as many calibration "
                                          "repeats (0, 1, 2-3, 4 or more): the order by recency and age alone."
                                          if self.within else ""), ""]
        out += self.header() + [self.row(name) for name in self.scores]
        if self.differences:
            out += ["", f"siyu minus each baseline, with {LEVEL:.0%} intervals from {RESAMPLES} resamples of the "
                    "customers (the fits held fixed); above zero favours siyu on the share and the AUC, below zero on "
                    "the RMSE:", ""]
            for metric in METRICS:
                out.append(f"- {metric}: " + "; ".join(f"{d.baseline} {d.text()}" for d in self.differences
                                                       if d.metric == metric))
        summed = " of each day's purchase chance (not the drawn purchases)" if self.chances else ""
        pooled = (f", each customer's pooled with the customers who share their record ({self.records:,} records)"
                  if self.records else "")
        out += ["", f"siyu's expectations are means of {self.replicates} replicates{summed}{pooled}; their "
                "simulation noise blurs its order, and more replicates (`--replicates`) sharpen it."]
        return out

    def summary(self) -> str:
        """One console line: each model's AUC and top fifth's share."""
        return ("who buys in the holdout: AUC " + ", ".join(f"{s.auc:.3f} ({n})" for n, s in self.scores.items())
                + "; repeat transactions made by the top fifth "
                + ", ".join(f"{s.top_share:.1%} ({n})" for n, s in self.scores.items()))


def check(expected: dict[str, np.ndarray], actual: np.ndarray, replicates: int, seed: int = 0,
          repeats: np.ndarray | None = None, records: int = 0, chances: bool = False) -> CustomerCheck:
    """Score every model of ``expected`` (siyu's first) on ``actual``; siyu's differences when both are finite.

    ``repeats``: each customer's calibration repeats, for the AUC within equal repeats. ``records`` and ``chances``:
    how siyu's expectations were taken (:class:`~experiments.calibrate.forecast.Forecast`), to say so.
    """
    names = list(expected)
    found = {name: scores(v, actual) for name, v in expected.items()}
    differences: tuple[Difference, ...] = ()
    finite = all(np.isfinite(s.values()).all() for s in found.values())
    if len(names) > 1 and finite:
        def statistic(*arrays: np.ndarray) -> np.ndarray:
            *models, y = arrays
            got = [scores(m, y).values() for m in models]
            return np.array([got[0][j] - other[j] for other in got[1:] for j in range(len(METRICS))])

        rng = np.random.default_rng(np.random.SeedSequence([seed, P_CUSTOMER_CHECK]))
        values = (len(expected) + 1) * actual.size
        batch = None if values * RESAMPLES <= RESAMPLED_VALUES else max(RESAMPLED_VALUES // values, 1)
        boot = stats.bootstrap((*expected.values(), actual), statistic, paired=True, vectorized=False,
                               n_resamples=RESAMPLES, batch=batch, confidence_level=LEVEL, method="percentile",
                               rng=rng)
        point = np.array([found[names[0]].values()[j] - found[other].values()[j] for other in names[1:]
                          for j in range(len(METRICS))])
        low, high = boot.confidence_interval
        differences = tuple(Difference(names[1 + k // len(METRICS)], METRICS[k % len(METRICS)], float(point[k]),
                                       float(low[k]), float(high[k])) for k in range(point.size))
    within = {name: auc_within(v, actual, repeats) for name, v in expected.items()} if repeats is not None else {}
    return CustomerCheck(actual.size, int((actual > 0).sum()), found, differences, replicates, within, records,
                         chances)
