"""A population whose CRM record and traits are given: the customers of a real log, not a random draw.

:func:`from_histories` draws a population for a seed as :func:`sim.state.generate` does, then sets
each customer's purchase record, personal cycle, dropout rate, order value and status from the
arguments, and plays the silence since their last purchase with the engine's formulas
(:func:`silent_period`) for the hidden state that follows (need clock, salience, dropout), then stage
and tier. ``Simulation(scenario, customers=n, seed=seed, state=state, inflow=False)`` runs it on from day 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim.config import Scenario
from sim.defaults import A4, A5, ACTIVE, DROPPED
from sim.kernels import (brand_share, dropout_probability, lapse_probability, need_hazard, personal_floor,
                         personal_lapse, rest)
from sim.params import pack
from sim.rng import P_ORGANIC, draw, stream_key, u21
from sim.state import State, generate


_CHUNK = 256
"""Customers a thread takes at a time in :func:`_silent`."""
PARTICLES = 16
"""Silent-period paths drawn per customer; one is kept, weighted by the chance the brand won none of its occasions."""


def silent_period(scenario: Scenario, st: State, since: np.ndarray, seed: int) -> None:
    """Play each customer's days since their last brand purchase, in which the log shows no purchase.

    Starting from the purchase (need met, salience raised), the engine's own formulas (rest, need
    hazard, brand share, dropout, the lapse at need occasions, the purchase's among them) run day by
    day, with every need occasion lost to a rival, since the log shows none won. :data:`PARTICLES`
    paths are drawn per customer and one is kept with weight prod(1 - brand share) over its
    occasions: the chance of that silence. The kept path sets the need
    clock, salience and status (a customer may have left in silence: more likely the longer it lasts).
    """
    p = pack(scenario).customer
    _silent(np.int64(seed), p, np.ascontiguousarray(since, np.int64), st.cycle, st.dropout, st.price_sens,
            st.salience, st.trust, st.deal, st.need_clock, st.status)


@njit(cache=True, parallel=True)
def _silent(seed, p, since, cycle, dropout, price_sens, salience, trust, deal, need_clock,
            status):  # pragma: no cover - jitted
    n = since.shape[0]
    k = PARTICLES
    pick_key = stream_key(seed, -1, P_ORGANIC)
    for c in prange((n + _CHUNK - 1) // _CHUNK):  # each customer's draws are their own: any thread, same result
        sal_k = np.empty(k)
        dl_k = np.empty(k)
        nc_k = np.empty(k, np.int64)
        gone_k = np.empty(k, np.bool_)
        logw = np.empty(k)
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
            inv_c = 1.0 / cycle[i]
            lapse = personal_lapse(p.need_lapse, p.need_lapse_spread, dropout[i], p.dropout_per_day)
            floor = personal_floor(p.share_floor, p.share_floor_spread, dropout[i], p.dropout_median_per_day)
            s0 = salience[i] + p.purchase_salience * (1.0 - salience[i])
            for m in range(k):
                sal, dl, tr, nc, lw, gone = s0, deal[i], trust[i], 0, 0.0, False
                pseed = seed ^ ((m + 1) * 0x9E3779B97F4A7C15)
                # the last purchase was itself a need occasion: the customer may have lapsed there (need_lapse)
                gone = u21(draw(stream_key(pseed, -1, P_ORGANIC), i), 1) < lapse
                for d in range(0 if gone else since[i]):
                    sal, _f, dl, tr, nc = rest(sal, 0.0, dl, tr, nc, 0.0, p.salience_decay, p.fatigue_decay,
                                               p.deal_decay, 0.0)
                    bits = draw(stream_key(pseed, -2 - d, P_ORGANIC), i)
                    occasion = u21(bits, 0) < need_hazard(nc, inv_c, p.need_hazard, p.need_onset, p.need_impulse)
                    if occasion:
                        nc = 0
                        lw += np.log(max(1.0 - brand_share(sal, tr, dl, price_sens[i], 0.0, floor, p), 1e-300))
                        sal *= p.lost_salience
                    if u21(bits, 2) < lapse_probability(dropout_probability(dropout[i], sal, p.dropout_salience),
                                                        occasion, lapse):
                        gone = True
                        break
                sal_k[m], dl_k[m], nc_k[m], gone_k[m], logw[m] = sal, dl, nc, gone, lw
            top = logw.max()
            total = 0.0
            for m in range(k):
                total += np.exp(logw[m] - top)
            u = u21(draw(pick_key, i), 0) * total
            m = 0
            acc = np.exp(logw[0] - top)
            while acc < u and m < k - 1:
                m += 1
                acc += np.exp(logw[m] - top)
            salience[i] = sal_k[m]
            deal[i] = dl_k[m]
            need_clock[i] = min(nc_k[m], 30000)
            if gone_k[m]:
                status[i] = DROPPED


def from_histories(scenario: Scenario, seed: int, cycle: np.ndarray, dropout: np.ndarray, value: np.ndarray,
                   first_purchase: np.ndarray, last_purchase: np.ndarray, frequency: np.ndarray,
                   monetary: np.ndarray, alive: np.ndarray) -> State:
    """``len(cycle)`` customers with the given traits and purchase record; days are before day 0 (negative).

    ``cycle`` in days, ``dropout`` in 1/day (the personal base hazard), ``value`` in yuan (the usual
    order); ``alive`` False marks customers who have already left (status DROPPED, no channel).
    Every other trait (deal-proneness, slots, reach, trust) is the seed's draw.
    """
    n = int(cycle.size)
    st = generate(scenario, n, seed)
    st.cycle[:] = np.maximum(cycle, 1.0)
    st.dropout[:] = dropout
    st.value[:] = value
    st.first_purchase[:] = first_purchase
    st.last_purchase[:] = last_purchase
    st.frequency[:] = np.minimum(frequency, 30000)
    st.monetary[:] = monetary
    dyn = scenario.dynamics
    st.status[:] = np.where(alive, ACTIVE, DROPPED)
    silent_period(scenario, st, np.maximum(-last_purchase - 1, 0), seed)
    t = np.asarray(scenario.tiers.thresholds_yuan)
    st.tier[:] = np.searchsorted(t, st.monetary, side="right")
    st.stage[:] = np.where((frequency >= 2) & (st.trust >= dyn.advocate_trust), A5, A4)
    st.reach[:] = np.where(st.status == ACTIVE, st.reach, 0)
    return st
