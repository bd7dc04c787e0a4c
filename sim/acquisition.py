"""Who joins the pool each day: invited friends, public-domain buyers, store visitors, ad clicks.

Counts are drawn with numpy's generator seeded by (seed, day, purpose), so they are a pure function
of the seed and the day. Costs (gifts, ads, referral rewards) are returned for the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Joiners:
    """Today's joiners in join order, with what the accounts and statistics need."""

    kind: np.ndarray
    age: np.ndarray  # order age in days (orders) or need position in cycles (referrals)
    trust: np.ndarray  # starting trust of referred friends (others: drawn with the population)
    cost: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)


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


def daily_joiners(scenario: Scenario, seed: int, day: int, inviter_trust: np.ndarray) -> Joiners:
    """Everyone who joins on ``day``: referred friends first, then orders, store visitors, ad clicks.

    Written for the few dozen joiners of a day: numpy draws them (its generator, seeded by the seed,
    the day and the purpose), one compiled call (:func:`_joiner_rows`) lays them out and counts them.
    """
    a, r = scenario.acquisition, scenario.referral
    rng = day_generator(seed, day, P_ACQUISITION)
    refs = inviter_trust.size if r.joins else 0
    cost = refs * r.reward_yuan if refs else 0.0
    n_orders = rng.poisson(a.orders_per_day) if a.orders_per_day > 0 else 0
    order_age = rng.uniform(0.0, a.order_max_age_days, n_orders).astype(np.int64).astype(np.float64)
    added = rng.random(n_orders) < order_add_probability(order_age, scenario)
    visitors = rng.poisson(a.store_visitors_per_day) if a.store_visitors_per_day > 0 else 0
    store = int(rng.binomial(visitors, store_add_probability(scenario))) if visitors else 0
    ads = int(rng.poisson(a.ad_adds_per_day)) if a.ad_adds_per_day > 0 else 0
    cost += store * a.gift_yuan + ads * a.ad_cost_per_add
    kind, age, trust, counts = _joiner_rows(refs, r.invitee_need, r.inherit_trust, inviter_trust, order_age, added,
                                            store, ads)
    recent_offered, recent_added, old_offered, old_added, orders = counts
    stats = {"acquired_referral": float(refs), "orders_recent_offered": float(recent_offered),
             "orders_recent_added": float(recent_added), "orders_old_offered": float(old_offered),
             "orders_old_added": float(old_added), "acquired_orders": float(orders),
             "acquired_store": float(store), "acquired_ads": float(ads)}
    return Joiners(kind, age, trust, cost, stats)


@njit(cache=True)
def _joiner_rows(refs, invitee_need, inherit_trust, inviter_trust, order_age, added, store,
                 ads):  # pragma: no cover - jitted
    """The day's joiners in join order (kind, age, trust) and the order counts, from numpy's draws, in one call.

    Referred friends first, then the added orders, store visitors and ad clicks. Counts: (recent orders
    offered, recent added, old offered, old added, all added). One compiled call instead of a dozen
    small numpy ones (a fixed cost of every simulated day); the draws stay numpy's, so results do not move.
    """
    orders = 0
    recent_offered = recent_added = old_offered = old_added = 0
    for j in range(order_age.shape[0]):
        recent, old = order_age[j] <= RECENT_ORDER_DAYS, order_age[j] > OLD_ORDER_DAYS
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
    for j in range(order_age.shape[0]):
        if added[j]:
            kind[k], age[k] = ORIGIN_ORDER, order_age[j]
            k += 1
    kind[k:k + store] = ORIGIN_STORE
    kind[k + store:] = ORIGIN_AD
    return kind, age, trust, (recent_offered, recent_added, old_offered, old_added, orders)
