"""The response to a message as a brand's contact log shows it, by channel and content.

Open rate, purchase lift against the control group, unsubscribes. The definitions are the response card's
(:mod:`experiments.response`): of the messages sent, the share opened; the extra purchases within
:data:`~experiments.response.WINDOW_DAYS` days per message; the unsubscribes per message. The lift is
identified by the control rows (``content = none``): on each campaign day and channel, the purchases in the
window after the day of contacted customers are compared with those of the customers held back that day, and
the days are averaged with the contacted counts as weights (a stratified difference in means, its standard
error from the two arms' variances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.calibrate.history import daily
from experiments.logs.contacts import Contacts
from experiments.logs.transactions import Transactions
from experiments.response import WINDOW_DAYS
from sim.defaults import CHANNELS, CONTENTS


ALL = "all"
"""Content name of a channel's response pooled over its contents."""


@dataclass(frozen=True)
class LogResponse:
    """What the log shows of one (channel, content): the response card's measures, with standard errors."""

    channel: str
    content: str
    contacted: int
    controls: int
    """Control rows of the days the lift is taken on (0: not identified, e.g. the content never sent alone)."""
    open_rate: float
    """NaN when the log has no ``opened`` column."""
    incremental_purchase_rate: float
    incremental_se: float
    unsubscribe_rate: float
    """NaN when the log has no ``unsubscribed`` column."""


def window_purchases(tx: Transactions, customer: np.ndarray, day: np.ndarray, window: int = WINDOW_DAYS
                     ) -> np.ndarray:
    """Transactions (one a day at most) of each ``customer`` in the ``window`` days from ``day`` on."""
    cust, when, _ = daily(tx)
    key = np.sort(cust * 10_000_000 + when)
    base = customer * 10_000_000
    return np.searchsorted(key, base + day + window, "left") - np.searchsorted(key, base + day, "left")


def log_responses(contacts: Contacts, tx: Transactions, end: int, window: int = WINDOW_DAYS) -> list[LogResponse]:
    """One :class:`LogResponse` per channel (content ``all``) and per (channel, content) the log sent.

    Only contacts whose window ends by ``end`` count. A control row records the channel it was held back
    from, not the content, so a content's lift uses only the days on which the channel sent that content
    alone; the channel's lift (all contents) uses every day with controls.
    """
    use = contacts.day + window - 1 <= end
    c = {k: getattr(contacts, k)[use] for k in ("customer", "day", "channel", "content", "opened", "unsubscribed")}
    bought = window_purchases(tx, c["customer"], c["day"], window).astype(np.float64)
    return responses_of(c["day"], c["channel"], c["content"], c["opened"], c["unsubscribed"], bought)


def responses_of(day: np.ndarray, channel: np.ndarray, content: np.ndarray, opened: np.ndarray,
                 unsubscribed: np.ndarray, bought: np.ndarray, weight: np.ndarray | None = None) -> list[LogResponse]:
    """:func:`log_responses` on arrays, one element per contact row (``content`` -1 for a control).

    ``bought``: the row's customer's purchases in the window from its day. The contact fit
    (:mod:`~experiments.calibrate.contact_fit`) measures the engine's replay of a log with it, so data and
    simulation go through the same estimator. ``weight``: of each row in the shares and means (1 when absent);
    counts, and which days identify a lift, stay those of the rows.
    """
    w = np.ones(day.size) if weight is None else np.asarray(weight, np.float64)
    out = []
    for ch in np.unique(channel[channel >= 0]):
        on = channel == ch
        sent_any, control = on & (content >= 0), on & (content < 0)
        mixed = _mixed_days(day[sent_any], content[sent_any])
        for ct in [-1, *np.unique(content[sent_any])]:
            sent = sent_any if ct < 0 else sent_any & (content == ct)
            alone = sent if ct < 0 else sent & ~np.isin(day, mixed)
            lift, se, controls = _stratified_lift(bought, day, alone, control, w)
            out.append(LogResponse(CHANNELS[ch], ALL if ct < 0 else CONTENTS[ct], int(sent.sum()), controls,
                                   _share(opened[sent], w[sent]), lift, se, _share(unsubscribed[sent], w[sent])))
    return out


def _mixed_days(day: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Days on which more than one content was sent."""
    pairs = np.unique(np.stack([day, content]), axis=1)
    days, counts = np.unique(pairs[0], return_counts=True)
    return days[counts > 1]


def _share(flags: np.ndarray, w: np.ndarray) -> float:
    known = flags >= 0
    return float((w[known] * flags[known]).sum() / w[known].sum()) if known.any() else float("nan")


def _stratified_lift(bought: np.ndarray, day: np.ndarray, sent: np.ndarray, control: np.ndarray, w: np.ndarray
                     ) -> tuple[float, float, int]:
    """Mean treated minus control purchases per campaign day, weighted by the treated; (lift, SE, control rows).

    A day counts when both arms have at least two rows (else it does not identify the lift).
    """
    days, idx = np.unique(day, return_inverse=True)
    arms = []
    for arm in (sent, control):
        i, y, wi = idx[arm], bought[arm], w[arm]
        rows = np.bincount(i, minlength=days.size).astype(np.float64)
        n = np.bincount(i, wi, minlength=days.size)
        s = np.bincount(i, wi * y, minlength=days.size)
        ss = np.bincount(i, wi * y * y, minlength=days.size)
        mean = s / np.where(n > 0, n, 1.0)
        var = np.maximum(ss - s * mean, 0.0) / np.maximum(n - 1.0, 1.0) if weight_is_one(wi) else \
            np.maximum(ss / np.where(n > 0, n, 1.0) - mean ** 2, 0.0) * rows / np.maximum(rows - 1.0, 1.0)
        arms.append((rows, n, mean, var))
    (nt, wt, mt, vt), (nk, _, mk, vk) = arms
    ok = (nt >= 2) & (nk >= 2)
    if not ok.any():
        return float("nan"), float("nan"), 0
    nt, wt, mt, vt, nk, mk, vk = (a[ok] for a in (nt, wt, mt, vt, nk, mk, vk))
    weight = float(wt.sum())
    total = float((wt * (mt - mk)).sum())
    var = float((wt ** 2 * (vt / nt + vk / nk)).sum())
    return total / weight, math.sqrt(var) / weight, int(nk.sum())


def weight_is_one(w: np.ndarray) -> bool:
    """Whether every weight is 1 (the log's own rows)."""
    return bool(np.all(w == 1.0))


def response_lines(responses: list[LogResponse]) -> list[str]:
    """The ``fit.md`` table of the log's responses."""
    out = ["| channel | content | messages | control rows | open rate | extra purchases per message (SE) | "
           "unsubscribes per message |", "|---|---|---:|---:|---:|---|---:|"]
    for r in responses:
        lift = "not identified (no control rows on its days)" if not r.controls else \
            f"{r.incremental_purchase_rate:.4f} ({r.incremental_se:.4f})"
        out.append(f"| {r.channel} | {r.content} | {r.contacted:,} | {r.controls:,} | {_pct(r.open_rate)} | {lift} | "
                   f"{_pct(r.unsubscribe_rate)} |")
    return out


def _pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{100 * v:.1f}%"
