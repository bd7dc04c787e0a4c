"""``siyu calibrate``: the engine's repurchase and dropout heterogeneity fitted to a transaction log.

The engine's purchase process has no closed-form likelihood (need occasions on a personal cycle, won
with a share that moves with salience; dropout faster as salience fades). The fit is therefore by
indirect inference (Gourieroux, Monfort and Renault 1993): the auxiliary model of
:mod:`~experiments.calibrate.auxiliary` is fitted by maximum likelihood to the log (beta-hat) and, with three
statistics of the tracking curve (:func:`extra_statistics`), makes the vector s-hat; the named parameters
theta are those whose engine-simulated log, with the same observation design, gives the closest s(theta)
in the metric W = Sigma^-1, searched by damped Gauss-Newton with common random numbers and then refined on a
regression of s over independent simulations around the search's end (:mod:`~experiments.calibrate.refine`).
Their covariance is (J'WJ)^-1 (1 + v n/n_sim), J the regression's slopes, v its statistics' share of one
simulation's noise, Sigma the covariance of s-hat, from each customer's influence on every statistic (so their
correlation counts). Order values are fitted
directly (:mod:`~experiments.calibrate.value`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from experiments.calibrate import auxiliary
from experiments.calibrate.draws import Draws
from experiments.calibrate.dropout_choice import DropoutChoice
from experiments.calibrate.joiners_choice import JOINERS, JoinersChoice
from experiments.calibrate.prior import Anchor, Prior, anchor, block
from experiments.calibrate.history import Histories, pace, summarize, weekly_repeats
from experiments.calibrate.refine import Refined, gauss_newton as _gauss_newton, refine, trusted
from experiments.calibrate.simulate import engine_log, purchases
from experiments.calibrate.value import ValueFit, fit_values
from sim.config import Scenario, apply_overrides
from sim.engine import Simulation
from sim.rng import purpose
from sim.seeding import from_histories
from sim.state import State, generate

FITTED = ("population.cycle_median_days", "population.cycle_sigma", "population.dropout_per_year",
          "population.dropout_sigma")
"""Named parameters fitted by indirect inference (log scale). The spread of dropout hazards is identified by when
repeats stop: with the mean hazard given, a wide spread loses a few customers fast and keeps the rest, so the
repeats fade early and then hold (the middle-third share, :data:`EXTRA_NAMES`). ``dynamics.dropout_salience``
(how much faster dropout is once the brand is forgotten) was tried as well: on CDNOW its SE was 10 times its
value, so the log does not identify it apart from the dropout level, and it stays the base scenario's."""
TENURE = ("dynamics.tenure_fade", "dynamics.tenure_floor")
"""How a customer's share of need occasions fades with the time since their first purchase, and the part it keeps
(:func:`sim.kernels.tenure_share`). Fitted, they add :data:`PACE` and :data:`EARLY_MID` to the matched statistics."""
OPTIONAL = ("dynamics.need_impulse", "dynamics.need_lapse", "dynamics.share_floor_spread", JOINERS, *TENURE)
"""Dynamics a user may add to :data:`FITTED` (``siyu calibrate --fit NAME``), each at the cost of a degree of freedom
of the misfit test: the need that keeps no schedule, and the lapse at need occasions (BG/NBD's dropout after a
transaction), a loyal core's share floor (how far a customer's share of need occasions without reminders follows
their own dropout), the pool's joiners (:data:`JOINERS`) and the tenure fade (:data:`TENURE`, a cohort of new
customers only). Not fitted by default: on CDNOW the first two brought
the calibration-period statistics closer but the 39-week holdout further off; the third is measured in
docs/calibration.md ("A loyal core's floor"), the fourth in "A pool with joiners" (``siyu calibrate`` fits it
without being asked where a fit without it fails and the log's later first orders look like new customers:
:mod:`~experiments.calibrate.pool_joiners`)."""
DROPOUT = ("population.dropout_per_year", "population.dropout_sigma", "dynamics.need_lapse")
"""The dropout parameters, kept at the base scenario's values when the log shows no dropout."""
NO_DROPOUT = "the log shows no sign of dropout"
"""How the reason of a :data:`DROPOUT` parameter kept for want of dropout in the log begins (``Calibration.fixed``)."""
UNITS = {"population.cycle_median_days": "days", "population.cycle_sigma": "log-sd",
         "population.dropout_per_year": "1/year", "population.dropout_sigma": "log-sd",
         "population.order_value_median": "yuan", "population.order_value_sigma": "log-sd",
         "dynamics.dropout_salience": "factor", "dynamics.need_lapse": "share", "dynamics.need_impulse": "share",
         "dynamics.share_floor_spread": "exponent", JOINERS: "1/year", "dynamics.tenure_fade": "1/year",
         "dynamics.tenure_floor": "share"}
LIMITS = {"population.cycle_median_days": (1.0, 3650.0), "population.cycle_sigma": (0.01, 3.0),
          "population.dropout_per_year": (1e-3, 20.0), "population.dropout_sigma": (0.01, 3.0),
          "population.order_value_median": (1e-3, 1e6), "population.order_value_sigma": (0.0, 3.0),
          "dynamics.dropout_salience": (0.01, 100.0), "dynamics.need_lapse": (1e-4, 0.95),
          "dynamics.need_impulse": (1e-3, 1.0), "dynamics.share_floor_spread": (1e-3, 3.0), JOINERS: (1e-3, 10.0),
          "dynamics.tenure_fade": (1e-3, 19.0), "dynamics.tenure_floor": (0.01, 0.999)}
"""The scenario's ranges (sim/config.py), slightly inside: the search's box and the forecast's clip of its draws."""
SIM_RATIO = 4
"""The simulated pool is this many times the log's customers (at least :data:`MIN_POOL`)."""
MIN_POOL, MAX_POOL = 10_000, 400_000
AUX_MATCHED = ("mu", "sigma", "log_delta")
"""What is matched of each auxiliary parameter (:data:`auxiliary.NAMES`): the rate spread itself, not its log. The
engine's cycles are more regular than a Poisson process, so at a small cycle spread a simulated log is no more
dispersed than Poisson and the auxiliary spread's estimate sits at its lower bound: its log jumps there (from
-1.2 to -4 between cycles of 45 and 54 days in a 600-customer log), which broke the search's slopes and left
5 of 8 searches at or next to their start; the spread itself goes to 0 continuously."""
EXTRA_NAMES = ("log_mean_repeats", "late_share", "mid_share", "frequent_late")
"""Statistics matched beside the auxiliary estimates (:func:`extra_statistics`)."""
FIRST_LATE = "first_late"
"""Matched when :data:`JOINERS` is fitted: the share of the log's customers whose first order falls in the later half
of its span. An old pool's first orders come early (its frequent buyers are seen first) and thin out; joiners' come
all through the window."""
FIRST_LATE_GAP_Z = 3.0
"""SEs by which the log's :data:`FIRST_LATE` must run above the engine's, a closed pool's fit failing the misfit
test, before ``siyu calibrate`` fits the pool with joiners instead (:mod:`~experiments.calibrate.pool_joiners`)."""
PACE = "still_buying_pace"
"""Matched when :data:`TENURE` is fitted: of the customers with a repeat in both the middle and the last third, their
repeats in the last third over the middle third's (:func:`~experiments.calibrate.history.pace`). A customer's fading
pull and their leaving both lower the late repeats; this tells them apart, as those who leave are not counted."""
EARLY_MID = "early_mid"
"""Matched when :data:`TENURE` is fitted: the share of the customers with a repeat in the first third who repeat in the
middle third (:data:`PERSISTENCE` a third earlier)."""
PERSISTENCE = "mid_late"
"""A statistic matched only when asked for (``siyu calibrate --persistence``, :func:`extra_statistics`): the share of
customers with a repeat in the middle third of the span who repeat in the last third. On CDNOW's nine extra panels
the ``lapse-steady`` fits' own worlds put it 1.7-2.3 seed-to-seed SDs below the real panels' on eight of nine
(docs/calibration.md, "An early or a steady leaving")."""
FREQUENT = 3
"""Repeat transactions from which a customer counts as frequent (``frequent_late``, :func:`extra_statistics`)."""
ITERATIONS = 12
POLISH = 20
"""Most evaluations of each Nelder-Mead polish after Gauss-Newton (:func:`search`)."""
SIMPLEX = (0.2,)
"""Sizes of the polishes' first simplex in each log parameter, one polish each, in turn. A second, narrow polish
(0.05) settled the search before the refinement (:mod:`.refine`) did it better: without it the refined estimates of
30 engine logs moved 0.007 and 0.012 (cycle, spread; their errors 0.070 and 0.126) and a fit took 0.88 of the CPU
(docs/calibration.md, "Refined along a loose direction")."""
NEAR = 4.0
"""Distance per matched parameter under which the Jacobian is no longer retaken."""


P_START = purpose("calibration_start", 31)
"""Stream purpose of the scan of starting points (:func:`scan_starts`)."""
START_POINTS = 16
"""Points of the scan of starting points: a scrambled Sobol design over :data:`START_BOX` (a power of two)."""
START_BOX = {"population.cycle_median_days": (7.0, 730.0), "population.cycle_sigma": (0.1, 2.0),
             "population.dropout_per_year": (0.05, 10.0), "population.dropout_sigma": (0.1, 2.5),
             "dynamics.need_impulse": (0.01, 1.0), "dynamics.need_lapse": (0.005, 0.5),
             "dynamics.share_floor_spread": (0.005, 1.0), JOINERS: (0.05, 5.0), "dynamics.tenure_fade": (0.02, 2.0),
             "dynamics.tenure_floor": (0.05, 0.95)}
"""Where the scan looks (log-uniformly): cycles of a week to two years, dropout from once in 20 years to 10 a year;
from 1% to all of the need at a steady rate, a lapse at 0.5% to half of the need occasions, and a floor's spread from
nearly none to the odds following the dropout hazard in proportion, joiners from 5% to five times the starting
pool a year, a tenure fade of 2% to twice a year keeping 5-95% of the share (:data:`OPTIONAL`)."""
ScanBox = tuple[tuple[str, float, float], ...]
"""Ranges that replace :data:`START_BOX`'s in the scan, as (name, low, high) (``siyu calibrate --scan-box``)."""
START_POOL = 5_000
"""Simulated customers of each scanned point (fewer than the search's: the scan only has to find the right basin)."""
ABSENT_START = {JOINERS: math.sqrt(START_BOX[JOINERS][0] * START_BOX[JOINERS][1])}
"""Where a search starts a parameter the base scenario leaves out (below its lower limit), for those where the lower
limit is no start: the pool's joiners at 0.5 a year, the middle of the scan's range on the log scale. From the lower
limit (0.001 a year) a step on the log scale changes nothing a log shows, and on a 500-customer log with 1.5 a year
the search never moved from it (docs/calibration.md, "Joiners where the first orders ask for them"). The other
optional parameters start at their lower limit, as every figure measured with them did."""
STARTS = 4
"""Searches at most, from the scan's nearest starts in turn, while the best fit so far fails the misfit test."""


COHORT_SHARE = 0.6
"""A log whose first orders all fall in the first this share of its span is read as a cohort of new customers."""


@dataclass(frozen=True)
class Design:
    """How the log was observed: its span, the window of first orders, new cohort or existing pool.

    A cohort of new customers: first orders are first purchases. An existing pool seen through a window:
    first orders are only the first seen.
    """

    days: int
    first_window: int
    pool: int
    new: bool
    spans: np.ndarray
    """Days from each customer's first order to the calibration end (T), resampled for a new cohort."""

    @classmethod
    def of(cls, h: Histories, cohort: str = "auto", min_pool: int = MIN_POOL) -> "Design":
        """The design of a log's histories, with a simulated pool :data:`SIM_RATIO` times its customers.

        ``cohort`` is "new", "pool" or "auto" (new when every first order lies in the first
        :data:`COHORT_SHARE` of the span). ``min_pool``: the smallest simulated pool (smaller is faster
        and noisier; the bootstrap's intervals include that noise).
        """
        start = int(h.first.min())
        days, window = int(h.end - start + 1), int(h.first.max() - start)
        new = cohort == "new" or (cohort == "auto" and window < COHORT_SHARE * days)
        return cls(days, window, int(min(max(SIM_RATIO * h.n, min_pool), MAX_POOL)), new,
                   np.asarray(h.T, np.int64))


@dataclass
class SimLog:
    """An engine-simulated log observed with a :class:`Design`: its histories and weekly repeat transactions."""

    histories: Histories
    weekly: np.ndarray
    state: State | None = None
    """A new cohort's customers' state each at the end of their own span, when asked for (else None)."""


@dataclass
class Calibration:
    """The fit: named values and standard errors, the auxiliary fits, and the simulated log at the estimate."""

    base: Scenario
    scenario: Scenario
    values: dict[str, float]
    ses: dict[str, float]
    fixed: dict[str, str]
    """Parameters the log does not identify, kept at the base scenario's value, with the reason."""
    aux_data: auxiliary.AuxFit
    stat_names: tuple[str, ...]
    """What is matched: the identified auxiliary parameters, then :data:`EXTRA_NAMES`."""
    stat_data: np.ndarray
    stat_se: np.ndarray
    stat_sim: np.ndarray
    value_fit: ValueFit
    design: Design
    data: Histories
    data_weekly: np.ndarray
    sim: SimLog
    iterations: list[dict[str, float]] = field(default_factory=list)
    matched: Matching | None = None
    """What a refit needs (the bootstrap): the matched parameters, the weight and the slopes at the estimate."""
    covariance: np.ndarray | None = None
    """Joint covariance of the log of the values of :attr:`Matching.names` (bootstrap when run, else sandwich)."""
    boot: np.ndarray | None = None
    """(replicates, parameters) log values refitted on the parametric bootstrap's logs, when run."""
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """90% intervals of the matched parameters when not the log-scale ones of their SEs (the profile's)."""
    method: str = "sandwich"
    """Where the matched parameters' errors come from: sandwich, bootstrap (quick refits), bootstrap-search or
    profile (``siyu calibrate --intervals``)."""
    j: float = 0.0
    """The misfit criterion at the estimate, net of the simulation's noise (:class:`Misfit`'s J)."""
    basins: tuple["Basin", ...] = ()
    """Other fits mixed into the forecast: searches started elsewhere that pass the misfit test (``siyu calibrate
    --basins``), or the other simulation seeds' estimates (``--seeds``)."""
    dispersion: float = 1.0
    """How much less a difference of J counts in the mixture's weights (:func:`basin_weights`; ``--seeds``)."""
    seed_fits: tuple[SeedFit, ...] = ()
    """Every search of ``siyu calibrate --seeds``, the estimate's among them (empty for one seed)."""
    draws: Draws | None = None
    """Draws weighed to the quasi-posterior (``siyu calibrate --draws``), which the forecast takes its values from."""
    no_dropout: tuple[str, ...] = ()
    """The :data:`DROPOUT` parameters not matched because the log shows no sign of dropout, taken from :attr:`base`
    (empty where it shows dropout; those held with ``--hold`` are not among them)."""
    dropout_choice: DropoutChoice | None = None
    """Where the base's dropout rate, kept, failed the misfit test: the refit with none and which was kept
    (:mod:`~experiments.calibrate.kept_dropout`)."""
    joiners_choice: JoinersChoice | None = None
    """Where a fit without joiners failed and the log's later first orders looked like new customers: why this one was
    fitted with them (:mod:`~experiments.calibrate.pool_joiners`)."""

    def mixture_weights(self) -> np.ndarray:
        """Weights of the estimate and then each of :attr:`basins` in the forecast's mixture (:func:`basin_weights`)."""
        return basin_weights([self.j, *(b.j for b in self.basins)], self.dispersion)


@dataclass(frozen=True)
class Basin:
    """A fit the log cannot tell from the estimate: another minimum of the criterion that passes the misfit test.

    On short logs the dropout's spread can land in basins that match the calibration period equally well and
    forecast 40% apart (docs/calibration.md); the forecast mixes them (:func:`basin_weights`).
    """

    theta: np.ndarray
    """Log values of :attr:`Matching.names`."""
    covariance: np.ndarray
    """Sandwich covariance of those log values at this fit."""
    j: float
    """Its misfit criterion (:class:`Misfit`'s J)."""
    sets: dict[str, float] = field(default_factory=dict)
    """Base values it sets that the estimate's scenario has otherwise: a fit from another base (a dropout rate the
    log does not show, :mod:`~experiments.calibrate.kept_dropout`); empty for a search from the same base."""

    def values(self, names: tuple[str, ...]) -> dict[str, float]:
        """Its parameter values by name, with the base values it sets."""
        return {**{n: limited(n, t) for n, t in zip(names, self.theta)}, **self.sets}


@dataclass(frozen=True)
class SeedFit:
    """One search of ``siyu calibrate --seeds``: its simulation seed, estimate, criteria and weight."""

    seed: int
    values: dict[str, float]
    """Its matched parameters' values by name."""
    own_j: float
    """The misfit criterion on its own simulation seed's log at its estimate."""
    common_j: float
    """The misfit criterion on the common simulations (:func:`experiments.calibrate.seeds.common_misfit`):
    comparable across the searches."""
    weight: float
    """Its weight in the forecast's mixture (:func:`experiments.calibrate.seeds.seed_weights`)."""


def basin_weights(js: list[float] | np.ndarray, dispersion: float = 1.0) -> np.ndarray:
    """Weights of fits with misfit criteria ``js`` in the forecast's mixture: exp(-J/2), normalised.

    The quasi-likelihood of indirect inference (Chernozhukov and Hong 2003): a fit whose statistics are 2 units
    of J further from the data's counts exp(-1) as much. Each basin's own width is left out (its sandwich is least
    reliable where the basin is flat). ``dispersion`` divides the differences of J (``--seeds``:
    :func:`experiments.calibrate.seeds.dispersion`).
    """
    js = np.asarray(js, np.float64)
    w = np.exp(-0.5 * (js - js.min()) / dispersion)
    return w / w.sum()


@dataclass(frozen=True)
class Matching:
    """The indirect-inference problem at the estimate: parameters, matched rows, weight, slopes, start."""

    names: tuple[str, ...]
    rows: tuple[int, ...]
    theta: np.ndarray
    weight: np.ndarray
    jac: np.ndarray
    aux_start: np.ndarray
    seed: int
    extra: tuple[str, ...] = EXTRA_NAMES
    """The statistics matched beside the auxiliary estimates (:func:`extra_statistics`)."""
    prior: Anchor | None = None
    """Another fit's estimate the matched values are anchored to (``siyu calibrate --prior``), matched last."""


def simulate_design(scenario: Scenario, design: Design, seed: int, keep_state: bool = False) -> SimLog:
    """The engine's log of ``scenario`` observed as ``design`` (see :class:`Design`).

    An existing pool: customers whose first order in the window falls among the log's first orders. A new
    cohort: every customer buys on day 0 and is followed for a span drawn from the log's; ``keep_state`` keeps
    each one's state at the end of their span (the log's calibration end, :attr:`SimLog.state`).
    """
    if design.new:
        return _simulate_cohort(scenario, design, seed, keep_state)
    cust, day, amount = engine_log(scenario, design.pool, design.days, seed)
    _, idx, days, h = window_histories(cust, day, amount, design)
    return SimLog(h, weekly_repeats(idx, days, 0, design.days - 1))


def window_histories(cust: np.ndarray, day: np.ndarray, amount: np.ndarray,
                     design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray, Histories]:
    """An engine pool's purchases seen through the data's window: the customers whose first order falls in it.

    Returns their pool rows, each kept order's index into them, the kept orders' days, and their histories.
    """
    order = np.lexsort((day, cust))
    cust, day, amount = cust[order], day[order], amount[order]
    first = np.full(max(design.pool, int(cust.max(initial=-1)) + 1), design.days, np.int64)  # joiners past the pool
    np.minimum.at(first, cust, day)
    keep = first[cust] <= design.first_window
    rows, idx = np.unique(cust[keep], return_inverse=True)
    h = summarize(rows.astype(object), idx.astype(np.int64), day[keep], amount[keep], design.days - 1)
    return rows, idx, day[keep], h


def _simulate_cohort(scenario: Scenario, design: Design, seed: int, keep_state: bool = False) -> SimLog:
    n = design.pool
    drawn = generate(scenario, n, seed)
    spans = np.random.default_rng(np.random.SeedSequence([seed, 0xC0])).choice(design.spans, n)
    one = np.full(n, -1, np.int64)
    st = from_histories(scenario, seed, drawn.cycle, drawn.dropout, drawn.value, one, one, np.ones(n, np.int64),
                        drawn.value.astype(np.float64), np.ones(n, bool))
    sim = Simulation(scenario, customers=n, seed=seed, state=st, inflow=False)
    ends = at_end = None
    if keep_state:  # each customer's state at the end of their calibration end's day, their span's last day
        at_end = sim.state.copy()
        by_day = np.argsort(spans, kind="stable")
        bounds = np.searchsorted(spans[by_day], np.arange(int(spans.max()) + 2))

        def ends(t: int) -> None:
            rows = by_day[bounds[t + 1]:bounds[t + 2]]  # span t + 1: sim day t is their calibration end's day
            if rows.size == 0:
                return
            for kept, now in zip(at_end.columns(), sim.state.columns()):
                kept[rows] = now[rows]
    cust, day, amount = purchases(sim, int(spans.max()), after_day=ends)
    keep = day + 1 <= spans[cust]
    end = design.days - 1
    start = end - spans  # each customer's first purchase, on the log's calendar
    rows = np.arange(n)
    cust = np.concatenate([rows, cust[keep]])
    day = np.concatenate([start, start[cust[n:]] + day[keep] + 1])
    amount = np.concatenate([drawn.value.astype(np.float64), amount[keep]])
    order = np.lexsort((day, cust))
    cust, day, amount = cust[order], day[order], amount[order]
    h = summarize(rows.astype(object), cust, day, amount, end)
    return SimLog(h, weekly_repeats(cust, day, 0, end), at_end)


def limited(name: str, t: float) -> float:
    """The value of parameter ``name`` at log value ``t``, inside its :data:`LIMITS`.

    exp(log(hi)) can land one rounding step above ``hi`` (3.0000000000000004 for a spread at its limit of 3),
    which the scenario then refuses: the value is clipped after the exponential.
    """
    return within_limits(name, math.exp(t))


def within_limits(name: str, value: float) -> float:
    """``value`` of parameter ``name`` clipped to its :data:`LIMITS`."""
    lo, hi = LIMITS[name]
    return float(min(max(value, lo), hi))


def _scenario(base: Scenario, names: tuple[str, ...], theta: np.ndarray) -> Scenario:
    return apply_overrides(base, {name: limited(name, t) for name, t in zip(names, theta)}, "calibration")


def optional(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The :data:`OPTIONAL` parameters among ``names``, in their order there; ValueError on any other name."""
    unknown = [n for n in names if n not in OPTIONAL]
    if unknown:
        raise ValueError(f"cannot fit {', '.join(unknown)}: the fit can add {', '.join(OPTIONAL)}")
    return tuple(n for n in OPTIONAL if n in names)


@dataclass(frozen=True)
class Found:
    """Where one search ended: what its :class:`Calibration` needs besides the log (saved by ``siyu calibrate``)."""

    distance: float
    """The weighted distance of the simulated statistics from the data's (before the simulation's noise is taken
    out: :class:`Misfit`)."""
    theta: np.ndarray
    """Log values of the matched parameters, as simulated (possibly a hair past their box)."""
    jac: np.ndarray
    """Slopes of the simulated statistics at ``theta``."""
    n_sim: int
    """Customers in the simulated log at ``theta`` (its share of the noise: :func:`simulation_factor`)."""
    leverage: float = 1.0
    """Simulations' worth of noise in the statistics the slopes and ``theta`` rest on, in units of one at ``theta``:
    1 for a search's end, about 1 / points for the estimate refined on a regression (:mod:`.refine`)."""


@dataclass(frozen=True)
class Searched:
    """What the searches of one calibration found: the estimate, other passing fits (``--basins``), the path.

    Everything here is plain numbers, so a search of 12-20 minutes can be saved as it finishes and a calibration
    rebuilt from it exactly (:mod:`experiments.calibrate.searches`): the rest is recomputed from the log.
    """

    best: Found
    others: tuple[Found, ...] = ()
    """Other fits that pass the misfit test (``--basins``), kept for the forecast's mixture."""
    history: tuple[dict[str, float], ...] = ()
    """A row per Gauss-Newton step and improving polish point, then the refined estimate's (``start`` 0, its
    ``iteration`` the simulations the refinement averaged) (:attr:`Calibration.iterations`)."""


@dataclass(frozen=True)
class _Problem:
    """The matching problem of a log: what is fitted, what is matched, in which metric."""

    design: Design
    aux_data: auxiliary.AuxFit
    names: tuple[str, ...]
    rows: tuple[int, ...]
    fixed: dict[str, str]
    target: np.ndarray
    sigma: np.ndarray
    weight: np.ndarray
    stat_names: tuple[str, ...]
    extra: tuple[str, ...]
    no_dropout: tuple[str, ...]
    prior: Anchor | None = None

    def binding(self, base: Scenario, seed: int, theta: np.ndarray) -> tuple[np.ndarray, SimLog]:
        """The simulated statistics at ``theta`` with ``seed``'s common random numbers, and the simulated log."""
        return _binding(base, self.names, self.rows, self.design, self.aux_data.beta, seed, theta, self.extra,
                        self.prior)


def _problem(h: Histories, cohort: str, min_pool: int, also: tuple[str, ...], extra: tuple[str, ...],
             hold: tuple[str, ...], prior: Prior | None = None) -> _Problem:
    """The matching problem of ``h`` (see :func:`calibrate` for the arguments)."""
    unknown = [n for n in hold if n not in FITTED]
    if unknown:
        raise ValueError(f"cannot hold {', '.join(unknown)}: only {', '.join(FITTED)} are fitted by default")
    design = Design.of(h, cohort, min_pool)
    aux_data = auxiliary.fit(h)
    names = list(fitted_names(also, hold))
    if JOINERS in names:
        refuse_joiners(design)
    if set(TENURE) & set(names):
        refuse_tenure(design)
    extra = with_statistics(names, extra)
    rows = [0, 1, 2]
    fixed: dict[str, str] = {n: "held at the base scenario's value (--hold)" for n in hold}
    lo_delta = auxiliary.BOUNDS[2][0]
    no_dropout: tuple[str, ...] = ()
    if aux_data.beta[2] < lo_delta + 0.5:
        rows.remove(2)
        no_dropout = tuple(n for n in DROPOUT if n in names)
        for name in no_dropout:
            names.remove(name)
            fixed[name] = (f"{NO_DROPOUT} (auxiliary dropout rate at its lower bound): kept at the base scenario's "
                           "value")
    target, sigma = observed(h, aux_data, rows, extra)
    anchored = anchor(prior, tuple(names), simulation_factor(h.n, design.pool))
    stat_names = tuple(AUX_MATCHED[r] for r in rows) + tuple(extra)
    if anchored is not None:
        target, sigma = np.concatenate([target, anchored.mean]), block(sigma, anchored)
        stat_names += anchored.stat_names
    return _Problem(design, aux_data, tuple(names), tuple(rows), fixed, target, sigma, np.linalg.pinv(sigma),
                    stat_names, tuple(extra), no_dropout, anchored)


def fitted_names(also: tuple[str, ...] | list[str], hold: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The parameters a fit searches: :data:`FITTED` but those held (``--hold``), then ``also`` (:func:`optional`)."""
    return tuple(n for n in FITTED if n not in hold) + optional(also)


def with_statistics(names: tuple[str, ...] | list[str], extra: tuple[str, ...]) -> tuple[str, ...]:
    """``extra`` and the statistics that fitting ``names`` matches too.

    :data:`FIRST_LATE` with :data:`JOINERS`, :data:`PACE` and :data:`EARLY_MID` with :data:`TENURE`.
    """
    more = ((FIRST_LATE,) if JOINERS in names else ()) + ((PACE, EARLY_MID) if set(TENURE) & set(names) else ())
    return extra + tuple(k for k in more if k not in extra)


def refuse_tenure(design: Design, asked: str = f"fit {', '.join(TENURE)}") -> None:
    """A ValueError where a tenure fade (:data:`TENURE`) is asked of a log read as an existing pool.

    Its first orders are not the customers' first purchases, from which the fade counts. ``asked``: what cannot be
    done (fitting it, by default).
    """
    if not design.new:
        raise ValueError(f"cannot {asked}: the log reads as an existing pool seen through a window, whose first orders "
                         "are not the customers' first purchases, from which the fade counts")


def refuse_joiners(design: Design) -> None:
    """A ValueError where :data:`JOINERS` is asked of a log read as a cohort of new customers (no pool to join)."""
    if design.new:
        raise ValueError(f"cannot fit {JOINERS}: the log reads as a cohort of new customers (every first order in "
                         f"the first {COHORT_SHARE:.0%} of its span), who join with their first order")


def calibrate(h: Histories, base: Scenario, data_weekly: np.ndarray, seed: int = 0,
              iterations: int = ITERATIONS, cohort: str = "auto", min_pool: int = MIN_POOL,
              starts: int = STARTS, also: tuple[str, ...] = (), basins: int = 1,
              extra: tuple[str, ...] = EXTRA_NAMES, hold: tuple[str, ...] = (),
              searched: Searched | None = None, joiners_follow: bool = False,
              hopeless_above: float | None = None, scan_box: ScanBox = (), prior: Prior | None = None) -> Calibration:
    """Fit :data:`FITTED` and the order values of ``base`` to the histories ``h`` (see module docstring).

    ``cohort`` and ``min_pool``: how the log was observed and the smallest simulated pool (:meth:`Design.of`).
    ``starts``: searches at most, from the nearest scanned starts in turn, while the fit fails the misfit test
    (:func:`scan_starts`, :class:`Misfit`). ``also``: names of :data:`OPTIONAL` fitted as well. ``basins``:
    searches in all when the fit passes the misfit test, the others started far from the fits found so far;
    the best that passes is the estimate, the others that pass are kept as :class:`Basin` for the forecast's
    mixture. ``extra``: the statistics matched beside the auxiliary estimates (:data:`EXTRA_NAMES`, and
    :data:`PERSISTENCE` with ``siyu calibrate --persistence``). ``hold``: names of :data:`FITTED` kept at the base
    scenario's value (``siyu calibrate --hold``). ``searched``: what :func:`search_log` found with the same
    arguments (a saved search): the calibration is rebuilt from it without searching, the same to the bit.
    ``joiners_follow``: a closed pool's searches stop at the first that fails the misfit test while the log's first
    orders come late (:data:`FIRST_LATE_GAP_Z`), where ``siyu calibrate`` fits the pool with joiners instead
    (:mod:`.pool_joiners`) and the closed pool's other starts would be thrown away. ``hopeless_above``: the
    searches stop at the first that fails the misfit test with a J this high or more (its distance over the
    simulation's factor, as the misfit test takes it), where the fit is only mixed with another that weighs it down
    to nothing
    (:func:`~experiments.calibrate.kept_dropout.hopeless_distance`). ``scan_box``: ranges the scan of starting
    points takes instead of :data:`START_BOX`'s (``siyu calibrate --scan-box``). ``prior``: another fit the fitted
    values are anchored to (``siyu calibrate --prior``, :mod:`.prior`).
    """
    problem = _problem(h, cohort, min_pool, also, extra, hold, prior)
    simulated = None
    if searched is None:
        searched, simulated = _search_problem(problem, h, base, seed, iterations, starts, basins, joiners_follow,
                                              hopeless_above, scan_box)
    if simulated is None:  # a saved search: the simulation at the estimate is a pure function of it and the seed
        simulated = problem.binding(base, seed, searched.best.theta)
    return _assembled(problem, h, base, data_weekly, seed, searched, *simulated)


def search_log(h: Histories, base: Scenario, seed: int = 0, iterations: int = ITERATIONS, cohort: str = "auto",
               min_pool: int = MIN_POOL, starts: int = STARTS, also: tuple[str, ...] = (), basins: int = 1,
               extra: tuple[str, ...] = EXTRA_NAMES, hold: tuple[str, ...] = (),
               joiners_follow: bool = False, hopeless_above: float | None = None, scan_box: ScanBox = (),
               prior: Prior | None = None) -> Searched:
    """The searches of :func:`calibrate` alone (its arguments): what a worker process runs and a file keeps."""
    problem = _problem(h, cohort, min_pool, also, extra, hold, prior)
    return _search_problem(problem, h, base, seed, iterations, starts, basins, joiners_follow, hopeless_above,
                           scan_box)[0]


def _search_problem(problem: _Problem, h: Histories, base: Scenario, seed: int, iterations: int, starts: int,
                    basins: int, joiners_follow: bool = False, hopeless_above: float | None = None,
                    scan_box: ScanBox = ()) -> tuple[Searched, tuple[np.ndarray, SimLog]]:
    """The scan, the searches from its nearest starts and across the fit (``basins``), and the estimate's simulation."""
    if base.dynamics.tenure_fade > 0:
        refuse_tenure(problem.design, "calibrate from a base scenario with a tenure fade")
    names_t, target, weight, n = problem.names, problem.target, problem.weight, h.n
    joiners_follow = joiners_follow and JOINERS not in names_t and not problem.design.new
    history: list[dict[str, float]] = []

    def binding(t: np.ndarray) -> tuple[np.ndarray, SimLog]:
        return problem.binding(base, seed, t)

    scanned = scan_starts(base, names_t, problem.rows, problem.design, problem.aux_data.beta, seed, target, weight,
                          problem.extra, box=scan_box, prior=problem.prior)
    df = len(problem.stat_names) - len(names_t)
    found = None
    passing: list[tuple] = []
    used: list[int] = []

    def passes(result: tuple) -> bool:
        return df <= 0 or _misfit_p(result[0], n, result[3].histories.n, df) >= MISFIT_P

    def run(k: int) -> tuple:
        rows_before = len(history)
        result = search(binding, scanned[k], target, weight, iterations, history, names_t)
        for row in history[rows_before:]:
            row["start"] = len(used) + 1
        used.append(k)
        return result

    for k in range(min(max(starts, 1), len(scanned))):
        result = run(k)
        if found is None or result[0] < found[0]:
            found = result
        if passes(found):
            break  # the engine reproduces the log from here: no other basin is needed
        if joiners_follow and first_late_gap(h, found[3].histories) >= FIRST_LATE_GAP_Z:
            break  # a pool with joiners is fitted instead: the closed pool's other basins would be thrown away
        if hopeless_above is not None and found[0] / simulation_factor(n, found[3].histories.n) >= hopeless_above:
            break  # another start would have to end many times nearer to weigh in the mixture this fit is for
    if passes(found):
        passing = [found]
        across = []
        if basins > 1:
            first = sandwich_covariance(found[4](), weight, problem.sigma, simulation_factor(n, found[3].histories.n),
                                        problem.prior)
            across = across_starts(found[1], first, names_t)[:basins - 1]
        for theta0 in across:
            scanned.append(theta0)
            result = run(len(scanned) - 1)
            if passes(result) and interior(result[1], names_t):
                passing.append(result)
    fits = [_refined(problem, n, base, seed, r) for r in passing or [found]]
    k = min(range(len(fits)), key=lambda i: fits[i][0].distance)
    best, b, log, simulations = fits[k]
    history.append({**_row(simulations, names_t, best.theta, best.distance), "start": 0})
    searched = Searched(best, tuple(f[0] for i, f in enumerate(fits) if i != k), tuple(history))
    return searched, (b, log)


def _refined(problem: _Problem, n: int, base: Scenario, seed: int, end: tuple
             ) -> tuple[Found, np.ndarray, SimLog, int]:
    """A search's ``end`` (:func:`search`'s result) on a log of ``n`` customers, refined (:mod:`.refine`).

    Returns the fit, the statistics and log simulated at it with ``seed`` (what the misfit test and the fit's plots
    use), and how many simulations the refinement averaged (0: the search's end kept, because the refinement did
    not settle within its design or a simulation at the refined point disowned the regression there:
    :func:`~experiments.calibrate.refine.trusted`).
    """
    r, b, log = refined_end(lambda t, s: problem.binding(base, s, t), end[1], problem.target, problem.weight, seed,
                            problem.names, n)
    if r is None:
        return Found(float(end[0]), end[1], end[4](), int(end[3].histories.n)), end[2], end[3], 0
    found = Found(_distance(problem.target - b, problem.weight), r.theta, r.jac, int(log.histories.n), r.leverage)
    return found, b, log, r.simulations


def refined_end(binding: Callable[[np.ndarray, int], tuple[np.ndarray, SimLog]], theta: np.ndarray,
                target: np.ndarray, weight: np.ndarray, seed: int, names: tuple[str, ...], n: int
                ) -> tuple[Refined | None, np.ndarray, SimLog]:
    """A search's end ``theta`` on a log of ``n`` customers refined (:mod:`.refine`), and the simulation there.

    The simulation is with ``seed`` at the refined point; the refinement is None where it is not to replace the end
    (:func:`~experiments.calibrate.refine.trusted`). ``binding(theta, simulation_seed)``: statistics and log.
    """
    r = refine(lambda t, s: binding(t, s)[0], theta, target, weight, seed, log_box(names))
    b, log = binding(r.theta, seed)
    return (r if trusted(r, b, weight, n / max(log.histories.n, 1)) else None), b, log


def _assembled(problem: _Problem, h: Histories, base: Scenario, data_weekly: np.ndarray, seed: int,
               searched: Searched, b: np.ndarray, log: SimLog) -> Calibration:
    """The :class:`Calibration` of what the searches found, with ``b`` and ``log`` the simulation at the estimate."""
    names_t, weight, sigma = problem.names, problem.weight, problem.sigma
    best = searched.best
    theta = np.clip(best.theta, *log_box(names_t))  # what was simulated
    factor = simulation_factor(h.n, log.histories.n)  # the misfit's: one simulation at the estimate
    cov_t = sandwich_covariance(best.jac, weight, sigma, simulation_factor(h.n, best.n_sim, best.leverage),
                                problem.prior)
    values = {n: limited(n, t) for n, t in zip(names_t, theta)}
    ses = {n: float(values[n] * math.sqrt(max(cov_t[k, k], 0.0))) for k, (n, t) in enumerate(zip(names_t, theta))}
    vf = fit_values(h)
    values["population.order_value_median"] = vf.median
    values["population.order_value_sigma"] = vf.sigma
    ses["population.order_value_median"] = vf.median_se
    ses["population.order_value_sigma"] = vf.sigma_se
    fitted = apply_overrides(base, {**{n: v for n, v in values.items()}, "population.customers": h.n}, "calibration")
    others = tuple(Basin(np.clip(r.theta, *log_box(names_t)),
                         sandwich_covariance(r.jac, weight, sigma, simulation_factor(h.n, r.n_sim, r.leverage),
                                             problem.prior),
                         r.distance / simulation_factor(h.n, r.n_sim)) for r in searched.others)
    return Calibration(base, fitted, values, ses, dict(problem.fixed), problem.aux_data, problem.stat_names,
                       problem.target, np.sqrt(np.diag(sigma)), b, vf, problem.design, h, data_weekly, log,
                       [dict(row) for row in searched.history],
                       Matching(names_t, problem.rows, theta, weight, best.jac, problem.aux_data.beta, seed,
                                problem.extra, problem.prior), cov_t, j=best.distance / factor, basins=others,
                       no_dropout=problem.no_dropout)


def across_starts(theta: np.ndarray, cov: np.ndarray, names: tuple[str, ...]) -> list[np.ndarray]:
    """Starts for the searches after a passing fit: the fit with one parameter moved to the far end of its range.

    Least identified first (the largest sandwich SE of its log against the width of :data:`START_BOX`): the
    other basins lie along the directions the log does not pin (on CDNOW, the dropout's spread), and a search
    from a start elsewhere in every parameter seldom passed the misfit test.
    """
    lo = np.log([START_BOX.get(n, LIMITS[n])[0] for n in names])
    hi = np.log([START_BOX.get(n, LIMITS[n])[1] for n in names])
    loose = np.sqrt(np.maximum(np.diag(cov), 0.0)) / (hi - lo)
    out = []
    for k in np.argsort(-loose, kind="stable"):
        t = np.array(theta, np.float64)
        t[k] = lo[k] if theta[k] - lo[k] > hi[k] - theta[k] else hi[k]
        out.append(t)
    return out


MISFIT_P = 0.01
"""p-value of the misfit test below which the fit is reported as not reproducing the log (:func:`misfit`)."""


@dataclass(frozen=True)
class Misfit:
    """Hansen's test of the over-identifying restrictions: can the engine reproduce the log's statistics at all?

    More statistics are matched than parameters fitted; at the estimate the weighted distance, net of the
    simulation's own noise, is chi-square with their difference as degrees of freedom when the engine is the
    process that wrote the log. A small p-value says the engine at the estimates does not write logs like this
    one: either no parameter values do (the model lacks what the data show) or the search stopped short of
    them (:func:`scan_starts`); a forecast inherits the gap either way.
    """

    j: float
    df: int
    p: float
    worst: str
    """The matched statistic furthest from the data, and by how many of its standard errors (signed: engine - data)."""
    worst_z: float

    @property
    def rejected(self) -> bool:
        """Whether the engine does not reproduce the log (p below :data:`MISFIT_P`)."""
        return self.p < MISFIT_P

    def line(self) -> str:
        """One line for the console and fit.md."""
        verdict = ("the fitted engine does not reproduce this log's statistics (forecasts inherit the gap)"
                   if self.rejected else "the engine reproduces this log's statistics within their noise")
        return (f"misfit J = {self.j:.1f} on {self.df} df (p = {self.p:.2g}): {verdict}; furthest: {self.worst}, "
                f"{self.worst_z:+.1f} SE")


def misfit(cal: "Calibration") -> Misfit | None:
    """The misfit test at the estimate (None when as many parameters are fitted as statistics matched)."""
    if cal.matched is None:
        return None
    df = len(cal.stat_names) - len(cal.matched.names)
    if df <= 0:
        return None
    resid = cal.stat_sim - cal.stat_data
    d = _distance(resid, cal.matched.weight)
    z = resid / np.where(cal.stat_se > 0, cal.stat_se, np.inf)
    k = int(np.argmax(np.abs(z)))
    n, n_sim = cal.data.n, cal.sim.histories.n
    return Misfit(d / simulation_factor(n, n_sim), df, _misfit_p(d, n, n_sim, df), cal.stat_names[k], float(z[k]))


def search(binding, theta: np.ndarray, target: np.ndarray, weight: np.ndarray, iterations: int = ITERATIONS,
           history: list[dict[str, float]] | None = None, names: tuple[str, ...] = (),
           polish: tuple[float, ...] = SIMPLEX
           ) -> tuple[float, np.ndarray, np.ndarray, SimLog, Callable[[], np.ndarray]]:
    """The minimum of the distance from ``theta``: damped Gauss-Newton, then a Nelder-Mead polish.

    Returns (distance, theta, s(theta), its simulated log, the Jacobian at theta on call). The Jacobian costs a
    simulation per parameter, and most ends are refined, whose regression brings its own: it is taken only when
    asked for, once (the binding's common random numbers make it the same whenever it is taken).

    With common random numbers the simulated distance is still rough: a change of the cycle changes need dates, so
    salience and purchases diverge, and a step of 0.001 in a log parameter moved it by 1.3 on a 600-customer log.
    Slopes taken there can point the wrong way, and Gauss-Newton alone stopped at its start in 2 of 8 searches
    (simulation seeds) on that log; the polish (Nelder-Mead from a wide simplex: :data:`SIMPLEX`, :data:`POLISH`)
    needs no slopes; ``polish`` gives its simplex sizes, one polish each (none: Gauss-Newton alone). ``history`` (if
    given) gets a row per Gauss-Newton step and per improving polish point.
    """
    rows: list[dict[str, float]] = [] if history is None else history
    b, log = binding(theta)
    jac = _jacobian(binding, theta, b)
    best = (_distance(target - b, weight), theta, b, log)
    rows.append(_row(0, names, theta, best[0]))
    step = _gauss_newton(jac, weight, target - b)
    it = 0
    for it in range(1, iterations + 1):
        if np.max(np.abs(step)) < 0.005:
            break
        trial = best[1] + step
        b, log = binding(trial)
        d = _distance(target - b, weight)
        rows.append(_row(it, names, trial, d))
        if d < best[0]:
            far = d > NEAR * target.size
            best = (d, trial, b, log)
            if far:  # still far: the slopes here may differ from where they were taken
                jac = _jacobian(binding, trial, b)
            step = _gauss_newton(jac, weight, target - b)
        else:  # back off towards the best point so far
            step = step / 2
    seen = [it]

    def distance(t: np.ndarray) -> float:
        nonlocal best
        b, log = binding(t)
        d = _distance(target - b, weight)
        if d < best[0]:
            best = (d, t.copy(), b, log)
            seen[0] += 1
            rows.append(_row(seen[0], names, t, d))
        return d

    for size in polish:  # a wide simplex steps over the roughness
        x0 = best[1].copy()
        simplex = np.vstack([x0] + [x0 + size * e for e in np.eye(x0.size)])
        minimize(distance, x0, method="Nelder-Mead",
                 options={"initial_simplex": simplex, "maxfev": POLISH, "xatol": 0.01, "fatol": 0.1})
    d, theta, b, log = best
    return d, theta, b, log, functools.cache(lambda: _jacobian(binding, theta, b))


def scan_box(texts: list[str] | tuple[str, ...], fitted: tuple[str, ...]) -> ScanBox:
    """``NAME=LOW,HIGH`` texts as a :data:`ScanBox`; ValueError, in one line, on anything the scan cannot take.

    Each name must be one of the ``fitted`` parameters, once, with ``0 < LOW < HIGH`` inside its :data:`LIMITS`.
    """
    box: list[tuple[str, float, float]] = []
    for text in texts:
        name, _, bounds = text.partition("=")
        name = name.strip()
        try:
            low, high = (float(b) for b in bounds.split(","))
        except ValueError:
            raise ValueError(f"--scan-box {text!r}: expected NAME=LOW,HIGH, e.g. dynamics.tenure_fade=0.02,5") from None
        if name not in fitted:
            raise ValueError(f"--scan-box {text!r}: {name or '(no name)'} is not fitted here; fitted: "
                             f"{', '.join(fitted)}")
        if any(name == b[0] for b in box):
            raise ValueError(f"--scan-box {text!r}: {name} is given twice")
        lo, hi = LIMITS[name]
        if not (lo <= low < high <= hi and low > 0):
            raise ValueError(f"--scan-box {text!r}: need 0 < LOW < HIGH within {name}'s range {lo:g} to {hi:g}")
        box.append((name, low, high))
    return tuple(box)


def scan_range(name: str, box: ScanBox = ()) -> tuple[float, float]:
    """Where the scan looks for ``name``: its range in ``box``, else :data:`START_BOX`'s, else its :data:`LIMITS`."""
    for n, low, high in box:
        if n == name:
            return low, high
    return START_BOX.get(name, LIMITS[name])


def scan_points(names: tuple[str, ...], seed: int, points: int = START_POINTS, box: ScanBox = ()) -> list[np.ndarray]:
    """The scan's ``points`` log parameter values, log-uniform over :func:`scan_range`'s ranges.

    A scrambled Sobol design drawn from ``seed``.
    """
    from scipy.stats import qmc

    lo, hi = np.log([scan_range(n, box) for n in names]).T
    unit = qmc.Sobol(len(names), scramble=True, seed=np.random.default_rng([seed, P_START])).random(points)
    return list(lo + unit * (hi - lo))


def scan_starts(base: Scenario, names: tuple[str, ...], rows: tuple[int, ...], design: Design, aux_start: np.ndarray,
                seed: int, target: np.ndarray, weight: np.ndarray, extra: tuple[str, ...] = EXTRA_NAMES,
                points: int = START_POINTS, box: ScanBox = (), prior: Anchor | None = None) -> list[np.ndarray]:
    """Where searches start: the base scenario's values and a scan's points, nearest the data first.

    Gauss-Newton from the base alone found CDNOW's fit (a 42-day cycle, matched statistics 6 SE apart at
    most) with simulation seed 0 only: with seeds 1 and 2 its first steps, taken from slopes measured far from
    the data, led it to cycles of 800-1,100 days with a spread of 2.4-3 and statistics 28 SE apart, where it
    stayed. The scan simulates ``points`` parameter values spread over :data:`START_BOX`, or ``box`` where it
    gives a range (:func:`scan_points`), with :data:`START_POOL` customers; they and the base are returned by their
    distance to the data (log parameters).
    """
    candidates = [start(base, names)]
    if points > 0:
        candidates += scan_points(names, seed, points, box)
    small = Design(design.days, design.first_window, min(design.pool, START_POOL), design.new, design.spans)
    d = [_distance(target - _binding(base, names, rows, small, aux_start, seed, t, extra, prior)[0], weight)
         for t in candidates]
    return [candidates[k] for k in np.argsort(d, kind="stable")]


def _misfit_p(distance: float, n: int, n_sim: int, df: int) -> float:
    """p-value of the misfit test (:class:`Misfit`) at a weighted distance, with ``n_sim`` simulated customers."""
    from scipy.stats import chi2

    return float(chi2.sf(distance / simulation_factor(n, n_sim), df))


def start(base: Scenario, names: tuple[str, ...]) -> np.ndarray:
    """Where the search starts: the log of the base scenario's values of ``names``.

    At least their lower limits, or :data:`ABSENT_START` where the base leaves one of those out.
    """
    values = [float(scenario_value(base, n)) for n in names]
    return np.log([v if v >= LIMITS[n][0] else ABSENT_START.get(n, LIMITS[n][0]) for v, n in zip(values, names)])


def statistics(h: Histories, rows: tuple[int, ...], aux_start: np.ndarray,
               extra: tuple[str, ...] = EXTRA_NAMES) -> np.ndarray:
    """The matched statistics of a log: the auxiliary estimates in ``rows``, then ``extra`` (:data:`EXTRA_NAMES`)."""
    beta = auxiliary.fit(h, aux_start, covariance=False).beta
    return np.concatenate([aux_matched(beta, rows), extra_statistics(h, extra)[0]])


def observed(h: Histories, aux_data: auxiliary.AuxFit, rows: tuple[int, ...] | list[int],
             extra: tuple[str, ...] = EXTRA_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """The matched statistics of the data (s-hat: :func:`statistics`) and their joint covariance (Sigma).

    Sigma sums each customer's influence on every statistic (so their correlation counts); ``aux_data`` is the
    auxiliary fit of ``h`` with its influence.
    """
    values, extra_influence = extra_statistics(h, extra)
    target = np.concatenate([aux_matched(aux_data.beta, rows), values])
    influence = np.concatenate([aux_data.influence[:, rows] * _aux_slopes(aux_data.beta, rows), extra_influence],
                               axis=1)
    return target, influence.T @ influence


def aux_matched(beta: np.ndarray, rows: tuple[int, ...] | list[int]) -> np.ndarray:
    """:data:`AUX_MATCHED` of the auxiliary estimates ``beta``, in ``rows``."""
    out = np.array(beta, np.float64)
    out[1] = math.exp(out[1])
    return out[list(rows)]


def _aux_slopes(beta: np.ndarray, rows: tuple[int, ...] | list[int]) -> np.ndarray:
    """Slopes of :func:`aux_matched` in beta (diagonal), to carry each customer's influence over (delta method)."""
    out = np.ones(len(beta))
    out[1] = math.exp(beta[1])
    return out[list(rows)]


def _binding(base: Scenario, names: tuple[str, ...], rows: tuple[int, ...], design: Design, aux_start: np.ndarray,
             seed: int, theta: np.ndarray, extra: tuple[str, ...] = EXTRA_NAMES,
             prior: Anchor | None = None) -> tuple[np.ndarray, SimLog]:
    """s(theta): the matched statistics of the engine's log at ``theta`` with ``design``, simulated with ``seed``.

    With a ``prior``, the anchored log values follow (:mod:`.prior`).
    """
    log = simulate_design(_scenario(base, names, theta), design, seed)
    b = statistics(log.histories, rows, aux_start, extra)
    return (b if prior is None else np.concatenate([b, prior.values(theta)])), log


def matched_binding(base: Scenario, m: Matching, design: Design, seed: int, theta: np.ndarray
                    ) -> tuple[np.ndarray, SimLog]:
    """:func:`_binding` of a fit's matching problem ``m`` (a refit's, a profile's, a common simulation's)."""
    return _binding(base, m.names, m.rows, design, m.aux_start, seed, theta, m.extra, m.prior)


def matched_sigma(h: Histories, aux_data: auxiliary.AuxFit, m: Matching) -> np.ndarray:
    """The covariance of the statistics ``m`` matches on log ``h`` (:func:`observed`'s, the prior's block after)."""
    return block(observed(h, aux_data, m.rows, m.extra)[1], m.prior)


def extra_statistics(h: Histories, extra: tuple[str, ...] = EXTRA_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """``extra`` (:data:`EXTRA_NAMES`, :data:`PERSISTENCE`) of a log and each customer's influence on them (n x k).

    The log of the mean repeat transactions pins the level of the tracking curve (the auxiliary model's
    lognormal tail need not match the engine's); the shares of repeats in the last and the middle third of
    the span pin its shape over time: how fast buying fades, and whether it fades early and then holds (a
    wide spread of dropout hazards) or steadily (a narrow one). The share of frequent customers (at least
    :data:`FREQUENT` repeats) still buying in the last third tells whether frequent buying wears customers
    out (one lapse per need occasion for all: many occasions, many chances to leave) or marks the loyal ones
    (a lapse that varies: those who keep buying are those who rarely lapse); on CDNOW, fits that matched the
    other statistics equally well forecast the holdout 2% or 21% short depending on that spread.
    A log with no frequent customer gives the share 0 and no variance: the fit's weight (a pseudo-inverse)
    then ignores it. :data:`PERSISTENCE` (matched only when asked for) is the share of the customers active in the
    middle third (a repeat there) who repeat in the last third: how many of the customers still buying go on
    buying, where the shares above count transactions (a few heavy buyers can make them). :data:`FIRST_LATE` (matched
    with :data:`JOINERS`) is the share of customers first seen in the later half of the span. :data:`PACE` and
    :data:`EARLY_MID` (matched with :data:`TENURE`) say how much those still buying buy, and who goes on buying a third
    earlier.
    """
    x = h.x.astype(np.float64)
    n, total = x.size, max(float(x.sum()), 1.0)
    mean = total / n
    late, mid = float(h.late.sum()) / total, float(h.mid.sum()) / total
    frequent = (h.x >= FREQUENT).astype(np.float64)
    still = frequent * (h.late > 0)
    n_frequent = max(float(frequent.sum()), 1.0)
    share = float(still.sum()) / n_frequent
    active = (h.mid > 0).astype(np.float64)
    kept = active * (h.late > 0)
    n_active = max(float(active.sum()), 1.0)
    persist = float(kept.sum()) / n_active
    start = int(h.first.min()) if n else 0
    new = (h.first > start + (h.end - start) / 2).astype(np.float64)
    first_late = float(new.mean()) if n else 0.0
    every = {"log_mean_repeats": (np.log(mean), (x - mean) / (n * mean)),
             "late_share": (late, (h.late - late * x) / total), "mid_share": (mid, (h.mid - mid * x) / total),
             "frequent_late": (share, (still - share * frequent) / n_frequent),
             PERSISTENCE: (persist, (kept - persist * active) / n_active),
             FIRST_LATE: (first_late, (new - first_late) / max(n, 1))}
    if PACE in extra:
        ratio, influence = pace(h, (h.mid > 0) & (h.late > 0))
        every[PACE] = (0.0 if math.isnan(ratio) else ratio, influence)
    if EARLY_MID in extra:
        first = (x - h.mid - h.late > 0).astype(np.float64)
        went_on = first * (h.mid > 0)
        n_first = max(float(first.sum()), 1.0)
        share_on = float(went_on.sum()) / n_first
        every[EARLY_MID] = (share_on, (went_on - share_on * first) / n_first)
    return np.array([every[k][0] for k in extra]), np.stack([every[k][1] for k in extra], axis=1)


def first_late_gap(data: Histories, sim: Histories) -> float:
    """SEs by which the log ``data``'s :data:`FIRST_LATE` runs above the simulated log ``sim``'s.

    The data's SE comes from each customer's influence, as the matched statistics' (:func:`observed`); the simulated
    log's noise is added by indirect inference's factor (:func:`simulation_factor`).
    """
    value, influence = extra_statistics(data, (FIRST_LATE,))
    simulated = extra_statistics(sim, (FIRST_LATE,))[0][0]
    se = math.sqrt(float(influence[:, 0] @ influence[:, 0]) * simulation_factor(data.n, sim.n))
    return float((value[0] - simulated) / se) if se > 0 else 0.0


def _distance(resid: np.ndarray, weight: np.ndarray) -> float:
    return float(resid @ weight @ resid)


def _row(it: int, names: tuple[str, ...], theta: np.ndarray, d: float) -> dict[str, float]:
    return {"iteration": it, **{n: math.exp(v) for n, v in zip(names, theta)}, "distance": d}


def scenario_value(scenario: Scenario, dotted: str) -> float:
    """The value of the parameter at ``dotted`` (e.g. ``population.cycle_sigma``) in ``scenario``."""
    obj = scenario
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return float(obj)


def simulation_factor(n: int, n_sim: int, leverage: float = 1.0) -> float:
    """``1 + leverage n / n_sim``: how much the simulated statistics' own noise adds to the data's.

    Indirect inference's factor; ``leverage`` (:attr:`Found.leverage`) when they average several simulations.
    """
    return 1.0 + leverage * n / max(n_sim, 1)


def sandwich_covariance(jac: np.ndarray, weight: np.ndarray, sigma: np.ndarray, factor: float,
                        prior: Anchor | None = None) -> np.ndarray:
    """(J'WJ)^-1 J'W Sigma W J (J'WJ)^-1 times the simulation ``factor``: the log parameters' covariance.

    The factor is the simulated statistics' noise; a ``prior``'s anchored values have none, so their block of Sigma
    is the prior's covariance over ``factor`` here, whatever the factor its weight was set with (:class:`.Anchor`):
    the estimator's spread when the prior's mean is another log's estimate, as noisy as that log's fit says.
    """
    if prior is not None:
        k = len(prior.index)
        sigma = np.array(sigma, np.float64)
        sigma[-k:, -k:] = prior.covariance / factor
    bread = np.linalg.pinv(jac.T @ weight @ jac)
    return bread @ jac.T @ weight @ sigma @ weight @ jac @ bread * factor


EDGE = 0.01
"""How near a range's end, in log units, a fitted value counts as at it (:func:`interior`, :func:`range_end`)."""


def interior(theta: np.ndarray, names: tuple[str, ...], margin: float = EDGE) -> bool:
    """Whether log values ``theta`` lie inside :func:`log_box` by ``margin``: a fit at a range's end is no minimum.

    On CDNOW panels searches across the fit (``--basins``) twice ended with dropout, its spread and the lapse all
    at their upper ends and passed the misfit test; the engine's logs stop changing there, so the criterion is
    flat rather than least, and its sandwich is meaningless.
    """
    return all(_end(n, float(t), margin) is None for n, t in zip(names, theta))


def range_end(name: str, value: float) -> str | None:
    """``"lower"`` or ``"upper"`` when a fitted ``value`` lies at that end of ``name``'s range (:data:`LIMITS`).

    A fit there is no minimum (:func:`interior`): the search stopped at the box's edge, where the criterion is
    flat, and a slope taken across the edge is cut, so the sandwich's SE means nothing (it can come out 0).
    """
    return _end(name, math.log(value), EDGE) if value > 0 else "lower"


def _end(name: str, t: float, margin: float) -> str | None:
    lo, hi = (math.log(x) if x > 0 else -math.inf for x in LIMITS[name])
    return "lower" if t <= lo + margin else "upper" if t >= hi - margin else None


def log_box(names: tuple[str, ...]) -> np.ndarray:
    """(2, k) log lower and upper :data:`LIMITS` of ``names``: the box the search and refits keep to."""
    return np.log([[LIMITS[n][j] for n in names] for j in (0, 1)])


def _jacobian(binding, theta: np.ndarray, b0: np.ndarray, step: float = 0.2) -> np.ndarray:
    """Forward differences of the binding function, in log parameters, with the same random numbers."""
    out = np.empty((b0.size, theta.size))
    for k in range(theta.size):
        t = theta.copy()
        t[k] += step
        out[:, k] = (binding(t)[0] - b0) / step
    return out
