"""Logs written by the engine itself, in the shapes a CRM exports: ``transactions.csv`` and ``contacts.csv``.

A policy is played in a simulation and everything a brand's CRM would have recorded is written: each
order, each contact with its outcome flags, and, for a randomised control group, the contacts the
policy wanted but that were held back (``content = none``). These are the data calibration, off-policy
evaluation and validation are checked on, because the truth behind them is known.

Two kinds of ``content = none`` row:

* a *control*: the policy chose a contact and the randomised control group held it back; ``channel`` is
  the channel it would have gone on, ``slot`` its slot;
* a *no-contact draw* (only with ``log_no_contact``): the policy itself chose no contact for the customer
  that day; ``channel`` and ``slot`` are empty. A stochastic logging policy's no-contact draws are
  decisions too, and off-policy evaluation needs them with their propensity.

With ``log_no_contact`` every customer has one row a day and each row's ``propensity`` is the probability
of the row's *arm*: for a contact, the policy's probability of it times ``1 - control_share``; for either
kind of ``none`` row, the probability that the customer got no contact at all (a no-contact draw, or a
contact held back): ``p_none + control_share * (1 - p_none)``. That is what ``siyu ope --propensity
propensity`` reads.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import numpy as np

from experiments.logs.contacts import CONTROL
from sim.defaults import CHANNELS, CONTENTS, FLAG_OPENED, FLAG_UNSUBSCRIBED, NO_CONTACT, SLOTS
from sim.engine import Simulation
from sim.observation import Action, Observation
from sim.protocol import Policy
from sim.rng import P_HOLDOUT, uniforms

BASE_DATE = date(2024, 1, 1)
"""Date of engine day 0 in every log the engine writes."""
TRANSACTION_COLUMNS = ("customer_id", "date", "amount")
CONTACT_COLUMNS = ("customer_id", "date", "channel", "content", "slot", "opened", "unsubscribed")


def customer_id(row: int) -> str:
    """The id a log gives the customer in engine row ``row``."""
    return f"c{row}"


def day_date(day: int) -> str:
    """ISO date of engine day ``day``."""
    return (BASE_DATE + timedelta(days=int(day))).isoformat()


class OrderTracker:
    """Finds the day's orders from the CRM record (a purchase moves ``frequency`` and ``monetary``)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.frequency = np.zeros(0, np.int64)
        self.spent = np.zeros(0, np.float64)
        self._sync()

    def _sync(self) -> None:
        """Take on rows that joined (or were reserved) since the last call, at their current record."""
        st, n = self.sim.state, self.sim.n
        old = self.frequency.size
        if n > old:
            self.frequency = np.concatenate([self.frequency, st.frequency[old:n].astype(np.int64)])
            self.spent = np.concatenate([self.spent, st.monetary[old:n].astype(np.float64)])

    def orders(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows that bought since the last call and what they spent (yuan)."""
        st = self.sim.state
        n = self.frequency.size
        now = st.frequency[:n].astype(np.int64)
        rows = np.flatnonzero(now != self.frequency)
        money = st.monetary[rows].astype(np.float64)
        amount = money - self.spent[rows]
        self.frequency[rows] = now[rows]
        self.spent[rows] = money
        self._sync()  # joiners of today start from their record at joining
        return rows, amount


def write_transactions(writer: "csv._writer", day: int, rows: np.ndarray, amount: np.ndarray) -> None:
    """Append one day's orders to a ``transactions.csv`` writer."""
    when = day_date(day)
    for r, a in zip(rows.tolist(), amount.tolist()):
        writer.writerow([customer_id(r), when, f"{a:.2f}"])


@dataclass(frozen=True)
class ExportedLogs:
    """Where the logs went and what they hold."""

    transactions: Path
    contacts: Path
    orders: int
    contacts_sent: int
    controls: int
    first_day: int
    last_day: int


CONTROL_SCOPES = ("day", "customer")
"""How a control group is drawn: afresh each day, or once per customer for the whole campaign."""
_CAMPAIGN_KEY = 0
"""Key day of a whole-campaign control group's draw: one draw per customer, whatever the day."""


def holdout(seed: int, day: int, n: int, share: float, scope: str = "day") -> np.ndarray:
    """Customers of day ``day`` in the randomised control group (share ``share``, the ``holdout`` stream).

    ``scope = "day"`` draws the group afresh each day: a held-back customer is often contacted a few days
    later, so contacted against control measures contacting now against a little later. ``"customer"``
    keeps the same customers out for the whole campaign, which measures what the messages themselves bring.
    """
    if scope not in CONTROL_SCOPES:
        raise ValueError(f"control scope must be one of {', '.join(CONTROL_SCOPES)}, got {scope!r}")
    if share <= 0.0:
        return np.zeros(n, np.bool_)
    return uniforms(seed, _CAMPAIGN_KEY if scope == "customer" else day, P_HOLDOUT, n) < share


def export_logs(sim: Simulation, policy: Policy, days: int, out_dir: str | Path, control_share: float = 0.0,
                seed: int = 0, progress: Callable[[int], None] | None = None,
                log_no_contact: bool = False, control_scope: str = "day") -> ExportedLogs:
    """Play ``policy`` for ``days`` days from the current state of ``sim`` and write its CRM logs to ``out_dir``.

    Each contact the policy wants is held back with probability ``control_share`` (drawn per customer and
    day from the ``holdout`` stream of ``seed``, or once per customer for the whole campaign with
    ``control_scope = "customer"``: see :func:`holdout`) and logged as a control row (``content = none``, the
    channel it would have gone on). ``contacts.csv`` gets a ``propensity`` column when the policy has a
    ``propensity(obs, action)`` method (the probability of each customer's chosen action): for a row it is
    the probability of what the row records, the chosen action times ``1 - control_share`` for a contact
    and times ``control_share`` for a control. Orders are every purchase the CRM saw, contacted or not.

    Rows are the campaign as sent (what a CRM's send log holds): a group message is logged under the
    customer it was addressed to, though the engine posts it to the whole group, and a 1:1 chat the guide
    had no capacity for stays in the log with ``opened = 0``; outcome flags are those of a delivered contact.

    With ``log_no_contact`` the customers the policy left uncontacted get a no-contact row too, and every
    ``none`` row carries the probability of no contact (see the module docstring); off by default, so
    files written without it are unchanged.
    """
    if not 0.0 <= control_share < 1.0:
        raise ValueError(f"control_share must be in [0, 1), got {control_share}")
    holdout(seed, 0, 0, control_share, control_scope)  # refuses an unknown scope before anything runs
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scored = callable(getattr(policy, "propensity", None))
    policy.reset(sim.n, sim.seed)
    tracker = OrderTracker(sim)
    first = sim.day
    orders = sent = controls = 0
    tx_path, ct_path = out / "transactions.csv", out / "contacts.csv"
    with tx_path.open("w", newline="") as tx_fh, ct_path.open("w", newline="") as ct_fh:
        tx, ct = csv.writer(tx_fh), csv.writer(ct_fh)
        tx.writerow(TRANSACTION_COLUMNS)
        ct.writerow(CONTACT_COLUMNS + (("propensity",) if scored else ()))
        for t in range(days):
            day, obs = sim.day, sim.observe()
            wanted = policy.act(obs)
            p = np.asarray(policy.propensity(obs, wanted), np.float64) if scored else None
            channel = np.asarray(wanted.channel)
            held = holdout(seed, day, channel.size, control_share, control_scope) & (channel != NO_CONTACT)
            sent_channel = np.where(held, NO_CONTACT, channel).astype(np.int8)
            riders = [None if r is None else np.where(held, 0, np.asarray(r)) for r in (wanted.ask, wanted.invite)]
            action = Action(sent_channel, np.asarray(wanted.content), np.asarray(wanted.slot), *riders)
            sim.step(action)
            flags = np.where(sim.state.last_contact[:channel.size] == day, sim.state.last_flags[:channel.size], 0)
            p_none = no_contact_probability(policy, obs, control_share) if log_no_contact and scored else None
            for row in range(channel.size) if log_no_contact else np.flatnonzero(channel != NO_CONTACT).tolist():
                if channel[row] == NO_CONTACT:
                    ct.writerow([customer_id(row), day_date(day), "", CONTROL, "", "", ""]
                                + ([] if p_none is None else [f"{p_none[row]:.6g}"]))
                    continue
                control = bool(held[row])
                cells = [customer_id(row), day_date(day), CHANNELS[channel[row]],
                         CONTROL if control else CONTENTS[wanted.content[row]], SLOTS[wanted.slot[row]],
                         "" if control else int(bool(flags[row] & FLAG_OPENED)),
                         "" if control else int(bool(flags[row] & FLAG_UNSUBSCRIBED))]
                if p is not None:
                    share = control_share if control else 1.0 - control_share
                    cells.append(f"{(p_none[row] if control and p_none is not None else p[row] * share):.6g}")
                ct.writerow(cells)
                controls += control
                sent += not control
            rows, amount = tracker.orders()
            write_transactions(tx, day, rows, amount)
            orders += rows.size
            if progress is not None:
                progress(t + 1)
    return ExportedLogs(tx_path, ct_path, orders, sent, controls, first, sim.day - 1)


def no_contact_probability(policy: Policy, obs: Observation, control_share: float) -> np.ndarray:
    """Each customer's probability of getting no contact today: the policy's no-contact draw, or a held contact.

    A policy that scores actions says how likely its no-contact draw was through
    ``propensity(obs, Action.none(n))``.
    """
    p_none = np.asarray(policy.propensity(obs, Action.none(obs.n)), np.float64)  # type: ignore[attr-defined]
    return p_none + control_share * (1.0 - p_none)
