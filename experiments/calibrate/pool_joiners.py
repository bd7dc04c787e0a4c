"""Joiners where a pool's later first orders look like new customers: the calibration fitted again with them.

A brand's log is a window on a pool that keeps growing: among its later first orders are new customers as well as
old ones who had not bought yet. A pool without joiners reads every customer first seen late as an old customer who
buys seldom, and forecasts them short. Where the fit without joiners fails the misfit test and the log's share of
customers first seen in the later half of its span runs :data:`FIRST_LATE_GAP_Z` SEs or more above the engine's
(:func:`refit_needed`), ``siyu calibrate`` fits again with the pool's joiners (:func:`with_joiners`). On UCI's Online
Retail the share ran 11.7 SE above, and the fit with joiners forecast the 23-week holdout 12.0% short over six seeds
(BG/NBD and Pareto/NBD 12.5%) where the closed pool was 17.0% short (docs/calibration.md, "A pool with joiners").
Nothing after the calibration end is looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from experiments.calibrate.fit import ABSENT_START, FIRST_LATE_GAP_Z, STARTS, Calibration, first_late_gap, misfit
from experiments.calibrate.joiners_choice import JOINERS, JoinersChoice
from sim.config import Scenario

JOINERS_START = ABSENT_START[JOINERS]
"""Where the refit's search starts the joiners (0.5 a year), the closed pool's none being no start."""


def refit_needed(cal: Calibration) -> bool:
    """Whether ``cal`` is a closed pool's fit that fails the misfit test while the log's first orders come late.

    Never for a cohort of new customers (no pool to join) or a fit that has joiners already.
    """
    test = misfit(cal)
    if cal.design.new or JOINERS in cal.values or test is None or not test.rejected:
        return False
    return first_late_gap(cal.data, cal.sim.histories) >= FIRST_LATE_GAP_Z


def with_joiners(cal: Calibration, refit: Callable[[Scenario], Calibration],
                 search_on: Callable[[], Calibration] | None = None, starts: int = STARTS) -> Calibration:
    """``cal``, or where :func:`refit_needed`, ``refit(cal.base)``: :data:`JOINERS` fitted too.

    ``refit(base)``: the same calibration with :data:`JOINERS` among the fitted (its search starts them at
    :data:`JOINERS_START`). The refit carries the :class:`JoinersChoice` that says why; the closed pool's fit is not
    mixed in: it nests in the refit (joiners at the lower end of their range) and failed the misfit test.
    ``search_on()``: the closed pool searched from all its ``starts``, where ``cal``'s searches stopped for joiners
    it no longer asks for (:func:`stopped_short`).
    """
    if not refit_needed(cal):
        return search_on() if search_on is not None and stopped_short(cal, starts) else cal
    test = misfit(cal)
    choice = JoinersChoice(first_late_gap(cal.data, cal.sim.histories), test.j, test.df, JOINERS_START)
    return replace(refit(cal.base), joiners_choice=choice)


def stopped_short(cal: Calibration, starts: int) -> bool:
    """Whether a closed pool's searches stopped for joiners before ``starts``, yet ``cal`` does not ask for them.

    ``joiners_follow`` stops them at a search that asks for joiners; where ``cal``, its refined estimate, fails the
    misfit test without asking for them, the other starts are still to search.
    """
    test = misfit(cal)
    searched = max((int(row.get("start", 0)) for row in cal.iterations), default=starts)
    closed = JOINERS not in cal.values
    return closed and test is not None and test.rejected and searched < starts and not refit_needed(cal)
