"""Parametric bootstrap of the whole fit: honest intervals for the parameters matched by indirect inference.

The sandwich covariance of indirect inference takes the binding function as smooth and its slopes as exact.
The engine's binding function is simulated (a finite pool, common random numbers, one seed for the whole
search), and on engine logs the sandwich's standard errors of the cycle were half the spread across seeds
(before the estimate was refined on a regression over independent simulations, :mod:`.refine`, which mended most
of that).
The bootstrap measures the estimator instead: it simulates ``replicates`` logs from the fitted scenario with
the data's design and size, refits each (the fit's own search from the fit's own start, with a fresh simulation
seed so the binding function's own noise counts) and reports the spread, jointly:
the forecast draws the parameters from that covariance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np

from experiments.calibrate.fit import (ITERATIONS, Calibration, Design, _distance, _gauss_newton, log_box,
                                      matched_binding, refined_end, search, simulate_design, start, statistics)

BOOTSTRAP_STREAM = 0xB007
"""Seed-sequence tag of the bootstrap's simulations (see :func:`replicate_seed`)."""
DATA, REFIT, PRIOR = 0, 1, 2
"""Roles of a replicate's seeds: the simulated data, the refit's binding function, the prior's draw (``--prior``)."""
REPLICATES = 20
"""Default number of bootstrap logs: a standard error within about 16% (1/sqrt(2(B-1)))."""
STEPS = ITERATIONS
"""Most Gauss-Newton steps of each refit; it stops earlier when the steps become small, as the fit does."""


def replicate_seed(seed: int, replicate: int, role: int) -> int:
    """The named seed of one bootstrap simulation: (calibration seed, replicate, role: :data:`DATA` and so on)."""
    return int(np.random.SeedSequence([seed, BOOTSTRAP_STREAM, replicate, role]).generate_state(1)[0])


def replicate_target(cal: Calibration, seed: int, replicate: int) -> tuple[np.ndarray, int]:
    """The matched statistics of bootstrap log ``replicate`` (simulated from the fit), and its customers.

    With a prior (:mod:`.prior`) the anchored values' targets are drawn too, from the prior's normal around the
    estimate: the prior stands for another log's data, which a replicate draws afresh as it does this log's, so
    that the refits' spread is the posterior's (as the sandwich's is) rather than the smaller one of a fixed prior.
    """
    m = cal.matched
    assert m is not None, "a Calibration from calibrate()"
    log = simulate_design(cal.scenario, data_design(cal), replicate_seed(seed, replicate, DATA))
    target = statistics(log.histories, m.rows, m.aux_start, m.extra)
    if m.prior is not None:
        rng = np.random.default_rng(replicate_seed(seed, replicate, PRIOR))
        drawn = rng.multivariate_normal(m.prior.values(m.theta), m.prior.covariance, method="eigh")
        target = np.concatenate([target, drawn])
    return target, log.histories.n


def data_design(cal: Calibration) -> Design:
    """The design of a simulated log as large as the data: for a pool, one whose log shows about as many customers."""
    d = cal.design
    if d.new:
        return replace(d, pool=cal.data.n)
    shown = cal.sim.histories.n / d.pool
    return replace(d, pool=max(int(round(cal.data.n / max(shown, 1e-9))), 1))


def refit(cal: Calibration, replicate: int, seed: int, steps: int = STEPS) -> np.ndarray:
    """Log values of the matched parameters refitted on bootstrap log ``replicate`` (simulated from the fit).

    The refit is the fit's own search (:func:`~experiments.calibrate.fit.search`) from the fit's own start (the
    base scenario's values), then refined as the fit is (:func:`~experiments.calibrate.refine.refine`), so a search
    that stops short on the data stops short as often on the replicates;
    started from the estimate, refits stayed near it and their spread understated the estimator's.
    """
    m = cal.matched
    assert m is not None, "a Calibration from calibrate()"
    target, n = replicate_target(cal, seed, replicate)
    sim_seed = replicate_seed(seed, replicate, REFIT)

    def binding(t: np.ndarray, seed: int = sim_seed):
        return matched_binding(cal.base, m, cal.design, seed, t)

    end = search(binding, start(cal.base, m.names), target, m.weight, steps)[1]
    r = refined_end(binding, end, target, m.weight, sim_seed, m.names, n)[0]
    return end if r is None else r.theta


NEWTON_STEPS = 5
"""Simulations of each quick refit (:func:`newton_refit`): the estimate, then a point after each Gauss-Newton step."""


def newton_refit(cal: Calibration, replicate: int, seed: int, jac: np.ndarray, steps: int = NEWTON_STEPS
                 ) -> np.ndarray:
    """Log values of the matched parameters refitted on bootstrap log ``replicate`` by Gauss-Newton from the estimate.

    The quick refit: ``steps`` simulations of the binding function (a fresh simulation seed, so its own noise
    counts), each followed by a Gauss-Newton step on the fixed slopes ``jac`` (the fit's central differences,
    :func:`~experiments.calibrate.profile.central_jacobian`); every step is taken, and the refit is the point
    after the first step nearest its log's statistics, as the fit's is the nearest it simulated. The estimate
    itself is not a candidate: on a rough simulated criterion 3 of 20 refits kept it, which pulls the spread in.
    It sees the statistics' own noise in engine logs of the data's size, the binding function's bends where the
    refits land and the simulation's noise; not the search's failures from a far start (:func:`refit` does, at
    about 10 times the cost).
    """
    m = cal.matched
    assert m is not None, "a Calibration from calibrate()"
    target = replicate_target(cal, seed, replicate)[0]
    sim_seed = replicate_seed(seed, replicate, REFIT)
    box = log_box(m.names)
    t = np.asarray(m.theta, np.float64).copy()
    best, best_d = t, np.inf
    for k in range(steps):
        resid = target - matched_binding(cal.base, m, cal.design, sim_seed, t)[0]
        d = _distance(resid, m.weight)
        if k > 0 and d < best_d:
            best, best_d = t.copy(), d
        t = np.clip(t + _gauss_newton(jac, m.weight, resid), box[0], box[1])
    return best


def bootstrap(cal: Calibration, replicates: int = REPLICATES, seed: int = 0, steps: int = STEPS,
              tick: Callable[[int], None] | None = None, jac: np.ndarray | None = None, jobs: int = 1) -> Calibration:
    """``cal`` with standard errors and joint covariance of the matched parameters from ``replicates`` refits.

    ``jac`` (slopes at the estimate) makes the refits quick (:func:`newton_refit`); without it each is the
    fit's full search from the fit's start (:func:`refit`). ``tick(done)`` reports progress; ``jobs`` worker
    processes refit at once. Deterministic for a given ``seed``, whatever ``jobs``; needs at least 2 replicates.
    Interrupted (Ctrl-C) after 2 or more refits, it returns the errors of those done.
    """
    from experiments.running.backends import map_kept

    if replicates < 2:
        raise ValueError("the bootstrap needs at least 2 replicates")
    one = partial(refit, cal, seed=seed, steps=steps) if jac is None else partial(newton_refit, cal, seed=seed, jac=jac)
    _, thetas = map_kept(one, range(replicates), jobs, tick, least=2)  # fit.md reports how many the errors rest on
    boot = np.array(thetas)
    cov = np.atleast_2d(np.cov(boot, rowvar=False))
    ses = dict(cal.ses)
    for k, name in enumerate(cal.matched.names):
        ses[name] = float(cal.values[name] * np.sqrt(cov[k, k]))
    return replace(cal, ses=ses, covariance=cov, boot=boot, method="bootstrap-search" if jac is None else "bootstrap")
