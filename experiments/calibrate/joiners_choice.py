"""What ``siyu calibrate`` chose where a pool's later first orders looked like new customers: a refit with joiners.

Apart from :mod:`~experiments.calibrate.pool_joiners`, which makes the choice, so that
:class:`~experiments.calibrate.fit.Calibration` can carry it without importing its maker.
"""

from __future__ import annotations

from dataclasses import dataclass

JOINERS = "population.joiners_per_year"
"""The pool's joiners through the log's window (:func:`~experiments.calibrate.simulate.pool_simulation`): a log seen
through a window shows, among its later first orders, new customers as well as old ones who had not bought yet, and
the forecast conditions a late first order on which it more likely is. Fitted where asked for (``--fit``) or where a
fit without them fails and the log's first orders say so (:mod:`~experiments.calibrate.pool_joiners`); with it
:data:`~experiments.calibrate.fit.FIRST_LATE` is matched."""


def first_orders_late(gap: float) -> str:
    """Why joiners, in the words the console, fit.md's note and the hint share: ``gap`` SEs of first orders late."""
    return f"the log's share of customers first seen in the later half of its span runs {gap:.1f} SE above the engine's"


@dataclass(frozen=True)
class JoinersChoice:
    """The fit without joiners that failed, and why the calibration was fitted again with them."""

    gap: float
    """SEs by which the log's share of customers first seen in the later half ran above the engine's without joiners."""
    closed_j: float
    """The misfit J of the fit without joiners."""
    closed_df: int
    start: float
    """The joiners a year where the refit's search started (:data:`~experiments.calibrate.fit.ABSENT_START`: the
    closed pool's none is no start)."""

    def line(self) -> str:
        """One line for the console and fit.md."""
        return (f"{first_orders_late(self.gap)} with no joiners, whose fit failed the misfit test "
                f"(J {self.closed_j:.1f} on {self.closed_df} df): its later first orders look like new customers, so "
                f"{JOINERS} was fitted too, its search from {self.start:g} a year (--no-joiners keeps the pool "
                "closed; docs/calibration.md, \"A pool with joiners\")")
