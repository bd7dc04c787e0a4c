"""Who joins the pool each day: invited friends, public-domain buyers, store visitors, ad clicks.

Counts are drawn with numpy's generator seeded by (seed, day, purpose), so they are a pure function
of the seed and the day. Costs (gifts, ads, referral rewards) are returned for the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.config import Scenario
from sim.defaults import ORIGIN_AD, ORIGIN_ORDER, ORIGIN_REFERRAL, ORIGIN_STORE
from sim.params import saturating_lift
from sim.rng import P_ACQUISITION

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

    Written for the few dozen joiners of a day: one array of each kind filled in place, counts by
    ``count_nonzero`` (a fixed cost every simulated day).
    """
    a, r = scenario.acquisition, scenario.referral
    rng = np.random.default_rng([seed, day, P_ACQUISITION])
    refs = inviter_trust.size if r.joins else 0
    cost = refs * r.reward_yuan if refs else 0.0
    n_orders = rng.poisson(a.orders_per_day) if a.orders_per_day > 0 else 0
    order_age = rng.uniform(0.0, a.order_max_age_days, n_orders).astype(np.int64).astype(np.float64)
    added = rng.random(n_orders) < order_add_probability(order_age, scenario)
    recent, old = order_age <= RECENT_ORDER_DAYS, order_age > OLD_ORDER_DAYS
    orders = np.count_nonzero(added)
    stats = {"acquired_referral": float(refs), "orders_recent_offered": float(np.count_nonzero(recent)),
             "orders_recent_added": float(np.count_nonzero(added & recent)),
             "orders_old_offered": float(np.count_nonzero(old)),
             "orders_old_added": float(np.count_nonzero(added & old)),
             "acquired_orders": float(orders)}
    visitors = rng.poisson(a.store_visitors_per_day) if a.store_visitors_per_day > 0 else 0
    store = int(rng.binomial(visitors, store_add_probability(scenario))) if visitors else 0
    ads = int(rng.poisson(a.ad_adds_per_day)) if a.ad_adds_per_day > 0 else 0
    cost += store * a.gift_yuan + ads * a.ad_cost_per_add
    stats.update(acquired_store=float(store), acquired_ads=float(ads))
    o, s = refs + orders, refs + orders + store
    kind, age, trust = np.empty(s + ads, np.int64), np.zeros(s + ads), np.zeros(s + ads)
    kind[:refs], age[:refs], trust[:refs] = ORIGIN_REFERRAL, r.invitee_need, r.inherit_trust * inviter_trust[:refs]
    kind[refs:o], age[refs:o] = ORIGIN_ORDER, order_age[added]
    kind[o:s], kind[s:] = ORIGIN_STORE, ORIGIN_AD
    return Joiners(kind, age, trust, cost, stats)
