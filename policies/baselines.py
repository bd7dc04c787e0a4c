"""Rule baselines a brand would actually run, from doing nothing to the daily blast.

Each is configurable from TOML through its ``Params`` model (``siyu`` validates a policy file
against it). All act on the CRM view only.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from policies.base import (Params, RulePolicy, build_action, channel_codes, content_code, due,
                           pick_channel, slot_code, slot_for, typical_interval)
from sim.defaults import (CHANNELS, COUPON, FLAG_COMPLAINED, FLAG_UNSUBSCRIBED, NIGHT, SERVICE)
from sim.observation import Action, Observation

ALL_CHANNELS = list(CHANNELS)


class NoContact(RulePolicy):
    """Never contact anyone: the forgetting baseline."""

    kind = "no_contact"

    def act(self, obs: Observation) -> Action:
        """Nobody today."""
        return Action.none(obs.n)


class BlastParams(Params):
    """Daily promotions to everyone."""

    channels: list[str] = Field(ALL_CHANNELS, description="channels, rotated day by day")
    slot: str = Field("noon", description="send slot for everyone")


class Blast(RulePolicy):
    """Daily promotion (coupon, then flash sale) to everyone on every channel in turn: the pitfall."""

    kind = "blast"
    Params = BlastParams

    def act(self, obs: Observation) -> Action:
        """Everyone, every day, a promotion on the next channel that still reaches them."""
        p = self.params
        prefs = channel_codes(p.channels)
        k = obs.day % len(prefs)
        ch = pick_channel(obs, np.ones(obs.n, bool), prefs[k:] + prefs[:k])
        content = COUPON if obs.day % 2 == 0 else COUPON + 1
        return build_action(ch, content, slot_code(p.slot))


class FixedCadenceParams(Params):
    """Content every k days, an offer every m days, for everyone."""

    content_every_days: int = Field(7, ge=0, le=365, description="days between content messages (0: none)")
    offer_every_days: int = Field(30, ge=0, le=365, description="days between offers (0: none)")
    content: str = Field("content", description="what the regular message carries")
    offer: str = Field("coupon", description="what the offer carries")
    channels: list[str] = Field(["wecom", "group", "moments", "official_account", "sms"],
                                description="channel preference order")
    slot: str = Field("evening", description="send slot")


class FixedCadence(RulePolicy):
    """The same schedule for everyone: content every k days, an offer every m days."""

    kind = "fixed_cadence"
    Params = FixedCadenceParams

    def act(self, obs: Observation) -> Action:
        """Whoever is due today on either cadence (the offer wins a tie)."""
        p = self.params
        offer = due(obs, p.offer_every_days, offset=3)
        want = offer | due(obs, p.content_every_days)
        ch = pick_channel(obs, want, channel_codes(p.channels))
        content = np.where(offer, content_code(p.offer), content_code(p.content))
        return build_action(ch, content, slot_code(p.slot))


class RfmParams(Params):
    """Segment rules on recency, frequency and monetary value."""

    vip_min_tier: int = Field(3, ge=1, le=3, description="tier from which a buyer is a VIP")
    vip_service_every_days: int = Field(14, ge=0, le=365, description="days between VIP service messages")
    due_from: float = Field(0.85, ge=0, le=10, description="recency / interval at which an offer is due")
    lapsed_after: float = Field(2.5, ge=0, le=50, description="recency / interval after which a buyer is lapsed")
    offer_gap_days: int = Field(14, ge=1, le=365, description="minimum days between offers to one customer")
    active_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for buyers not yet due")
    lapsed_offer_every_days: int = Field(0, ge=0, le=365, description="win-back flash-sale cadence for lapsed buyers (0: none)")
    lapsed_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for lapsed buyers")
    fan_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for fans who never bought")
    fan_offer_every_days: int = Field(0, ge=0, le=365, description="first-purchase offer cadence for fans (0: none)")
    channels: list[str] = Field(["wecom", "group", "moments", "official_account", "sms"],
                                description="channel preference order")
    slot: str = Field("evening", description="send slot until a customer's open slot is known")
    personal_slot: bool = Field(True, description="send in the slot the customer last opened in")


class RfmTiered(RulePolicy):
    """Segment rules: VIP service, due buyers get an offer, others content, lapsed win-back, fan nurture."""

    kind = "rfm_tiered"
    Params = RfmParams

    def act(self, obs: Observation) -> Action:
        """Segment the pool on the CRM record and apply each segment's rule."""
        p = self.params
        n = obs.n
        typical = typical_interval(obs)
        interval = np.where(obs.interval > 0, obs.interval, typical)
        rel = obs.recency / interval
        buyer = obs.frequency > 0
        vip = buyer & (obs.tier >= p.vip_min_tier) & (rel < p.lapsed_after)
        lapsed = buyer & (rel >= p.lapsed_after)
        due_offer = buyer & ~lapsed & (rel >= p.due_from) & (obs.days_since_contact >= p.offer_gap_days)
        fan = ~buyer
        content = np.full(n, -1, np.int8)
        rules = (
            (due_offer, COUPON),
            (vip & due(obs, p.vip_service_every_days), SERVICE),
            (lapsed & due(obs, p.lapsed_offer_every_days, 5), COUPON + 1),
            (fan & due(obs, p.fan_offer_every_days, 11), COUPON),
            (buyer & ~lapsed & due(obs, p.active_content_every_days), content_code("content")),
            (lapsed & due(obs, p.lapsed_content_every_days), content_code("content")),
            (fan & due(obs, p.fan_content_every_days), content_code("content")),
        )
        for mask, what in rules:  # the first rule that applies to a customer decides
            content[mask & (content < 0)] = what
        channel = pick_channel(obs, content >= 0, channel_codes(p.channels))
        content[content < 0] = 0
        slot = slot_for(obs, slot_code(p.slot)) if p.personal_slot else slot_code(p.slot)
        return build_action(channel, content, slot)


class FatigueCappedParams(Params):
    """Frequency cap, quiet hours and need-timed offers."""

    min_gap_days: int = Field(7, ge=1, le=365, description="minimum days between two contacts to one customer")
    content_every_days: int = Field(7, ge=0, le=365, description="content cadence between offers (0: none)")
    offer_window: tuple[float, float] = Field((0.85, 1.4), description="recency / interval range in which an offer is sent")
    offer: str = Field("coupon", description="what the need-timed offer carries")
    content: str = Field("content", description="what the regular message carries")
    cool_down_days: int = Field(45, ge=0, le=365, description="silence after a complaint or unsubscribe")
    channels: list[str] = Field(["wecom", "group", "moments", "official_account"],
                                description="channel preference order (SMS left out by default)")
    default_slot: str = Field("evening", description="slot used until a customer's open slot is known")
    quiet_night: bool = Field(True, description="never send at night")


class FatigueCapped(RulePolicy):
    """Respect the customer: a frequency cap, quiet hours, offers timed near the expected repurchase."""

    kind = "fatigue_capped"
    Params = FatigueCappedParams

    def act(self, obs: Observation) -> Action:
        """Offers to buyers near their expected repurchase; light content otherwise; silence after complaints."""
        p = self.params
        typical = typical_interval(obs)
        interval = np.where(obs.interval > 0, obs.interval, typical)
        rel = obs.recency / interval
        rested = obs.days_since_contact >= p.min_gap_days
        upset = (obs.last_flags & (FLAG_COMPLAINED | FLAG_UNSUBSCRIBED)) != 0
        cooling = upset & (obs.days_since_contact < p.cool_down_days)
        ok = rested & ~cooling
        lo, hi = p.offer_window
        in_window = (rel >= lo) & (rel <= hi)
        fan = obs.frequency == 0
        offer = ok & in_window & ~fan
        regular = ok & ~offer & due(obs, p.content_every_days)
        ch = pick_channel(obs, offer | regular, channel_codes(p.channels))
        content = np.where(offer, content_code(p.offer), content_code(p.content))
        avoid = (NIGHT,) if p.quiet_night else ()
        slot = slot_for(obs, slot_code(p.default_slot), avoid)
        return build_action(ch, content, slot)


BASELINES: dict[str, type[RulePolicy]] = {
    cls.kind: cls for cls in (NoContact, Blast, FixedCadence, RfmTiered, FatigueCapped)
}
"""Rule baselines by name."""
