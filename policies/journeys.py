"""Journeys: message sequences keyed to a customer's own events, on top of a base programme.

A CRM runs more than a cadence: a welcome sequence when a customer joins (with a first-order gift
that is only good for a few days), a win-back sequence when a buyer lapses, offers that join the
brand's calendar events, a referral ask to repeat buyers a few days after an order, and invitations
that grow reach: recent buyers not yet on WeCom (or not in their welfare group) are asked to add the
brand's persona or join, on today's message or one of their own (:mod:`sim.invitations`). Two levers
read the CRM's profile: men can be spared coupons and flash sales where small gains move them little
(``male_offer``), and fans can be messaged to climb fan tiers, where they leave contact details
(``fan_every_days``).
:class:`Journeys` keeps the CRM's own log of when it first saw each customer reachable and when each
buyer first looked lapsed, sends the step of each sequence that falls due today, and leaves everyone
else to a base rule policy (``fatigue_capped`` by default). It sees only the CRM record
(:class:`sim.observation.Observation`).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from numba import njit, prange
from pydantic import Field, Strict

from policies.base import (Params, PolicyMemory, RulePolicy, channel_codes, content_code, pick_channel, search_choice,
                           search_int, slot_code, slot_for)
from sim._threads import twin
from sim.defaults import BLOCK, GENDER_MALE, INVITES, NEVER, NIGHT, NO_CONTACT, OFFERS
from sim.invitations import allowed, code_of
from sim.observation import Action, Observation, days_since, purchase_interval
from sim.segments import LAPSED_FROM, ratio_of, typical_interval

UNSEEN = -2_000_000
"""Log entry of a customer the policy has not seen reachable yet (or who is not lapsed)."""
ESTABLISHED = -1_000_000
"""Log entry of a customer already in the pool on the first day the policy ran: no welcome."""

Step = Annotated[tuple[int, str], Strict(False)]  # a TOML array is a list
"""(days after the customer's own event, content) of one message of a sequence."""


class JourneysParams(Params):
    """A welcome sequence, a win-back sequence, offers on event days, and the base programme for the rest."""

    base: str = Field("fatigue_capped", description="rule policy that runs everyone not on a journey step today")
    base_params: dict[str, Any] = Field(default_factory=dict, description="parameters of the base policy")
    welcome: list[Step] = Field([(0, "content"), (2, "coupon"), (6, "coupon")],
                                description="(days after joining, content) steps for joiners who have not bought yet; "
                                            "a purchase ends the sequence (a first-order gift good for a few days, "
                                            "then a reminder before it runs out)")
    winback: list[Step] = Field([], description="(days after lapsing, content) steps for lapsed buyers; "
                                                "a purchase ends the sequence")
    lapsed_after: float = Field(LAPSED_FROM, ge=0, le=50,
                                description="repurchase ratio from which a buyer is lapsed (starts the win-back)")
    event_offer: str = Field("", description="content sent to everyone on the first day of each calendar event "
                                             "(empty: do not join events)",
                             json_schema_extra=search_choice("", "new_product", "coupon", "flash_sale"))
    event_min_gap_days: int = Field(7, ge=0, le=365,
                                    description="event offers skip customers contacted within this many days")
    ask_after_order_days: int = Field(0, ge=0, le=365,
                                      description="ask buyers to refer a friend this many days after an order "
                                                  "(0: never ask)", json_schema_extra=search_int(0, 30))
    ask_min_orders: int = Field(2, ge=1, le=1000, description="orders a buyer needs before being asked")
    ask_content: str = Field("service", description="the message an ask rides on")
    invite: str = Field("", description="invitation sent to recent buyers the target does not reach yet: "
                                        f"{', '.join(INVITES[1:])} (empty: none; sent only where the brand "
                                        "runs it: obs.invite_enabled)",
                        json_schema_extra=search_choice("", *INVITES[1:]))
    invite_within_days: int = Field(30, ge=0, le=10000,
                                    description="invite customers whose last order is at most this many days old "
                                                "(recent buyers accept far more often; 9999 or more: fans too)",
                                    json_schema_extra=search_int(3, 365, log=True))
    invite_gap_days: int = Field(30, ge=1, le=3650, description="days before a customer who did not accept is "
                                                                "invited again", json_schema_extra=search_int(7, 180))
    invite_content: str = Field("content", description="the message an invitation rides on when nothing else is "
                                                       "sent to the customer today")
    invite_channels: list[str] = Field(["official_account", "sms", "group", "wecom"],
                                       description="channel preference order of invitation messages")
    male_offer: str = Field("same", description="what men get in place of a coupon or flash sale (from any step or "
                                                "the base): same (the offer, as women), none (no message), or a "
                                                "content; men are little moved by small gains where a content's "
                                                "male_affinity is below 1",
                            json_schema_extra=search_choice("same", "none", "content", "service"))
    fan_every_days: int = Field(0, ge=0, le=365,
                                description="message fans (never bought) below fan_until_tier at most every this many "
                                            "days, to grow their fan tiers (0: no fan contact)",
                                json_schema_extra=search_int(0, 30))
    fan_until_tier: int = Field(1, ge=1, le=3, description="fan tier at which fan contact stops",
                                json_schema_extra=search_int(1, 3))
    fan_content: str = Field("content", description="the message of fan contact")
    channels: list[str] = Field(["wecom", "group", "moments", "official_account"],
                                description="channel preference order of journey messages")
    default_slot: str = Field("evening", description="slot of journey messages until a customer's open slot is known")


class Journeys(RulePolicy):
    """Welcome, first-order gift and win-back sequences keyed to each customer's own events, over a base rule."""

    kind = "journeys"
    Params = JourneysParams

    def __init__(self, params: Params | None = None, name: str | None = None) -> None:
        super().__init__(params, name)
        from policies.baselines import BASELINES  # here: baselines registers this class

        p = self.params
        if p.base not in BASELINES or p.base == self.kind:
            raise ValueError(f"base '{p.base}' is not a rule baseline; baselines: "
                             f"{', '.join(sorted(k for k in BASELINES if k != self.kind))}")
        base_cls = BASELINES[p.base]
        self.base = base_cls(base_cls.Params.model_validate(p.base_params))
        """The programme everyone follows when no journey step is due."""
        self._welcome = np.array([(int(d), content_code(c)) for d, c in p.welcome], np.int64).reshape(-1, 2)
        """(days after joining, content code) of each welcome step."""
        self._winback = np.array([(int(d), content_code(c)) for d, c in p.winback], np.int64).reshape(-1, 2)
        """(days after lapsing, content code) of each win-back step."""
        self._event = content_code(p.event_offer) if p.event_offer else -1
        self._ask = content_code(p.ask_content)
        self._channels = channel_codes(p.channels)
        self._invite = code_of(p.invite) if p.invite else 0
        self._invite_content = content_code(p.invite_content)
        self._invite_channels = channel_codes(p.invite_channels)
        self._slot = slot_code(p.default_slot)
        self._fan = content_code(p.fan_content)
        self._male = None if p.male_offer == "same" else NO_CONTACT if p.male_offer == "none" \
            else content_code(p.male_offer)
        """What men get in place of an offer: None (the offer), NO_CONTACT (no message) or a content code."""
        for what, steps in (("welcome", p.welcome), ("winback", p.winback)):
            if any(d < 0 for d, _ in steps):
                raise ValueError(f"{what} steps need days >= 0, got {[d for d, _ in steps]}")
        self.joined = np.zeros(0, np.int64)
        """Day the CRM first saw each customer reachable (ESTABLISHED for the pool it started with)."""
        self.lapsed = np.zeros(0, np.int64)
        """Day each buyer was first seen lapsed in the current lapse (UNSEEN while not lapsed)."""
        self.invited = np.zeros(0, np.int64)
        """Day each customer was last sent an invitation (UNSEEN if never)."""
        self._first_day: int | None = None

    def reset(self, n: int, seed: int) -> None:
        """Forget the logs of an earlier run."""
        super().reset(n, seed)
        self.base.reset(n, seed)
        self.joined = np.full(n, UNSEEN, np.int64)
        self.lapsed = np.full(n, UNSEEN, np.int64)
        self.invited = np.full(n, UNSEEN, np.int64)
        self._first_day = None

    def restore(self, memory: PolicyMemory) -> None:
        """Join dates from the logs: the day first seen, established if that is the logs' first day.

        A customer of the record with no trace in the logs is new: seen today, welcomed today (a customer
        there from the start but never contacted nor buying would be too). The win-back log is not in the
        brand's logs: a lapse is dated the day the policy first sees it.
        """
        self.base.restore(memory)
        seen = np.asarray(memory.first_seen, np.int64)
        self.joined = np.where(seen == NEVER, UNSEEN, np.where(seen <= memory.first_day, ESTABLISHED, seen))
        self._first_day = memory.first_day

    def _grow_logs(self, obs: Observation) -> None:
        """Room in the logs for customers who joined since yesterday; the first day the policy runs."""
        if obs.n > self.joined.shape[0]:  # the pool grew
            grow = obs.n - self.joined.shape[0]
            self.joined = np.concatenate([self.joined, np.full(grow, UNSEEN, np.int64)])
            self.lapsed = np.concatenate([self.lapsed, np.full(grow, UNSEEN, np.int64)])
            self.invited = np.concatenate([self.invited, np.full(grow, UNSEEN, np.int64)])
        if self._first_day is None:
            self._first_day = obs.day

    def _steps(self, obs: Observation) -> tuple[np.ndarray, np.ndarray]:
        """Today's journey step of each customer (a content code, -1: none) and the referral asks among them.

        Updates the CRM's own logs on the way (:func:`_journey_steps`): when each customer was first seen
        reachable, and since when each buyer is lapsed.
        """
        self._grow_logs(obs)
        p = self.params
        what, ask = np.empty(obs.n, np.int64), np.empty(obs.n, np.uint8)
        _journey_steps(obs.crm_record(), np.float32(typical_interval(obs)), self.joined[: obs.n],
                       self.lapsed[: obs.n], obs.fan_tier, obs.day == self._first_day, p.lapsed_after,
                       p.ask_after_order_days, p.ask_min_orders, self._ask,
                       self._event if obs.event_day == 0 else -1, p.event_min_gap_days,
                       p.fan_every_days, p.fan_until_tier, self._fan, self._winback, self._welcome, what, ask)
        return what, ask

    def act(self, obs: Observation) -> Action:
        """Today's journey steps; the base policy's action for everyone else."""
        what, ask = self._steps(obs)
        base = self.base.act(obs)
        channel, content, slot = base.channel.copy(), base.content.copy(), base.slot.copy()
        want = what >= 0
        if want.any():
            ch = pick_channel(obs, want, self._channels)
            send = want & (ch != NO_CONTACT)
            channel[send] = ch[send]
            content[send] = what[send]
            slot[send] = slot_for(obs, self._slot, avoid=(NIGHT,))[send]
            ask &= send & (what == self._ask)  # a later step that replaced the ask, or no channel: no ask
        if self._male is not None:
            self._spare_men(obs, channel, content)
            ask &= channel != NO_CONTACT
        invite = self._invitations(obs, channel, content, slot)
        return Action(channel, content, slot, ask if ask.any() else None, invite if invite.any() else None)

    def _spare_men(self, obs: Observation, channel: np.ndarray, content: np.ndarray) -> None:
        """Men's coupons and flash sales become ``male_offer`` (another content, or no message; changes the arrays)."""
        men = (obs.gender == GENDER_MALE) & np.isin(content, OFFERS) & (channel != NO_CONTACT)
        if self._male == NO_CONTACT:
            channel[men] = NO_CONTACT
        else:
            content[men] = self._male

    def _invitations(self, obs: Observation, channel: np.ndarray, content: np.ndarray,
                     slot: np.ndarray) -> np.ndarray:
        """Today's invitations (uint8 codes): on today's message, or on one of their own (changes the arrays)."""
        invite = np.zeros(obs.n, np.uint8)
        p = self.params
        if not self._invite or not obs.invite_enabled[self._invite]:  # the brand does not run this programme
            return invite
        due_now = obs.day - self.invited[: obs.n] >= p.invite_gap_days
        open_to = allowed(self._invite, obs.reach, obs.account, obs.paid_member)
        want = due_now & (obs.recency <= p.invite_within_days) & open_to
        alone = want & (channel == NO_CONTACT)
        if alone.any():
            ch = pick_channel(obs, alone, self._invite_channels)
            alone &= ch != NO_CONTACT
            channel[alone] = ch[alone]
            content[alone] = self._invite_content
            slot[alone] = slot_for(obs, self._slot, avoid=(NIGHT,))[alone]
        sent = want & (channel != NO_CONTACT)
        invite[sent] = self._invite
        self.invited[: obs.n][sent] = obs.day
        return invite


@twin(cache=True)
def _journey_steps(record, typical, joined, lapsed, fan_tier, first_day, lapsed_after, ask_after, ask_min_orders,
                   ask_code, event_code, event_min_gap, fan_every, fan_until_tier, fan_code, winback, welcome, what,
                   ask):  # pragma: no cover - jitted
    """:meth:`Journeys._steps` for every customer in one pass over the CRM record, in blocks of customers.

    ``event_code`` is the event offer's content on an event's first day, else -1; ``winback`` and ``welcome``
    are (days, content) rows. The steps are tried in order and the last that applies wins: the referral ask,
    the event offer, fan contact, then the win-back and the welcome steps, as the policy states them.
    """
    day, reach, month_count, caps, last_purchase, first_purchase, frequency, last_contact = record
    n = frequency.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        s, e = b * BLOCK, min((b + 1) * BLOCK, n)
        _journey_rows(day, reach[s:e], last_purchase[s:e], first_purchase[s:e], frequency[s:e], last_contact[s:e],
                      typical, joined[s:e], lapsed[s:e], fan_tier[s:e], first_day, lapsed_after, ask_after,
                      ask_min_orders, ask_code, event_code, event_min_gap, fan_every, fan_until_tier, fan_code,
                      winback, welcome, what[s:e], ask[s:e])


@njit(cache=True, error_model="numpy")
def _journey_rows(day, reach, last_purchase, first_purchase, frequency, last_contact, typical, joined, lapsed,
                  fan_tier, first_day, lapsed_after, ask_after, ask_min_orders, ask_code, event_code, event_min_gap,
                  fan_every, fan_until_tier, fan_code, winback, welcome, what, ask):  # pragma: no cover - jitted
    """:func:`_journey_steps` over one block's slices: one pass for the logs and the first steps, one per sequence step.

    Without a branch (selects, numpy's error model for the ratio's division), so each pass vectorizes.
    """
    today = ESTABLISHED if first_day else day
    for i in range(frequency.shape[0]):
        joined[i] = today if (joined[i] == UNSEEN) & (reach[i] != 0) else joined[i]  # first seen reachable today
        recency = days_since(day, last_purchase[i])
        rel = ratio_of(recency, purchase_interval(last_purchase[i], first_purchase[i], frequency[i]), typical)
        lapsed_now = (frequency[i] > 0) & (rel >= lapsed_after)
        lapsed[i] = (day if lapsed[i] == UNSEEN else lapsed[i]) if lapsed_now else UNSEEN
        since_contact = days_since(day, last_contact[i])
        asked = (ask_after != 0) & (frequency[i] >= ask_min_orders) & (recency == ask_after)
        w = ask_code if asked else -1
        w = event_code if (event_code >= 0) & (since_contact >= event_min_gap) else w
        fan_step = ((fan_every != 0) & (frequency[i] == 0) & (fan_tier[i] < fan_until_tier)
                    & (since_contact >= fan_every))
        what[i] = fan_code if fan_step else w
        ask[i] = asked
    for k in range(winback.shape[0]):
        d, code = winback[k, 0], winback[k, 1]
        for i in range(frequency.shape[0]):
            what[i] = code if (frequency[i] != 0) & (day - lapsed[i] == d) else what[i]
    for k in range(welcome.shape[0]):
        d, code = welcome[k, 0], welcome[k, 1]
        for i in range(frequency.shape[0]):
            what[i] = code if (frequency[i] == 0) & (day - joined[i] == d) else what[i]
