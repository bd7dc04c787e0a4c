"""Who joins the pool each day: invited friends, public-domain buyers, store visitors, ad clicks.

Counts are drawn with numpy's generator seeded by (seed, day, purpose), so they are a pure function
of the seed and the day. Costs (gifts, ads, referral rewards) are returned for the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.config import Scenario
from sim.defaults import ORIGIN_AD, ORIGIN_ORDER, ORIGIN_REFERRAL, ORIGIN_STORE
from sim.params import saturating_lift
from sim.rng import P_ACQUISITION, day_generator

RECENT_ORDER_DAYS = 7
"""Orders at most this old count as recent in the add-rate statistics."""
OLD_ORDER_DAYS = 30
"""Orders older than this count as old."""


JOIN_STATS = ("acquired_referral", "orders_recent_offered", "orders_recent_added", "orders_old_offered",
              "orders_old_added", "acquired_orders", "acquired_store", "acquired_ads")
"""The day's joiner counts (:attr:`Joiners.counts`), in order: statistics of :data:`~sim.defaults.STAT_NAMES`."""


@dataclass
class Joiners:
    """Today's joiners in join order, with what the accounts and statistics need."""

    kind: np.ndarray
    age: np.ndarray  # order age in days (orders) or need position in cycles (referrals)
    trust: np.ndarray  # starting trust of referred friends (others: drawn with the population)
    cost: float = 0.0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(JOIN_STATS)))
    """float64, one count per :data:`JOIN_STATS` name."""

    @property
    def stats(self) -> dict[str, float]:
        """The counts by statistic name."""
        return dict(zip(JOIN_STATS, self.counts.tolist()))


def order_add_probability(age_days: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Chance that a public-domain buyer adds the brand, by the age of their order.

    Lower when the pool takes the marketplace's sales (``landing.conflict``): the e-commerce team
    puts fewer cards in parcels and sends fewer service messages inviting buyers to add.
    """
    a, land = scenario.acquisition, scenario.landing
    help_left = 1.0 - land.conflict * land.wechat_share
    return a.order_add_rate * help_left * np.exp(-np.asarray(age_days, np.float64) / a.order_age_decay_days)


def store_add_probability(scenario: Scenario) -> float:
    """Chance that a store visitor adds the brand, lifted by the free gift."""
    a = scenario.acquisition
    return min(1.0, a.store_add_rate * saturating_lift(a.gift_lift, a.gift_yuan, a.gift_half_yuan))


def expected_daily_inflow(scenario: Scenario, customers: int) -> float:
    """Rough joiners per day, used to size the rows reserved at the start (they grow when needed)."""
    a = scenario.acquisition
    ages = np.linspace(0, a.order_max_age_days, 64)
    orders = a.orders_per_day * float(order_add_probability(ages, scenario).mean())
    store = a.store_visitors_per_day * store_add_probability(scenario)
    refer = 0.0
    if scenario.referral.joins and scenario.population.referral_per_month > 0:
        r = scenario.referral
        mult = saturating_lift(r.reward_lift, r.reward_yuan, r.reward_half_yuan)
        refer = 0.1 * customers * scenario.population.referral_per_month / 30.0 * mult
    return orders + store + a.ad_adds_per_day + refer


@dataclass(frozen=True, eq=False)
class JoinRates:
    """What :func:`daily_joiners` reads from a scenario, worked out once (not every day of a run)."""

    referral: bool  # referred friends join (``referral.joins``)
    reward: float  # yuan per referred friend
    invitee_need: float
    inherit_trust: float
    orders: float  # public-domain orders a day
    max_age: float  # oldest order, days
    order_add: np.ndarray  # float64: chance an order of each whole age in days (0 to max_age) is added
    visitors: float
    store_add: float
    gift: float
    ads: float
    ad_cost: float

    @classmethod
    def of(cls, scenario: Scenario) -> "JoinRates":
        """The scenario's rates; ``order_add`` is :func:`order_add_probability` of every age an order can have."""
        a, r = scenario.acquisition, scenario.referral
        ages = np.arange(int(a.order_max_age_days) + 1, dtype=np.float64)
        return cls(bool(r.joins), r.reward_yuan, r.invitee_need, r.inherit_trust, a.orders_per_day,
                   a.order_max_age_days, order_add_probability(ages, scenario), a.store_visitors_per_day,
                   store_add_probability(scenario), a.gift_yuan, a.ad_adds_per_day, a.ad_cost_per_add)


class JoinDraws(NamedTuple):
    """A day's random draws of joiners other than referred friends (:func:`joiner_draws`)."""

    draws: np.ndarray  # 2 uniforms per public-domain order: its age, then whether it is added
    store: int  # store visitors who add the brand
    ads: int  # ad clicks who add it


def joiner_draws(rates: JoinRates, seed: int, day: int) -> JoinDraws:
    """The day's orders, store adds and ad adds: numpy's generator seeded by the seed, the day and the purpose."""
    rng = day_generator(seed, day, P_ACQUISITION)
    n_orders = rng.poisson(rates.orders) if rates.orders > 0 else 0
    # the orders' ages, then whether each is added: rng.uniform(0, max_age, n) and rng.random(n), to the bit
    draws = rng.random(2 * n_orders)
    visitors = rng.poisson(rates.visitors) if rates.visitors > 0 else 0
    store = int(rng.binomial(visitors, rates.store_add)) if visitors else 0
    ads = int(rng.poisson(rates.ads)) if rates.ads > 0 else 0
    return JoinDraws(draws, store, ads)


def joining_cost(rates: JoinRates, refs: int, drawn: JoinDraws) -> float:
    """What the day's joiners cost (yuan): referral rewards, store gifts and ad clicks."""
    cost = refs * rates.reward if refs else 0.0
    return cost + (drawn.store * rates.gift + drawn.ads * rates.ad_cost)


def daily_joiners(rates: JoinRates, seed: int, day: int, inviter_trust: np.ndarray) -> Joiners:
    """Everyone who joins on ``day``: referred friends first, then orders, store visitors, ad clicks.

    ``rates`` is :meth:`JoinRates.of` the scenario. Written for the few dozen joiners of a day: numpy
    draws them (:func:`joiner_draws`), one compiled call (:func:`_joiner_rows`) lays them out and counts
    them. The engine does the same inside one compiled call with their settling in
    (:func:`sim.world.join_day`).
    """
    drawn = joiner_draws(rates, seed, day)
    refs = inviter_trust.size if rates.referral else 0
    kind, age, trust, counts = _joiner_rows(refs, rates.invitee_need, rates.inherit_trust, inviter_trust,
                                            drawn.draws, rates.max_age, rates.order_add, drawn.store, drawn.ads)
    return Joiners(kind, age, trust, joining_cost(rates, refs, drawn), counts)


@njit(cache=True)
def _joiner_rows(refs, invitee_need, inherit_trust, inviter_trust, draws, max_age, order_add, store,
                 ads):  # pragma: no cover - jitted
    """The day's joiners in join order (kind, age, trust) and their counts (:data:`JOIN_STATS`), in one call.

    ``draws`` holds 2 uniforms per order: the first half makes the orders' ages (whole days of
    ``max_age * u``, as ``rng.uniform(0, max_age)`` truncated), the second decides each order's add
    against ``order_add`` at its age. Referred friends first, then the added orders, store visitors and
    ad clicks. One compiled call instead of a dozen small numpy ones (a fixed cost of every simulated
    day); the draws stay numpy's, so results do not move.
    """
    n_orders = draws.shape[0] // 2
    ages, added = np.empty(n_orders), np.empty(n_orders, np.bool_)
    orders = 0
    recent_offered = recent_added = old_offered = old_added = 0
    for j in range(n_orders):
        a = np.int64(max_age * draws[j])
        ages[j], added[j] = a, draws[n_orders + j] < order_add[a]
        recent, old = a <= RECENT_ORDER_DAYS, a > OLD_ORDER_DAYS
        orders += added[j]
        recent_offered += recent
        recent_added += added[j] and recent
        old_offered += old
        old_added += added[j] and old
    total = refs + orders + store + ads
    kind, age, trust = np.empty(total, np.int64), np.zeros(total), np.zeros(total)
    for j in range(refs):
        kind[j], age[j], trust[j] = ORIGIN_REFERRAL, invitee_need, inherit_trust * inviter_trust[j]
    k = refs
    for j in range(n_orders):
        if added[j]:
            kind[k], age[k] = ORIGIN_ORDER, ages[j]
            k += 1
    kind[k:k + store] = ORIGIN_STORE
    kind[k + store:] = ORIGIN_AD
    counts = np.array([refs, recent_offered, recent_added, old_offered, old_added, orders, store, ads], np.float64)
    return kind, age, trust, counts
