"""``siyu calibrate --contacts``: the contact-response parameters fitted to a contact log by indirect inference.

The response to a message has no closed-form likelihood in the engine (opens move with salience, fatigue
and timing; a purchase needs an open, a need and trust; unsubscribes grow with fatigue), so the fit is by
indirect inference, as the transaction fit (:mod:`~experiments.calibrate.fit`): the auxiliary statistics
are the log's measured responses (:func:`~experiments.calibrate.contact_response.responses_of`): the open
share and the unsubscribes per message of each channel, the extra purchases within 14 days per message of
each (channel, content) against the control rows. The engine reproduces the same design: a pool drawn from
the base scenario (the one fitted to the transactions) plays the log's span; :data:`copies <SIM_RATIO>`
of each contacted customer's rows are replayed with the :class:`~policies.replay.Replay` policy on simulated
customers conditioned on the log's targeting (:mod:`~experiments.calibrate.contact_match`: matched to
the customer's record of orders when the brand first picked them, sent at the slot the brand would pick for
them, since a brand that targets writes to customers unlike a random draw), the control rows are held out
the same way (counted when the channel could reach the customer that day), and the rows of simulated
customers without an order in the span are left out, as the log reader leaves out contacts of customers who
never ordered. Damped
Gauss-Newton with common random numbers moves the named parameters until the simulated statistics agree
with the log's in the metric of their variances.

Standard errors: the covariance Sigma of the log's statistics comes from a bootstrap over customers (a
customer's rows resampled together: repeated contacts of one customer and the shared control group make
the statistics correlated, which the per-day standard errors ignore); the parameters' covariance is the
delta method through the Jacobian J at the estimate, (J'WJ)^-1 J'W Sigma W J (J'WJ)^-1 (1 + 1/copies),
the last factor the simulation's own noise (Gourieroux, Monfort and Renault 1993).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from experiments.calibrate.contact_match import brand_timing, matched_rows, orders_before
from experiments.calibrate.contact_response import ALL, LogResponse, responses_of, window_purchases
from experiments.calibrate.history import daily
from experiments.logs.contacts import Contacts
from experiments.logs.export import OrderTracker
from experiments.logs.transactions import Transactions
from experiments.response import WINDOW_DAYS
from policies.replay import Replay
from sim.config import Scenario, apply_overrides
from sim.defaults import CHANNELS, CONTENTS, EVENING, FLAG_OPENED, FLAG_UNSUBSCRIBED
from sim.engine import Simulation
from sim.observation import Action, Observation
from sim.protocol import Policy
from sim.rng import P_POLICY, uniforms

MIN_CONTACTS = 200
"""Messages a channel (for its open share and unsubscribes) or a (channel, content) (for its lift) needs."""
MIN_CONTROLS = 100
"""Control rows, on the days a content was sent alone on its channel, that its lift needs."""
MIN_EVENTS = 10
"""Opens or unsubscribes a channel's log needs for the rate to be fitted (fewer: the log cannot tell it from 0)."""
SIM_RATIO = 2
"""Simulated customers per contacted customer of the log (at least :data:`MIN_SIM` rows in all)."""
MIN_SIM, MAX_SIM = 20_000, 400_000
MAX_LOG_SE = 0.7
"""A fitted value whose log has a larger SE (a 90% interval wider than a factor 3 each way) is reported as weakly
identified and the base value kept: on 5,000-customer engine logs such conversions missed the truth far more often
than their intervals said (docs/calibration.md)."""
ITERATIONS = 8
DAMPING = 0.01
"""Starting Levenberg-Marquardt damping (times ten after a worse point, a tenth after a better one)."""
STEP = 0.15
"""Forward-difference step of the Jacobian, in log parameters."""
BOOTSTRAP = 100
"""Customer resamples of the log for the covariance of its statistics."""
LIMITS = {"open_rate": (1e-4, 1.0), "unsubscribe_rate": (1e-5, 1.0), "conversion": (1e-4, 1.0)}
"""Search range of each fitted field (the scenario's is [0, 1]; the fit is in logs)."""
UNITS = {"open_rate": "probability", "unsubscribe_rate": "probability", "conversion": "probability"}
NOT_FITTED = ("dynamics.open_floor", "dynamics.fatigue_open_drag", "dynamics.off_window_open")
"""Shape parameters of the responses that stay the base scenario's: the log's shares pin each channel's level,
not how it moves with salience, fatigue or timing."""


@dataclass(frozen=True)
class ContactDesign:
    """A contact log as the engine replays it: one element per row, customers and days counted from the log's."""

    customer: np.ndarray
    """0..n-1, the log's contacted customers (with an order by the calibration end)."""
    day: np.ndarray
    """Days from the log's first order."""
    channel: np.ndarray
    content: np.ndarray
    """-1 for a control row (``content = none``)."""
    slot: np.ndarray
    opened: np.ndarray
    """0/1, -1 when the log has no ``opened`` column."""
    unsubscribed: np.ndarray
    bought: np.ndarray
    """The log's purchases (one a day) in the window from the row's day."""
    n: int
    days: int
    dropped: int
    """Rows left out: a second row of a customer on one day (the engine sends one message a day)."""
    window: int = WINDOW_DAYS
    ids: np.ndarray | None = None
    """The log's id of each customer 0..n-1."""
    opening: np.ndarray | None = None
    """Day of each customer's first row (contact or control): when the brand first picked them."""
    before: np.ndarray | None = None
    """Orders (one a day) of each customer 0..n-1 from the log's first order to the day before their first row:
    their record when the brand first picked them (:mod:`~experiments.calibrate.contact_match`)."""
    last: np.ndarray | None = None
    """Day of the last of those orders, -1 when there is none."""
    timing: np.ndarray | None = None
    """The slot the brand sends at by the customer's last activity
    (:func:`~experiments.calibrate.contact_match.brand_timing`)."""

    @classmethod
    def of(cls, contacts: Contacts, tx: Transactions, end: int, window: int = WINDOW_DAYS) -> "ContactDesign":
        """The rows of ``contacts`` whose window ends by ``end``, on a channel, of customers with an order by then."""
        start = int(tx.day.min())
        ordered = np.bincount(tx.customer[tx.day <= end], minlength=tx.n_customers) > 0
        use = (contacts.day + window - 1 <= end) & (contacts.channel >= 0) & ordered[contacts.customer]
        idx = np.flatnonzero(use)
        idx = idx[np.lexsort((contacts.customer[idx], contacts.day[idx]))]
        first = np.ones(idx.size, bool)
        first[1:] = (np.diff(contacts.day[idx]) != 0) | (np.diff(contacts.customer[idx]) != 0)
        idx = idx[first]
        used, local = np.unique(contacts.customer[idx], return_inverse=True)
        bought = window_purchases(tx, contacts.customer[idx], contacts.day[idx], window).astype(np.float64)
        slot = np.where(contacts.slot[idx] >= 0, contacts.slot[idx], EVENING)
        day = (contacts.day[idx] - start).astype(np.int64)
        opening = np.full(used.size, end - start + 1, np.int64)
        np.minimum.at(opening, local, day)
        cust, when, _ = daily(tx)
        before, last = orders_before(cust, when - start, used, opening)
        timing = brand_timing(contacts.customer[idx], day, slot, contacts.opened[idx], cust, when - start)
        return cls(local.astype(np.int64), day,
                   contacts.channel[idx].astype(np.int64), contacts.content[idx].astype(np.int64),
                   slot.astype(np.int64), contacts.opened[idx].astype(np.int64),
                   contacts.unsubscribed[idx].astype(np.int64), bought, int(used.size), int(end - start + 1),
                   int((~first).sum()), window, tx.ids[used], opening, before, last, timing)

    def responses(self, rows: np.ndarray | None = None) -> list[LogResponse]:
        """The log's measured responses (``rows``: a resample of the rows, by index)."""
        r = slice(None) if rows is None else rows
        return responses_of(self.day[r], self.channel[r], self.content[r], self.opened[r], self.unsubscribed[r],
                            self.bought[r])


@dataclass(frozen=True)
class Statistic:
    """One matched statistic: ``kind`` open, unsubscribe or lift, of a channel (and content, for a lift)."""

    kind: str
    channel: str
    content: str

    @property
    def name(self) -> str:
        """E.g. ``lift wecom/coupon``."""
        return f"{self.kind} {self.channel}" + ("" if self.content == ALL else f"/{self.content}")

    def parameter(self) -> str:
        """The named parameter this statistic mainly moves."""
        if self.kind == "lift":
            return f"contents.{self.content}.conversion"
        return f"channels.{self.channel}.{'open_rate' if self.kind == 'open' else 'unsubscribe_rate'}"

    def value(self, responses: dict[tuple[str, str], LogResponse]) -> float:
        """Its value among ``responses`` (NaN when the cell is missing)."""
        r = responses.get((self.channel, self.content))
        if r is None:
            return float("nan")
        return {"open": r.open_rate, "unsubscribe": r.unsubscribe_rate, "lift": r.incremental_purchase_rate}[self.kind]


@dataclass
class ContactFit:
    """The contact-response fit: named values and standard errors, what is kept and why, and the matching."""

    scenario: Scenario
    values: dict[str, float]
    ses: dict[str, float]
    base_values: dict[str, float]
    fixed: dict[str, str]
    """Parameters the log does not identify, kept at the base scenario's value, with the reason."""
    stats: tuple[Statistic, ...]
    stat_data: np.ndarray
    stat_se: np.ndarray
    stat_sim: np.ndarray
    contacts: int
    controls: int
    customers: int
    sim_customers: int
    dropped: int
    seconds: float
    covariance: np.ndarray | None = None
    """Covariance of the log values of :attr:`values` (in their order)."""
    iterations: list[dict[str, float]] = field(default_factory=list)
    searched: tuple[str, ...] = ()
    """Every parameter the search moved (:attr:`values` less those found weakly identified)."""
    matched: bool = False
    """Whether the replay was conditioned on the log's targeting (:mod:`~experiments.calibrate.contact_match`)."""
    timing: np.ndarray | None = None
    """The brand's timing the replay followed (:attr:`ContactDesign.timing`), None when not conditioned."""

    @property
    def lift_identified(self) -> bool:
        """Whether any purchase lift was matched (the log has control rows where contents went out alone)."""
        return any(s.kind == "lift" for s in self.stats)


def parameter_value(scenario: Scenario, name: str) -> float:
    """The value of ``channels.X.field`` or ``contents.X.field`` in ``scenario``."""
    table, key, attr = name.split(".")
    return float(getattr(getattr(scenario, table)[key], attr))


def select_statistics(responses: list[LogResponse]) -> tuple[tuple[Statistic, ...], dict[str, str]]:
    """The statistics the log identifies, and the parameters it does not with the reason.

    A channel's open share and unsubscribes need :data:`MIN_CONTACTS` messages with the flag and
    :data:`MIN_EVENTS` events; a content's lift needs :data:`MIN_CONTROLS` control rows on the days it went
    out alone on a channel, with :data:`MIN_CONTACTS` messages.
    """
    stats: list[Statistic] = []
    fixed: dict[str, str] = {}
    lifted: set[str] = set()
    sent: set[str] = set()
    for r in responses:
        if r.content == ALL:
            for kind, share in (("open", r.open_rate), ("unsubscribe", r.unsubscribe_rate)):
                s = Statistic(kind, r.channel, ALL)
                if not math.isfinite(share):
                    fixed[s.parameter()] = f"the log has no {'opened' if kind == 'open' else 'unsubscribed'} column"
                elif r.contacted < MIN_CONTACTS or share * r.contacted < MIN_EVENTS:
                    fixed[s.parameter()] = (f"{r.contacted:,} messages and {share * r.contacted:.0f} "
                                            f"{'opens' if kind == 'open' else 'unsubscribes'} on {r.channel}: "
                                            f"too few (at least {MIN_CONTACTS} and {MIN_EVENTS})")
                else:
                    stats.append(s)
        else:
            sent.add(r.content)
            if r.controls >= MIN_CONTROLS and r.contacted >= MIN_CONTACTS and math.isfinite(r.incremental_se):
                stats.append(Statistic("lift", r.channel, r.content))
                lifted.add(r.content)
    for ct in sorted(sent - lifted):
        fixed[f"contents.{ct}.conversion"] = (f"lift not identified: fewer than {MIN_CONTROLS} control rows "
                                              "(content = none) on the days it went out alone on a channel, or "
                                              f"fewer than {MIN_CONTACTS} messages")
    return tuple(stats), fixed


def statistic_vector(stats: tuple[Statistic, ...], responses: list[LogResponse]) -> np.ndarray:
    """The values of ``stats`` among ``responses``."""
    by = {(r.channel, r.content): r for r in responses}
    return np.array([s.value(by) for s in stats], np.float64)


def bootstrap_covariance(design: ContactDesign, stats: tuple[Statistic, ...], replicates: int = BOOTSTRAP,
                         seed: int = 0) -> np.ndarray:
    """Covariance of the log's statistics over resamples of its customers (each with all of their rows)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB0]))
    order = np.argsort(design.customer, kind="stable")
    starts = np.searchsorted(design.customer[order], np.arange(design.n + 1))
    draws = []
    for _ in range(replicates):
        picked = rng.integers(0, design.n, design.n)
        counts = starts[picked + 1] - starts[picked]
        rows = order[np.repeat(starts[picked], counts) + _ranges(counts)]
        v = statistic_vector(stats, design.responses(rows))
        if np.all(np.isfinite(v)):
            draws.append(v)
    if len(draws) < 2:
        raise ValueError("contact fit: the log's statistics could not be resampled (too few customers)")
    return np.atleast_2d(np.cov(np.array(draws), rowvar=False))


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each c of ``counts``, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - counts, counts)


def replay(scenario: Scenario, design: ContactDesign, seed: int, copies: int, balance: bool = True,
           rows: np.ndarray | None = None, customers: int | None = None, timing: np.ndarray | None = None
           ) -> list[LogResponse]:
    """The responses the engine shows under the log's design: ``copies`` simulated customers per log customer.

    A pool of ``customers`` of ``scenario`` (default ``copies * n``; nobody joins) plays the log's days;
    simulated customer ``rows[j, i]`` (default ``i + j * n``: a fresh draw; :func:`matched_rows` for customers
    matched to the log's) gets log customer ``i``'s contacts (:class:`~policies.replay.Replay`: refused when the
    channel cannot reach it that day) and is held out where ``i`` was a control (counted when the channel
    could have reached it). It starts reachable on every channel the log contacted ``i`` on (the log shows
    ``i`` was): drawn reach would leave the copies less contacted, so less fatigued, than the log's
    customers. Rows of customers without an order in the span are left out; with ``balance`` each log
    customer weighs one, shared by its copies that ordered. ``timing`` (the log's
    :attr:`~ContactDesign.timing`): the slot of a row is the simulated customer's own, as the log's brand
    times its messages by the last activity its CRM saw (:class:`~policies.replay.Replay`).

    ``rows`` of shape ``(n,)`` with ``copies = 1`` is a check of the replay: log customer ``i`` on row
    ``rows[i]`` of the pool that wrote the log must give its statistics back.
    """
    n, size = design.n, design.customer.size
    rows = np.arange(copies * n, dtype=np.int64).reshape(copies, n) if rows is None else \
        np.asarray(rows, np.int64).reshape(-1, n)
    if rows.shape[0] != copies:
        raise ValueError(f"replay: rows give {rows.shape[0]} copies of each log customer, copies is {copies}")
    cust = rows[:, design.customer].ravel()
    tile = {k: np.tile(getattr(design, k), copies) for k in ("day", "channel", "content", "slot")}
    send = tile["content"] >= 0
    sim = Simulation(scenario, customers=customers or int(rows.max()) + 1, seed=seed, inflow=False)
    shown = np.zeros(sim.n, np.uint8)  # the log shows each customer reachable on the channels it was contacted on
    np.bitwise_or.at(shown, cust, np.left_shift(1, tile["channel"]).astype(np.uint8))
    sim.state.reach[:sim.n] |= shown
    first = sim.day
    plan = Replay(cust[send], tile["day"][send] + first, tile["channel"][send], tile["content"][send],
                  tile["slot"][send], timing=timing)
    plan.reset(sim.n, seed)
    tracker = OrderTracker(sim)
    by_day = np.argsort(tile["day"], kind="stable")
    bounds = np.searchsorted(tile["day"][by_day], np.arange(design.days + 1))
    live = np.zeros(size * copies, bool)
    flags = np.zeros(size * copies, np.int64)
    order_cust: list[np.ndarray] = []
    order_day: list[np.ndarray] = []
    for t in range(design.days):
        obs = sim.observe()
        today = by_day[bounds[t]:bounds[t + 1]]
        ctrl = today[~send[today]]
        live[ctrl] = ((obs.usable[cust[ctrl]] >> tile["channel"][ctrl]) & 1).astype(bool)
        action = plan.act(obs)
        sim.step(action)
        out = today[send[today]]
        live[out] = action.channel[cust[out]] == tile["channel"][out]
        seen = sim.state.last_contact[cust[out]] == first + t
        flags[out] = np.where(seen, sim.state.last_flags[cust[out]], 0)
        who, _ = tracker.orders()
        order_cust.append(who)
        order_day.append(np.full(who.size, t, np.int64))
    oc, od = np.concatenate(order_cust), np.concatenate(order_day)
    key = np.sort(oc * 10_000_000 + od)
    base = cust * 10_000_000
    bought = (np.searchsorted(key, base + tile["day"] + design.window, "left")
              - np.searchsorted(key, base + tile["day"], "left")).astype(np.float64)
    buyer = np.bincount(oc[oc < sim.n], minlength=sim.n) > 0
    keep = live & buyer[cust]
    known_open = np.tile(design.opened >= 0, copies)
    known_unsub = np.tile(design.unsubscribed >= 0, copies)
    opened = np.where(known_open, (flags & FLAG_OPENED) > 0, -1).astype(np.int64)
    unsub = np.where(known_unsub, (flags & FLAG_UNSUBSCRIBED) > 0, -1).astype(np.int64)
    opened[~send] = unsub[~send] = -1
    weight = np.ones(cust.size)
    if balance:  # each log customer counts once, as in the log: its copies that ordered share it
        kept = buyer[rows].sum(axis=0).astype(np.float64)
        weight = 1.0 / np.maximum(kept[design.customer], 1.0)[np.arange(cust.size) % size]
    return responses_of(tile["day"][keep], tile["channel"][keep], tile["content"][keep], opened[keep], unsub[keep],
                        bought[keep], weight[keep])


def _scenario(base: Scenario, names: tuple[str, ...], theta: np.ndarray) -> Scenario:
    over = {}
    for name, t in zip(names, theta):
        lo, hi = LIMITS[name.rsplit(".", 1)[1]]
        over[name] = float(min(max(math.exp(t), lo), hi))
    return apply_overrides(base, over, "contact fit")


def fit_contacts(contacts: Contacts, tx: Transactions, end: int, base: Scenario, seed: int = 0,
                 iterations: int = ITERATIONS, bootstrap: int = BOOTSTRAP,
                 copies: int | None = None, match: bool = True) -> ContactFit:
    """Fit the contact-response parameters of ``base`` that ``contacts`` identifies (see the module docstring).

    ``base`` should be the scenario fitted to the transactions (its pool is the one the log is replayed on).
    ``copies``: simulated customers per contacted one (default: :data:`SIM_RATIO`, more for a small log).
    ``match``: condition the replay on the log's targeting (:mod:`~experiments.calibrate.contact_match`):
    each log customer's rows go to simulated customers matched to their record when first picked, at the
    slot the log's brand would pick for them; False replays them on a fresh draw at the logged slots, which
    is biased on a targeted log and kept to measure that bias.
    """
    started = time.perf_counter()
    design = ContactDesign.of(contacts, tx, end)
    if design.n == 0:
        raise ValueError("contact fit: no contact row of a customer with an order, with its "
                         f"{WINDOW_DAYS}-day window ending by the calibration end")
    data = design.responses()
    stats, fixed = select_statistics(data)
    k = copies or int(min(max(SIM_RATIO, math.ceil(MIN_SIM / design.n)), max(1, MAX_SIM // design.n)))
    names = tuple(dict.fromkeys(s.parameter() for s in stats))
    base_values = {n: parameter_value(base, n) for n in (*names, *fixed)}
    target = statistic_vector(stats, data)
    summary = dict(contacts=int((design.content >= 0).sum()), controls=int((design.content < 0).sum()),
                   customers=design.n, sim_customers=k * design.n, dropped=design.dropped)
    if not stats:
        return ContactFit(base, {}, {}, base_values, fixed, stats, target, np.zeros(0), np.zeros(0), **summary,
                          seconds=time.perf_counter() - started)
    sigma = bootstrap_covariance(design, stats, bootstrap, seed)
    se = np.sqrt(np.maximum(np.diag(sigma), 1e-18))
    lo, hi = (np.log([LIMITS[n.rsplit(".", 1)[1]][j] for n in names]) for j in (0, 1))
    theta = np.clip(np.log([max(base_values[n], 1e-300) for n in names]), lo, hi)

    rows, pool = matched_rows(base, design.opening, design.before, design.last, design.days, k, seed) if match \
        else (None, None)
    timing = design.timing if match else None

    def binding(t: np.ndarray) -> np.ndarray:
        return np.nan_to_num(statistic_vector(stats, replay(_scenario(base, names, t), design, seed, k, rows=rows,
                                                            customers=pool, timing=timing)))

    history: list[dict[str, float]] = []
    b = binding(theta)
    best = (_distance(target - b, se), theta, b)
    history.append(_row(0, names, theta, best[0]))
    jac = _jacobian(binding, theta, b)
    damping = DAMPING
    step = _step(jac, se, target - b, damping)
    for it in range(1, iterations + 1):
        if np.max(np.abs(step)) < 0.005:
            break
        trial = np.clip(best[1] + step, lo, hi)
        b = binding(trial)
        d = _distance(target - b, se)
        history.append(_row(it, names, trial, d))
        if d < best[0]:
            best = (d, trial, b)
            jac = _jacobian(binding, trial, b)
            damping /= 10.0
        else:  # a worse point: a shorter step, turned towards steepest descent (Levenberg-Marquardt)
            damping *= 10.0
        step = _step(jac, se, target - best[2], damping)
    _, theta, b = best
    w = np.diag(1.0 / se ** 2)
    reach = np.linalg.norm(jac / se[:, None], axis=0)
    flat = ~(reach > 1e-3 * max(float(reach.max()), 1e-300))
    for i in np.flatnonzero(flat):
        fixed[names[i]] = ("weakly identified: no matched statistic moves with it at the estimate; the base value "
                           "is kept")
    keep = np.flatnonzero(~flat)
    sd = np.full(len(names), np.inf)
    while keep.size:  # the weakly identified ones are kept at their base values: the others' errors are given them
        cov = np.full((len(names), len(names)), np.inf)
        j = jac[:, keep]
        bread = np.linalg.pinv(j.T @ w @ j)
        cov[np.ix_(keep, keep)] = bread @ j.T @ w @ sigma @ w @ j @ bread * (1.0 + 1.0 / k)
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        weak = [i for i in keep if not sd[i] <= MAX_LOG_SE]
        if not weak:
            break
        worst = max(weak, key=lambda i: sd[i])
        fixed[names[worst]] = (f"weakly identified: the log leaves the SE of its log at {sd[worst]:.2g} (more "
                               f"than {MAX_LOG_SE}), so the base value is kept; a larger log or more control rows "
                               "would pin it")
        keep = keep[keep != worst]
    values = {names[i]: float(math.exp(theta[i])) for i in keep}
    ses = {names[i]: values[names[i]] * float(sd[i]) for i in keep}
    cov = cov[np.ix_(keep, keep)] if keep.size else np.zeros((0, 0))
    return ContactFit(apply_overrides(base, values, "contact fit"), values, ses, base_values, fixed, stats, target, se,
                      b, **summary, seconds=time.perf_counter() - started, covariance=cov, iterations=history,
                      searched=names, matched=match, timing=timing)


def _distance(resid: np.ndarray, se: np.ndarray) -> float:
    return float(np.sum((resid / se) ** 2))


def _step(jac: np.ndarray, se: np.ndarray, resid: np.ndarray, damping: float) -> np.ndarray:
    """The damped Gauss-Newton (Levenberg-Marquardt) step of the residuals weighted by 1/SE, at most 1 in each log."""
    j, r = jac / se[:, None], resid / se
    a = j.T @ j
    step = np.linalg.solve(a + (damping + 1e-9) * np.diag(np.diag(a) + 1e-12), j.T @ r)
    return np.clip(step, -1.0, 1.0)


def _jacobian(binding, theta: np.ndarray, b0: np.ndarray) -> np.ndarray:
    """Forward differences of the simulated statistics in the log parameters, with the same random numbers."""
    out = np.empty((b0.size, theta.size))
    for k in range(theta.size):
        t = theta.copy()
        t[k] += STEP
        out[:, k] = (binding(t) - b0) / STEP
    return out


def _row(it: int, names: tuple[str, ...], theta: np.ndarray, d: float) -> dict[str, float]:
    return {"iteration": it, **{n: math.exp(v) for n, v in zip(names, theta)}, "distance": d}


class RandomCampaign:
    """A randomised campaign: each day one channel sends one content to a random share of the customers it reaches.

    The design the contact fit is exact for (whom a message goes to does not depend on the customer), used to
    check its recovery on engine logs; ``schedule`` is cycled through day by day.
    """

    kind = "campaign"

    def __init__(self, schedule: tuple[tuple[str, str], ...] = (("wecom", "coupon"), ("sms", "content"),
                                                                 ("wecom", "content"), ("wecom", "new_product")),
                 share: float = 0.3, name: str = "random_campaign") -> None:
        """``schedule``: (channel, content) of each day in turn; ``share``: chance a reachable customer is sent it."""
        self.schedule = tuple((CHANNELS.index(ch), CONTENTS.index(ct)) for ch, ct in schedule)
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1], got {share}")
        self.share, self.name, self.seed = share, name, 0

    def reset(self, n: int, seed: int) -> None:
        """Remember the seed of the run (the draws come from its ``policy`` stream)."""
        self.seed = seed

    def act(self, obs: Observation) -> Action:
        """Today's channel and content to each reachable customer picked with probability ``share``."""
        ch, ct = self.schedule[obs.day % len(self.schedule)]
        action = Action.none(obs.n)
        pick = (uniforms(self.seed, obs.day, P_POLICY, obs.n) < self.share) & (((obs.usable >> ch) & 1) > 0)
        action.channel[pick] = ch
        action.content[pick] = ct
        action.slot[pick] = EVENING
        return action

    def describe(self) -> str:
        """The campaign in words."""
        return f"Random campaign: {self.share:.0%} of reachable customers a day, cycling {len(self.schedule)} sends."


class AfterSilence:
    """A campaign that starts ``silent`` days after the run does: a log with orders from before its first contact.

    A brand's transactions usually go back before its contact log: engine logs of that shape check the fit.
    The run's first day is the day of the first :meth:`act` after :meth:`reset`.
    """

    kind = "campaign"

    def __init__(self, policy: Policy, silent: int) -> None:
        """``policy`` decides every day from day ``silent`` of the run on."""
        self.policy, self.silent, self.name = policy, int(silent), policy.name
        self.start: int | None = None

    def reset(self, n: int, seed: int) -> None:
        """Start a run: the campaign's policy too."""
        self.policy.reset(n, seed)
        self.start = None

    def act(self, obs: Observation) -> Action:
        """Nobody before the campaign, then the campaign's contacts."""
        if self.start is None:
            self.start = obs.day
        return Action.none(obs.n) if obs.day < self.start + self.silent else self.policy.act(obs)
