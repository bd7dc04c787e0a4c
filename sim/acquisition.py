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
    """Everyone who joins on ``day``: referred friends first, then orders, store visitors, ad clicks."""
    a, r = scenario.acquisition, scenario.referral
    rng = np.random.default_rng([seed, day, P_ACQUISITION])
    kinds, ages, trusts = [], [], []
    stats: dict[str, float] = {}
    cost = 0.0
    refs = inviter_trust.size if r.joins else 0
    if refs:
        kinds.append(np.full(refs, ORIGIN_REFERRAL))
        ages.append(np.full(refs, r.invitee_need))
        trusts.append(r.inherit_trust * inviter_trust)
        cost += refs * r.reward_yuan
    stats["acquired_referral"] = float(refs)
    n_orders = rng.poisson(a.orders_per_day) if a.orders_per_day > 0 else 0
    order_age = rng.uniform(0.0, a.order_max_age_days, n_orders).astype(np.int64).astype(np.float64)
    added = rng.random(n_orders) < order_add_probability(order_age, scenario)
    recent, old = order_age <= RECENT_ORDER_DAYS, order_age > OLD_ORDER_DAYS
    stats.update(orders_recent_offered=float(recent.sum()), orders_recent_added=float((added & recent).sum()),
                 orders_old_offered=float(old.sum()), orders_old_added=float((added & old).sum()),
                 acquired_orders=float(added.sum()))
    kinds.append(np.full(int(added.sum()), ORIGIN_ORDER))
    ages.append(order_age[added])
    trusts.append(np.zeros(int(added.sum())))
    visitors = rng.poisson(a.store_visitors_per_day) if a.store_visitors_per_day > 0 else 0
    store = int(rng.binomial(visitors, store_add_probability(scenario))) if visitors else 0
    ads = int(rng.poisson(a.ad_adds_per_day)) if a.ad_adds_per_day > 0 else 0
    for kind, k in ((ORIGIN_STORE, store), (ORIGIN_AD, ads)):
        kinds.append(np.full(k, kind))
        ages.append(np.zeros(k))
        trusts.append(np.zeros(k))
    cost += store * a.gift_yuan + ads * a.ad_cost_per_add
    stats.update(acquired_store=float(store), acquired_ads=float(ads))
    kind = np.concatenate(kinds).astype(np.int64) if kinds else np.zeros(0, np.int64)
    return Joiners(kind, np.concatenate(ages), np.concatenate(trusts).astype(np.float64), cost, stats)
