"""Each customer's hidden state given their record, taken from the fitted scenario by simulation.

A customer's record (x repeats, the last at t_x, observed for T days, and, in a CRM record, whether some
channel still reaches them) informs their personal cycle, dropout hazard, need clock, salience, whether
they have left. The posterior of that state is the scenario's own: the engine simulates customers with
the same design as the data (a :class:`Reference`: their records, their true traits and, when the design
keeps it, their state at the end of the log), and a customer takes the state of one of the
:data:`NEIGHBOURS` simulated customers whose records are nearest to theirs (:class:`Posterior`,
:class:`Nearest`), a nearest-neighbour draw from p(state | record) under the scenario. No auxiliary model
stands in between, so the draw follows whatever the engine's records say about its customers (a regular,
cycle-driven history says much more than a Poisson one would).

Records are compared on log(1 + x), log(1 + T - t_x) (days since the last purchase) and log(1 + T), each
scaled by its spread among the simulated customers; customers known to be gone or reachable are matched
only with simulated customers of the same status.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial import cKDTree

from experiments.calibrate.fit import Design, simulate_design, window_histories
from experiments.calibrate.history import Histories
from experiments.calibrate.simulate import pool_simulation, purchases
from sim.config import Scenario
from sim.rng import purpose
from sim.state import HIDDEN, TRAITS, State, generate

P_POSTERIOR = purpose("posterior", 30)
"""Stream purpose of the reference simulation's seed and of the neighbour picks."""
REFERENCE_POOL = 80_000
"""The smallest reference: simulated customers whose records the log's customers are matched with. An existing pool's
reference is drawn once and shared by a forecast's replicates, so its noise does not average out over them (a new
cohort's replicates each take one with a seed of their own): at the fit's pool
(10,000 for a CDNOW panel of 2,357) a panel's 39-week forecast moved with the seed by 1.9 points (sd over six seeds),
at 80,000 by 0.6 (docs/calibration.md, "Simulation seeds"). A reference for each replicate costs nothing more
with the parameter draws, which gave each one already, and makes a forecast at the estimates about six times as
long (docs/calibration.md, "A reference for each replicate")."""
COPIED = tuple(n for n in TRAITS if n not in ("value", "cycle", "dropout")) + HIDDEN
"""Fields a customer takes from the simulated customer drawn for them when the reference keeps its state:
every trait but their own order value and the rescaled cycle and dropout, and the hidden state."""
NEIGHBOURS = 10
"""Simulated customers with the nearest records among which a customer's traits are drawn."""
JITTER = 0.02
"""Half-width of the uniform jitter (in spreads of each feature) that breaks ties among equal records at random."""


def seed_of(seed: int, *words: int) -> int:
    """A seed for the purpose :data:`P_POSTERIOR` derived from ``seed`` and ``words`` (a hash: not ``seed`` itself)."""
    return int(np.random.SeedSequence([seed, P_POSTERIOR, *words]).generate_state(1)[0])


def rng_of(seed: int, *words: int) -> np.random.Generator:
    """The generator of the neighbour picks for ``seed`` and ``words``."""
    return np.random.default_rng(np.random.SeedSequence([seed, P_POSTERIOR, 1, *words]))


def features(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(n, 3) record features: log(1 + x), log(1 + days since the last purchase), log(1 + T)."""
    x = np.asarray(x, np.float64)
    t_x, T = np.asarray(t_x, np.float64), np.asarray(T, np.float64)
    return np.column_stack([np.log1p(x), np.log1p(np.maximum(T - t_x, 0.0)), np.log1p(np.maximum(T, 0.0))])


@dataclass(frozen=True)
class Reference:
    """Simulated customers of a scenario: their records and their true traits (cycle in days, dropout per day).

    ``alive`` is their status when the data tell it (a CRM record's reach), else None. ``cycle_median`` and
    ``cycle_sigma`` are the scenario's population values, from which drawn cycles are rescaled to another
    draw of the parameters (:meth:`Posterior.traits`); ``dropout_scale`` (the mean, per year) and
    ``dropout_sigma`` likewise for the dropout hazard.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    cycle: np.ndarray
    dropout: np.ndarray
    cycle_median: float
    cycle_sigma: float
    dropout_scale: float
    dropout_sigma: float
    alive: np.ndarray | None = None
    state: State | None = None
    """Their whole state at the end of the log (an existing pool) or of their own span (a new cohort), or None."""

    @property
    def n(self) -> int:
        """Simulated customers."""
        return int(self.cycle.size)


def reference_log(scenario: Scenario, h: Histories, seed: int, cohort: str = "auto", *words: int) -> Reference:
    """The customers an engine log of ``scenario`` with ``h``'s design shows (:func:`simulate_design`).

    At least :data:`REFERENCE_POOL` of them, or the fit's pool where that is larger. The simulation's seed is derived
    from ``seed`` and ``words`` (:func:`seed_of`), so a log the engine wrote with ``seed`` is never its own
    reference. Each simulated customer's state is kept where their record ends: at the end of the log for an existing
    pool, at the end of their own span for a new cohort (whose customers start together and are followed for spans
    drawn from the log's).
    """
    design = Design.of(h, cohort, REFERENCE_POOL)
    ref_seed = seed_of(seed, *words)
    pop = scenario.population
    if design.new:  # each customer's log ends at their own span, their state kept there
        log = simulate_design(scenario, design, ref_seed, keep_state=True)
        g, state = log.histories, log.state
        rows = np.array(g.ids, dtype=np.int64)
        drawn = generate(scenario, design.pool, ref_seed)
    else:  # as simulate_design, keeping the pool's state at the end of the log
        sim = pool_simulation(scenario, design.pool, ref_seed)
        rows, _, _, g = window_histories(*purchases(sim, design.days), design)
        drawn = sim.state
        state = State(*(getattr(drawn, f.name)[rows].copy() for f in fields(State)))
    return Reference(g.x, g.t_x, g.T, drawn.cycle[rows].astype(np.float64), drawn.dropout[rows].astype(np.float64),
                     pop.cycle_median_days, pop.cycle_sigma, pop.dropout_per_year, pop.dropout_sigma, None, state)


class Nearest:
    """Draws, for each query, one of the :data:`NEIGHBOURS` reference rows with the nearest features.

    Features are scaled by their spread among the reference rows; with a ``status`` the query is matched only
    with reference rows of the same status (among all of them when none has it). Records are discrete, so
    many are equal: reference and query features get a uniform jitter of :data:`JITTER` (the reference's
    fixed, from ``seed``; a query's drawn anew each time), so that a query picks among all the equal
    records at random rather than always the same :data:`NEIGHBOURS` of them.
    """

    def __init__(self, f: np.ndarray, status: np.ndarray | None = None, neighbours: int = NEIGHBOURS,
                 seed: int = 0) -> None:
        f = np.asarray(f, np.float64)
        if f.shape[0] == 0:
            raise ValueError("posterior: the reference simulation shows no customer")
        sd = f.std(axis=0)
        self.scale = np.where(sd > 0, sd, 1.0)
        f = f / self.scale + rng_of(seed, 2).uniform(-JITTER, JITTER, f.shape)
        self.k = int(neighbours)
        everyone = np.arange(f.shape[0])
        self.groups = {None: (everyone, cKDTree(f))}
        if status is not None:
            for s in (False, True):
                rows = np.flatnonzero(np.asarray(status, bool) == s)
                self.groups[s] = (rows, cKDTree(f[rows])) if rows.size else self.groups[None]

    def draw(self, f: np.ndarray, rng: np.random.Generator, status: np.ndarray | None = None) -> np.ndarray:
        """One reference row per query row of ``f`` (matched within ``status`` when the reference has one)."""
        f = np.asarray(f, np.float64).reshape(-1, self.scale.size) / self.scale
        n = f.shape[0]
        f = f + rng.uniform(-JITTER, JITTER, f.shape)
        out = np.empty(n, np.int64)
        u = rng.random(n)
        if status is None or len(self.groups) == 1:
            parts = [(np.arange(n), self.groups[None])]
        else:
            status = np.asarray(status, bool)
            parts = [(np.flatnonzero(status == s), self.groups[s]) for s in (False, True)]
        for who, (rows, tree) in parts:
            if who.size == 0:
                continue
            k = min(self.k, rows.size)
            _, idx = tree.query(f[who], k=k)
            idx = np.asarray(idx).reshape(who.size, k)
            out[who] = rows[idx[np.arange(who.size), (u[who] * k).astype(np.int64)]]
        return out


class Posterior:
    """Draws of customers' traits from their nearest simulated records (built once, drawn per replicate)."""

    def __init__(self, ref: Reference, neighbours: int = NEIGHBOURS, seed: int = 0) -> None:
        self.ref = ref
        self.nearest = Nearest(features(ref.x, ref.t_x, ref.T), ref.alive, neighbours, seed)

    def draw(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, rng: np.random.Generator,
             alive: np.ndarray | None = None) -> np.ndarray:
        """One simulated customer (a row of the reference) per customer, among the nearest records.

        ``alive`` (when the reference has a status) matches each customer within their status.
        """
        return self.nearest.draw(features(x, t_x, T), rng, alive)

    def traits(self, scenario: Scenario, pick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cycle in days, dropout per day) of the picked simulated customers, for ``scenario``'s parameters.

        When ``scenario`` draws its population parameters away from the reference's (the forecast's parameter
        uncertainty), a cycle keeps its standardized position: log c' = log m' + (log c - log m) s' / s; so does
        a dropout hazard, drawn as mean x exp(s z - s^2 / 2) (:func:`sim.state.mean_one_lognormal`): its z is
        kept and the mean and spread are the scenario's. With a reference spread of 0 the hazard only scales.
        """
        ref, pop = self.ref, scenario.population
        lc = np.log(ref.cycle[pick])
        m0, m1 = np.log(ref.cycle_median), np.log(pop.cycle_median_days)
        ratio = pop.cycle_sigma / ref.cycle_sigma if ref.cycle_sigma > 0 else 1.0
        cycle = np.exp(m1 + (lc - m0) * ratio)
        return cycle, rescaled_dropout(ref.dropout[pick], ref.dropout_scale / 365.0, ref.dropout_sigma,
                                       pop.dropout_per_year / 365.0, pop.dropout_sigma)

    def hidden(self, pick: np.ndarray) -> State | None:
        """The state of the picked simulated customers at the end of the log (None when the reference has none)."""
        st = self.ref.state
        return None if st is None else State(*(getattr(st, f.name)[pick] for f in fields(State)))


def rescaled_dropout(dropout: np.ndarray, mean0: float, sigma0: float, mean1: float, sigma1: float) -> np.ndarray:
    """Dropout hazards drawn with mean ``mean0`` and log-sd ``sigma0``, moved to ``mean1`` and ``sigma1``.

    Each keeps its standard-normal position z = (log(d / mean0) + sigma0^2 / 2) / sigma0 (the engine's draw,
    :func:`sim.state.mean_one_lognormal`); hazards and means in one unit. A reference mean or spread of 0
    carries no position: the hazard is scaled by the ratio of the means (or kept). Unchanged parameters
    return the hazards as they are.
    """
    d = np.asarray(dropout, np.float64)
    if mean1 == mean0 and sigma1 == sigma0:
        return d
    if mean0 <= 0 or sigma0 <= 0 or np.any(d <= 0):
        return d * (mean1 / mean0 if mean0 > 0 else 1.0)
    z = (np.log(d / mean0) + 0.5 * sigma0 * sigma0) / sigma0
    return mean1 * np.exp(sigma1 * z - 0.5 * sigma1 * sigma1)
