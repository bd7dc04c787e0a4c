"""Scenario: the typed, validated description of a brand's pool, loaded from TOML.

Every field carries a unit, a range and a one-line description (shown by ``siyu scenarios show``
and in error messages). A bad file is rejected before anything runs, with the file, the field
path, the bad value and what is allowed (:class:`ConfigError`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.defaults import CHANNELS, CONTENTS, N_SLOTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """A user-facing configuration problem: one line per issue, no traceback needed."""


def F(default: Any, unit: str, description: str, ge: float | None = None, le: float | None = None,
      gt: float | None = None) -> Any:
    """A model field with its unit, range and description (the schema a strategist reads)."""
    return Field(default, ge=ge, le=le, gt=gt, description=description,
                 json_schema_extra={"unit": unit})


STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""Validation of every file siyu reads: unknown keys refused, no type coercion (``true`` is not 1, ``"3"``
is not 3), and no NaN or infinity (a NaN compares false with every bound and would pass them all)."""


class _Strict(BaseModel):
    model_config = ConfigDict(**STRICT, validate_assignment=True)


DROPOUT_SIGMA = 0.5
"""Default spread of personal dropout hazards: the fixed spread before it was a parameter (scenarios keep their hash)."""


class Population(_Strict):
    """Who is in the pool at the start: trait distributions the population is drawn from."""

    customers: int = F(20_000, "customers", "default pool size when --customers is not given", ge=1, le=50_000_000)
    buyer_share: float = F(0.6, "share", "share of the pool that has bought before the start", ge=0, le=1)
    order_value_median: float = F(180.0, "yuan", "median order value (spending power)", gt=0, le=1e6)
    order_value_sigma: float = F(0.5, "log-sd", "spread of order value (lognormal sigma)", ge=0, le=3)
    cycle_median_days: float = F(45.0, "days", "median personal repurchase cycle", ge=1, le=3650)
    cycle_sigma: float = F(0.35, "log-sd", "spread of repurchase cycles (lognormal sigma)", ge=0, le=3)
    price_sensitivity_mean: float = F(0.5, "0-1", "mean deal-proneness (response to discounts)", ge=0, le=1)
    price_sensitivity_concentration: float = F(4.0, "beta a+b", "how tightly deal-proneness clusters", gt=0, le=1000)
    age_band_shares: list[float] = F([0.3, 0.4, 0.2, 0.1], "share", "shares of age bands 18-24, 25-34, 35-44, 45+")
    age_band_receptiveness: list[float] = F([1.0, 0.85, 0.65, 0.45], "0-1", "receptiveness to new products per age band")
    male_share: float = F(0.5, "share", "share of men in the pool (shown to policies as the gender of the WeChat profile; 《私域流量的坑你踩了多少》: hair-transplant clients are mostly men); it changes nothing unless a content's male_affinity differs from 1", ge=0, le=1)
    slot_activity: list[float] = F([0.25, 0.45, 0.8, 0.35], "probability", "chance a customer is active in morning, noon, evening, night")
    channel_reach: list[float] = F([0.85, 0.6, 0.85, 0.5, 0.95], "probability", "chance a customer is reachable on wecom, group, moments, official_account, sms at the start")
    dropout_per_year: float = F(0.15, "1/year", "base rate of leaving the category for good", ge=0, le=20)
    dropout_sigma: float = F(DROPOUT_SIGMA, "log-sd", "spread of personal dropout hazards around dropout_per_year (lognormal sigma, mean kept)", ge=0, le=3)
    referral_per_month: float = F(0.03, "1/month", "mean referral propensity of an advocate with full trust", ge=0, le=10)
    joiners_per_year: float = F(0.0, "1/year", "customers who join each year, as a share of the pool at the start, in the design siyu calibrate simulates a transaction log's pool with (a log seen through a window: its later first orders are partly new customers); runs take their joiners from [acquisition]", ge=0, le=10)
    initial_salience: float = F(0.5, "0-1", "mean brand salience at the start", ge=0, le=1)
    initial_trust: float = F(0.35, "0-1", "mean trust at the start", ge=0, le=1)
    initial_deal: float = F(0.05, "discount", "mean discount customers already wait for", ge=0, le=0.9)

    @model_validator(mode="after")
    def _check_vectors(self) -> "Population":
        _vector(self.age_band_shares, 4, "age_band_shares", share=True)
        _vector(self.age_band_receptiveness, 4, "age_band_receptiveness")
        _vector(self.slot_activity, N_SLOTS, "slot_activity")
        _vector(self.channel_reach, len(CHANNELS), "channel_reach")
        return self


class Dynamics(_Strict):
    """How hidden state moves: forgetting, annoyance, trust, deal conditioning and need."""

    salience_half_life_days: float = F(20.0, "days", "half-life of brand salience without contact", gt=0, le=3650)
    fatigue_half_life_days: float = F(6.0, "days", "half-life of fatigue while resting", gt=0, le=3650)
    deal_half_life_days: float = F(120.0, "days", "half-life of the discount a customer waits for", gt=0, le=3650)
    need_onset: float = F(0.7, "cycles", "share of the personal cycle after which need starts to build", ge=0, le=5)
    need_hazard: float = F(15.0, "1/cycle^2", "steepness of the need hazard after onset", gt=0, le=1000)
    need_impulse: float = F(0.0, "share", "share of the need hazard that comes at a steady rate, not on the cycle",
                            ge=0, le=1)
    need_lapse: float = F(0.0, "share", "chance that a need occasion is the customer's last in the category",
                          ge=0, le=1)
    need_lapse_spread: float = F(0.0, "exponent", "how far a customer's lapse follows their own dropout hazard: "
                                 "0 the same for all, 1 in proportion", ge=0, le=3)
    tenure_fade: float = F(0.0, "1/year", "how fast a customer's share of their need occasions fades with the time "
                           "since their first purchase, towards tenure_floor; 0 it does not", ge=0, le=20)
    tenure_floor: float = F(0.0, "share", "part of that share the tenure fade keeps in the long run", ge=0, le=1)
    share_floor: float = F(0.1, "share", "chance the brand wins a need occasion with zero salience", ge=0, le=1)
    share_floor_spread: float = F(0.0, "exponent", "how far a customer's share floor follows their own loyalty: the "
                                  "floor's odds times (median dropout hazard / own) to this power; 0 the same for all",
                                  ge=0, le=3)
    lost_salience: float = F(0.7, "factor", "salience kept after buying from a rival", ge=0, le=1)
    purchase_salience: float = F(0.5, "share", "share of the salience gap closed by buying and using the brand", ge=0, le=1)
    off_window_open: float = F(0.35, "factor", "open-rate multiplier outside a customer's active slots", ge=0, le=1)
    off_window_fatigue: float = F(1.6, "factor", "fatigue multiplier for contacts outside active slots", ge=1, le=10)
    irrelevance_fatigue: float = F(0.8, "factor", "extra fatigue from offers far from the customer's need", ge=0, le=10)
    open_floor: float = F(0.25, "share", "open propensity of a customer with zero salience", ge=0, le=1)
    fatigue_open_drag: float = F(0.7, "share", "how much saturated fatigue cuts the open rate", ge=0, le=1)
    spam_erosion: float = F(0.08, "1/contact", "trust lost per hard-sell contact at saturated fatigue", ge=0, le=1)
    complaint_trust_loss: float = F(0.2, "trust", "trust lost by a customer who complains", ge=0, le=1)
    lure: float = F(4.0, "1/discount", "conversion lift per unit discount for a fully deal-prone customer", ge=0, le=100)
    deal_wait: float = F(3.0, "1/discount", "conversion penalty per unit of awaited discount not offered", ge=0, le=100)
    deal_learning: float = F(0.15, "share", "step of the awaited discount towards each discount received", ge=0, le=1)
    trust_floor: float = F(0.3, "share", "conversion weight of a customer with zero trust", ge=0, le=1)
    advocate_trust: float = F(0.7, "0-1", "trust above which a repeat buyer becomes an advocate (A5)", ge=0, le=1)
    dropout_salience: float = F(2.0, "factor", "extra dropout hazard at zero salience", ge=0, le=100)


class Economics(_Strict):
    """Money: margin on sales and how the end-of-horizon value of the pool is counted."""

    gross_margin_rate: float = F(0.6, "share", "gross margin as a share of list price", ge=0, le=1)
    residual_horizon_days: float = F(180.0, "days", "days of the continuation that values the pool handed over at the end",
                                     ge=0, le=3650)
    discount_rate_per_year: float = F(0.10, "share/year", "discount rate of the continuation's net profit", ge=0, le=10)
    running_cost_per_day: float = F(0.0, "yuan/day", "fixed cost of running the pool (tools, content team)", ge=0, le=1e9)


class Channel(_Strict):
    """One contact channel: cost, reach, intrusiveness and platform cap."""

    cost: float = F(0.05, "yuan/contact", "cost of one contact (staff time, SMS fee)", ge=0, le=1000)
    open_rate: float = F(0.5, "probability", "open rate for a salient, rested customer in their window", ge=0, le=1)
    intrusiveness: float = F(1.0, "fatigue/contact", "fatigue added by a hard-sell contact", ge=0, le=10)
    cap_per_month: int = F(8, "contacts/customer/30 days", "platform or brand cap on contacts per customer", ge=0, le=31)
    salience_gain: float = F(0.3, "share", "share of the salience gap closed by an opened contact", ge=0, le=1)
    unsubscribe_rate: float = F(0.05, "probability", "mute/delete chance per contact at saturated fatigue", ge=0, le=1)
    complaint_rate: float = F(0.01, "probability", "complaint chance per hard contact at saturated fatigue", ge=0, le=1)


class Content(_Strict):
    """One kind of message: what it does to conversion, trust and fatigue."""

    conversion: float = F(0.1, "probability", "purchase chance when opened at full need and trust", ge=0, le=1)
    trust_gain: float = F(0.0, "share", "share of the trust gap closed when opened", ge=0, le=1)
    hardness: float = F(1.0, "factor", "how much of a sell it is (scales fatigue)", ge=0, le=5)
    discount: float = F(0.0, "share of price", "discount granted on redemption", ge=0, le=0.95)
    novelty: float = F(0.0, "0-1", "weight of age-band receptiveness on conversion", ge=0, le=1)
    cost: float = F(0.0, "yuan/contact", "cost of producing the message (staff time for service)", ge=0, le=10000)
    male_affinity: float = F(1.0, "factor", "conversion multiplier of this kind of message for men (1: as for women; 《私域流量的坑你踩了多少》: men are little moved by small gains and more by altruism and sentiment)", ge=0, le=5)


class Groups(_Strict):
    """WeChat groups (社群): contiguous blocks of customers; heat, shills, public complaints."""

    size: int = F(300, "members", "customers per group (members are those reachable on the group channel)", ge=2, le=500)
    heat_start: float = F(0.6, "0-1", "activity of a group at the start", ge=0, le=1)
    heat_half_life_days: float = F(14.0, "days", "half-life of the gap between heat and resting heat", gt=0, le=3650)
    resting_heat: float = F(0.25, "0-1", "heat members' own chatter keeps a group at without the brand", ge=0, le=1)
    engagement_heat: float = F(3.0, "heat/share", "heat gained per share of members opening a group message", ge=0, le=100)
    promotion_drain: float = F(1.0, "heat/share", "heat lost per share of members sent a hard-sell group message", ge=0, le=100)
    shills: int = F(0, "shills/group", "shills (水军) the brand plants in each group at shill_start_day", ge=0, le=100)
    shill_start_day: int = F(0, "day", "day the shills start", ge=0, le=100000)
    shill_heat: float = F(0.01, "heat/shill/day", "heat a fresh shill adds per day", ge=0, le=1)
    shill_half_life_days: float = F(20.0, "days", "half-life of the shills' effect as members see through them", gt=0, le=3650)
    leave_rate: float = F(0.02, "1/week", "weekly chance a member leaves a cold group (scaled by (1-heat)^2)", ge=0, le=1)
    heat_conversion: float = F(1.0, "factor", "weight of heat (social proof) on group conversion", ge=0, le=10)
    complaint_damage: float = F(0.8, "share", "share of a group's conversion lost per public complaint", ge=0, le=1)
    complaint_trust_hit: float = F(0.1, "trust", "trust each member loses per public complaint", ge=0, le=1)
    complaint_response: float = F(0.25, "0-1", "speed and quality of the brand's response (limits the damage)", ge=0, le=1)
    damage_half_life_days: float = F(120.0, "days", "half-life of a complaint's damage to a group", gt=0, le=3650)
    death_heat: float = F(0.05, "0-1", "heat below which a group is dead: nobody reads it", ge=0, le=1)
    broadcast: bool = F(False, "flag", "a group message is a post every member sees: addressing one member posts to all who have not muted the group (off: group messages reach only the members a policy addresses, like @-mentions)")


class Referral(_Strict):
    """Fission (裂变) and referral (转介绍): advocates bring friends with part of their trust."""

    reward_yuan: float = F(0.0, "yuan/referral", "reward paid per friend who joins", ge=0, le=100000)
    reward_lift: float = F(1.0, "factor", "referral propensity lift of a reward at its half value", ge=0, le=100)
    reward_half_yuan: float = F(20.0, "yuan", "reward at which half of the lift is reached", gt=0, le=100000)
    inherit_trust: float = F(0.6, "share", "share of the inviter's trust the invitee starts with", ge=0, le=1)
    invitee_need: float = F(0.5, "cycles", "how far into their cycle invitees are when they join", ge=0, le=5)
    joins: bool = Field(True, description="invitees join the pool (false: referrals are only counted)")
    ask_conversion: float = F(0.04, "probability", "chance an advocate with full trust refers a friend when an ask is opened, before the reward's lift", ge=0, le=1)
    ask_buyer_factor: float = F(0.5, "factor", "ask conversion of a buyer who is not (yet) an advocate, relative to an advocate", ge=0, le=1)
    ask_fatigue: float = F(0.3, "fatigue/ask", "fatigue an ask adds on top of its message", ge=0, le=10)


class Acquisition(_Strict):
    """Inflow (沉淀) from public-domain orders, store visits and paid ads."""

    orders_per_day: float = F(0.0, "orders/day", "public-domain orders the brand can follow up each day", ge=0, le=1e7)
    order_add_rate: float = F(0.35, "probability", "chance a buyer adds the brand right after ordering", ge=0, le=1)
    order_age_decay_days: float = F(7.0, "days", "how fast the add chance fades with the age of the order", gt=0, le=3650)
    order_max_age_days: float = F(60.0, "days", "oldest orders in the follow-up backlog", ge=0, le=3650)
    store_visitors_per_day: float = F(0.0, "visitors/day", "store visitors offered to add the brand", ge=0, le=1e7)
    store_add_rate: float = F(0.1, "probability", "chance a store visitor adds without a gift", ge=0, le=1)
    gift_yuan: float = F(0.0, "yuan/add", "value of the free gift for adding", ge=0, le=10000)
    gift_lift: float = F(2.0, "factor", "add-rate lift of a gift at its half value", ge=0, le=100)
    gift_half_yuan: float = F(10.0, "yuan", "gift value at which half of the lift is reached", gt=0, le=10000)
    ad_adds_per_day: float = F(0.0, "adds/day", "customers added through paid ads", ge=0, le=1e7)
    ad_cost_per_add: float = F(30.0, "yuan/add", "paid-ad cost per added customer", ge=0, le=100000)
    reserve_days: float = F(60.0, "days", "days of expected inflow the population arrays reserve at the start (they grow as needed)", ge=0, le=36500)


class Staff(_Strict):
    """Store guides (导购) who run 1:1 chats: capacity, response delay, turnover, personal accounts."""

    customers_per_guide: int = F(0, "customers", "customers per guide (0: no staff model, unlimited 1:1)", ge=0, le=10_000_000)
    chat_capacity_per_day: int = F(60, "chats/guide/day", "1:1 contacts a guide can deliver per day", ge=0, le=100000)
    response_delay_hours: float = F(2.0, "hours", "typical reply delay of a guide at light load", ge=0, le=1000)
    delay_quality: float = F(0.15, "1/hour", "loss of 1:1 service quality per hour of delay", ge=0, le=10)
    turnover_per_year: float = F(0.3, "1/year", "rate at which guides leave", ge=0, le=50)
    personal_share: float = F(0.3, "share", "share of 1:1 customers on guides' personal WeChat rather than WeCom", ge=0, le=1)
    ban_threshold_per_day: int = F(150, "messages/day", "1:1 messages a personal account sends before risking a ban", ge=0, le=100000)
    ban_rate: float = F(0.02, "1/day", "daily ban chance per 100% over the threshold", ge=0, le=1)
    salary_per_day: float = F(0.0, "yuan/guide/day", "running cost of a guide", ge=0, le=100000)
    personal_open_lift: float = F(1.0, "factor", "open-rate multiplier of WeCom-channel (1:1) messages in chats a guide holds on personal WeChat (1: as on WeCom; 《价值千万的私域心法》: personal WeChat is opened more often and wins trust more easily)", ge=0.5, le=3)
    personal_trust_lift: float = F(1.0, "factor", "multiplier of the trust an opened 1:1 message builds in a personal-WeChat chat (1: as on WeCom; 《价值千万的私域心法》)", ge=0.5, le=3)
    wecom_extra_delay_hours: float = F(0.0, "hours", "extra reply delay of 1:1 chats held on WeCom, which guides keep on a second phone (《私域流量的坑你踩了多少》); their conversion and trust gain are multiplied by exp(-delay_quality x hours), with or without a staff model", ge=0, le=1000)


class Platform(_Strict):
    """Platform rules beyond per-channel caps: folding of over-active Moments and group chats."""

    moments_fold_share: float = F(0.5, "share/day", "share of the Moments audience posted to per day above which posts get folded", ge=0, le=1)
    fold_factor: float = F(0.3, "factor", "open-rate multiplier of folded Moments posts", ge=0, le=1)
    fold_days: int = F(7, "days", "days a fold lasts", ge=0, le=365)
    group_fold_per_week: float = F(0.0, "messages/member/week", "group messages per member over the last 7 days above which WeChat folds that group chat for fold_days, its open rate times fold_factor (0: groups never fold; 《价值千万的私域心法》: group chats fold like Moments)", ge=0, le=7)


class Competition(_Strict):
    """Rival brands' pools competing for the same attention and need."""

    rival_fatigue_per_day: float = F(0.0, "fatigue/day", "fatigue rivals' messages add every day", ge=0, le=10)
    rival_share_pressure: float = F(0.0, "share", "share of need occasions rivals take whatever the brand does", ge=0, le=1)


class Landing(_Strict):
    """Where a sale lands: inside WeChat or back on the marketplace store (docs/model.md).

    Inside WeChat means the mini-program or a transfer; the marketplace store (Tmall/Taobao links)
    takes a fee, and the CRM may not see the order.
    """

    wechat_share: float = F(1.0, "share", "share of the pool's purchases paid inside WeChat; the rest go back to the marketplace store", ge=0, le=1)
    marketplace_commission: float = F(0.05, "share", "marketplace fee on the revenue of orders that land there", ge=0, le=1)
    marketplace_visibility: float = F(0.5, "probability", "chance a marketplace order is matched to the customer's CRM record (otherwise the CRM never sees it)", ge=0, le=1)
    conflict: float = F(0.0, "share", "order-based inflow lost when every sale lands in WeChat: the e-commerce team stops helping a pool that takes its sales", ge=0, le=1)


class Invitation(_Strict):
    """Invitations (沉淀 as a policy action): ask a customer to add the brand's WeCom persona or join a welfare group.

    An invitation rides on a contact through a channel that already reaches the customer (an official-account
    push, an SMS, a group or WeCom message; the Perfect Diary case of 《私域营销从锦上添花变为企业标配》:
    official account -> add "Xiao Wanzi" for a gift -> welfare group); a personal-WeChat contact can be moved
    to WeCom the same way (WeCom keeps customers when staff leave: 《私域流量的坑你踩了多少》,
    《突然火起来的私域流量怎么玩》). An opened invitation is accepted with chance ``accept x (trust_floor +
    (1 - trust_floor) x trust) x recency x gift lift``, where recency is ``old_buyer_factor + (1 -
    old_buyer_factor) x exp(-days since last order / recency_days)``: recent buyers add far more often than
    old ones (fact 5; 《私域营销从锦上添花变为企业标配》, 《价值千万的私域心法》). One not accepted adds
    ``ignore_fatigue``. Off by default: a policy may invite only where a preset's business mode uses it
    (``enabled``).
    """

    enabled: bool = F(False, "flag", "policies may send invitations (off: an invitation is an invalid action)")
    wecom_accept: float = F(0.25, "probability", "chance an opened invitation to add the WeCom persona is accepted by a fully trusting customer who ordered today, without a gift (《私域营销从锦上添花变为企业标配》; cf. acquisition.order_add_rate)", ge=0, le=1)
    group_accept: float = F(0.15, "probability", "the same for an invitation to join the customer's welfare group (《私域营销从锦上添花变为企业标配》)", ge=0, le=1)
    recency_days: float = F(14.0, "days", "how fast acceptance fades with the days since the customer's last order (fact 5; 《私域营销从锦上添花变为企业标配》, 《价值千万的私域心法》)", gt=0, le=3650)
    old_buyer_factor: float = F(0.15, "factor", "acceptance of a customer whose last order is long past, or who never ordered, relative to one who ordered today", ge=0, le=1)
    gift_yuan: float = F(10.0, "yuan/acceptance", "value of the gift an invitation with a gift promises; paid when accepted, booked as incentive cost (《私域营销从锦上添花变为企业标配》)", ge=0, le=10000)
    gift_lift: float = F(1.5, "factor", "acceptance lift of the gift at its half value (as acquisition.gift_lift)", ge=0, le=100)
    gift_half_yuan: float = F(10.0, "yuan", "gift value at which half of the lift is reached", gt=0, le=10000)
    cost_yuan: float = F(0.1, "yuan/invitation", "cost of one invitation on top of its message (QR poster, staff time), booked as contact cost", ge=0, le=1000)
    ignore_fatigue: float = F(0.3, "fatigue/invitation", "fatigue an invitation adds when it is not accepted (《价值千万的私域心法》: pushing annoys)", ge=0, le=10)


class Membership(_Strict):
    """The member programme (会员): member prices and points for buyers of a tier, and paid membership.

    Members (tier >= ``min_tier`` by cumulative spend) pay the member price on every purchase and earn
    points (their value booked as incentive cost when earned); points to spend bring them back
    (``points_loyalty`` lifts the brand's share of their need occasions). Unlike a coupon, a member price
    is a standing price: nobody learns to wait for it (the awaited discount does not move towards it),
    though it meets what a deal-waiter waits for. Paid membership (付费会员) is offered by a policy
    (``Action.invite`` = paid_membership); an opened offer is accepted with chance ``paid_accept x trust
    x recency`` (recency as for invitations); the fee is revenue, and for ``paid_days`` a paid member gets
    ``paid_price`` and ``paid_loyalty``. Seeds 000 (tiers, points, member prices, paid membership) and
    002 (points mall, fan tiers). Off by default.
    """

    enabled: bool = F(False, "flag", "the programme runs: member prices and points, and policies may offer paid membership")
    min_tier: int = F(1, "tier", "member tier (by cumulative spend) from which the member price and points apply", ge=1, le=3)
    member_price: float = F(0.05, "share of price", "member price cut on every purchase of a member (《私域流量的坑你踩了多少》)", ge=0, le=0.95)
    points_rate: float = F(0.03, "share of price", "value of the points a member earns per purchase, booked as incentive cost (《私域流量的坑你踩了多少》, 《私域营销从锦上添花变为企业标配》)", ge=0, le=0.5)
    points_loyalty: float = F(0.1, "share", "lift of the brand's share of a member's need occasions (points to spend bring them back)", ge=0, le=2)
    paid_fee_yuan: float = F(99.0, "yuan/membership", "fee of paid membership, booked as revenue and margin when sold (《私域流量的坑你踩了多少》)", ge=0, le=100000)
    paid_days: int = F(365, "days", "how long a paid membership runs", ge=1, le=3650)
    paid_price: float = F(0.1, "share of price", "member price cut of a paid member", ge=0, le=0.95)
    paid_loyalty: float = F(0.3, "share", "lift of the brand's share of a paid member's need occasions (a paid card gets used)", ge=0, le=2)
    paid_accept: float = F(0.05, "probability", "chance an opened paid-membership offer is accepted by a fully trusting customer who ordered today", ge=0, le=1)


class Fans(_Strict):
    """Fan tiers by interaction (粉丝等级) for customers who never bought, with a reward for leaving contact details.

    《私域流量的坑你踩了多少》: besides member tiers by spend, non-member fan tiers by interaction, "to increase interaction
    and let customers leave their contact details (留资) while enjoying member treatment". A fan (tier 0) climbs one
    fan tier per ``opens_per_tier`` opened messages, up to 3 (``obs.fan_tier``); on reaching a tier they are offered
    its reward for leaving their phone number and take it with chance ``details_rate``: the brand then reaches
    them by SMS and adds them on WeCom (with its Moments), and pays ``reward_yuan`` (incentive cost).
    """

    enabled: bool = F(False, "flag", "run fan tiers (off: fans have no tiers and nobody is offered a reward for details)")
    opens_per_tier: int = F(3, "opens/tier", "opened messages that lift a fan one fan tier", ge=1, le=100)
    details_rate: float = F(0.2, "probability", "chance a fan reaching a new fan tier leaves contact details for its reward (《私域流量的坑你踩了多少》)", ge=0, le=1)
    reward_yuan: float = F(10.0, "yuan/fan", "value of the tier reward for leaving details (a sample, member treatment), booked as incentive cost", ge=0, le=10000)


EVENT_KINDS = ("festival", "big_sale", "new_arrival", "live_stream")
"""Kinds of calendar event: festival promotions, the big sales (618, Double 11), new-arrival
announcements and live-streaming sessions (docs/model.md, "The calendar"). A label for policies and reports:
what an event does is in its numbers."""


class Event(_Strict):
    """One event on the brand's calendar: need pulled forward, attention raised, a price cut, a cost.

    During the event everyone acts as if ``need_pull`` cycles further into their repurchase cycle
    (stocking up in a sale), so purchases come forward and the weeks after dip by themselves: the
    needs are already met. Messages are opened more (``attention``), every purchase gets the event
    price (``discount``, booked as incentive cost, and it meets what deal-waiters wait for), and each
    event day costs ``cost_yuan`` (live-stream production, stock, ads).
    """

    name: str = Field("event", description="what the event is called (shown to policies as obs.event)")
    kind: Literal["festival", "big_sale", "new_arrival", "live_stream"] = Field(
        "festival", description="kind of event: festival, big_sale (618, Double 11), new_arrival, live_stream")
    start_day: int = F(0, "day", "first day of the event (of its first occurrence)", ge=0, le=1_000_000)
    days: int = F(1, "days", "how long the event lasts", ge=1, le=365)
    every_days: int = F(0, "days", "repeat period (0: once; 365: yearly, as 618 and Double 11)", ge=0, le=3650)
    need_pull: float = F(0.0, "cycles", "how much further into their repurchase cycle everyone acts during the event (purchases pulled forward)", ge=0, le=2)
    attention: float = F(1.0, "factor", "open-rate multiplier of messages during the event", ge=0, le=5)
    discount: float = F(0.0, "share of price", "event price cut on every purchase during the event", ge=0, le=0.95)
    cost_yuan: float = F(0.0, "yuan/day", "running cost of each event day (live-stream production, stock, ads)", ge=0, le=1e9)

    @model_validator(mode="after")
    def _fits_period(self) -> "Event":
        if self.every_days and self.days > self.every_days:
            raise ValueError(f"days ({self.days}) must not exceed every_days ({self.every_days})")
        return self


class Calendar(_Strict):
    """The brand's calendar of events that shift need and attention for everyone (default: none)."""

    events: list[Event] = Field(default_factory=list, description="events; overlapping events take the strongest pull and discount and multiply attention")


def field_docs(model: type[BaseModel] | None = None, prefix: str = "") -> list[dict[str, str]]:
    """Every scenario field: dotted path, unit, allowed range, default and description.

    The schema ``siyu scenarios fields`` prints. Channel and content tables show one entry, as
    ``<channel>`` or ``<content>``.
    """
    model = model or Scenario
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += field_docs(ann, path + ".")
            continue
        entry = getattr(ann, "__args__", ())
        if entry and isinstance(entry[-1], type) and issubclass(entry[-1], BaseModel):
            key = {Channel: "<channel>", Content: "<content>"}.get(entry[-1], "<event>")
            rows += field_docs(entry[-1], f"{path}.{key}.")
            continue
        lo = hi = None
        lo_open = False
        for meta in info.metadata:
            if getattr(meta, "ge", None) is not None:
                lo = meta.ge
            if getattr(meta, "gt", None) is not None:
                lo, lo_open = meta.gt, True
            if getattr(meta, "le", None) is not None:
                hi = meta.le
        span = "" if lo is None and hi is None else f"{'(' if lo_open else '['}{_g(lo)}, {_g(hi)}]"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = info.get_default(call_default_factory=True)
        rows.append({"path": path, "unit": str(extra.get("unit", "")), "range": span,
                     "default": default if isinstance(default, str) else json.dumps(default),
                     "description": info.description or ""})
    return rows


def _g(v: float | None) -> str:
    return "-inf" if v is None else f"{v:g}"


def _channels_default() -> dict[str, Channel]:
    return {name: Channel() for name in CHANNELS}


def _contents_default() -> dict[str, Content]:
    return {name: Content() for name in CONTENTS}


class Tiers(_Strict):
    """Member tiers by cumulative spend; tier 0 is a fan who never bought."""

    thresholds_yuan: list[float] = F([0.01, 800.0, 3000.0], "yuan", "cumulative spend to reach tiers 1, 2, 3")

    @model_validator(mode="after")
    def _sorted(self) -> "Tiers":
        t = self.thresholds_yuan
        if len(t) != 3 or any(b < a for a, b in zip(t, t[1:])) or t[0] <= 0:
            raise ValueError("thresholds_yuan must be 3 increasing positive amounts")
        return self


class Scenario(_Strict):
    """A brand's private pool: population, dynamics, channels, contents and economics."""

    name: str = Field("custom", max_length=100, description="short name of the scenario")
    description: str = Field("", max_length=2000, description="one line on what business this is")
    mode: Literal["shopping_assistant", "topic_expert", "private_partner", "low_frequency_service", "custom"] = Field(
        "custom", description="business mode (docs/model.md)")
    population: Population = Field(default_factory=Population)
    dynamics: Dynamics = Field(default_factory=Dynamics)
    economics: Economics = Field(default_factory=Economics)
    channels: dict[str, Channel] = Field(default_factory=_channels_default)
    contents: dict[str, Content] = Field(default_factory=_contents_default)
    tiers: Tiers = Field(default_factory=Tiers)
    groups: Groups = Field(default_factory=Groups)
    referral: Referral = Field(default_factory=Referral)
    acquisition: Acquisition = Field(default_factory=Acquisition)
    staff: Staff = Field(default_factory=Staff)
    platform: Platform = Field(default_factory=Platform)
    competition: Competition = Field(default_factory=Competition)
    landing: Landing = Field(default_factory=Landing)
    calendar: Calendar = Field(default_factory=Calendar)
    invitation: Invitation = Field(default_factory=Invitation)
    membership: Membership = Field(default_factory=Membership)
    fans: Fans = Field(default_factory=Fans)

    @model_validator(mode="after")
    def _complete(self) -> "Scenario":
        for table, names in (("channels", CHANNELS), ("contents", CONTENTS)):
            got = getattr(self, table)
            unknown = sorted(set(got) - set(names))
            missing = [n for n in names if n not in got]
            if unknown or missing:
                raise ValueError(f"{table} must name exactly {', '.join(names)}"
                                 + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                                 + (f"; missing: {', '.join(missing)}" if missing else ""))
        return self

    def config_hash(self) -> str:
        """Short stable hash of the dynamics-relevant content (not the name)."""
        data = self.model_dump(exclude={"name", "description"})
        if not self.calendar.events:  # an empty calendar keeps the hash of scenarios written before it existed
            del data["calendar"]
        if self.invitation == Invitation():  # and so does the default (off) invitation section
            del data["invitation"]
        if self.membership == Membership():
            del data["membership"]
        if self.population.dropout_sigma == DROPOUT_SIGMA:  # and so does the dropout spread that was fixed before
            del data["population"]["dropout_sigma"]
        if self.dynamics.need_lapse_spread == 0.0:  # and the lapse's spread, 0 before it existed
            del data["dynamics"]["need_lapse_spread"]
        if self.dynamics.share_floor_spread == 0.0:  # and the floor's spread, 0 before it existed
            del data["dynamics"]["share_floor_spread"]
        if self.dynamics.tenure_fade == 0.0 and self.dynamics.tenure_floor == 0.0:  # and the tenure fade, off before
            del data["dynamics"]["tenure_fade"], data["dynamics"]["tenure_floor"]
        if self.population.joiners_per_year == 0.0:  # and the log design's joiners, none before they existed
            del data["population"]["joiners_per_year"]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _vector(values: list[float], n: int, name: str, share: bool = False) -> None:
    if len(values) != n:
        raise ValueError(f"{name} needs {n} values, got {len(values)}")
    if any(not (0.0 <= v <= 1.0) for v in values):
        raise ValueError(f"{name} values must lie in [0, 1]")
    if share and abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (got {sum(values):.4f})")


# --- loading ----------------------------------------------------------------------------------

def preset_names() -> list[str]:
    """Names of the scenario presets shipped inside the package."""
    return sorted(p.name[:-5] for p in resources.files("sim.presets").iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """The TOML text of a preset, to copy and edit."""
    if name not in preset_names():
        raise ConfigError(f"unknown scenario preset '{short(name)}'; presets: {', '.join(preset_names())}")
    return resources.files("sim.presets").joinpath(f"{name}.toml").read_text(encoding="utf-8")


MAX_TOML_BYTES = 1_000_000
"""Largest TOML file read (a scenario is a few kilobytes; a grid of a thousand values, tens)."""
MAX_TOML_DEPTH = 16
"""Deepest nesting of tables and arrays accepted (siyu's files need 5)."""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    where = short(str(path), 200)
    try:
        if not path.is_file():
            raise ConfigError(f"{where}: no such file")
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        if isinstance(exc, ValueError):
            raise ConfigError(f"{where}: not a valid file name ({exc})") from None  # a name too long for the file system, a folder we may not enter
        raise ConfigError(f"{where}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if size > MAX_TOML_BYTES:
        raise ConfigError(f"{where}: {size:,} bytes; a siyu TOML file is at most {MAX_TOML_BYTES:,}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {short(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested deeper than {MAX_TOML_DEPTH} levels") from None
    if _depth(data) > MAX_TOML_DEPTH:
        raise ConfigError(f"{where}: nested deeper than {MAX_TOML_DEPTH} levels")
    return data


def _python_scalars(value: Any) -> Any:
    """``value`` with numpy scalars inside dicts and lists turned into Python numbers."""
    if isinstance(value, dict):
        return {k: _python_scalars(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_python_scalars(v) for v in value)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def path_exists(text: str | Path) -> bool:
    """Whether a path exists; False for names no file can have (too long, a NUL byte) instead of an error."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def _depth(value: Any) -> int:
    """Nesting depth of tables and arrays (without recursion, so any depth is measured)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def short(text: str, width: int = 80) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (values echoed in errors)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """Validate ``data`` into ``model``; on failure a :class:`ConfigError` naming each bad field.

    Numpy scalars (a grid from ``np.linspace``, a tuner's draw) become Python numbers first: validation
    is strict, and ``np.int64`` is not an ``int``.
    """
    try:
        return model.model_validate(_python_scalars(data))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, source)) from None


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """One line per bad field: file, field path, bad value, and what is allowed (with unit)."""
    lines = []
    errors = exc.errors()
    for err in errors[:3]:
        loc = short(".".join(str(p) for p in err["loc"]))
        allowed = _allowed(model, err["loc"])
        value = err.get("input")
        shown = short(repr(value)) if not isinstance(value, dict) else "{...}"
        where = f"{source}: {loc}" if loc else source
        lines.append(f"{where} = {shown}: {err['msg']}{allowed}")
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return "; ".join(lines) + more


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Describe the field at ``loc``: its range, unit and description, when known."""
    current: Any = model
    info = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None:
            if info is not None and isinstance(part, str):
                args = getattr(info.annotation, "__args__", ())
                current = args[-1] if args else None
                continue
            return ""
        if part not in fields:
            if isinstance(part, str) and part != "__root__":
                return f" (unknown field; allowed: {short(', '.join(fields), 200)})"
            return ""
        info = fields[part]
        current = info.annotation
    if info is None:
        return ""
    bits = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bits.append(f"{sym} {getattr(meta, attr)}")
    extra = info.json_schema_extra or {}
    unit = extra.get("unit") if isinstance(extra, dict) else None
    text = ", ".join(bits)
    if unit:
        text = f"{text} {unit}".strip()
    if info.description:
        text = f"{text}; {info.description}" if text else info.description
    return f" (allowed: {text})" if text else ""


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A preset by name, or a TOML file by path, validated into a :class:`Scenario`."""
    text = str(name_or_path)
    if not text.strip():
        raise ConfigError(f"scenario '': give a preset ({', '.join(preset_names())}) or a TOML file")
    if text in preset_names():
        data = tomllib.loads(preset_text(text))
        source = f"preset {text}"
    elif text.endswith(".toml") or path_exists(text):
        data = read_toml(Path(text))
        source = short(text, 200)
    else:
        raise ConfigError(f"unknown scenario '{short(text)}': not a preset ({', '.join(preset_names())}) nor a TOML file")
    return validate_model(Scenario, data, source)


def apply_overrides(scenario: Scenario, overrides: dict[str, Any], source: str = "overrides") -> Scenario:
    """A copy of ``scenario`` with dotted-path overrides (``{"dynamics.lure": 3.0}``), re-validated."""
    data = scenario.model_dump()
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{source}: {dotted}: no such field")
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"{source}: {dotted}: no such field")
        node[parts[-1]] = value
    return validate_model(Scenario, data, source)
