"""A randomised campaign: each customer draws one arm (no contact, or a channel and a content) with known odds.

It is the logging policy off-policy evaluation needs: its :meth:`RandomizedCampaign.propensity` gives the
probability of the action each customer actually got, which is what ``contacts.csv``'s ``propensity``
column records. The draw uses the policy's own random stream (:data:`sim.rng.P_POLICY`), so it is a
pure function of (seed, customer, day).
"""

from __future__ import annotations

import numpy as np

from policies.base import channel_codes, content_code, slot_code, slot_for
from sim.defaults import CHANNELS, CONTENTS, NO_CONTACT
from sim.observation import Action, Observation
from sim.rng import P_POLICY, uniforms

NONE_ARM = "none"
"""Name of the no-contact arm."""
ARM_SLOT = "evening"
"""Slot of a contact when the customer's active slot is unknown."""


def parse_arms(text: str) -> list[tuple[int, int]]:
    """``"none,wecom:coupon,sms:flash_sale"`` -> [(NO_CONTACT, 0), (0, 3), (4, 4)]; unknown names are a ValueError."""
    arms: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        if part == NONE_ARM:
            arms.append((NO_CONTACT, 0))
            continue
        ch, sep, ct = part.partition(":")
        if not sep:
            raise ValueError(f"arm '{part[:40]}': expected {NONE_ARM} or CHANNEL:CONTENT, e.g. wecom:coupon")
        arms.append((channel_codes([ch])[0], content_code(ct)))
    if len(set(arms)) != len(arms) or not arms:
        raise ValueError(f"arms '{text[:60]}': give distinct arms")
    return arms


def arm_name(arm: tuple[int, int]) -> str:
    """``(0, 3)`` -> ``"wecom:coupon"``; the no-contact arm is ``"none"``."""
    ch, ct = arm
    return NONE_ARM if ch == NO_CONTACT else f"{CHANNELS[ch]}:{CONTENTS[ct]}"


def arm_index(arms: list[tuple[int, int]], channel: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Arm of each (channel, content) action; -1 where the action is none of ``arms`` (no contact ignores content)."""
    out = np.full(channel.shape[0], -1, np.int64)
    for k, (ch, ct) in enumerate(arms):
        hit = (channel == NO_CONTACT) if ch == NO_CONTACT else (channel == ch) & (content == ct)
        out[hit] = k
    return out


class RandomizedCampaign:
    """On campaign days, each customer gets arm k with probability ``weights[k]``; other days nobody.

    An arm whose channel cannot reach the customer today (unreachable or capped) falls back to no
    contact, and the propensity says so: the no-contact arm's probability includes those fallbacks.
    """

    kind = "randomized_campaign"

    def __init__(self, arms: list[tuple[int, int]], weights: list[float] | None = None,
                 days: tuple[int, ...] | None = None, slot: str = ARM_SLOT, name: str | None = None) -> None:
        self.arms = arms
        w = np.full(len(arms), 1.0 / len(arms)) if weights is None else np.asarray(weights, np.float64)
        if w.shape != (len(arms),) or (w <= 0).any():
            raise ValueError("weights: one positive weight per arm")
        if (NO_CONTACT, 0) not in arms:
            raise ValueError(f"arms: include '{NONE_ARM}' (where an arm's channel cannot reach a customer)")
        self.weights = w / w.sum()
        self.days = days
        """Campaign days (None: every day)."""
        self.default_slot = slot_code(slot)
        self.name = name or self.kind
        self.seed = 0

    def reset(self, n: int, seed: int) -> None:
        """Remember the seed of the draws."""
        self.seed = seed

    def _draw(self, obs: Observation) -> np.ndarray:
        u = uniforms(self.seed, obs.day, P_POLICY, obs.n)
        return np.minimum(np.searchsorted(np.cumsum(self.weights), u, side="right"), len(self.arms) - 1)

    def act(self, obs: Observation) -> Action:
        """Each customer's drawn arm on a campaign day (no contact where its channel cannot be used)."""
        if self.days is not None and obs.day not in self.days:
            return Action.none(obs.n)
        table = np.array(self.arms, np.int64)
        pick = table[self._draw(obs)]
        ch = pick[:, 0].copy()
        usable = (obs.usable.astype(np.int64) >> np.maximum(ch, 0)) & 1
        ch[(ch >= 0) & (usable == 0)] = NO_CONTACT
        content = np.where(ch >= 0, pick[:, 1], 0)
        return Action(ch.astype(np.int8), content.astype(np.int8), slot_for(obs, self.default_slot))

    def propensity(self, obs: Observation, action: Action) -> np.ndarray:
        """Probability of each customer's ``action`` under this policy on ``obs``'s day (0 if it cannot happen)."""
        if self.days is not None and obs.day not in self.days:
            return (action.channel == NO_CONTACT).astype(np.float64)
        return arm_probabilities(self.arms, self.weights, obs.usable)[np.arange(obs.n),
                                                                       _arm_or_last(self.arms, action)]


def _arm_or_last(arms: list[tuple[int, int]], action: Action) -> np.ndarray:
    """Arm of each action, and an extra column index (probability 0) for actions outside the arms."""
    k = arm_index(arms, action.channel, action.content)
    return np.where(k >= 0, k, len(arms))


def arm_probabilities(arms: list[tuple[int, int]], weights: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(n, arms + 1) probability of each arm per customer, a last column of zeros for actions outside the arms.

    An arm the customer cannot be reached on is folded into the no-contact arm.
    """
    n = usable.shape[0]
    out = np.zeros((n, len(arms) + 1))
    none = arms.index((NO_CONTACT, 0))
    for k, (ch, _) in enumerate(arms):
        ok = np.ones(n, bool) if ch == NO_CONTACT else ((usable.astype(np.int64) >> ch) & 1).astype(bool)
        out[ok, k] += weights[k]
        out[~ok, none] += weights[k]
    return out


class ArmPolicy:
    """One arm for everyone (no contact where its channel cannot be used): a logged arm as a policy."""

    kind = "arm"

    def __init__(self, arm: tuple[int, int], slot: str = ARM_SLOT) -> None:
        self.arm = arm
        self.default_slot = slot_code(slot)
        self.name = arm_name(arm)

    def reset(self, n: int, seed: int) -> None:
        """Stateless: nothing to prepare."""

    def act(self, obs: Observation) -> Action:
        """The arm where its channel is usable today, no contact elsewhere."""
        ch, ct = self.arm
        ok = np.zeros(obs.n, bool) if ch == NO_CONTACT else obs.can_use(ch)
        return Action(np.where(ok, ch, NO_CONTACT).astype(np.int8), np.where(ok, ct, 0).astype(np.int8),
                      slot_for(obs, self.default_slot))
