"""What one message does, per channel and content: the response card of a scenario.

A strategist judges a simulator by the responses they know from their own campaigns: of a message
sent, how many open, how many buy because of it, how many mute or delete. Each cell of the card is a
randomised experiment run inside the simulator, Hillstrom-style: a pool is played for ``warmup`` days
under the reference continuation policy, then forked; in one fork every customer the channel reaches
gets one message of that content, in the other nobody does, and both are left alone for ``window``
days. With the same customers and the same random numbers in both forks, the difference of purchases
is the incremental purchase rate of one message, free of sampling noise between arms.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from sim.config import Scenario
from sim.defaults import CHANNELS, CONTENTS, EVENING, NO_CONTACT, S
from sim.engine import Simulation, continuation_policy
from sim.observation import Action

WARMUP_DAYS = 60
"""Days under the reference policy before the message: customers with a contact history, as in a real pool."""
WINDOW_DAYS = 14
"""Days over which the response is counted (the Hillstrom experiment's two weeks)."""


@dataclass(frozen=True)
class Response:
    """Per-message response to one (channel, content): shares of the customers contacted."""

    channel: str
    content: str
    contacted: int
    open_rate: float
    incremental_purchase_rate: float
    """Extra purchases within the window per message sent (treated fork minus untouched fork)."""
    unsubscribe_rate: float
    """Unsubscribes within the window per message sent, beyond the untouched fork's."""
    baseline_purchase_rate: float
    """Purchases within the window per customer the channel reaches, had none been contacted."""


def _window(sim: Simulation, first: Action | None, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Totals of ``days`` days (``first`` on the first day, nothing afterwards) and each customer's purchases."""
    before = sim.state.frequency.astype(np.int64)
    total = np.zeros(len(S), np.float64)
    for t in range(days):
        total += sim.step(first if t == 0 else None).sum(axis=0)
    return total, sim.state.frequency.astype(np.int64) - before


def response_card(scenario: Scenario, customers: int = 20_000, seed: int = 0, warmup: int = WARMUP_DAYS,
                  window: int = WINDOW_DAYS, contents: tuple[str, ...] = CONTENTS) -> list[Response]:
    """One :class:`Response` per channel and content of ``scenario`` (see the module doc)."""
    sim = Simulation(scenario, customers, seed, inflow=False)
    sim.run(continuation_policy(), warmup, residual=False)
    control, control_buys = _window(copy.deepcopy(sim), None, window)
    out = []
    for c, channel in enumerate(CHANNELS):
        reached = (sim.state.reach >> c) & 1 == 1
        for content in contents:
            action = Action(np.where(reached, c, NO_CONTACT).astype(np.int8),
                            np.full(sim.n, CONTENTS.index(content), np.int8), np.full(sim.n, EVENING, np.int8))
            treated, buys = _window(copy.deepcopy(sim), action, window)
            sent = treated[S["contacts"]]
            per = 1.0 / max(sent, 1.0)
            out.append(Response(
                channel, content, int(sent), float(treated[S["opens"]] * per),
                float((buys[reached] - control_buys[reached]).sum() * per),
                float((treated[S["unsubscribes"]] - control[S["unsubscribes"]]) * per),
                float(control_buys[reached].sum() / max(int(reached.sum()), 1))))
    return out


def organic_share(scenario: Scenario, customers: int = 20_000, seed: int = 0, days: int = 180) -> float:
    """Share of purchases that no contact prompted, under the reference policy over ``days`` days."""
    s = Simulation(scenario, customers, seed).run(continuation_policy(), days, residual=False).summary
    return s["purchases_organic"] / max(s["purchases"], 1.0)


def card_lines(scenario: Scenario, customers: int = 20_000, seed: int = 0) -> list[str]:
    """The response card as comment lines (``# ...``), so it can follow a scenario's TOML and keep it valid."""
    rows = response_card(scenario, customers, seed)
    lines = [f"# What one message does here (measured by siyu: {customers:,} customers after {WARMUP_DAYS} days under",
             f"# the reference policy; one message to everyone the channel reaches, counted over {WINDOW_DAYS} days",
             "# against an untouched copy with the same random numbers). Published anchors: docs/responses.md.",
             f"# {'channel':<17} {'content':<12} {'open':>7} {'+purchases':>11} {'unsubscribe':>12} {'base buy':>9}"]
    for r in rows:
        lift = 100 * r.incremental_purchase_rate
        lines.append(f"# {r.channel:<17} {r.content:<12} {r.open_rate:>7.1%} {lift:>+9.2f}pp"
                     f" {r.unsubscribe_rate:>12.2%} {r.baseline_purchase_rate:>9.1%}")
    share = organic_share(scenario, customers, seed)
    lines.append(f"# organic share of purchases under the reference policy over 180 days: {share:.0%}")
    return lines


__all__ = ["Response", "response_card", "organic_share", "card_lines", "WARMUP_DAYS", "WINDOW_DAYS"]
