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

import math
from collections.abc import Callable
from dataclasses import replace

from experiments.calibrate.fit import START_BOX, FIRST_LATE, Calibration, extra_statistics, misfit, simulation_factor
from experiments.calibrate.joiners_choice import JOINERS, JoinersChoice
from sim.config import Scenario, apply_overrides

FIRST_LATE_GAP_Z = 3.0
"""SEs by which the log's share of customers first seen in the later half must run above the engine's (the misfit
test failing) before the calibration is fitted again with joiners (:func:`refit_needed`)."""
JOINERS_START = math.sqrt(START_BOX[JOINERS][0] * START_BOX[JOINERS][1])
"""The joiners of the refit's base (0.5 a year, the middle of the scan's range on the log scale): a search from the
closed pool's none never moves them (a step on the log scale from 0.001 a year changes nothing the log shows)."""


def first_late_gap(cal: Calibration) -> float:
    """SEs by which the log's share of customers first seen in the later half of its span runs above the engine's.

    The data's SE comes from each customer's influence, as the matched statistics' (:func:`~.fit.observed`); the
    simulated log's noise is added by indirect inference's factor (:func:`~.fit.simulation_factor`).
    """
    data, influence = extra_statistics(cal.data, (FIRST_LATE,))
    sim = extra_statistics(cal.sim.histories, (FIRST_LATE,))[0][0]
    se = math.sqrt(float(influence[:, 0] @ influence[:, 0]) * simulation_factor(cal.data.n, cal.sim.histories.n))
    return float((data[0] - sim) / se) if se > 0 else 0.0


def refit_needed(cal: Calibration) -> bool:
    """Whether ``cal`` is a closed pool's fit that fails the misfit test while the log's first orders come late.

    Never for a cohort of new customers (no pool to join) or a fit that has joiners already.
    """
    test = misfit(cal)
    if cal.design.new or JOINERS in cal.values or test is None or not test.rejected:
        return False
    return first_late_gap(cal) >= FIRST_LATE_GAP_Z


def joining(base: Scenario) -> Scenario:
    """``base`` with :data:`JOINERS_START` joiners a year: the base of the refit, where its search starts."""
    return apply_overrides(base, {JOINERS: JOINERS_START}, "joiners' start")


def with_joiners(cal: Calibration, refit: Callable[[Scenario], Calibration]) -> Calibration:
    """``cal``, or where :func:`refit_needed`, ``refit(joining(cal.base))``: :data:`JOINERS` fitted too.

    ``refit(base)``: the same calibration from another base with :data:`JOINERS` among the fitted. The refit carries
    the :class:`JoinersChoice` that says why; the closed pool's fit is not mixed in: it nests in the refit (joiners
    at the lower end of their range) and failed the misfit test.
    """
    if not refit_needed(cal):
        return cal
    test = misfit(cal)
    choice = JoinersChoice(first_late_gap(cal), test.j, test.df, JOINERS_START)
    return replace(refit(joining(cal.base)), joiners_choice=choice)
