"""``siyu forecast``: the log's own customers, each conditioned on their history, simulated past the calibration end.

For each replicate every customer's hidden state is drawn from its posterior given their history under
the scenario itself: that of a simulated customer with a near record in an engine log with the cohort's
design (:mod:`~experiments.calibrate.posterior`): their whole state at the end of the log (an existing pool)
or of their own span (a new cohort), cycle and dropout rescaled to the replicate's parameters. (A new
cohort's took only the cycle and dropout until 2026-12-04 and played the silence since the last purchase
with the engine's formulas, :func:`sim.seeding.silent_period`, from the population's draw of the rest:
deal memory twice the truth for frequent buyers; docs/calibration.md.)
Their record (first and last purchase, frequency, spend, usual order value) is their own
(:func:`sim.seeding.from_histories`). The engine then runs without contacts, or under a contact plan;
replicates give the bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from scipy.stats import norm, qmc

from experiments.calibrate.contact_fit import LIMITS as CONTACT_LIMITS
from experiments.calibrate.contact_fit import parameter_value
from experiments.calibrate.draws import Draws
from experiments.calibrate.exchangeable import cells, pooled, pooled_per_unit
from experiments.calibrate.fit import LIMITS, Calibration, Design, refuse_tenure, scenario_value
from experiments.calibrate.history import Histories
from experiments.calibrate.posterior import COPIED, Posterior, reference_log, rng_of
from experiments.calibrate.simulate import purchases
from sim.config import Scenario, apply_overrides
from experiments.logs.contacts import Contacts
from policies.replay import Replay
from sim.defaults import A4, A5, ACTIVE, EVENING
from sim.engine import Simulation
from sim.seeding import from_histories
from sim.state import State

BAND = (0.05, 0.95)
"""Quantiles of the replicates' cumulative repeat transactions that bound the forecast band."""
MIN_BAND_REPLICATES = 19
"""Replicates from which the 90% band holds one more realisation 90% of the time (:func:`band`)."""
DRAWS_STREAM = 0xD7A5
"""Seed-sequence tag of the picks among :attr:`Uncertainty.draws` (the other draws keep their stream)."""
CONTACT_STREAM = 0xC07A
"""Seed-sequence tag of the contact-response draws (:func:`draw_contacts`): the population's draws and the
customers' picks keep their stream, so a forecast with and without the redraw differ by it alone."""
STRATA_STREAM = 0x57A7
"""Seed-sequence tag of the stratified normals of the fitted parameters' joint draws (:func:`stratified_normals`)."""
BAND_RULE = "weibull"
"""numpy's quantile rule of the band: the p quantile at order statistic p (n + 1) of n replicates (:func:`band`)."""


def band_warning(replicates: int) -> str | None:
    """A one-line warning when ``replicates`` are too few for a 90% band (None when they are enough)."""
    if replicates >= MIN_BAND_REPLICATES:
        return None
    held = (replicates - 1) / (replicates + 1)
    return (f"--replicates {replicates}: the 90% band needs at least {MIN_BAND_REPLICATES} replicates; with "
            f"{replicates} it is their range and holds the actual with chance {held:.0%} only")


def band(cum: np.ndarray, method: str = BAND_RULE) -> tuple[np.ndarray, np.ndarray]:
    """The 90% band of ``cum`` (replicates on axis 0): where one more realisation lands 90% of the time.

    The band is a prediction interval for the actual curve, one realisation exchangeable with the replicates
    when the forecast is right. The k-th smallest of n replicates is exceeded by such a draw with chance
    1 - k / (n + 1), so the p quantile sits at order statistic p (n + 1) (numpy's ``weibull`` rule), and the
    band holds the draw with chance 0.95 - 0.05 = 90% for any n >= 19. numpy's default rule puts it at
    1 + p (n - 1): with 20 replicates the band runs from order statistic 1.95 to 19.05 and holds the next draw
    with chance 17.1 / 21 = 81%. With fewer than 19 replicates the band is the replicates' range, which holds
    the draw with chance (n - 1) / (n + 1) only. ``method``: another of numpy's quantile rules, to compare.
    """
    lo, hi = np.quantile(cum, BAND, axis=0, method=method)
    return lo, hi


@dataclass(frozen=True)
class Forecast:
    """Weekly cumulative repeat transactions (mean and band over replicates) and per-customer expectations."""

    weeks: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    replicates: np.ndarray
    """(replicates, weeks) cumulative repeat transactions."""
    expected_transactions: np.ndarray
    expected_spend: np.ndarray
    p_alive: np.ndarray
    """Share of replicates in which the customer is still in the pool at the calibration end."""
    contacts_sent: float = 0.0
    """Contacts of the plan delivered to the engine, per replicate (0 without a plan)."""
    contacts_refused: float = 0.0
    """Contacts of the plan the platform could not deliver (channel lost or cap used up), per replicate."""
    alive_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per replicate, the share of the customers still in the pool at the calibration end."""
    records: int = 0
    """Distinct records over which the per-customer expectations were pooled (0: each customer's own replicates;
    :mod:`~experiments.calibrate.exchangeable`)."""
    chances: bool = False
    """Whether :attr:`expected_transactions` sums each day's purchase chance (on a day the customer is contacted,
    whether they bought) rather than counting the drawn purchases: the same expectation with less of the draws'
    noise (:meth:`sim.engine.Simulation.expect_purchases`)."""

    def total_se(self) -> float:
        """At most the simulation error of the expected total (the replicates' mean at the last week): sd / sqrt(n - 1).

        The replicates draw the parameters from a Latin hypercube (:func:`stratified_normals`), whose mean never has
        more variance than that of n - 1 independent replicates (Owen 1997), and usually far less where the forecast
        answers the parameters near linearly. Where they are loose the replicates' totals spread widely: with
        independent draws the mean of 40 moved by several percent with the seed (CDNOW's master file: 15.3% and 12.3%
        short with 40 and 200 replicates, two forecast seeds).
        """
        last = self.replicates[:, -1]
        return float(last.std(ddof=1) / np.sqrt(last.size - 1)) if last.size > 1 else float("nan")


@dataclass(frozen=True)
class Uncertainty:
    """The fitted parameters' uncertainty that each forecast replicate draws its parameters from.

    ``names`` are drawn jointly, lognormally, from ``log_cov`` (the covariance of their log values, e.g. the
    calibration's bootstrap); every other parameter in ``ses`` independently, lognormally, with that SE. The
    contact-response parameters (``siyu calibrate --contacts``) are drawn the same way from ``contact_names``,
    ``contact_log_cov`` and ``contact_ses``, under a contact plan only (:func:`draw_contacts`).
    """

    ses: dict[str, float] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    log_cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    basins: tuple[Component, ...] = ()
    """The mixture over fits the log cannot tell apart, the scenario's own first (empty: the scenario alone)."""
    draws: Draws | None = None
    """Draws of ``names`` weighed to the quasi-posterior (``siyu calibrate --draws``): when given, each replicate
    takes one, picked by weight, in place of the normal draws and the mixture."""
    contact_ses: dict[str, float] = field(default_factory=dict)
    """SEs of the contact-response values (``channels.X.open_rate``, ``contents.Y.conversion``, ...)."""
    contact_names: tuple[str, ...] = ()
    """The contact-response values drawn jointly from ``contact_log_cov`` (the contact fit's delta method)."""
    contact_log_cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """Covariance of the log of ``contact_names``' values (the contact fit's
    :attr:`~experiments.calibrate.contact_fit.ContactFit.covariance`)."""

    @property
    def has_contacts(self) -> bool:
        """Whether the contact-response parameters have an uncertainty to draw from."""
        return bool(self.contact_ses or self.contact_names)

    @classmethod
    def of(cls, cal: Calibration) -> "Uncertainty":
        """A calibration's: its SEs, and the joint covariance of the parameters matched by indirect inference."""
        if cal.matched is None or cal.covariance is None:
            return cls(dict(cal.ses))
        names, cov = cal.matched.names, np.asarray(cal.covariance)
        if cal.draws is not None:
            return cls(dict(cal.ses), names, cov, draws=cal.draws)
        if not cal.basins:
            return cls(dict(cal.ses), names, cov)
        w = cal.mixture_weights()
        parts = [Component(float(w[0]), {}, cov)]
        parts += [Component(float(wk), b.values(names), b.covariance) for wk, b in zip(w[1:], cal.basins)]
        return cls(dict(cal.ses), names, cov, tuple(parts))

    def components(self) -> tuple[Component, ...]:
        """The mixture's parts (one, the scenario's own, without basins or with draws)."""
        return self.basins if self.basins and self.draws is None else (Component(1.0, {}, self.log_cov),)

    def of_component(self, part: Component) -> "Uncertainty":
        """The draws around one part of the mixture (the contact-response parameters' are the same in each)."""
        return replace(self, log_cov=part.log_cov, basins=())


@dataclass(frozen=True)
class Component:
    """One fit in the forecast's mixture: its weight, the values it sets (none: the scenario's), its covariance."""

    weight: float
    values: dict[str, float]
    log_cov: np.ndarray


def contact_draws(errors: Uncertainty) -> str:
    """How each replicate draws the contact-response parameters of ``errors``, in words (``siyu forecast`` says it)."""
    joint = len(errors.contact_names)
    alone = sum(1 for n in errors.contact_ses if n not in errors.contact_names)
    parts = [f"{joint} jointly from the covariance of their logs"] if joint else []
    parts += [f"{alone} independently from {'its' if alone == 1 else 'their'} SE"] if alone else []
    return ", ".join(parts)


def stratified_normals(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` standard normal vectors of ``d`` coordinates, each coordinate stratified (a Latin hypercube).

    Each coordinate takes one value in each of ``n`` equal-probability slices of the normal, in random order, and each
    vector alone is a standard normal draw. The forecast draws its replicates' parameters from them: the replicates'
    mean then carries next to none of the noise of the forecast's near-linear response to the parameters (a CDNOW
    panel's 40-replicate total moved 1.9% with the seed, against 3.0% with independent draws; docs/calibration.md).
    """
    if n == 0 or d == 0:
        return np.zeros((n, d))
    return norm.ppf(qmc.LatinHypercube(d=d, rng=rng).random(n))


def allocate(weights: list[float] | np.ndarray, replicates: int) -> np.ndarray:
    """Replicates per mixture part in proportion to ``weights`` (largest remainders): the mix is not left to chance."""
    w = np.asarray(weights, np.float64) / float(np.sum(weights))
    raw = w * replicates
    n = np.floor(raw).astype(np.int64)
    n[np.argsort(-(raw - n), kind="stable")[: replicates - int(n.sum())]] += 1
    return n


def forecast(scenario: Scenario, h: Histories, days: int, replicates: int = 100, seed: int = 0,
             cohort: str = "auto", errors: Uncertainty | None = None, plan: Replay | None = None,
             pool: bool = True, chances: bool = True) -> Forecast:
    """Simulate the customers of ``h`` for ``days`` days after its calibration end, ``replicates`` times.

    ``errors`` (the fitted parameters' uncertainty) puts it in the band: each replicate draws the parameters around the
    scenario's values (:class:`Uncertainty`), each part of a mixture's replicates from a Latin hypercube of their own
    (:func:`stratified_normals`), so that the mean is steadier than independent draws' and the band no narrower. A new
    cohort's customers are conditioned on their histories under the parameters the replicate drew (a reference
    simulation of its own, with its own seed, so that its noise averages over the replicates; their silence used to be
    played under each draw); an existing pool's under the scenario's values, the cycle and dropout rescaled to the draw:
    conditioned under each draw too, its bands held the truth in 77% of the weeks against 89% on 19 engine logs
    (docs/calibration.md). ``plan`` (:func:`plan_policy`) contacts the customers as a contact plan says; without one
    nobody is contacted. Under a plan each replicate also draws the contact-response parameters of ``errors``
    (:func:`draw_contacts`), from a stream and a hypercube of their own: without a plan they act on nothing, and the
    conditioning (a simulation without contacts) does not depend on them. Each customer's expected transactions sum
    their daily purchase chances, and on a day the plan contacts them whether they bought (:attr:`Forecast.chances`;
    ``chances`` False: count the drawn purchases). ``pool`` averages each customer's expectations with those of the
    customers the forecast cannot tell apart (:mod:`~experiments.calibrate.exchangeable`; not under a plan that contacts
    anyone). The weekly curve and band are the same either way.
    """
    contacted = plan is not None and plan.customer.size > 0  # an empty plan is no plan
    labels = cells(h, scenario, contacted) if pool else None
    errors = errors or Uncertainty()
    parts = errors.components()
    bases = [apply_overrides(scenario, part.values, "basin") if part.values else scenario for part in parts]
    posts: dict[int, Posterior] = {}  # each part's reference at its scenario's values, built when first needed

    def part_posterior(k: int) -> Posterior:
        if k not in posts:
            posts[k] = Posterior(reference_log(bases[k], h, seed, cohort), seed=seed)
        return posts[k]

    design = Design.of(h, cohort)
    if scenario.dynamics.tenure_fade > 0:
        refuse_tenure(design, "forecast with a tenure fade")
    new = design.new
    which = np.repeat(np.arange(len(parts)), allocate([part.weight for part in parts], replicates))
    weeks = (days + 6) // 7
    cum = np.zeros((replicates, weeks))
    tx = np.zeros(h.n)
    spend = np.zeros(h.n)
    alive = np.zeros(h.n)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    picks = errors.draws.pick(replicates, rng_of(seed, DRAWS_STREAM)) if errors.draws is not None else None
    strata = rng_of(seed, STRATA_STREAM)
    z = np.zeros((replicates, len(errors.names)))
    for k in range(len(parts)):  # each part's replicates a Latin hypercube of their own
        rows = np.flatnonzero(which == k)
        z[rows] = stratified_normals(rows.size, len(errors.names), strata)
    contact_rng = rng_of(seed, CONTACT_STREAM) if plan is not None and errors.has_contacts else None
    contact_z = (stratified_normals(replicates, len(errors.contact_names), contact_rng)
                 if contact_rng is not None else None)
    sent = refused = 0
    shares = np.zeros(replicates)
    for r in range(replicates):
        k = int(which[r])
        drawn = errors.draws.value(int(picks[r])) if picks is not None else None
        scenario = draw_scenario(bases[k], errors.of_component(parts[k]), rng, drawn, z[r])
        # a new cohort is conditioned under the parameters this replicate drew on a reference of its own, with a
        # seed of its own so that the references' noise averages over the replicates; an existing pool under the
        # part's (cycle and dropout rescaled to the draw below)
        post = Posterior(reference_log(scenario, h, seed, cohort, r), seed=seed) if new else part_posterior(k)
        if contact_rng is not None:
            scenario = draw_contacts(scenario, errors, contact_rng, contact_z[r])
        sim_seed = seed * 100_003 + r
        pick = post.draw(h.x, h.t_x, h.T, rng)
        cycle, dropout = post.traits(scenario, pick)
        st = conditioned_state(scenario, h, cycle, dropout, sim_seed, hidden=post.hidden(pick))
        now = st.status[: h.n] == ACTIVE
        alive += now
        shares[r] = now.mean()
        sim = Simulation(scenario, customers=h.n, seed=sim_seed, state=st, inflow=False)
        summed = sim.expect_purchases() if chances else None
        cust, day, amount = purchases(sim, days, plan)
        if plan is not None:
            sent += plan.sent
            refused += plan.refused
        cum[r] = np.cumsum(np.bincount(day // 7, minlength=weeks)[:weeks])
        tx += np.bincount(cust, minlength=h.n) if summed is None else summed[: h.n]
        spend += np.bincount(cust, weights=amount, minlength=h.n)
    lo, hi = band(cum)
    tx, spend, alive = tx / replicates, spend / replicates, alive / replicates
    if labels is not None:
        tx, alive = pooled(tx, labels), pooled(alive, labels)
        spend = pooled_per_unit(spend, h.order_value, labels)
    return Forecast(np.arange(1, weeks + 1), cum.mean(axis=0), lo, hi, cum, tx, spend, alive, sent / replicates,
                    refused / replicates, shares, 0 if labels is None else int(labels.max()) + 1, chances)


def conditioned_state(scenario: Scenario, h: Histories, cycle: np.ndarray, dropout: np.ndarray, seed: int,
                      alive: np.ndarray | None = None, hidden: State | None = None) -> State:
    """One draw of the customers of ``h``, each conditioned on their history, as of the day after ``h.end`` (day 0).

    ``cycle`` (days) and ``dropout`` (per day) are their hidden traits, drawn from the posterior given their
    record (:class:`~experiments.calibrate.posterior.Posterior`); the record and usual order value are the
    customer's own; the silence since the last purchase is played with the engine's formulas. ``alive``
    False marks customers known to have left (default: none; the silent period decides). ``hidden``: the
    state of the simulated customers drawn for them at the end of the log; when given, its
    :data:`~experiments.calibrate.posterior.COPIED` fields (hidden state, status included, and other
    traits) replace the silent period's.
    """
    st = from_histories(scenario, seed, cycle, dropout, np.zeros(h.n), (h.first - h.end - 1).astype(np.int64),
                        (h.last - h.end - 1).astype(np.int64), h.x + 1, h.spend,
                        np.ones(h.n, bool) if alive is None else alive)
    if hidden is not None:
        for name in COPIED:
            getattr(st, name)[:] = getattr(hidden, name)
        st.reach[:] = np.where(st.status == ACTIVE, st.reach, 0)
        st.stage[:] = np.where((st.frequency >= 2) & (st.trust >= scenario.dynamics.advocate_trust), A5, A4)
    value = h.order_value
    st.value[:] = np.where(np.isnan(value), st.value, value)
    return st


def plan_policy(contacts: Contacts, end: int) -> Replay:
    """The :class:`~policies.replay.Replay` of a contact plan read for the days after ``end`` (the calibration end).

    Control rows (``content = none``) contact nobody; a row without a slot is sent in the evening.
    """
    send = contacts.content >= 0
    slot = np.where(contacts.slot >= 0, contacts.slot, EVENING)
    return Replay(contacts.customer[send], contacts.day[send] - end - 1, contacts.channel[send],
                  contacts.content[send], slot[send])


def draw_scenario(scenario: Scenario, errors: Uncertainty, rng: np.random.Generator,
                  drawn: dict[str, float] | None = None, z: np.ndarray | None = None) -> Scenario:
    """``scenario`` with the parameters of ``errors`` drawn lognormally, their medians at the scenario's values.

    ``drawn``: values already drawn (one of :attr:`Uncertainty.draws`); the others are drawn as below. ``z``: the
    standard normals behind the joint draw of :attr:`Uncertainty.names`, one per name (a row of
    :func:`stratified_normals`; None: drawn from ``rng``).

    The fit estimates log values and its errors are theirs, so the draws are centred where the estimates are:
    keeping the mean instead would put the typical draw at exp(-SE^2/2) of the estimate, 2% of it for a dropout
    rate with a log-scale SE of 2.8 (a CDNOW panel), and the forecast would be that of another fit. A draw outside
    the fit's :data:`~experiments.calibrate.fit.LIMITS` (a wide spread's upper tail, say) is clipped to them: the
    scenario would refuse it.
    """
    if not errors.ses and not errors.names and not drawn:
        return scenario
    over = dict(drawn or {})
    _draw_lognormal(scenario, scenario_value, errors.ses, errors.names, errors.log_cov, rng, over, z)
    for path, (lo, hi) in LIMITS.items():
        if path in over:
            over[path] = min(max(over[path], lo), hi)
    return apply_overrides(scenario, over, "forecast uncertainty")


def draw_contacts(scenario: Scenario, errors: Uncertainty, rng: np.random.Generator,
                  z: np.ndarray | None = None) -> Scenario:
    """``scenario`` with the contact-response parameters of ``errors`` drawn as :func:`draw_scenario` draws the rest.

    Jointly lognormal from :attr:`Uncertainty.contact_log_cov` (independently from the SE where a value has no
    covariance), medians at the scenario's values (the fit's estimates), clipped to the contact fit's search range
    :data:`~experiments.calibrate.contact_fit.LIMITS`, inside the scenario's [0, 1] for these probabilities: an open
    rate's upper tail past 1 would be refused.
    """
    if not errors.has_contacts:
        return scenario
    over: dict[str, float] = {}
    _draw_lognormal(scenario, parameter_value, errors.contact_ses, errors.contact_names, errors.contact_log_cov,
                    rng, over, z)
    for path in over:
        lo, hi = CONTACT_LIMITS[path.rsplit(".", 1)[1]]
        over[path] = min(max(over[path], lo), hi)
    return apply_overrides(scenario, over, "forecast contact-response uncertainty")


def _draw_lognormal(scenario: Scenario, value_of: Callable[[Scenario, str], float], ses: dict[str, float],
                    names: tuple[str, ...], log_cov: np.ndarray, rng: np.random.Generator,
                    over: dict[str, float], z: np.ndarray | None = None) -> None:
    """Put lognormal draws around the values of ``scenario`` (read by ``value_of``) into ``over``.

    ``names`` jointly from ``log_cov`` (from the standard normals ``z``, one per name, when given), then each other
    parameter of ``ses`` (in name order) with log-scale SD SE / value; parameters already in ``over``, and values at
    or below 0 (no log), are left alone.
    """
    joint = [n for n in names if n not in over and value_of(scenario, n) > 0]
    if joint:
        keep = [names.index(n) for n in joint]
        cov = log_cov[np.ix_(keep, keep)]
        if z is None:
            step = rng.multivariate_normal(np.zeros(len(keep)), cov, method="eigh")
        else:
            s, v = np.linalg.eigh(cov)
            step = v @ (np.sqrt(np.clip(s, 0.0, None)) * np.asarray(z)[keep])
        over.update({n: value_of(scenario, n) * float(np.exp(step[k])) for k, n in enumerate(joint)})
    for path, se in sorted(ses.items()):
        v = value_of(scenario, path)
        if path not in names and path not in over and v > 0 and se > 0:
            over[path] = v * float(np.exp(rng.normal() * se / v))
