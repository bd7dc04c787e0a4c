"""Packs a :class:`Scenario` into the flat float arrays the kernels read.

Kernels take numbers, not objects: scalar parameters go into one vector indexed by the module
constants below, channel and content tables into small matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import Scenario
from sim.defaults import CHANNELS, CONTENTS

# scalar parameter indices
(P_SAL_DECAY, P_FAT_DECAY, P_DEAL_DECAY, P_NEED_ONSET, P_NEED_HAZARD, P_SHARE_FLOOR, P_LOST_SAL,
 P_OFF_OPEN, P_OFF_FAT, P_IRRELEVANCE, P_OPEN_FLOOR, P_FAT_OPEN_DRAG, P_SPAM_EROSION,
 P_COMPLAINT_TRUST, P_LURE, P_DEAL_WAIT, P_DEAL_LEARNING, P_TRUST_FLOOR, P_ADVOCATE_TRUST,
 P_DROPOUT_SAL, P_MARGIN, P_RESIDUAL_DAYS, P_TIER1, P_TIER2, P_TIER3, P_PURCHASE_SAL,
 P_RIVAL_FAT, P_RIVAL_SHARE, P_REFERRAL_MULT, P_GROUP_LEAVE, P_MOMENTS_FOLD, P_WECHAT_SHARE,
 P_COMMISSION, P_VISIBILITY) = range(34)
N_PARAMS = 34

# channel table columns
C_COST, C_OPEN, C_INTRUSIVE, C_CAP, C_SAL_GAIN, C_UNSUB, C_COMPLAINT = range(7)
# content table columns
K_CONVERSION, K_TRUST, K_HARDNESS, K_DISCOUNT, K_NOVELTY, K_COST = range(6)


@dataclass(frozen=True)
class KernelParams:
    """Everything a kernel needs to know about the scenario, as arrays."""

    scalars: np.ndarray
    channels: np.ndarray
    contents: np.ndarray

    @property
    def caps(self) -> np.ndarray:
        """Per-channel contacts allowed per customer per 30 days."""
        return self.channels[:, C_CAP].astype(np.int64)


def _decay(half_life_days: float) -> float:
    return 0.5 ** (1.0 / half_life_days)


def pack(scenario: Scenario) -> KernelParams:
    """The kernel view of ``scenario``."""
    d, e = scenario.dynamics, scenario.economics
    p = np.zeros(N_PARAMS, np.float64)
    p[P_SAL_DECAY] = _decay(d.salience_half_life_days)
    p[P_FAT_DECAY] = _decay(d.fatigue_half_life_days)
    p[P_DEAL_DECAY] = _decay(d.deal_half_life_days)
    p[P_NEED_ONSET] = d.need_onset
    p[P_NEED_HAZARD] = d.need_hazard
    p[P_SHARE_FLOOR] = d.share_floor
    p[P_LOST_SAL] = d.lost_salience
    p[P_PURCHASE_SAL] = d.purchase_salience
    p[P_OFF_OPEN] = d.off_window_open
    p[P_OFF_FAT] = d.off_window_fatigue
    p[P_IRRELEVANCE] = d.irrelevance_fatigue
    p[P_OPEN_FLOOR] = d.open_floor
    p[P_FAT_OPEN_DRAG] = d.fatigue_open_drag
    p[P_SPAM_EROSION] = d.spam_erosion
    p[P_COMPLAINT_TRUST] = d.complaint_trust_loss
    p[P_LURE] = d.lure
    p[P_DEAL_WAIT] = d.deal_wait
    p[P_DEAL_LEARNING] = d.deal_learning
    p[P_TRUST_FLOOR] = d.trust_floor
    p[P_ADVOCATE_TRUST] = d.advocate_trust
    p[P_DROPOUT_SAL] = d.dropout_salience
    p[P_MARGIN] = e.gross_margin_rate
    p[P_RESIDUAL_DAYS] = e.residual_horizon_days
    p[P_TIER1], p[P_TIER2], p[P_TIER3] = scenario.tiers.thresholds_yuan
    p[P_RIVAL_FAT] = scenario.competition.rival_fatigue_per_day
    p[P_RIVAL_SHARE] = scenario.competition.rival_share_pressure
    r = scenario.referral
    p[P_REFERRAL_MULT] = 1.0 + r.reward_lift * r.reward_yuan / (r.reward_yuan + r.reward_half_yuan)
    p[P_GROUP_LEAVE] = scenario.groups.leave_rate
    p[P_MOMENTS_FOLD] = 1.0  # set day by day by the platform rule
    land = scenario.landing
    p[P_WECHAT_SHARE] = land.wechat_share
    p[P_COMMISSION] = land.marketplace_commission
    p[P_VISIBILITY] = land.marketplace_visibility
    ch = np.array([[c.cost, c.open_rate, c.intrusiveness, c.cap_per_month, c.salience_gain,
                    c.unsubscribe_rate, c.complaint_rate]
                   for c in (scenario.channels[n] for n in CHANNELS)], np.float64)
    ct = np.array([[k.conversion, k.trust_gain, k.hardness, k.discount, k.novelty, k.cost]
                   for k in (scenario.contents[n] for n in CONTENTS)], np.float64)
    return KernelParams(p, ch, ct)
