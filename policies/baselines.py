"""Rule baselines a brand would actually run, from doing nothing to the daily blast.

Each is configurable from TOML through its ``Params`` model (``siyu`` validates a policy file
against it); a field's ``json_schema_extra`` declares the range ``siyu tune`` searches (``search_int``,
``search_float``, ``search_choice``). All act on the CRM view only.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from pydantic import Field

from policies.journeys import Journeys
from policies.base import (Params, PolicyMemory, RulePolicy, build_action, cadence, channel_codes, content_code, due,
                           first_usable_table, pick_channel, search_choice, search_each, search_float,
                           search_int, slot_code, slot_or_default)
from sim.defaults import (BLOCK, CHANNELS, COUPON, FLAG_COMPLAINED, FLAG_UNSUBSCRIBED, FLASH_SALE, NEVER, NIGHT,
                          NO_CONTACT, SERVICE, SLOTS)
from sim._threads import twin
from sim.observation import Action, Observation, days_since, purchase_interval, usable_channels
from sim.segments import DUE_FROM, LAPSED_FROM, VIP_TIER, ratio_of, typical_interval

ALL_CHANNELS = list(CHANNELS)
NO_SMS = [c for c in CHANNELS if c != "sms"]
CHANNEL_ORDERS = (ALL_CHANNELS, NO_SMS, ["wecom", "group", "moments"], ["wecom", "group"], ["group", "moments", "wecom"])
"""Channel preference orders a tuner tries (``siyu tune``): all, no SMS, private channels only, 1:1 first or broadcast first."""
SEARCH_CHANNELS = search_choice(*CHANNEL_ORDERS)
SEARCH_SLOT = search_choice(*SLOTS)
SEARCH_CADENCE = search_int(0, 30)
"""A content cadence a tuner tries: 0 (none) to monthly."""
SEARCH_OFFER_CADENCE = search_int(0, 90)
"""An offer cadence a tuner tries: 0 (none) to quarterly."""
SEARCH_CONTENT = search_choice("content", "new_product", "service")
SEARCH_OFFER = search_choice("coupon", "flash_sale")


class NoContact(RulePolicy):
    """Never contact anyone: the forgetting baseline."""

    kind = "no_contact"

    def act(self, obs: Observation) -> Action:
        """Nobody today."""
        return Action.none(obs.n)


class BlastParams(Params):
    """Daily promotions to everyone."""

    channels: list[str] = Field(ALL_CHANNELS, min_length=1, max_length=16, description="channels, rotated day by day", json_schema_extra=SEARCH_CHANNELS)
    slot: str = Field("noon", description="send slot for everyone", json_schema_extra=SEARCH_SLOT)


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
        content = COUPON if obs.day % 2 == 0 else FLASH_SALE
        return build_action(ch, content, slot_code(p.slot))


class FixedCadenceParams(Params):
    """Content every k days, an offer every m days, for everyone."""

    content_every_days: int = Field(7, ge=0, le=365, description="days between content messages (0: none)", json_schema_extra=SEARCH_CADENCE)
    offer_every_days: int = Field(30, ge=0, le=365, description="days between offers (0: none)", json_schema_extra=SEARCH_OFFER_CADENCE)
    content: str = Field("content", description="what the regular message carries", json_schema_extra=SEARCH_CONTENT)
    offer: str = Field("coupon", description="what the offer carries", json_schema_extra=SEARCH_OFFER)
    channels: list[str] = Field(["wecom", "group", "moments", "official_account", "sms"], min_length=1, max_length=16,
                                description="channel preference order", json_schema_extra=SEARCH_CHANNELS)
    slot: str = Field("evening", description="send slot", json_schema_extra=SEARCH_SLOT)


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

    vip_min_tier: int = Field(VIP_TIER, ge=1, le=3, description="tier from which a buyer is a VIP", json_schema_extra=search_int(1, 3))
    vip_service_every_days: int = Field(14, ge=0, le=365, description="days between VIP service messages", json_schema_extra=search_int(0, 60))
    due_from: float = Field(DUE_FROM, ge=0, le=10, description="repurchase ratio from which an offer is due", json_schema_extra=search_float(0.5, 1.5, step=0.05))
    lapsed_after: float = Field(LAPSED_FROM, ge=0, le=50, description="repurchase ratio from which a buyer is lapsed", json_schema_extra=search_float(1.5, 6.0, step=0.1))
    offer_gap_days: int = Field(14, ge=1, le=365, description="minimum days between two offers to one customer (counted from the last offer, not the last contact)", json_schema_extra=search_int(3, 90, log=True))
    active_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for buyers not yet due", json_schema_extra=SEARCH_CADENCE)
    lapsed_offer_every_days: int = Field(0, ge=0, le=365, description="win-back flash-sale cadence for lapsed buyers (0: none)", json_schema_extra=SEARCH_OFFER_CADENCE)
    lapsed_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for lapsed buyers", json_schema_extra=SEARCH_CADENCE)
    fan_content_every_days: int = Field(7, ge=0, le=365, description="content cadence for fans who never bought", json_schema_extra=SEARCH_CADENCE)
    fan_offer_every_days: int = Field(0, ge=0, le=365, description="first-purchase offer cadence for fans (0: none)", json_schema_extra=SEARCH_OFFER_CADENCE)
    channels: list[str] = Field(["wecom", "group", "moments", "official_account", "sms"], min_length=1, max_length=16,
                                description="channel preference order", json_schema_extra=SEARCH_CHANNELS)
    slot: str = Field("evening", description="send slot until a customer's open slot is known", json_schema_extra=SEARCH_SLOT)
    personal_slot: bool = Field(True, description="send in the slot the customer last opened in", json_schema_extra=search_choice(True, False))


class RfmTiered(RulePolicy):
    """Segment rules: VIP service, due buyers get an offer, others content, lapsed win-back, fan nurture."""

    kind = "rfm_tiered"
    Params = RfmParams

    def __init__(self, params: Params | None = None, name: str | None = None) -> None:
        super().__init__(params, name)
        self.last_offer = np.zeros(0, np.int64)
        """Day of the last offer (coupon or flash sale) this policy sent each customer: the brand's own send log."""

    def reset(self, n: int, seed: int) -> None:
        """Forget the offers sent in an earlier run."""
        super().reset(n, seed)
        self.last_offer = np.full(n, NEVER, np.int64)

    def restore(self, memory: PolicyMemory) -> None:
        """The last offer of each customer from the brand's send log."""
        self.last_offer = np.asarray(memory.last_offer, np.int64).copy()

    def act(self, obs: Observation) -> Action:
        """Segment the pool on the CRM record and apply each segment's rule."""
        p = self.params
        if self.last_offer.shape[0] < obs.n:  # customers joined
            self.last_offer = np.concatenate([self.last_offer, np.full(obs.n - self.last_offer.shape[0], NEVER)])
        vip_phase, vip_turn = cadence(obs, p.vip_service_every_days)
        lap_offer_phase, lap_offer_turn = cadence(obs, p.lapsed_offer_every_days, 5)
        fan_offer_phase, fan_offer_turn = cadence(obs, p.fan_offer_every_days, 11)
        active_phase, active_turn = cadence(obs, p.active_content_every_days)
        lap_phase, lap_turn = cadence(obs, p.lapsed_content_every_days)
        fan_phase, fan_turn = cadence(obs, p.fan_content_every_days)
        turns = np.array([vip_turn, lap_offer_turn, fan_offer_turn, active_turn, lap_turn, fan_turn], np.int64)
        out = (np.empty(obs.n, np.int8), np.empty(obs.n, np.int8), np.empty(obs.n, np.int8))
        _rfm_tiered(obs.crm_record(), np.float32(typical_interval(obs)), self.last_offer[: obs.n],
                    obs.tier, obs.active_slot, p.vip_min_tier, p.due_from,
                    p.lapsed_after, p.offer_gap_days, vip_phase, lap_offer_phase, fan_offer_phase, active_phase,
                    lap_phase, fan_phase, turns, first_usable_table(np.asarray(channel_codes(p.channels), np.int64)),
                    content_code("content"), slot_code(p.slot), p.personal_slot, *out)
        return Action(*out)


@twin(cache=True)
def _rfm_tiered(record, typical, last_offer, tier, active_slot, vip_min_tier, due_from, lapsed_after, offer_gap,
                vip_phase, lap_offer_phase, fan_offer_phase, active_phase, lap_phase, fan_phase, turns, first,
                content_code, default_slot, personal_slot, channel, content, slot):  # pragma: no cover - jitted
    """:class:`RfmTiered` for every customer in one pass over the CRM record: the first rule that applies decides.

    Blocks of customers in parallel, each through :func:`_rfm_tiered_rows` on slices (the decision's divisions
    vectorize there and not in a parallel loop's body, as in :func:`_fatigue_capped`). ``last_offer`` (the
    policy's send log) gets today for every offer sent; ``first`` is :func:`~policies.base.first_usable_table`
    of the channel preference.
    """
    day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact = record
    n = frequency.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        s, e = b * BLOCK, min((b + 1) * BLOCK, n)
        _rfm_tiered_rows(day, reach[s:e], month_count[s:e], caps, last_purchase[s:e], first_purchase[s:e],
                         frequency[s:e], typical, last_offer[s:e], tier[s:e], active_slot[s:e], vip_min_tier, due_from,
                         lapsed_after, offer_gap, vip_phase[s:e], lap_offer_phase[s:e], fan_offer_phase[s:e],
                         active_phase[s:e], lap_phase[s:e], fan_phase[s:e], turns, first, content_code, default_slot,
                         personal_slot, channel[s:e], content[s:e], slot[s:e])


@njit(cache=True, error_model="numpy")
def _rfm_tiered_rows(day, reach, month_count, caps, last_purchase, first_purchase, frequency, typical, last_offer,
                     tier, active_slot, vip_min_tier, due_from, lapsed_after, offer_gap, vip_phase, lap_offer_phase,
                     fan_offer_phase, active_phase, lap_phase, fan_phase, turns, first, content_code, default_slot,
                     personal_slot, channel, content, slot):  # pragma: no cover - jitted
    """:func:`_rfm_tiered` over one block's slices, in two passes.

    First each customer's message (-1: none) from their segment's rules, without a branch (every rule is
    evaluated, the first that applies chosen by selects), so the loop vectorizes; then, for the contacted
    rows alone, the channel and the send log. The same choice as the rules read in order:
    a buyer not lapsed gets an offer when due and none was sent within ``offer_gap`` days, else VIP service
    on its cadence, else content on its cadence; a lapsed buyer a flash sale, else content, on their
    cadences; a fan who never bought a coupon, else content.
    """
    for i in range(frequency.shape[0]):
        rel = ratio_of(days_since(day, last_purchase[i]),
                       purchase_interval(last_purchase[i], first_purchase[i], frequency[i]), typical)
        buyer = frequency[i] > 0
        lapsed = buyer & (rel >= lapsed_after)
        offer_due = (rel >= due_from) & (day - last_offer[i] >= offer_gap)
        vip = (tier[i] >= vip_min_tier) & (vip_phase[i] == turns[0])
        w_active = COUPON if offer_due else (SERVICE if vip else (content_code if active_phase[i] == turns[3] else -1))
        w_lapsed = FLASH_SALE if lap_offer_phase[i] == turns[1] else (content_code if lap_phase[i] == turns[4] else -1)
        w_fan = COUPON if fan_offer_phase[i] == turns[2] else (content_code if fan_phase[i] == turns[5] else -1)
        what = w_lapsed if lapsed else (w_active if buyer else w_fan)
        channel[i] = 0 if what >= 0 else NO_CONTACT  # 0 marks a contact whose channel the second pass picks
        content[i] = max(what, 0)
        slot[i] = slot_or_default(active_slot[i], default_slot, 0) if personal_slot else default_slot
    for i in range(frequency.shape[0]):
        if channel[i] == 0:
            channel[i] = first[usable_channels(reach[i], month_count[i], caps)]
            if channel[i] >= 0 and (content[i] == COUPON or content[i] == FLASH_SALE):
                last_offer[i] = day


class FatigueCappedParams(Params):
    """Frequency cap, quiet hours and need-timed offers."""

    min_gap_days: int = Field(7, ge=1, le=365, description="minimum days between two contacts to one customer", json_schema_extra=search_int(1, 30))
    content_every_days: int = Field(7, ge=0, le=365, description="content cadence between offers (0: none)", json_schema_extra=SEARCH_CADENCE)
    offer_window: tuple[float, float] = Field((DUE_FROM, 1.4), strict=False,  # a TOML array is a list
                                              description="repurchase ratio range in which an offer is sent",
                                              json_schema_extra=search_each(search_float(0.5, 1.2, step=0.05), search_float(1.0, 3.0, step=0.1)))
    offer: str = Field("coupon", description="what the need-timed offer carries", json_schema_extra=SEARCH_OFFER)
    content: str = Field("content", description="what the regular message carries", json_schema_extra=SEARCH_CONTENT)
    cool_down_days: int = Field(45, ge=0, le=365, description="silence after a complaint or unsubscribe", json_schema_extra=search_int(0, 90))
    channels: list[str] = Field(["wecom", "group", "moments", "official_account"], min_length=1, max_length=16,
                                description="channel preference order (SMS left out by default)", json_schema_extra=SEARCH_CHANNELS)
    default_slot: str = Field("evening", description="slot used until a customer's open slot is known", json_schema_extra=SEARCH_SLOT)
    quiet_night: bool = Field(True, description="never send at night", json_schema_extra=search_choice(True, False))


class FatigueCapped(RulePolicy):
    """Respect the customer: a frequency cap, quiet hours, offers timed near the expected repurchase."""

    kind = "fatigue_capped"
    Params = FatigueCappedParams

    def act(self, obs: Observation) -> Action:
        """Offers to buyers near their expected repurchase; light content otherwise; silence after complaints."""
        p = self.params
        lo, hi = p.offer_window
        phases, turn = cadence(obs, p.content_every_days)
        avoid = 1 << NIGHT if p.quiet_night else 0
        out = (np.empty(obs.n, np.int8), np.empty(obs.n, np.int8), np.empty(obs.n, np.int8))
        _fatigue_capped(obs.crm_record(), np.float32(typical_interval(obs)), obs.last_flags, obs.active_slot, phases,
                        turn, p.min_gap_days, p.cool_down_days, lo, hi, content_code(p.offer), content_code(p.content),
                        np.asarray(channel_codes(p.channels), np.int64), slot_code(p.default_slot), avoid, *out)
        return Action(*out)


@twin(cache=True)
def _fatigue_capped(record, typical, last_flags, active_slot, phases, turn, min_gap, cool_down, lo, hi, offer_code,
                    content_code, preference, default_slot, avoid, channel, content, slot):  # pragma: no cover - jitted
    """:class:`FatigueCapped` for every customer in one pass over the CRM record (features derived on the way).

    Blocks of customers in parallel, each through :func:`_fatigue_capped_rows` on slices: the decision's
    divisions vectorize there and not in a parallel loop's body (3.3-3.8 against 6.1-6.9 ms of CPU a
    day at 10^6 customers on one thread, ``benchmarks/e2e_day.py``).
    """
    day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact = record
    first = first_usable_table(preference)
    n = frequency.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        s, e = b * BLOCK, min((b + 1) * BLOCK, n)
        _fatigue_capped_rows(day, reach[s:e], month_count[s:e], caps, last_purchase[s:e], first_purchase[s:e],
                             frequency[s:e], last_contact[s:e], typical, last_flags[s:e], active_slot[s:e], phases[s:e],
                             turn, min_gap, cool_down, lo, hi, offer_code, content_code, first, default_slot, avoid,
                             channel[s:e], content[s:e], slot[s:e])


@njit(cache=True, error_model="numpy")
def _fatigue_capped_rows(day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact, typical,
                         last_flags, active_slot, phases, turn, min_gap, cool_down, lo, hi, offer_code, content_code,
                         first, default_slot, avoid, channel, content, slot):  # pragma: no cover - jitted
    """:func:`_fatigue_capped` over one block's slices, in two passes.

    First who is contacted, with what and when, without a branch (every row's repurchase ratio is
    computed, used only where the rule reads it), so the loop vectorizes; then the channel of the
    contacted rows alone (``first`` is :func:`~policies.base.first_usable_table` of the preference).
    """
    for i in range(frequency.shape[0]):
        since_contact = days_since(day, last_contact[i])
        upset = (last_flags[i] & (FLAG_COMPLAINED | FLAG_UNSUBSCRIBED)) != 0
        ok = (since_contact >= min_gap) & ((not upset) | (since_contact >= cool_down))
        rel = ratio_of(days_since(day, last_purchase[i]),
                       purchase_interval(last_purchase[i], first_purchase[i], frequency[i]), typical)
        offer = ok & (frequency[i] != 0) & (lo <= rel) & (rel <= hi)
        want = offer | (ok & (phases[i] == turn))
        channel[i] = 0 if want else NO_CONTACT  # 0 marks a contact whose channel the second pass picks
        content[i] = offer_code if offer else content_code
        slot[i] = slot_or_default(active_slot[i], default_slot, avoid)
    for i in range(frequency.shape[0]):
        if channel[i] == 0:
            channel[i] = first[usable_channels(reach[i], month_count[i], caps)]


BASELINES: dict[str, type[RulePolicy]] = {
    cls.kind: cls for cls in (NoContact, Blast, FixedCadence, RfmTiered, FatigueCapped, Journeys)
}
"""Rule baselines by name."""
