"""``crm.csv``: one row per customer, the CRM record a policy decides on (read, written, or built from logs).

Columns (names configurable with ``--crm-columns ROLE=NAME,...``; only ``customer_id`` is required):

=================  ========================================================================================
customer_id        the customer's id (row order is kept: groups and cadences are positional, as in the engine)
last_purchase      date of the last purchase (empty: never bought)
first_purchase     date of the first purchase (empty: same as last_purchase)
purchases          purchases so far (default 0)
spend              yuan spent so far (default 0)
tier               member tier 0-3 (empty or absent: from spend and the scenario's tier thresholds)
channels           reachable channels joined by ``|``, e.g. ``wecom|group`` (absent: every channel)
opt_outs           channels the customer opted out of, joined by ``|`` (removed from ``channels``)
last_contact       date of the last contact (empty: never)
last_outcome       outcome of the last contact: ``|``-joined of delivered, opened, bought, complained, unsubscribed
active_slot        slot of the last observed activity (morning, noon, evening, night; empty: unknown)
contacts_<ch>      contacts on channel ``<ch>`` in the current 30-day cap window (default 0), one per channel
account            where a guide holds the 1:1 chat: ``wecom`` or ``personal`` (personal WeChat; empty: wecom)
gender             gender of the WeChat profile: ``female`` or ``male`` (empty: female)
fan_tier           fan tier 0-3 by interaction of a customer who never bought (empty: 0)
=================  ========================================================================================

Day numbers count from :data:`experiments.logs.export.BASE_DATE`, the day 0 of engine-written logs, so a
snapshot written from a simulation on day ``t`` is read back as of date ``BASE_DATE + t`` with the same
CRM features.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np

from experiments.logs.export import BASE_DATE, customer_id, day_date
from experiments.logs.rows import MIN_VALID_SHARE, LogError, LogReport, cell, open_rows, parse_day
from sim.config import Scenario
from sim.defaults import (ACCOUNTS, CHANNELS, FLAG_BOUGHT, FLAG_COMPLAINED, FLAG_DELIVERED, FLAG_OPENED,
                          FLAG_UNSUBSCRIBED, GENDERS, MONTH_DAYS, N_CHANNELS, NEVER, NOT_JOINED, SLOTS)
from sim.observation import Observation
from sim.invitations import invite_codes
from sim.params import calendar_today, days_to_event, pack

OUTCOMES: dict[str, int] = {"delivered": FLAG_DELIVERED, "opened": FLAG_OPENED, "bought": FLAG_BOUGHT,
                            "complained": FLAG_COMPLAINED, "unsubscribed": FLAG_UNSUBSCRIBED}
"""Names of the last-contact outcome flags in ``last_outcome``."""
ROLES: tuple[str, ...] = ("customer_id", "last_purchase", "first_purchase", "purchases", "spend", "tier", "channels",
                          "opt_outs", "last_contact", "last_outcome", "active_slot",
                          *(f"contacts_{c}" for c in CHANNELS), "account", "gender", "fan_tier")
"""Column roles of a snapshot, in the order :func:`write_snapshot` writes them."""
SEP = "|"
"""Separator of names inside one cell (channels, opt-outs, outcomes)."""


def day_of(d: date) -> int:
    """Day number of a date (days since :data:`BASE_DATE`)."""
    return d.toordinal() - BASE_DATE.toordinal()


@dataclass
class CrmView:
    """The CRM record of ``n`` customers as arrays in the engine's dtypes (see :class:`sim.state.State`)."""

    ids: np.ndarray
    """Customer ids (str), row order of the file."""
    reach: np.ndarray
    last_purchase: np.ndarray
    first_purchase: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    last_contact: np.ndarray
    last_flags: np.ndarray
    active_slot: np.ndarray
    month_count: np.ndarray
    tier: np.ndarray
    account: np.ndarray
    """uint8, ACCOUNT_WECOM or ACCOUNT_PERSONAL."""
    gender: np.ndarray
    """uint8, GENDER_FEMALE or GENDER_MALE."""
    fan_tier: np.ndarray
    """uint8, fan tier by interaction (0 for buyers)."""
    report: LogReport | None = None

    @property
    def n(self) -> int:
        """Customers in the record."""
        return int(self.ids.shape[0])

    def window_count(self, day: int) -> np.ndarray:
        """Contacts per channel in the cap window of ``day``: none on a window's first day, as the engine opens it."""
        return np.zeros_like(self.month_count) if day % MONTH_DAYS == 0 else self.month_count

    def observation(self, scenario: Scenario, day: int) -> Observation:
        """What a policy sees on ``day``: this record with ``scenario``'s caps, groups, staff and calendar."""
        return Observation(day, self.reach, self.last_purchase, self.first_purchase, self.frequency, self.monetary,
                           self.last_contact, self.last_flags, self.active_slot, self.window_count(day), self.tier,
                           pack(scenario).caps, group_size=scenario.groups.size,
                           customers_per_guide=scenario.staff.customers_per_guide,
                           chat_capacity=scenario.staff.chat_capacity_per_day,
                           event=calendar_today(scenario, day), days_to_event=days_to_event(scenario, day),
                           account=self.account, invite_enabled=invite_codes(scenario), gender=self.gender,
                           fan_tier=self.fan_tier)


def empty_view(ids: np.ndarray) -> CrmView:
    """A record of customers who never bought, were never contacted and are reachable nowhere."""
    n = ids.shape[0]
    return CrmView(ids, np.zeros(n, np.uint8), np.full(n, NEVER, np.int32), np.full(n, NEVER, np.int32),
                   np.zeros(n, np.int16), np.zeros(n, np.float32), np.full(n, NEVER, np.int32), np.zeros(n, np.uint8),
                   np.full(n, -1, np.int8), np.zeros((n, N_CHANNELS), np.uint8), np.zeros(n, np.int8),
                   np.zeros(n, np.uint8), np.zeros(n, np.uint8), np.zeros(n, np.uint8))


def view_of_simulation(sim: object) -> CrmView:
    """The CRM record of the customers who joined a :class:`sim.engine.Simulation` (ids ``c<row>``), as of today."""
    st = sim.state  # type: ignore[attr-defined]
    n = int((st.status != NOT_JOINED).sum())
    ids = np.array([customer_id(i) for i in range(n)], dtype=object)
    tiers = sim.fan_tiers()  # type: ignore[attr-defined]
    fan_tier = np.zeros(n, np.uint8) if tiers is None else tiers[:n].copy()
    return CrmView(ids, *(getattr(st, f.name)[:n].copy() for f in fields(CrmView)[1:-2]), fan_tier)


def write_snapshot(view: CrmView, path: str | Path) -> None:
    """Write ``view`` as ``crm.csv`` with every column (what :func:`read_snapshot` reads back exactly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ROLES)
        for i in range(view.n):
            w.writerow(_row(view, i))


def _row(v: CrmView, i: int) -> list[str]:
    def when(day: int) -> str:
        return "" if day == NEVER else day_date(day)

    flags = int(v.last_flags[i])
    return [str(v.ids[i]), when(v.last_purchase[i]), when(v.first_purchase[i]), str(int(v.frequency[i])),
            repr(float(v.monetary[i])), str(int(v.tier[i])),
            SEP.join(c for k, c in enumerate(CHANNELS) if (int(v.reach[i]) >> k) & 1), "",
            when(v.last_contact[i]), SEP.join(name for name, bit in OUTCOMES.items() if flags & bit),
            SLOTS[v.active_slot[i]] if v.active_slot[i] >= 0 else "",
            *(str(int(v.month_count[i, k])) for k in range(N_CHANNELS)),
            ACCOUNTS[v.account[i]], GENDERS[v.gender[i]], str(int(v.fan_tier[i]))]


def parse_columns(text: str | None) -> dict[str, str]:
    """``--crm-columns customer_id=cust,spend=gmv`` -> role -> header name (every role defaults to itself)."""
    names = {r: r for r in ROLES}
    for part in (text or "").split(",") if text else []:
        role, sep, name = part.partition("=")
        role, name = role.strip(), name.strip()
        if not sep or role not in ROLES or not name:
            raise LogError(f"--crm-columns: expected ROLE=NAME pairs with ROLE one of {', '.join(ROLES)}; "
                           f"got '{part[:40]}'")
        names[role] = name
    return names


def read_snapshot(path: str | Path, scenario: Scenario, columns: dict[str, str] | None = None,
                  date_format: str = "iso", strict: bool = False) -> CrmView:
    """Read and check ``crm.csv``; each kind of bad row is reported with its lines and column, never dropped silently.

    Dropped: an empty or repeated customer id, and any cell that does not parse (the kind names the column).
    With ``strict`` the first kind of bad row is an error.
    """
    path = Path(path)
    names = parse_columns(None) if columns is None else columns
    cols, rows = open_rows(path, {"customer_id": names["customer_id"]},
                           {r: names[r] for r in ROLES if r != "customer_id"})
    report = LogReport(str(path))
    thresholds = np.asarray(scenario.tiers.thresholds_yuan)
    every = (1 << N_CHANNELS) - 1
    seen: set[str] = set()
    out: list[tuple] = []
    total = 0
    for line, cells in rows:
        total += 1
        got = _parse_row(cells, cols, names, date_format, thresholds, every)
        if isinstance(got, str):
            report.drop(got, line)
            continue
        if got[0] in seen:
            report.drop(f"a {names['customer_id']} repeated from an earlier row", line)
            continue
        seen.add(got[0])
        out.append(got)
    report.fail_if_strict(strict)
    if total == 0:
        raise LogError(f"{path}: no data rows")
    if len(out) < MIN_VALID_SHARE * total:
        raise LogError(f"{path}: only {len(out):,} of {total:,} rows are usable (check --crm-columns and "
                       f"--date-format); {report.lines()[0]}")
    view = empty_view(np.array([r[0] for r in out], dtype=object))
    for k, f in enumerate(fields(CrmView)[1:-1], start=1):
        arr = getattr(view, f.name)
        arr[:] = np.array([r[k] for r in out], arr.dtype).reshape(arr.shape)
    view.report = report
    return view


def _parse_row(cells: list[str], cols: dict[str, int], names: dict[str, str], date_format: str,
               thresholds: np.ndarray, every: int) -> tuple | str:
    """The row's values in :class:`CrmView` field order, or the kind of problem (naming the column)."""
    def text(role: str) -> str:
        return cell(cells, cols[role]) if role in cols else ""

    def bad(role: str, what: str) -> str:
        return f"a {names[role]} that is not {what}"

    cid = text("customer_id")
    if not cid:
        return f"an empty {names['customer_id']}"
    days = {}
    for role in ("last_purchase", "first_purchase", "last_contact"):
        t = text(role)
        d = parse_day(t, date_format) if t else None
        if t and d is None:
            return bad(role, "a date in the format " + ("YYYY-MM-DD" if date_format == "iso" else date_format))
        days[role] = NEVER if d is None else d - BASE_DATE.toordinal()
    if days["first_purchase"] == NEVER:
        days["first_purchase"] = days["last_purchase"]
    nums = {}
    for role, top in (("purchases", 30000), ("tier", 3), ("fan_tier", 3), *((f"contacts_{c}", 255) for c in CHANNELS)):
        t = text(role)
        if not t:
            nums[role] = -1 if role == "tier" else 0
            continue
        if not t.isdigit() or int(t) > top:
            return bad(role, f"a whole number in 0..{top}")
        nums[role] = int(t)
    try:
        spend = float(text("spend").replace(",", "") or 0)
    except ValueError:
        spend = math.nan
    if not math.isfinite(spend) or spend < 0 or spend > 3e38:
        return bad("spend", "an amount >= 0")
    tier = nums["tier"] if nums["tier"] >= 0 else int(np.searchsorted(thresholds, np.float32(spend), side="right"))
    reach = _bits(text("channels"), CHANNELS) if "channels" in cols else every
    opt = _bits(text("opt_outs"), CHANNELS)
    flags = _bits(text("last_outcome"), tuple(OUTCOMES))
    for role, v in (("channels", reach), ("opt_outs", opt), ("last_outcome", flags)):
        if v < 0:
            allowed = ", ".join(OUTCOMES if role == "last_outcome" else CHANNELS)
            return bad(role, f"names joined by '{SEP}' from {allowed}")
    flags = sum(bit for k, bit in enumerate(OUTCOMES.values()) if (flags >> k) & 1)
    slot = text("active_slot")
    if slot and slot not in SLOTS:
        return bad("active_slot", f"one of {', '.join(SLOTS)}")
    named = {}
    for role, names_ in (("account", ACCOUNTS), ("gender", GENDERS)):
        t = text(role)
        if t and t not in names_:
            return bad(role, f"one of {', '.join(names_)}")
        named[role] = names_.index(t) if t else 0
    return (cid, reach & ~opt, days["last_purchase"], days["first_purchase"], nums["purchases"], spend,
            days["last_contact"], flags, SLOTS.index(slot) if slot else -1,
            [nums[f"contacts_{c}"] for c in CHANNELS], tier, named["account"], named["gender"], nums["fan_tier"])


def _bits(text: str, names: tuple[str, ...]) -> int:
    """Bit mask of the ``SEP``-joined ``names`` in ``text`` (bit k = names[k]); -1 if one is unknown."""
    out = 0
    for part in text.split(SEP):
        part = part.strip()
        if not part:
            continue
        if part not in names:
            return -1
        out |= 1 << names.index(part)
    return out
