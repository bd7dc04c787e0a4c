"""A dropout rate the log does not show: the base scenario's, kept, against none, chosen by the calibration period.

Where the auxiliary model finds no dropout, the fit cannot match the dropout parameters and keeps the base
scenario's (``beauty``: 0.15 a year, three times that for a customer who has forgotten the brand). A rate the log
does not show is not a rate of none: on an engine log whose truth is 0.15 a year, none fails the misfit test (J 16.7
on 4 df). But neither is it the base's: on UCI's Online Retail the kept rate failed the misfit test (J 47.5 on
4 df, the log's repeats in the last third 6 SE above the engine's) and forecast the 23-week holdout 27.7% short,
where none fitted to J 13.8 and forecast 16.7% short (docs/calibration.md, "A second real log").

So where the kept rate fails the misfit test and the log's late repeats outrun the engine's (:func:`refit_needed`),
``siyu calibrate`` fits again from a base with none (:func:`without_dropout`) and keeps whichever the calibration
period prefers, both scored on the same common simulations (:func:`chosen`). Nothing after the calibration end is
looked at; the holdout judges the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from experiments.calibrate.dropout_choice import NONE_PER_YEAR, RATE, DropoutChoice
from experiments.calibrate.fit import Calibration, misfit, scenario_value
from experiments.calibrate.seeds import common_misfit
from sim.config import Scenario, apply_overrides

TAG = "-no-dropout"
"""Added to the refit's saved searches' names (:attr:`~experiments.calibrate.searches.SearchJob.tag`)."""
LATE_GAP_Z = 2.0
"""How many SEs the log's share of repeats in the last third must run above the engine's for :func:`refit_needed`:
less dropout cannot help where the engine's late repeats are already as many as the log's."""


def late_gap(cal: Calibration) -> float | None:
    """How many SEs the log's share of repeats in the last third runs above the engine's (None if not matched)."""
    if "late_share" not in cal.stat_names:
        return None
    k = cal.stat_names.index("late_share")
    return float((cal.stat_data[k] - cal.stat_sim[k]) / cal.stat_se[k])


def refit_needed(cal: Calibration, failing_only: bool = True) -> bool:
    """Whether ``cal`` kept the base's dropout for want of any in the log, fails the misfit test, and runs late-short.

    Not where the rate is already none (a fit from :func:`without_dropout`) or was chosen already. With
    ``failing_only`` False, wherever the base's rate was kept (a benchmark's alternative rule).
    """
    if RATE not in cal.no_dropout or cal.dropout_choice is not None or scenario_value(cal.base, RATE) <= NONE_PER_YEAR:
        return False
    if not failing_only:
        return True
    test, gap = misfit(cal), late_gap(cal)
    return test is not None and test.rejected and gap is not None and gap >= LATE_GAP_Z


def without_dropout(base: Scenario) -> Scenario:
    """``base`` with the dropout rate at :data:`NONE_PER_YEAR`: the base of the refit."""
    return apply_overrides(base, {RATE: NONE_PER_YEAR}, "no dropout")


def chosen(kept: Calibration, none: Calibration, seed: int) -> Calibration:
    """Whichever of ``kept`` and ``none`` (its refit from :func:`without_dropout`) has the lower J on common sims.

    Both are scored by :func:`~experiments.calibrate.seeds.common_misfit` with ``seed``'s common simulations, as
    ``--seeds`` scores its searches. The one returned carries the :class:`DropoutChoice`; with none kept, its
    dropout rate is reported as set, not kept (fit.md, ``scenario.toml``).
    """
    if kept.matched is None or none.matched is None:
        raise ValueError("chosen needs Calibrations from calibrate()")
    js = [common_misfit(f.base, f.matched, f.design, f.stat_data, f.data.n, f.matched.theta, seed)
          for f in (kept, none)]
    df = len(kept.stat_names) - len(kept.matched.names)
    choice = DropoutChoice(scenario_value(kept.base, RATE), js[0], js[1], df, late_gap(kept) or 0.0)
    if not choice.none_kept:
        return replace(kept, dropout_choice=choice)
    fixed = dict(none.fixed)
    fixed[RATE] = (f"the log shows no sign of dropout, and the base scenario's {choice.kept_rate:g} a year, kept, "
                   f"fitted the calibration period worse than none (J {choice.kept_j:.1f} against "
                   f"{choice.none_j:.1f}): set to {NONE_PER_YEAR:g} a year")
    return replace(none, fixed=fixed, dropout_choice=choice)


def with_choice(cal: Calibration, refit: Callable[[Scenario], Calibration], seed: int,
                failing_only: bool = True) -> Calibration:
    """``cal``, or where :func:`refit_needed`, the :func:`chosen` of it and ``refit(without_dropout(cal.base))``.

    ``refit(base)``: the same calibration from another base (one search, or ``--seeds`` mixed).
    """
    if not refit_needed(cal, failing_only):
        return cal
    return chosen(cal, refit(without_dropout(cal.base)), seed)
