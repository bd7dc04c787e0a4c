"""A dropout rate the log does not show: the base scenario's, kept, and none, mixed by the calibration period.

Where the auxiliary model finds no dropout, the fit cannot match the dropout parameters and keeps the base
scenario's (``beauty``: 0.15 a year, three times that for a customer who has forgotten the brand). A rate the log
does not show is not a rate of none: on an engine log whose truth is 0.15 a year, none fails the misfit test (J 16.7
on 4 df). But neither is it the base's: on UCI's Online Retail the kept rate failed the misfit test (J 47.5 on
4 df) and forecast the 23-week holdout 27.7% short, where none fitted to J 13.8 and forecast 16.7% short; and on
engine logs whose truth is a third of the base's the kept rate passed the test and forecast 12.7% off, its band
holding the actual in 54% of the weeks (docs/calibration.md, "A dropout rate the log does not show").

So wherever the base's rate was kept (:func:`refit_needed`), ``siyu calibrate`` fits again from a base with none
(:func:`without_dropout`) and mixes the two fits in the forecast by how well each fits the calibration period,
scored on the same common simulations (:func:`mixed`): the band spans both rates where the log cannot tell them
apart. Nothing after the calibration end is looked at; the holdout judges the mixture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from experiments.calibrate.dropout_choice import NONE_PER_YEAR, RATE, DropoutChoice
from experiments.calibrate.fit import Basin, Calibration, basin_weights, misfit, scenario_value
from experiments.calibrate.seeds import KEEP, common_misfit, dispersion
from sim.config import Scenario, apply_overrides

TAG = "-no-dropout"
"""Added to the refit's saved searches' names (:attr:`~experiments.calibrate.searches.SearchJob.tag`)."""
HOPELESS = 10.0
"""How many times further off than it could still weigh :data:`~experiments.calibrate.seeds.KEEP` in the mixture
a search of the refit with none ends before its other starts are left untried (:func:`hopeless_distance`): another
start would have to end that many times nearer. Between the starts of one fit the most measured is 6.8 times (Online
Retail, seed 4, with joiners: 121.8 against 17.8)."""
LATE_GAP_Z = 2.0
"""How many SEs the log's share of repeats in the last third must run above the engine's for
:func:`kept_rate_suspect`: less dropout cannot help where the engine's late repeats are already as many as the
log's."""


def late_gap(cal: Calibration) -> float | None:
    """How many SEs the log's share of repeats in the last third runs above the engine's (None if not matched)."""
    if "late_share" not in cal.stat_names:
        return None
    k = cal.stat_names.index("late_share")
    return float((cal.stat_data[k] - cal.stat_sim[k]) / cal.stat_se[k])


def kept_rate_suspect(cal: Calibration) -> bool:
    """Whether ``cal`` kept the base's dropout for want of any in the log, fails the misfit test, and runs late-short.

    Where ``--keep-base-dropout`` stopped the refit, fit.md names the kept rate as the first suspect then
    (:func:`~experiments.calibrate.report.dropout_hint`).
    """
    test, gap = misfit(cal), late_gap(cal)
    return refit_needed(cal) and test is not None and test.rejected and gap is not None and gap >= LATE_GAP_Z


def refit_needed(cal: Calibration) -> bool:
    """Whether ``cal`` kept the base's dropout rate for want of any in the log: the rate is then not identified.

    Not where the rate is already none (a fit from :func:`without_dropout`) or the two were mixed already.
    """
    return (RATE in cal.no_dropout and cal.dropout_choice is None
            and scenario_value(cal.base, RATE) > NONE_PER_YEAR)


def hopeless_distance(kept: Calibration) -> float:
    """The misfit J from which the refit with none, failing the misfit test, tries no other start.

    In :func:`mixed` a fit worse than ``kept`` weighs exp(-(J - J_kept) / 2 phi), phi ``kept``'s dispersion, which
    falls under :data:`~experiments.calibrate.seeds.KEEP` past J_kept + 2 phi ln(1/KEEP); :data:`HOPELESS` times that.
    J, not the search's distance, which also counts the simulation's noise: the mixture weighs J's. Where the log's
    dropout is plain, none fails by that much on a large log (a 200,000-customer engine log: J about 1,240 against a
    bound of about 640), and its other starts, each as long as a fit, could not change the forecast.
    """
    df = len(kept.stat_names) - len(kept.matched.names)
    return HOPELESS * (kept.j + 2 * dispersion(kept.j, df) * math.log(1 / KEEP))


def without_dropout(base: Scenario) -> Scenario:
    """``base`` with the dropout rate at :data:`NONE_PER_YEAR`: the base of the refit."""
    return apply_overrides(base, {RATE: NONE_PER_YEAR}, "no dropout")


def mixed(kept: Calibration, none: Calibration, seed: int) -> Calibration:
    """``kept`` and ``none`` (its refit from :func:`without_dropout`) mixed: the estimate is the lower J's.

    Both are scored by :func:`~experiments.calibrate.seeds.common_misfit` with ``seed``'s common simulations, as
    ``--seeds`` scores its searches, and weighed exp(-J/2 phi) (:func:`~experiments.calibrate.fit.basin_weights`,
    phi the :func:`~experiments.calibrate.seeds.dispersion` of the better). The other fit joins the estimate's
    :attr:`~Calibration.basins` with the dropout rate it sets, so the forecast's band spans both rates where the
    calibration period cannot tell them apart. The one returned carries the :class:`DropoutChoice`; with none the
    estimate, its dropout rate is reported as set, not kept (fit.md, ``scenario.toml``).
    """
    if kept.matched is None or none.matched is None:
        raise ValueError("mixed needs Calibrations from calibrate()")
    js = [common_j(f, seed) for f in (kept, none)]
    df = len(kept.stat_names) - len(kept.matched.names)
    phi = dispersion(min(js), df)
    weight = float(basin_weights(js, phi)[1])
    choice = DropoutChoice(scenario_value(kept.base, RATE), js[0], js[1], df, late_gap(kept) or 0.0, weight)
    first, other = (none, kept) if choice.none_kept else (kept, none)
    # the other fit's estimate and basins on the estimate's scale of J: their common J's differ by js' difference
    shift = first.j + (js[0] + js[1] - 2 * min(js)) - other.j
    rate = {RATE: scenario_value(other.base, RATE)}
    joined = (Basin(other.matched.theta, np.asarray(other.covariance), other.j + shift, rate),
              *(replace(b, j=b.j + shift, sets=rate) for b in other.basins))
    out = replace(first, basins=first.basins + joined, dispersion=max(first.dispersion, phi), dropout_choice=choice,
                  joiners_choice=kept.joiners_choice)  # why the pool has joiners, whichever rate leads
    if not choice.none_kept:
        return out
    fixed = dict(none.fixed)
    fixed[RATE] = (f"the log shows no sign of dropout, and the base scenario's {choice.kept_rate:g} a year, kept, "
                   f"fitted the calibration period worse than none (J {choice.kept_j:.1f} against "
                   f"{choice.none_j:.1f}): set to {NONE_PER_YEAR:g} a year, the base's mixed in")
    return replace(out, fixed=fixed)


def common_j(cal: Calibration, seed: int) -> float:
    """``cal``'s J at its estimate on ``seed``'s common simulations: ``--seeds`` already scored it there."""
    if cal.seed_fits:  # across_seeds's J of the estimate, on the same seed's simulations
        return cal.j
    return common_misfit(cal.base, cal.matched, cal.design, cal.stat_data, cal.data.n, cal.matched.theta, seed)


def with_choice(cal: Calibration, refit: Callable[[Scenario, float], Calibration], seed: int) -> Calibration:
    """``cal``, or where :func:`refit_needed`, the :func:`mixed` of it and its refit from :func:`without_dropout`.

    ``refit(base, hopeless_above)``: the same calibration from another base (one search, or ``--seeds`` mixed), its
    searches stopping at one that fails this far off (:func:`hopeless_distance`, ``calibrate``'s ``hopeless_above``).
    """
    if not refit_needed(cal):
        return cal
    return mixed(cal, refit(without_dropout(cal.base), hopeless_distance(cal)), seed)
