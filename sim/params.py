"""Every number a kernel reads, by name: one declarative table, packed into named tuples.

A kernel parameter is a scenario setting after the derivation the dynamics need (a half-life
becomes a daily retention factor, a yearly rate a daily one). :data:`TABLE` lists each with its
unit, the kernel group that reads it and the scenario fields it comes from; :func:`pack` turns a
scenario into one named tuple per group, which numba passes to kernels as plain structs, so a
kernel reads ``p.salience_decay`` rather than an index into an anonymous vector. Channel and
content tables are named tuples of per-channel and per-content arrays (``ch.open_rate[c]``).

Day-varying factors (the Moments fold, the shills' heat, the calendar's events) are not parameters: the world computes
them each day and passes them as arguments.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, NamedTuple

import numpy as np

from sim.config import Scenario
from sim.defaults import CHANNELS, CONTENTS

CUSTOMER = "customer"
"""Read by the day of each customer (:func:`sim.kernels.step_day`) and the residual value."""
POPULATION = "population"
"""Read when customers are drawn (:func:`sim.state.redraw`)."""
GROUPS = "groups"
"""Read by the group kernel (:func:`sim.world.groups_day`)."""
STAFF = "staff"
"""Read by the guide kernels (:func:`sim.world.ration_chats`, :func:`sim.world.staff_day`)."""
JOINERS = "joiners"
"""Read when joiners settle in (:func:`sim.world.settle_joiners`)."""
KERNEL_GROUPS = (CUSTOMER, POPULATION, GROUPS, STAFF, JOINERS)


def decay_per_day(half_life_days: float) -> float:
    """Daily retention factor of a quantity with this half-life."""
    return 0.5 ** (1.0 / half_life_days)


def saturating_lift(lift: float, amount: float, half: float) -> float:
    """Multiplier 1 + lift x amount / (amount + half): a reward or gift that helps with diminishing returns."""
    return 1.0 + lift * amount / (amount + half)


def _same(x: Any) -> Any:
    return x


def _per_year_to_day(x: float) -> float:
    return x / 365.0


def _median_per_day(per_year: float, sigma: float) -> float:
    """Median of a lognormal daily hazard with this yearly mean and log-sd."""
    return per_year / 365.0 * float(np.exp(-0.5 * sigma * sigma))


def _log(x: float) -> float:
    return float(np.log(x))


def _after_response(harm: float, response: float) -> float:
    """A public complaint's harm left after the brand's response."""
    return harm * (1 - response)


def _floats(x: Any) -> np.ndarray:
    return np.array(x, np.float64)


def _cdf(shares: Any) -> np.ndarray:
    cdf = np.cumsum(np.array(shares, np.float64))
    cdf[-1] = 1.0
    return cdf


@dataclass(frozen=True)
class KernelParam:
    """One named kernel parameter: what it is, in which unit, who reads it, where it comes from."""

    name: str
    unit: str
    group: str
    sources: tuple[str, ...]
    """Scenario fields (dotted paths, as in :func:`sim.config.field_docs`) it derives from."""
    derive: Callable[..., Any]
    """Function of the source values, in order."""
    doc: str

    def value(self, scenario: Scenario) -> Any:
        """This parameter's value for ``scenario``."""
        return self.derive(*(_lookup(scenario, path) for path in self.sources))


def _lookup(scenario: Scenario, path: str) -> Any:
    obj: Any = scenario
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def _p(name: str, unit: str, group: str, sources: str | tuple[str, ...], doc: str,
       derive: Callable[..., Any] = _same) -> KernelParam:
    return KernelParam(name, unit, group, (sources,) if isinstance(sources, str) else sources, derive, doc)


def _tier(k: int) -> Callable[[list[float]], float]:
    return lambda thresholds: float(thresholds[k])


D, E, P, G, S_ = "dynamics.", "economics.", "population.", "groups.", "staff."

TABLE: tuple[KernelParam, ...] = (
    # --- the day of a customer ---------------------------------------------------------------
    _p("salience_decay", "factor/day", CUSTOMER, D + "salience_half_life_days", "salience kept per day of rest",
       decay_per_day),
    _p("fatigue_decay", "factor/day", CUSTOMER, D + "fatigue_half_life_days", "fatigue kept per day of rest",
       decay_per_day),
    _p("deal_decay", "factor/day", CUSTOMER, D + "deal_half_life_days", "awaited discount kept per day", decay_per_day),
    _p("need_onset", "cycles", CUSTOMER, D + "need_onset", "point of the cycle where need starts to build"),
    _p("need_hazard", "1/cycle^2", CUSTOMER, D + "need_hazard", "steepness of the need hazard after onset"),
    _p("need_impulse", "share", CUSTOMER, D + "need_impulse", "share of the need hazard at a steady rate"),
    _p("need_lapse", "share", CUSTOMER, D + "need_lapse", "chance a need occasion is the last in the category"),
    _p("need_lapse_spread", "exponent", CUSTOMER, D + "need_lapse_spread", "how far the lapse follows own dropout"),
    _p("tenure_fade_per_day", "1/day", CUSTOMER, D + "tenure_fade", "fade of the share with tenure", _per_year_to_day),
    _p("tenure_floor", "share", CUSTOMER, D + "tenure_floor", "part of the share the tenure fade keeps"),
    _p("dropout_per_day", "1/day", CUSTOMER, P + "dropout_per_year", "mean dropout hazard, the lapse's reference",
       _per_year_to_day),
    _p("share_floor", "share", CUSTOMER, D + "share_floor", "brand share of need occasions at zero salience"),
    _p("share_floor_spread", "exponent", CUSTOMER, D + "share_floor_spread", "how far the floor follows own dropout"),
    _p("dropout_median_per_day", "1/day", CUSTOMER, (P + "dropout_per_year", P + "dropout_sigma"),
       "median dropout hazard, the floor's reference", _median_per_day),
    _p("lost_salience", "factor", CUSTOMER, D + "lost_salience", "salience kept after buying from a rival"),
    _p("off_window_open", "factor", CUSTOMER, D + "off_window_open", "open-rate multiplier outside active slots"),
    _p("off_window_fatigue", "factor", CUSTOMER, D + "off_window_fatigue", "fatigue multiplier outside active slots"),
    _p("irrelevance_fatigue", "factor", CUSTOMER, D + "irrelevance_fatigue", "extra fatigue of offers far from need"),
    _p("open_floor", "share", CUSTOMER, D + "open_floor", "open propensity at zero salience"),
    _p("fatigue_open_drag", "share", CUSTOMER, D + "fatigue_open_drag", "open rate lost at saturated fatigue"),
    _p("spam_erosion", "1/contact", CUSTOMER, D + "spam_erosion", "trust lost per hard sell at saturated fatigue"),
    _p("complaint_trust_loss", "trust", CUSTOMER, D + "complaint_trust_loss", "trust lost by a complainer"),
    _p("lure", "1/discount", CUSTOMER, D + "lure", "conversion lift per unit discount (fully deal-prone)"),
    _p("deal_wait", "1/discount", CUSTOMER, D + "deal_wait", "conversion penalty per unit of awaited discount"),
    _p("deal_learning", "share", CUSTOMER, D + "deal_learning", "step of the awaited discount towards an offer"),
    _p("trust_floor", "share", CUSTOMER, D + "trust_floor", "conversion weight at zero trust"),
    _p("advocate_trust", "0-1", CUSTOMER, D + "advocate_trust", "trust above which a repeat buyer advocates"),
    _p("dropout_salience", "factor", CUSTOMER, D + "dropout_salience", "extra dropout hazard at zero salience"),
    _p("margin", "share", CUSTOMER, E + "gross_margin_rate", "gross margin as a share of list price"),
    _p("residual_days", "days", CUSTOMER, E + "residual_horizon_days",
       "horizon of the shaping potential (and, in sim.engine, days of the continuation)"),
    _p("tier1", "yuan", CUSTOMER, "tiers.thresholds_yuan", "spend of member tier 1", _tier(0)),
    _p("tier2", "yuan", CUSTOMER, "tiers.thresholds_yuan", "spend of member tier 2", _tier(1)),
    _p("tier3", "yuan", CUSTOMER, "tiers.thresholds_yuan", "spend of member tier 3", _tier(2)),
    _p("purchase_salience", "share", CUSTOMER, D + "purchase_salience", "salience gap closed by buying"),
    _p("rival_fatigue", "fatigue/day", CUSTOMER, "competition.rival_fatigue_per_day", "fatigue rivals add daily"),
    _p("rival_share", "share", CUSTOMER, "competition.rival_share_pressure", "need occasions rivals always take"),
    _p("referral_mult", "factor", CUSTOMER,
       ("referral.reward_lift", "referral.reward_yuan", "referral.reward_half_yuan"),
       "referral propensity multiplier of the reward", saturating_lift),
    _p("ask_conversion", "probability", CUSTOMER, "referral.ask_conversion",
       "referral chance of an opened ask to an advocate at full trust, before the reward"),
    _p("ask_buyer_factor", "factor", CUSTOMER, "referral.ask_buyer_factor",
       "ask conversion of a buyer who is not an advocate, relative to an advocate"),
    _p("ask_fatigue", "fatigue/ask", CUSTOMER, "referral.ask_fatigue", "fatigue an ask adds to its message"),
    _p("invite_wecom_accept", "probability", CUSTOMER, "invitation.wecom_accept",
       "acceptance of an opened WeCom invitation (full trust, ordered today, no gift)"),
    _p("invite_group_accept", "probability", CUSTOMER, "invitation.group_accept",
       "acceptance of an opened welfare-group invitation (full trust, ordered today, no gift)"),
    _p("invite_recency_days", "days", CUSTOMER, "invitation.recency_days",
       "days since the last order over which acceptance fades"),
    _p("invite_old_factor", "factor", CUSTOMER, "invitation.old_buyer_factor",
       "acceptance of a long-lapsed or never-buying customer relative to a fresh buyer"),
    _p("invite_gift_mult", "factor", CUSTOMER,
       ("invitation.gift_lift", "invitation.gift_yuan", "invitation.gift_half_yuan"),
       "acceptance multiplier of an invitation with a gift", saturating_lift),
    _p("invite_gift_yuan", "yuan", CUSTOMER, "invitation.gift_yuan", "gift paid when an invitation is accepted"),
    _p("invite_cost", "yuan", CUSTOMER, "invitation.cost_yuan", "cost of one invitation on top of its message"),
    _p("invite_fatigue", "fatigue", CUSTOMER, "invitation.ignore_fatigue",
       "fatigue an invitation adds when not accepted"),
    _p("member_min_tier", "tier", CUSTOMER, ("membership.enabled", "membership.min_tier"),
       "tier from which the member price and points apply (99: no programme)", lambda on, t: t if on else 99),
    _p("member_price", "share of price", CUSTOMER, "membership.member_price", "member price cut"),
    _p("points_rate", "share of price", CUSTOMER, "membership.points_rate", "points earned per member purchase"),
    _p("points_loyalty", "share", CUSTOMER, "membership.points_loyalty", "brand-share lift of a member"),
    _p("paid_fee", "yuan", CUSTOMER, "membership.paid_fee_yuan", "fee of paid membership"),
    _p("paid_days", "days", CUSTOMER, "membership.paid_days", "how long a paid membership runs"),
    _p("paid_price", "share of price", CUSTOMER, "membership.paid_price", "member price cut of a paid member"),
    _p("paid_loyalty", "share", CUSTOMER, "membership.paid_loyalty", "brand-share lift of a paid member"),
    _p("paid_accept", "probability", CUSTOMER, "membership.paid_accept",
       "acceptance of an opened paid-membership offer (full trust, ordered today)"),
    _p("group_leave", "1/week", CUSTOMER, G + "leave_rate", "weekly leave chance of a member of a cold group"),
    _p("wechat_share", "share", CUSTOMER, "landing.wechat_share", "share of purchases paid inside WeChat"),
    _p("commission", "share", CUSTOMER, "landing.marketplace_commission", "marketplace fee on its revenue"),
    _p("visibility", "probability", CUSTOMER, "landing.marketplace_visibility",
       "chance the CRM sees a marketplace order"),
    _p("fan_per_tier", "opens/tier", CUSTOMER, ("fans.enabled", "fans.opens_per_tier"),
       "opened messages per fan tier (0: no fan tiers)", lambda on, k: k if on else 0),
    _p("fan_details_rate", "probability", CUSTOMER, "fans.details_rate",
       "chance a fan reaching a new tier leaves contact details"),
    _p("fan_reward", "yuan", CUSTOMER, "fans.reward_yuan", "reward paid when a fan leaves contact details"),
    _p("personal_open", "factor", CUSTOMER, S_ + "personal_open_lift",
       "open-rate multiplier of 1:1 messages in a personal-WeChat chat"),
    _p("personal_trust", "factor", CUSTOMER, S_ + "personal_trust_lift",
       "trust-gain multiplier of 1:1 messages in a personal-WeChat chat"),
    _p("wecom_service", "factor", CUSTOMER, (S_ + "wecom_extra_delay_hours", S_ + "delay_quality"),
       "conversion and trust-gain multiplier of 1:1 messages in a WeCom chat (its extra reply delay)",
       lambda hours, q: float(np.exp(-q * hours))),
    # --- drawing customers -------------------------------------------------------------------
    _p("buyer_share", "share", POPULATION, P + "buyer_share", "share who bought before the start"),
    _p("log_order_value", "log yuan", POPULATION, P + "order_value_median", "mean of log order value", _log),
    _p("order_value_sigma", "log-sd", POPULATION, P + "order_value_sigma", "spread of order value"),
    _p("log_cycle", "log days", POPULATION, P + "cycle_median_days", "mean of log repurchase cycle", _log),
    _p("cycle_sigma", "log-sd", POPULATION, P + "cycle_sigma", "spread of repurchase cycles"),
    _p("price_sens_mean", "0-1", POPULATION, P + "price_sensitivity_mean", "mean deal-proneness"),
    _p("price_sens_concentration", "beta a+b", POPULATION, P + "price_sensitivity_concentration",
       "how tightly deal-proneness clusters"),
    _p("dropout_per_day", "1/day", POPULATION, P + "dropout_per_year", "base hazard of leaving the category",
       _per_year_to_day),
    _p("dropout_sigma", "log-sd", POPULATION, P + "dropout_sigma", "spread of personal dropout hazards (mean kept)"),
    _p("referral_per_day", "1/day", POPULATION, P + "referral_per_month", "referral propensity of a full advocate",
       lambda x: x / 30.0),
    _p("initial_salience", "0-1", POPULATION, P + "initial_salience", "mean salience at the start"),
    _p("initial_trust", "0-1", POPULATION, P + "initial_trust", "mean trust at the start"),
    _p("initial_deal", "discount", POPULATION, P + "initial_deal", "mean awaited discount at the start"),
    _p("advocate_trust", "0-1", POPULATION, D + "advocate_trust", "trust above which a repeat buyer advocates"),
    _p("personal_share", "share", POPULATION, S_ + "personal_share", "share of 1:1 chats on personal WeChat"),
    _p("age_band_cdf", "cumulative share", POPULATION, P + "age_band_shares", "cumulative shares of age bands", _cdf),
    _p("age_band_receptiveness", "0-1", POPULATION, P + "age_band_receptiveness", "receptiveness per age band",
       _floats),
    _p("male_share", "share", POPULATION, P + "male_share", "share of men"),
    _p("slot_activity", "probability", POPULATION, P + "slot_activity", "chance of being active in each slot", _floats),
    _p("channel_reach", "probability", POPULATION, P + "channel_reach", "chance of being reachable per channel",
       _floats),
    _p("tier_thresholds", "yuan", POPULATION, "tiers.thresholds_yuan", "spend of member tiers 1-3", _floats),
    # --- groups ------------------------------------------------------------------------------
    _p("heat_decay", "factor/day", GROUPS, G + "heat_half_life_days", "heat gap to rest kept per day", decay_per_day),
    _p("engagement_heat", "heat/share", GROUPS, G + "engagement_heat", "heat per share of members opening"),
    _p("promotion_drain", "heat/share", GROUPS, G + "promotion_drain", "heat lost per share sent a hard sell"),
    _p("damage_decay", "factor/day", GROUPS, G + "damage_half_life_days", "complaint damage kept per day",
       decay_per_day),
    _p("complaint_damage", "share", GROUPS, (G + "complaint_damage", G + "complaint_response"),
       "conversion lost per public complaint, after the brand's response", _after_response),
    _p("complaint_trust_hit", "trust", GROUPS, (G + "complaint_trust_hit", G + "complaint_response"),
       "trust each member loses per public complaint, after the response", _after_response),
    _p("death_heat", "0-1", GROUPS, G + "death_heat", "heat below which a group is dead"),
    _p("heat_conversion", "factor", GROUPS, G + "heat_conversion", "weight of heat on group conversion"),
    _p("resting_heat", "0-1", GROUPS, G + "resting_heat", "heat the members' own chatter keeps"),
    # --- guides ------------------------------------------------------------------------------
    _p("customers_per_guide", "customers", STAFF, S_ + "customers_per_guide", "customers per guide (0: no staff)"),
    _p("chat_capacity", "chats/day", STAFF, S_ + "chat_capacity_per_day", "1:1 contacts a guide delivers per day"),
    _p("turnover", "1/day", STAFF, S_ + "turnover_per_year", "daily chance a guide leaves", _per_year_to_day),
    _p("ban_threshold", "messages/day", STAFF, S_ + "ban_threshold_per_day", "personal messages before ban risk"),
    _p("ban_rate", "1/day", STAFF, S_ + "ban_rate", "ban chance per 100% over the threshold"),
    _p("response_delay", "hours", STAFF, S_ + "response_delay_hours", "reply delay at light load"),
    _p("delay_quality", "1/hour", STAFF, S_ + "delay_quality", "service quality lost per hour of delay"),
    # --- joiners -----------------------------------------------------------------------------
    _p("group_reach", "probability", JOINERS, P + "channel_reach", "chance a joiner is also added to a group",
       lambda reach: float(reach[CHANNELS.index("group")])),
    _p("tier_thresholds", "yuan", JOINERS, "tiers.thresholds_yuan", "spend of member tiers 1-3", _floats),
)
"""Every scalar or vector a kernel reads, in the order of its group's named tuple."""

CHANNEL_FIELDS = ("cost", "open_rate", "intrusiveness", "cap_per_month", "salience_gain", "unsubscribe_rate",
                  "complaint_rate")
"""Columns of the channel table: the fields of :class:`sim.config.Channel`, one array over channels each."""
CONTENT_FIELDS = ("conversion", "trust_gain", "hardness", "discount", "novelty", "cost", "male_affinity")
"""Columns of the content table: the fields of :class:`sim.config.Content`, one array over contents each."""


def _tuple_type(type_name: str, names: tuple[str, ...]) -> type:
    return namedtuple(type_name, names, module=__name__)  # type: ignore[misc]


def group_table(group: str) -> tuple[KernelParam, ...]:
    """The rows of :data:`TABLE` that ``group`` reads, in order."""
    return tuple(k for k in TABLE if k.group == group)


CustomerParams = _tuple_type("CustomerParams", tuple(k.name for k in group_table(CUSTOMER)))
PopulationParams = _tuple_type("PopulationParams", tuple(k.name for k in group_table(POPULATION)))
GroupParams = _tuple_type("GroupParams", tuple(k.name for k in group_table(GROUPS)))
StaffParams = _tuple_type("StaffParams", tuple(k.name for k in group_table(STAFF)))
JoinerParams = _tuple_type("JoinerParams", tuple(k.name for k in group_table(JOINERS)))
ChannelTable = _tuple_type("ChannelTable", CHANNEL_FIELDS)
ContentTable = _tuple_type("ContentTable", CONTENT_FIELDS)
TUPLE_TYPES: dict[str, type] = {CUSTOMER: CustomerParams, POPULATION: PopulationParams, GROUPS: GroupParams,
                                STAFF: StaffParams, JOINERS: JoinerParams}


def pack_group(scenario: Scenario, group: str) -> NamedTuple:
    """The named tuple of ``group``'s parameters for ``scenario``."""
    return TUPLE_TYPES[group](*(k.value(scenario) for k in group_table(group)))


@dataclass(frozen=True)
class KernelParams:
    """The kernel view of a scenario: one named tuple per kernel group, and the channel and content tables."""

    customer: Any
    population: Any
    groups: Any
    staff: Any
    joiners: Any
    channels: Any
    contents: Any

    @property
    def caps(self) -> np.ndarray:
        """Per-channel contacts allowed per customer per 30 days."""
        return self.channels.cap_per_month.astype(np.int64)

    @cached_property
    def records(self) -> "KernelRecords":
        """The tuples the per-day kernels read, as one-element structured arrays (see :func:`as_record`)."""
        return KernelRecords(*(as_record(t) for t in (self.customer, self.channels, self.contents, self.groups,
                                                      self.staff, self.joiners, self.population)))


class KernelRecords(NamedTuple):
    """The per-day kernels' parameter tuples as records: what :class:`KernelParams` holds, cheap to pass."""

    customer: np.ndarray
    channels: np.ndarray
    contents: np.ndarray
    groups: np.ndarray
    staff: np.ndarray
    joiners: np.ndarray
    population: np.ndarray


def as_record(table: NamedTuple) -> np.ndarray:
    """``table`` as a one-element structured array whose element reads like the tuple: ``rec[0].margin``.

    Why: numba types a named tuple of 50 numbers anew at every call (about 9 us per argument, a
    fixed cost of every simulated day); a structured array it types from its dtype (about 1 us).
    Each field keeps its value and type (float64 stays float64, int int64, arrays nested), so a
    kernel reading ``rec[0]`` computes what it computed from the tuple, bit for bit.
    """
    fields = [(name, np.asarray(v).dtype, np.shape(v)) for name, v in zip(table._fields, table)]
    rec = np.zeros(1, np.dtype(fields))
    for name, v in zip(table._fields, table):
        rec[0][name] = v
    return rec


def pack(scenario: Scenario) -> KernelParams:
    """The kernel view of ``scenario``."""
    ch = [scenario.channels[n] for n in CHANNELS]
    ct = [scenario.contents[n] for n in CONTENTS]
    channels = ChannelTable(*(np.array([getattr(c, f) for c in ch], np.float64) for f in CHANNEL_FIELDS))
    contents = ContentTable(*(np.array([getattr(k, f) for k in ct], np.float64) for f in CONTENT_FIELDS))
    return KernelParams(*(pack_group(scenario, g) for g in KERNEL_GROUPS), channels, contents)


def shill_heat(scenario: Scenario, day: int) -> float:
    """Heat the shills add to every group on ``day`` (zero before they start; fading as members see through them)."""
    g = scenario.groups
    if g.shills <= 0 or day < g.shill_start_day:
        return 0.0
    return g.shills * g.shill_heat * 0.5 ** ((day - g.shill_start_day) / g.shill_half_life_days)


@dataclass(frozen=True)
class EventToday:
    """The calendar's effect on one day (:func:`calendar_today`): day-varying arguments of step_day."""

    name: str = ""
    """Name of today's event ("" on an ordinary day; of the first listed if several overlap)."""
    kind: str = ""
    """Its kind (one of :data:`sim.config.EVENT_KINDS`), "" on an ordinary day."""
    day: int = -1
    """Day of today within the event (0 on its first day), -1 on an ordinary day."""
    need_pull: float = 0.0
    """Cycles everyone acts further into their repurchase cycle today."""
    attention: float = 1.0
    """Open-rate multiplier of today's messages."""
    discount: float = 0.0
    """Event price cut on every purchase today (share of price)."""
    cost: float = 0.0
    """Running cost of today's events (yuan)."""


ORDINARY_DAY = EventToday()
"""A day with no event."""


def calendar_today(scenario: Scenario, day: int) -> EventToday:
    """What the calendar does on ``day``.

    Overlapping events take the strongest pull and price cut, and their attention multiplies.
    """
    today = ORDINARY_DAY
    for e in scenario.calendar.events:
        since = day - e.start_day
        if since < 0:
            continue
        if e.every_days:
            since %= e.every_days
        if since >= e.days:
            continue
        if today is ORDINARY_DAY:
            today = EventToday(e.name, e.kind, since, e.need_pull, e.attention, e.discount, e.cost_yuan)
        else:
            today = EventToday(today.name, today.kind, today.day, max(today.need_pull, e.need_pull),
                               today.attention * e.attention, max(today.discount, e.discount), today.cost + e.cost_yuan)
    return today


def days_to_event(scenario: Scenario, day: int) -> int:
    """Days from ``day`` to the next first day of an event (0 if one starts today); -1 if none is ahead."""
    best = -1
    for e in scenario.calendar.events:
        if day <= e.start_day:
            ahead = e.start_day - day
        elif e.every_days:
            ahead = -(day - e.start_day) % e.every_days
        else:
            continue
        best = ahead if best < 0 else min(best, ahead)
    return best


def source_paths() -> set[str]:
    """Every scenario field some kernel parameter or table reads."""
    paths = {s for k in TABLE for s in k.sources}
    paths |= {f"channels.<channel>.{f}" for f in CHANNEL_FIELDS}
    paths |= {f"contents.<content>.{f}" for f in CONTENT_FIELDS}
    return paths


USED_ELSEWHERE: dict[str, str] = {
    "name": "sim.config: labels results",
    "description": "sim.config: labels results",
    "mode": "sim.config: labels the business mode",
    "population.customers": "sim.engine: default pool size",
    "population.joiners_per_year": "experiments.calibrate.simulate: joiners of a transaction log's simulated pool",
    "economics.running_cost_per_day": "sim.world: booked as running cost each day",
    "economics.discount_rate_per_year": "sim.engine: discounts the continuation that values the pool at the end",
    "groups.size": "sim.world: rows per group (structure)",
    "groups.heat_start": "sim.world: heat of a new group",
    "groups.shills": "sim.params: shill_heat, a day-varying argument of the group kernel",
    "groups.shill_start_day": "sim.params: shill_heat",
    "groups.shill_heat": "sim.params: shill_heat",
    "groups.shill_half_life_days": "sim.params: shill_heat",
    "groups.broadcast": "sim.world: whether a group message is a post",
    "referral.inherit_trust": "sim.acquisition: trust of referred friends",
    "referral.invitee_need": "sim.acquisition: need position of referred friends",
    "referral.joins": "sim.acquisition: whether referred friends join",
    "acquisition.orders_per_day": "sim.acquisition",
    "acquisition.order_add_rate": "sim.acquisition",
    "acquisition.order_age_decay_days": "sim.acquisition",
    "acquisition.order_max_age_days": "sim.acquisition",
    "acquisition.store_visitors_per_day": "sim.acquisition",
    "acquisition.store_add_rate": "sim.acquisition",
    "acquisition.gift_yuan": "sim.acquisition",
    "acquisition.gift_lift": "sim.acquisition",
    "acquisition.gift_half_yuan": "sim.acquisition",
    "acquisition.ad_adds_per_day": "sim.acquisition",
    "acquisition.ad_cost_per_add": "sim.acquisition",
    "acquisition.reserve_days": "sim.engine: rows reserved for joiners",
    "staff.salary_per_day": "sim.world: booked as running cost per guide",
    "platform.moments_fold_share": "sim.world: when the platform folds Moments",
    "platform.fold_factor": "sim.world: the Moments fold factor, a day-varying argument of step_day",
    "platform.fold_days": "sim.world: how long a fold lasts",
    "platform.group_fold_per_week": "sim.world: when the platform folds a group chat (its open factor)",
    "landing.conflict": "sim.acquisition: order inflow lost to the marketplace team's conflict",
    "invitation.enabled": "sim.invitations: whether policies may send invitations",
    "calendar.events.<event>.name": "sim.params: calendar_today, shown to policies as obs.event",
    "calendar.events.<event>.kind": "sim.params: calendar_today, shown to policies as obs.event_kind",
    "calendar.events.<event>.start_day": "sim.params: calendar_today",
    "calendar.events.<event>.days": "sim.params: calendar_today",
    "calendar.events.<event>.every_days": "sim.params: calendar_today",
    "calendar.events.<event>.need_pull": "sim.params: calendar_today, a day-varying argument of step_day",
    "calendar.events.<event>.attention": "sim.params: calendar_today, a day-varying argument of step_day",
    "calendar.events.<event>.discount": "sim.params: calendar_today, a day-varying argument of step_day",
    "calendar.events.<event>.cost_yuan": "sim.params: calendar_today; sim.world books it as running cost",
}
"""Scenario fields read by Python rules rather than through a kernel parameter: path -> module and use."""
