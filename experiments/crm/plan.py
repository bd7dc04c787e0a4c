"""Tomorrow's contact list: a policy applied to a CRM record, one row per contact, within caps and staff capacity.

``plan.csv`` has the columns ``customer_id, date, channel, content, offer, slot, ask, invite, account, gender,
fan_tier``: ``content`` is what the message carries (:data:`sim.defaults.CONTENTS`), ``offer`` the incentive in
it (``coupon``, ``flash_sale`` or ``none``), ``ask`` 1 when it also asks for a referral, ``invite`` the
invitation it carries (:data:`sim.defaults.INVITES`, ``none`` if none); ``account``, ``gender`` and
``fan_tier`` repeat the customer's record, so whoever sends it sees which guide account the chat is on and
what the policy's choice was based on. With the outcome columns added
by whoever sends it, the same file is a ``contacts.csv`` for the next calibration.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.crm.snapshot import CrmView
from experiments.logs.export import day_date
from policies.base import PolicyMemory
from sim import invitations, kernels
from sim.config import Scenario
from sim.defaults import ACCOUNTS, ACTIVE, CHANNELS, CONTENTS, GENDERS, INVITES, N_SLOTS, OFFERS, SLOTS, WECOM
from sim.engine import ACTION_ERRORS
from sim.observation import ACTION_LIMITS, Action, InvalidActionError, Observation
from sim.params import pack
from sim.protocol import Policy
from sim.world import ration_chats

COLUMNS = ("customer_id", "date", "channel", "content", "offer", "slot", "ask", "invite", "account", "gender",
           "fan_tier")
"""Header of ``plan.csv``."""


@dataclass
class Plan:
    """A policy's decisions on one day for every customer of a CRM record."""

    day: int
    action: Action
    """What is sent: after validation and staff capacity (channel -1 = no contact)."""
    wanted: Action
    """What the policy asked for, before staff capacity."""
    over_capacity: int
    """WeCom contacts the policy wanted beyond the guides' daily chat capacity (not planned, counted here)."""


def decide(policy: Policy, view: CrmView, scenario: Scenario, day: int, seed: int = 0,
           memory: PolicyMemory | None = None) -> Plan:
    """Apply ``policy`` (reset for this record and ``seed``) to ``view`` as of ``day``.

    A policy with a ``restore`` method takes up ``memory`` (what the logs say of earlier days, e.g.
    ``rfm_tiered``'s last offers, ``journeys``' join dates); without ``memory`` it decides as on its first day.
    """
    obs = view.observation(scenario, day)
    policy.reset(obs.n, seed)
    if memory is not None and callable(getattr(policy, "restore", None)):
        policy.restore(memory)  # type: ignore[attr-defined]
    wanted = check_action(policy.act(obs), obs, view.window_count(day), view.ids, scenario)
    channel = wanted.channel.copy()
    over = 0
    sp = pack(scenario).records.staff
    if scenario.staff.customers_per_guide > 0 and (channel == WECOM).any():
        guides = -(-obs.n // scenario.staff.customers_per_guide)
        over = int(ration_chats(channel, np.zeros(obs.n, np.uint8), np.full(obs.n, ACTIVE, np.uint8), sp,
                                np.zeros(guides, np.int64), np.zeros(guides, np.int64)))
    kept = channel >= 0
    ask = None if wanted.ask is None else wanted.ask * kept
    invite = None if wanted.invite is None else (wanted.invite * kept).astype(np.uint8)
    return Plan(day, Action(channel, wanted.content, wanted.slot, ask, invite), wanted, over)


def check_action(action: Action, obs: Observation, month_count: np.ndarray, ids: np.ndarray,
                 scenario: Scenario) -> Action:
    """``action`` as int8 arrays (ask, invite uint8), or :class:`InvalidActionError` naming the first customer at fault.

    ``month_count`` is the record's contacts per channel in the cap window (what ``obs`` was built from),
    ``ids`` the customers' ids; invitations are checked as the engine checks them (:func:`sim.invitations.check`).
    """
    n = obs.n
    arrays = []
    for name in ("channel", "content", "slot"):
        a = np.asarray(getattr(action, name))
        if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer):
            raise InvalidActionError(f"action.{name}: expected {n} integers, got shape {a.shape} of {a.dtype}")
        arrays.append(a.astype(np.int8))
    ask = None if action.ask is None else np.asarray(action.ask).astype(np.uint8) * (arrays[0] >= 0)
    code, i = kernels.check_actions(*arrays, obs.reach, month_count, np.full(n, ACTIVE, np.uint8), obs.caps,
                                    len(CONTENTS), N_SLOTS)
    if code != kernels.E_OK:
        raise InvalidActionError(f"customer {ids[i]}: {ACTION_ERRORS[code]} (channel={int(arrays[0][i])}); "
                                 f"allowed: {ACTION_LIMITS}, on reachable channels within caps")
    invite = None
    if action.invite is not None:
        invite = invitations.check(action.invite, arrays[0], obs.reach, obs.account, obs.paid_member, scenario,
                                   obs.day)
    return Action(*arrays, ask, invite)


def write_plan(plan: Plan, view: CrmView, path: str | Path) -> int:
    """Write the contacts of ``plan`` as ``plan.csv`` in customer order; returns the number of rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    a = plan.action
    rows = np.flatnonzero(a.channel >= 0)
    n = a.channel.shape[0]
    ask = np.zeros(n, np.uint8) if a.ask is None else a.ask
    invite = np.zeros(n, np.uint8) if a.invite is None else a.invite
    when = day_date(plan.day)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in rows.tolist():
            ct = int(a.content[i])
            offer = CONTENTS[ct] if ct in OFFERS else "none"
            w.writerow([view.ids[i], when, CHANNELS[a.channel[i]], CONTENTS[ct], offer, SLOTS[a.slot[i]], int(ask[i]),
                        INVITES[invite[i]] if invite[i] else "none", ACCOUNTS[view.account[i]],
                        GENDERS[view.gender[i]], int(view.fan_tier[i])])
    tmp.replace(path)
    return int(rows.size)


@dataclass(frozen=True)
class Summary:
    """Counts of a plan by channel and by content, and what sending it costs."""

    contacts: int
    by_channel: dict[str, int]
    by_content: dict[str, int]
    send_cost: float
    """Yuan: each contact's channel cost plus its content's production cost (incentives cost on redemption)."""
    over_capacity: int
    invitations: int = 0
    """Invitations the contacts carry (:data:`sim.defaults.INVITES`)."""


def summarize(plan: Plan, scenario: Scenario) -> Summary:
    """Counts and sending cost of ``plan`` under ``scenario``'s channel and content costs."""
    a = plan.action
    sent = a.channel >= 0
    ch = np.bincount(a.channel[sent].astype(np.int64), minlength=len(CHANNELS))
    ct = np.bincount(a.content[sent].astype(np.int64), minlength=len(CONTENTS))
    p = pack(scenario)
    cost = float(ch @ p.channels.cost + ct @ p.contents.cost)
    invited = 0 if a.invite is None else int((a.invite > 0).sum())
    return Summary(int(sent.sum()), dict(zip(CHANNELS, ch.tolist())), dict(zip(CONTENTS, ct.tolist())), cost,
                   plan.over_capacity, invited)
