"""Names, codes and dtypes shared by the engine: channels, contents, slots, stages and statistics.

Everything that a kernel indexes by number is declared here once, so that Python code, kernels,
policies and reports agree on what index 3 means.
"""

from __future__ import annotations

import numpy as np

# --- channels -------------------------------------------------------------------------------
CHANNELS: tuple[str, ...] = ("wecom", "group", "moments", "official_account", "sms")
"""Contact channels, in kernel order: WeCom 1:1, group broadcast, Moments, official account, SMS."""
WECOM, GROUP, MOMENTS, OFFICIAL, SMS = range(5)
N_CHANNELS = len(CHANNELS)
NO_CONTACT = -1
"""Channel code meaning "do not contact this customer today"."""

# --- contents / incentives ------------------------------------------------------------------
CONTENTS: tuple[str, ...] = ("content", "service", "new_product", "coupon", "flash_sale")
"""What a contact carries: know-how content, service/care, a new product, a coupon, a flash sale."""
CONTENT, SERVICE, NEW_PRODUCT, COUPON, FLASH_SALE = range(5)
N_CONTENTS = len(CONTENTS)
OFFERS = (COUPON, FLASH_SALE)
"""Contents that carry an incentive (a discount the customer sees)."""

# --- time slots -----------------------------------------------------------------------------
SLOTS: tuple[str, ...] = ("morning", "noon", "evening", "night")
MORNING, NOON, EVENING, NIGHT = range(4)
N_SLOTS = len(SLOTS)

# --- 5A relationship stages and status ------------------------------------------------------
STAGES: tuple[str, ...] = ("aware", "appeal", "ask", "act", "advocate")
A1, A2, A3, A4, A5 = range(5)
ACTIVE, DROPPED, NOT_JOINED = 0, 1, 2
"""Status: in the pool, left for good, or a reserved row for a customer who has not joined yet."""
ORIGINS: tuple[str, ...] = ("initial", "order", "store", "ad", "referral")
"""How a customer came into the pool: drawn at the start, a public-domain order, a store visit, an ad, a friend."""
ORIGIN_INITIAL, ORIGIN_ORDER, ORIGIN_STORE, ORIGIN_AD, ORIGIN_REFERRAL = range(5)
ACCOUNTS: tuple[str, ...] = ("wecom", "personal")
"""Where a guide holds a customer's 1:1 chat: the brand's WeCom, or the guide's personal WeChat (codes below)."""
ACCOUNT_WECOM, ACCOUNT_PERSONAL = range(2)
GENDERS: tuple[str, ...] = ("female", "male")
"""The gender of the customer's WeChat profile (``State.gender``, ``Observation.gender``; codes below)."""
GENDER_FEMALE, GENDER_MALE = range(2)
INVITES: tuple[str, ...] = ("none", "wecom", "wecom_gift", "group", "group_gift", "paid_membership")
"""Invitations a contact may carry (``Action.invite``): add the brand's WeCom persona (or move a personal-WeChat
chat to it) or join the customer's welfare group, each without or with a gift (scenario section ``invitation``),
or buy paid membership (section ``membership``)."""
INVITE_NONE, INVITE_WECOM, INVITE_WECOM_GIFT, INVITE_GROUP, INVITE_GROUP_GIFT, INVITE_PAID = range(6)
# per-customer event bits of one day, read by the group and referral kernels
EV_GROUP_OPEN, EV_GROUP_PROMO, EV_GROUP_COMPLAINT, EV_GROUP_LEFT, EV_REFERRED, EV_GROUP_CONTACT, EV_GROUP_BUY = (
    1, 2, 4, 8, 16, 32, 64)

# --- CRM flags of the last contact (bit positions in ``last_flags``) -------------------------
FLAG_DELIVERED, FLAG_OPENED, FLAG_BOUGHT, FLAG_COMPLAINED, FLAG_UNSUBSCRIBED = (1, 2, 4, 8, 16)

NEVER = -1_000_000
"""Day stamp meaning "never happened" (last purchase, last contact)."""
MONTH_DAYS = 30
"""Length of the window over which per-channel frequency caps count contacts."""
BLOCK = 1024
"""Customers per reduction block. Fixed, so sums do not depend on the thread count."""

# --- dtypes of the struct-of-arrays state ---------------------------------------------------
FLOAT = np.float32
DAY = np.int32

# --- per-day statistics produced by the step kernel ----------------------------------------
_BASE_STATS = (
    "revenue", "gross_margin", "incentive_cost", "contact_cost",
    "purchases", "purchases_contacted", "purchases_organic", "lost_to_rivals",
    "contacts", "opens", "unsubscribes", "complaints", "dropouts", "referrals",
    "coupons_redeemed", "in_window_contacts", "in_window_opens",
    "off_window_contacts", "off_window_opens",
    "group_contacts", "group_opens", "group_purchases", "group_complaints", "group_leaves",
    "marketplace_revenue", "platform_fees", "unseen_purchases",
    "asks", "invitations", "invitations_accepted", "memberships_sold", "membership_fees", "member_discounts",
    "fan_details", "male_contacts", "male_offers", "male_discounts", "fan_contacts",
)
WORLD_FLOWS: tuple[str, ...] = (
    "acquired", "acquired_orders", "acquired_store", "acquired_ads", "acquired_referral",
    "acquisition_cost", "running_cost",
    "orders_recent_offered", "orders_recent_added", "orders_old_offered", "orders_old_added",
    "staff_departures", "staff_lost_customers", "banned_accounts", "undelivered_capacity",
    "event_contacts", "group_days_folded",
)
"""Pool-level flows booked by the world step (acquisition, staff, platform), not per customer."""
COST_FLOWS: tuple[str, ...] = ("incentive_cost", "contact_cost", "acquisition_cost", "running_cost", "platform_fees")
"""What net profit subtracts from gross margin (yuan)."""
STOCKS: tuple[str, ...] = (
    "reachable", "unreachable", "dropped", "active_buyers",
    "salience_sum", "fatigue_sum", "trust_sum", "deal_sum",
    "groups_alive", "group_heat_sum", "group_members", "moments_audience", "joined",
)
"""End-of-day levels (not flows): summing them over days means nothing."""
_CHANNEL_STATS = ("delivered", "opened", "purchased", "unsubscribed")
STAT_NAMES: tuple[str, ...] = _BASE_STATS + STOCKS + tuple(
    f"{ch}_{what}" for ch in CHANNELS for what in _CHANNEL_STATS
) + WORLD_FLOWS
"""Names of the columns of the per-day statistics array, kernel order."""
S = {name: i for i, name in enumerate(STAT_NAMES)}
N_STATS = len(STAT_NAMES)
S_CHANNEL0 = len(_BASE_STATS) + len(STOCKS)
"""Index of the first per-channel statistic; channel c, measure m sits at S_CHANNEL0 + 4*c + m."""
