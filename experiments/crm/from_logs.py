"""The CRM record built from a brand's logs when it has no snapshot, and a rule's memory rebuilt from the logs."""

from __future__ import annotations

import numpy as np

from experiments.crm.snapshot import BASE_DATE, CrmView, empty_view
from policies.base import PolicyMemory
from sim.config import Scenario
from sim.defaults import (CHANNELS, COUPON, FLAG_BOUGHT, FLAG_DELIVERED, FLAG_OPENED, FLAG_UNSUBSCRIBED, FLASH_SALE,
                          MONTH_DAYS, NEVER)


def view_from_logs(tx: object, contacts: object | None, day: int, scenario: Scenario,
                   channels: tuple[str, ...] = CHANNELS, ids: np.ndarray | None = None) -> CrmView:
    """The CRM record as of ``day`` (exclusive) built from transactions and, when given, contacts.

    Reach is ``channels`` for everyone, less the channels a logged contact was unsubscribed on; the
    cap-window counts are the contacts of the last 30 days per channel; the last contact's outcome
    comes from its opened/unsubscribed flags and whether an order followed it before ``day``.
    Nothing is known of active slots (-1). ``tx`` and ``contacts`` are what :mod:`experiments.logs` reads;
    ``ids`` (default the transactions' ids) are the customers of the record, the ids ``contacts`` indexes.
    """
    t = tx.before(day - 1 + BASE_DATE.toordinal())  # type: ignore[attr-defined]
    ids = tx.ids if ids is None else ids  # type: ignore[attr-defined]
    view = empty_view(ids)
    cust = _positions(ids, t.ids)[t.customer]
    d = (t.day - BASE_DATE.toordinal()).astype(np.int32)
    np.maximum.at(view.last_purchase, cust, d)
    view.first_purchase[:] = np.iinfo(np.int32).max
    np.minimum.at(view.first_purchase, cust, d)
    view.first_purchase[view.first_purchase == np.iinfo(np.int32).max] = NEVER
    view.frequency[:] = np.minimum(np.bincount(cust, minlength=view.n), 30000)
    view.monetary[:] = np.bincount(cust, weights=t.amount, minlength=view.n)
    view.tier[:] = np.searchsorted(np.asarray(scenario.tiers.thresholds_yuan), view.monetary, side="right")
    mask = sum(1 << CHANNELS.index(c) for c in channels)
    view.reach[:] = mask
    if contacts is None:
        return view
    c = contacts
    cday = c.day - BASE_DATE.toordinal()  # type: ignore[attr-defined]
    sent = (cday < day) & (c.content >= 0)  # type: ignore[attr-defined]
    unsub = sent & (c.unsubscribed == 1)  # type: ignore[attr-defined]
    np.bitwise_and.at(view.reach, c.customer[unsub], ~(np.left_shift(1, c.channel[unsub])).astype(np.uint8))
    recent = sent & (cday >= day - MONTH_DAYS)
    np.add.at(view.month_count, (c.customer[recent], c.channel[recent]), 1)  # type: ignore[attr-defined]
    rows = np.flatnonzero(sent)
    order = rows[np.lexsort((cday[rows], c.customer[rows]))]  # type: ignore[attr-defined]
    last = order[np.r_[c.customer[order][1:] != c.customer[order][:-1], True]] if order.size else order
    who = c.customer[last]  # type: ignore[attr-defined]
    view.last_contact[who] = cday[last]
    flags = np.full(last.size, FLAG_DELIVERED, np.uint8)
    flags[c.opened[last] == 1] |= FLAG_OPENED  # type: ignore[attr-defined]
    flags[c.unsubscribed[last] == 1] |= FLAG_UNSUBSCRIBED  # type: ignore[attr-defined]
    flags[view.last_purchase[who] >= cday[last]] |= FLAG_BOUGHT
    view.last_flags[who] = flags
    return view


def _positions(ids: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """Row of each of ``sub`` in ``ids``."""
    where = {str(x): i for i, x in enumerate(ids)}
    return np.array([where[str(x)] for x in sub], np.int64)


def memory_from_logs(view: CrmView, contacts: object, day: int) -> PolicyMemory:
    """What the contacts log (rows indexing ``view.ids``) says before ``day`` for :meth:`RulePolicy.restore`.

    The last offer is the last coupon or flash-sale contact sent (not a ``none`` row); a customer is first
    seen on their first contact of any kind or their first purchase (the record's), whichever is earlier;
    the logs start on their first date.
    """
    c = contacts
    cday = (c.day - BASE_DATE.toordinal()).astype(np.int64)  # type: ignore[attr-defined]
    before = cday < day
    offer = before & ((c.content == COUPON) | (c.content == FLASH_SALE))  # type: ignore[attr-defined]
    last_offer = np.full(view.n, NEVER, np.int64)
    np.maximum.at(last_offer, c.customer[offer], cday[offer])  # type: ignore[attr-defined]
    big = np.iinfo(np.int64).max
    first_purchase = view.first_purchase.astype(np.int64)
    seen = np.where(first_purchase == NEVER, big, first_purchase)
    np.minimum.at(seen, c.customer[before], cday[before])  # type: ignore[attr-defined]
    first = int(cday[before].min()) if before.any() else day
    return PolicyMemory(first, last_offer, np.where(seen == big, NEVER, seen))
