"""Invitations: growing reach as a policy action (the rules; the dynamics are in :func:`sim.kernels.step_day`).

An invitation (``Action.invite``, codes :data:`sim.defaults.INVITES`) rides on a contact and asks the
customer to add the brand's WeCom persona or join their welfare group, with or without a gift, or offers
paid membership of the member programme (scenario sections ``invitation`` and ``membership``). Who may
be invited is defined once here, for the engine's validation, rule policies and the RL masks: the
target must not already reach the customer (a WeCom invitation also moves a chat a guide holds on
personal WeChat to WeCom; a paid member is not offered membership again), and the scenario must have
the lever enabled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.config import Scenario
from sim.defaults import ACCOUNT_PERSONAL, GROUP, INVITE_GROUP, INVITE_GROUP_GIFT, INVITE_PAID, INVITES, WECOM
from sim.observation import InvalidActionError


def target(code: int) -> int:
    """Channel an invitation code adds: WECOM or GROUP (``code`` > 0; a paid-membership offer adds none: WECOM)."""
    return GROUP if code in (INVITE_GROUP, INVITE_GROUP_GIFT) else WECOM


def allowed(code: int, reach: np.ndarray, account: np.ndarray, paid_member: np.ndarray) -> np.ndarray:
    """Boolean mask of customers invitation ``code`` may go to: its target does not reach them yet.

    A WeCom invitation also goes to customers whose guide holds the chat on personal WeChat (a move); a
    paid-membership offer to everyone who is not a paid member today.
    """
    if code == INVITE_PAID:
        return ~paid_member
    t = target(code)
    on = ((reach >> t) & 1).astype(bool)
    if t == WECOM:
        return ~on | (account == ACCOUNT_PERSONAL)
    return ~on


def enabled(scenario: Scenario, code: int) -> bool:
    """Whether ``scenario`` lets policies send invitation ``code`` (its section's ``enabled``)."""
    return bool((scenario.membership if code == INVITE_PAID else scenario.invitation).enabled)


def invite_codes(scenario: Scenario) -> tuple[bool, ...]:
    """Per invitation code, whether ``scenario`` runs it (``Observation.invite_enabled``; code 0, none, is False)."""
    return tuple(c > 0 and enabled(scenario, c) for c in range(len(INVITES)))


def code_of(name: str) -> int:
    """Invitation name (:data:`sim.defaults.INVITES`) to code; refuses unknown names."""
    if name not in INVITES:
        raise ValueError(f"unknown invitation '{name[:40]}'; invitations: {', '.join(INVITES)}")
    return INVITES.index(name)


def check(invite: Any, channel: np.ndarray, reach: np.ndarray, account: np.ndarray, paid_member: np.ndarray,
          scenario: Scenario, day: int) -> np.ndarray:
    """``invite`` as uint8 codes, or :class:`InvalidActionError` naming the first customer (row) at fault.

    ``reach``, ``account`` and ``paid_member`` are the customers' record (the engine's state, or a CRM's view).
    """
    n = channel.shape[0]
    a = np.asarray(invite)
    if a.shape != (n,):
        raise InvalidActionError(f"action.invite has shape {a.shape}, expected ({n},)")
    if not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer)):
        raise InvalidActionError(f"action.invite must hold integer codes, got {a.dtype}")
    sent = a != 0
    if not sent.any():
        return np.zeros(n, np.uint8)
    for off, code, section, what in ((sent & (a != INVITE_PAID), 1, "invitation", "invitations"),
                                     (a == INVITE_PAID, INVITE_PAID, "membership", "the member programme")):
        if off.any() and not enabled(scenario, code):
            i = int(np.argmax(off))
            raise InvalidActionError(f"day {day}, customer {i}: action.invite={int(a[i])} but this scenario has "
                                     f"{what} off (set [{section}] enabled = true)")
    bad = sent & ((a < 0) | (a >= len(INVITES)) | (channel < 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidActionError(f"day {day}, customer {i}: action.invite={int(a[i])} is not allowed; invite is 0 "
                                 f"or a code 1..{len(INVITES) - 1} ({', '.join(INVITES[1:])}), and only with a "
                                 "contact (an invitation rides on a message)")
    codes = a.astype(np.uint8)
    for code in range(1, len(INVITES)):
        mine = codes == code
        if not mine.any():
            continue
        wrong = mine & ~allowed(code, reach, account, paid_member)
        if wrong.any():
            i = int(np.argmax(wrong))
            why = "is a paid member already" if code == INVITE_PAID else "is already reached on that channel"
            raise InvalidActionError(f"day {day}, customer {i}: action.invite={code} ({INVITES[code]}) but the "
                                     f"customer {why}")
    return codes
