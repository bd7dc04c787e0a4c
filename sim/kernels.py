"""The dynamics: small numba kernels over the struct-of-arrays state. The only copy of the model.

One call of :func:`step_day` advances every customer one day: rest (salience, fatigue and deal
memory decay; need builds), the day's contact if any (delivery, open, purchase, mute or delete,
complaint), organic need occasions won by the brand or lost to rivals, referral by advocates, and
dropout. Work is split into fixed blocks of customers whose sums are kept apart, so totals are
bit-identical whatever the number of threads.

Most customers on most days only rest. Each block therefore runs in two passes: :func:`rest_rows`,
branch-free over long slices so that it vectorizes, finishes the resting rows and marks the eventful
ones; the full day then runs only for those, their scattered rows fetched ahead. The resting
formulas are the full day's own helpers, and ``full=True`` (a test) checks both paths agree bit
for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim._threads import twin

from sim.defaults import (A2, A3, A4, A5, ACCOUNT_WECOM, ACTIVE, BLOCK, DROPPED, FLAG_BOUGHT, FLAG_COMPLAINED,
                          FLAG_DELIVERED, FLAG_OPENED, FLAG_UNSUBSCRIBED, MOMENTS, NEVER, GROUP,
                          EV_GROUP_BUY, EV_GROUP_COMPLAINT, EV_GROUP_CONTACT, EV_GROUP_LEFT, EV_GROUP_OPEN,
                          EV_GROUP_PROMO, EV_REFERRED, INVITE_GROUP, INVITE_GROUP_GIFT, INVITE_PAID, INVITE_WECOM_GIFT,
                          GENDER_MALE, S, S_CHANNEL0, SMS, WECOM)
from sim.prefetch import prefetch
from sim.rng import (P_ASK, P_CONTACT, P_FAN, P_INVITE, P_GROUP, P_LANDING, P_ORGANIC, P_REFERRAL, draw, stream_key,
                     u21, u24)
from sim.state import pick_slot, tier_of

# statistic indices as plain ints (compile-time constants inside kernels)
_REV, _GM, _INC, _CC = S["revenue"], S["gross_margin"], S["incentive_cost"], S["contact_cost"]
_BUY, _BUYC, _BUYO, _LOST = S["purchases"], S["purchases_contacted"], S["purchases_organic"], S["lost_to_rivals"]
_CON, _OPN, _UNS, _CMP = S["contacts"], S["opens"], S["unsubscribes"], S["complaints"]
_DRP, _REF, _RED = S["dropouts"], S["referrals"], S["coupons_redeemed"]
_IWC, _IWO, _OWC, _OWO = (S["in_window_contacts"], S["in_window_opens"], S["off_window_contacts"],
                          S["off_window_opens"])
_PREACH, _PUNREACH, _PDROP, _PBUYERS = S["reachable"], S["unreachable"], S["dropped"], S["active_buyers"]
_SSAL, _SFAT, _STR, _SDL = S["salience_sum"], S["fatigue_sum"], S["trust_sum"], S["deal_sum"]
_GCON, _GOPN, _GBUY, _GCMP, _GLEFT = (S["group_contacts"], S["group_opens"], S["group_purchases"],
                                      S["group_complaints"], S["group_leaves"])
_MAUD = S["moments_audience"]
_MREV, _FEES, _UNSEEN = S["marketplace_revenue"], S["platform_fees"], S["unseen_purchases"]
_ASK, _INV, _INVA = S["asks"], S["invitations"], S["invitations_accepted"]
_MSOLD, _MFEE, _MDISC = S["memberships_sold"], S["membership_fees"], S["member_discounts"]
_FAN = S["fan_details"]
_MCON, _MOFF, _MDSC, _FCON = S["male_contacts"], S["male_offers"], S["male_discounts"], S["fan_contacts"]
_DETAILS = (1 << WECOM) | (1 << MOMENTS) | (1 << SMS)
"""Reach a fan's contact details give: SMS to the phone number, and the WeCom persona (with its Moments) added by it."""
ADVOCATE_KEEP = 0.8
"""An advocate stays one while their trust is at least this share of ``advocate_trust``."""
MARGIN = 1e-6
"""Relative widening of the rest pass's tests of an advocate's day (fastmath may round the two passes apart)."""
ACTIVE_WINDOW_DAYS = 365
"""A customer is an active buyer if they bought from the brand within this many days."""


@njit(cache=True, inline="always")
def need_level(need_clock: float, inv_cycle: float, pull: float) -> float:
    """Relevance of an offer today: (days since need met / cycle + event pull) squared, capped at 1.5."""
    x = need_clock * inv_cycle + pull
    return min(x * x, 1.5)


@njit(cache=True, inline="always")
def saturate(fatigue: float) -> float:
    """Fatigue mapped into [0, 1): how annoyed the customer is."""
    return fatigue / (1.0 + fatigue)


@njit(cache=True, inline="always")
def personal_floor(floor: float, spread: float, dropout: float, median: float) -> float:
    """A customer's share floor: the odds of ``floor`` times (``median`` dropout hazard / own) to the ``spread``.

    A loyal customer (slow to leave) keeps choosing the brand when not reminded of it, a drifting one needs
    reminding: the brand's fade without contact falls on the leavers, not on its core. The median customer keeps
    ``floor``; spread 0, or a floor of 0 or 1, the same for everyone.
    """
    if spread == 0.0 or median <= 0.0 or dropout <= 0.0 or floor <= 0.0 or floor >= 1.0:
        return floor
    x = np.log(floor / (1.0 - floor)) + spread * np.log(median / dropout)
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True, inline="always")
def brand_share(salience: float, trust: float, deal: float, price_sens: float, offered: float, floor: float,
                p) -> float:
    """Chance the brand wins a need occasion: remembered, trusted, not waiting for more than ``offered``.

    ``offered`` is the discount everyone gets today (an event's price cut; 0 on an ordinary day); ``floor`` the
    customer's share at zero salience (:func:`personal_floor`).
    """
    tf = p.trust_floor
    share = floor + (1.0 - floor) * salience * (tf + (1.0 - tf) * trust)
    wait = 1.0 - min(p.deal_wait * price_sens * max(deal - offered, 0.0), 0.9)
    return min(max(share * wait * (1.0 - p.rival_share), 0.0), 1.0)


@njit(cache=True, inline="always")
def occasion_share(salience: float, trust: float, deal: float, price_sens: float, offered: float, dropout: float,
                   loyalty: float, p) -> float:
    """Chance the brand wins one customer's need occasion today.

    :func:`brand_share` at the customer's own floor (:func:`personal_floor`), lifted by the member programme's
    ``loyalty`` and capped at 1.
    """
    floor = personal_floor(p.share_floor, p.share_floor_spread, dropout, p.dropout_median_per_day)
    return min(brand_share(salience, trust, deal, price_sens, offered, floor, p) * (1.0 + loyalty), 1.0)


@njit(cache=True, inline="always")
def tenure_share(day: int, first_purchase: int, p) -> float:
    """Part of a customer's share of need occasions kept after so long a customer (1 before a first purchase).

    It fades at ``tenure_fade`` a year from 1 at the first purchase to ``tenure_floor``: a new customer's pull wears
    off while they go on buying, which CDNOW's customers show (docs/calibration.md, "How much those still buying buy").
    """
    if p.tenure_fade_per_day == 0.0 or first_purchase == NEVER:
        return 1.0
    return p.tenure_floor + (1.0 - p.tenure_floor) * np.exp(-p.tenure_fade_per_day * (day - first_purchase))


@njit(cache=True, inline="always")
def open_probability(open_rate: float, salience: float, sat_fatigue: float, in_window: int, p) -> float:
    """Chance a delivered message is opened: channel reach, salience, fatigue and timing."""
    q = open_rate * (p.open_floor + (1.0 - p.open_floor) * salience) \
        * (1.0 - p.fatigue_open_drag * sat_fatigue)
    if in_window == 0:
        q *= p.off_window_open
    return min(max(q, 0.0), 1.0)


@njit(cache=True, inline="always")
def purchase_probability(conversion: float, need: float, trust: float, discount: float, deal: float,
                         price_sens: float, novelty: float, receptive: float, p) -> float:
    """Chance an opened message converts: need, trust, and the offer against the awaited discount."""
    lift = 1.0 + p.lure * price_sens * discount - p.deal_wait * price_sens * max(0.0, deal - discount)
    nov = 1.0 - novelty * (1.0 - receptive)
    tf = p.trust_floor
    q = conversion * need * (tf + (1.0 - tf) * trust) * max(lift, 0.0) * nov
    return min(max(q, 0.0), 1.0)


@njit(cache=True, inline="always")
def invite_probability(accept: float, trust: float, since_order: float, gift: bool, p) -> float:
    """Chance an opened invitation is accepted: trust, the recency of the last order (fact 5) and the gift."""
    tf = p.trust_floor
    recent = p.invite_old_factor + (1.0 - p.invite_old_factor) * np.exp(-since_order / p.invite_recency_days)
    q = accept * (tf + (1.0 - tf) * trust) * recent * (p.invite_gift_mult if gift else 1.0)
    return min(max(q, 0.0), 1.0)


@njit(cache=True, inline="always")
def member_terms(paid: bool, tier: int, p) -> tuple[float, float, float]:
    """(member price cut, points rate, brand-share lift) of a customer: paid member, member by tier, or neither."""
    if paid:
        return p.paid_price, p.points_rate, p.paid_loyalty
    if tier >= p.member_min_tier:
        return p.member_price, p.points_rate, p.points_loyalty
    return 0.0, 0.0, 0.0


@njit(cache=True, inline="always")
def unsubscribe_probability(rate: float, sat_fatigue: float) -> float:
    """Chance a contact makes the customer mute, delete or leave the channel."""
    return min(max(rate * sat_fatigue * sat_fatigue, 0.0), 1.0)


@njit(cache=True, inline="always")
def complaint_probability(rate: float, sat_fatigue: float, hardness: float) -> float:
    """Chance a contact draws a complaint."""
    return min(max(rate * sat_fatigue * hardness, 0.0), 1.0)


@njit(cache=True, inline="always")
def need_hazard(need_clock: float, inv_cycle: float, hazard: float, onset: float, impulse: float) -> float:
    """Daily chance that the customer's need comes up (to be met by the brand or a rival).

    The cycle's share builds after ``onset`` cycles since the need was last met (a product used up); the share
    ``impulse`` comes at a steady one per cycle whatever the clock (impulse buys, gifts, a new release).
    """
    h = max(hazard * (need_clock * inv_cycle - onset) * inv_cycle, 0.0)
    return min((1.0 - impulse) * h + impulse * inv_cycle, 1.0)


@njit(cache=True, inline="always")
def lapse_probability(dropout: float, occasion: bool, lapse: float) -> float:
    """Daily chance of leaving the category, on a day the need came up or was met (``occasion``) raised by ``lapse``.

    A need occasion is where a customer may find they no longer need the category (BG/NBD's dropout after a
    transaction): frequent buyers then leave sooner, and a new cohort's repeats come early and fade.
    """
    return min(dropout + lapse, 1.0) if occasion else dropout


@njit(cache=True, inline="always")
def personal_lapse(lapse: float, spread: float, dropout: float, mean: float) -> float:
    """A customer's lapse at a need occasion: ``lapse`` times their dropout hazard over the mean, to the ``spread``.

    One loyalty for both ways of leaving: a customer slow to drift away is also slow to lapse, so a loyal
    core keeps buying, as BG/NBD's spread of dropout probabilities has it. Spread 0: the same for everyone.
    """
    if spread == 0.0 or mean <= 0.0:
        return lapse
    return min(lapse * (dropout / mean) ** spread, 1.0)


@njit(cache=True, inline="always")
def dropout_probability(base: float, salience: float, salience_effect: float) -> float:
    """Daily chance of leaving the category for good; higher for customers who forgot the brand."""
    return min(max(base * (1.0 + salience_effect * (1.0 - salience)), 0.0), 1.0)


@njit(cache=True, inline="always")
def rest(salience, fatigue, deal, trust, need_clock, trust_hit, sal_decay, fat_decay, deal_decay, rival):
    """A day's rest of one customer; returns (salience, fatigue, deal, trust, need clock).

    Salience, fatigue and deal memory decay, rivals add fatigue, a public complaint in the
    customer's group costs trust, and the need clock advances (capped).
    """
    return (salience * sal_decay, fatigue * fat_decay + rival, deal * deal_decay,
            max(trust - trust_hit, 0.0), min(need_clock + 1, 30000))


@njit(cache=True, inline="always")
def group_leave_probability(rate: float, heat: float) -> float:
    """Chance a member leaves a group on its weekly leave day: high in a cold group."""
    cold = 1.0 - heat
    return rate * cold * cold


@njit(cache=True, inline="always")
def landing(bits: np.uint64, wechat_share: float, visibility: float) -> tuple[bool, bool]:
    """Where a sale lands: (on the marketplace store?, seen by the CRM?). WeChat sales are always seen."""
    market = u24(bits, 0) >= wechat_share
    return market, (not market) or u24(bits, 1) < visibility


@njit(cache=True, inline="always")
def seen_probability(wechat_share: float, visibility: float) -> float:
    """Chance a sale is seen by the CRM: :func:`landing`'s two draws as one probability."""
    return wechat_share + (1.0 - wechat_share) * visibility


@njit(cache=True, inline="always")
def book_landing(stats, b, price, market, seen, commission) -> float:
    """Book a sale's landing in block ``b``'s statistics; returns the marketplace fee (yuan)."""
    fee = price * commission if market else 0.0
    stats[b, _MREV] += price if market else 0.0
    stats[b, _FEES] += fee
    stats[b, _UNSEEN] += 0.0 if seen else 1.0
    return fee


@njit(cache=True, error_model="numpy", fastmath=True, inline="always")
def rest_rows(first, day, k_organic, k_group, k_referral, force, p, pull, trust_hit, p_leave, act_channel, cycle,
              dropout, referral, salience, fatigue, trust, deal, need_clock, status, reach, stage, last_purchase,
              events, eventful):  # pragma: no cover - jitted
    """The day of rows that only rest, over a slice of one block's rows whose groups rest alike today.

    Marks ``eventful`` the active rows that are contacted or whose need comes up, who drop out,
    leave the group, or are advocates who may refer a friend or lose the stage today: :func:`step_day` runs
    them through the full day. Every other row is finished here, with the same formulas, branch-free so
    the loop vectorizes; an advocate's two tests are widened by :data:`MARGIN`, so a row the full day would
    change is never finished here whatever the rounding. ``first`` is the row of slice element 0 (for the
    draws); ``pull`` today's event pull (cycles). Returns the
    census of the finished rows: (salience, fatigue, trust, deal sums, reachable, unreachable,
    dropped, active buyers, on Moments).
    """
    sal_decay, fat_decay, deal_decay, rival = p.salience_decay, p.fatigue_decay, p.deal_decay, p.rival_fatigue
    hazard, onset, drop_sal = p.need_hazard, p.need_onset - pull, p.dropout_salience  # pulled: need comes earlier
    impulse = p.need_impulse
    refer, demote_below = p.referral_mult * (1.0 + MARGIN), p.advocate_trust * ADVOCATE_KEEP * (1.0 + MARGIN)
    s_sal = s_fat = s_tr = s_dl = 0.0
    n_reach = n_unreach = n_drop = n_buyers = n_moments = 0.0
    for j in range(salience.shape[0]):
        i = first + j
        active = status[j] == ACTIVE
        sal0, fat0, dl0, tr0, nc0 = salience[j], fatigue[j], deal[j], trust[j], need_clock[j]
        r = reach[j]
        in_group = (r >> GROUP) & 1
        sal, fat, dl, tr, nc = rest(sal0, fat0, dl0, tr0, nc0, in_group * trust_hit, sal_decay, fat_decay,
                                    deal_decay, rival)
        obits = draw(k_organic, i)
        need_hit = u21(obits, 0) < need_hazard(nc, 1.0 / cycle[j], hazard, onset, impulse)
        drop_hit = u21(obits, 2) < dropout_probability(dropout[j], sal, drop_sal)
        leave_hit = (in_group == 1) & (u24(draw(k_group, i), 0) < p_leave)
        advocate = (stage[j] == A5) & ((u24(draw(k_referral, i), 0) < referral[j] * tr * refer) | (tr < demote_below))
        busy = active & (force | (act_channel[j] >= 0) | need_hit | drop_hit | leave_hit | advocate)
        done = active & (not busy)
        eventful[j] = busy
        events[j] = 0
        salience[j] = sal if done else sal0
        fatigue[j] = fat if done else fat0
        deal[j] = dl if done else dl0
        trust[j] = tr if done else tr0
        need_clock[j] = nc if done else nc0
        w = 1.0 if done else 0.0
        s_sal += w * sal
        s_fat += w * fat
        s_tr += w * tr
        s_dl += w * dl
        n_reach += w * (r != 0)
        n_unreach += w * (r == 0)
        n_moments += w * ((r >> MOMENTS) & 1)
        n_buyers += w * (day - last_purchase[j] <= ACTIVE_WINDOW_DAYS)
        n_drop += status[j] == DROPPED
    return s_sal, s_fat, s_tr, s_dl, n_reach, n_unreach, n_drop, n_buyers, n_moments


@twin(cache=True, error_model="numpy", fastmath=True)
def step_day(day, seed, p_rec, ch_rec, ct_rec, moments_fold, ev_pull, ev_attention, ev_discount,
             act_channel, act_content, act_slot, act_ask, act_invite,
             value, price_sens, receptive, cycle, slot_mask, dropout, referral,
             salience, fatigue, trust, deal, need_clock, status,
             reach, last_purchase, first_purchase, frequency, monetary, last_contact,
             last_flags, active_slot, month_count, tier, stage, account, origin, events, member_until, gender,
             fan_opens, g_size, g_open, g_conv, g_trust_hit, g_heat, per_guide, quality,
             stats, reward, full=False):  # pragma: no cover - jitted
    """Advance every customer one day under the given actions; per-block sums go into ``stats``.

    ``p_rec``, ``ch_rec`` and ``ct_rec`` are the scenario's :class:`~sim.params.CustomerParams`, channel
    and content tables as records (:attr:`sim.params.KernelParams.records`; read below as ``p``, ``ch``
    and ``ct``, field by name as the tuples), ``moments_fold`` today's open-rate factor of Moments posts
    (below 1 while the platform folds them). ``ev_pull``, ``ev_attention`` and ``ev_discount`` are today's calendar
    (:func:`sim.params.calendar_today`): cycles of need pulled forward, open-rate multiplier, and the
    event price cut on every purchase. ``act_ask`` (uint8) marks contacts that carry a referral ask:
    a buyer who opens one refers a friend with a chance of its own (``p.ask_conversion``). ``act_invite``
    (uint8, :data:`sim.defaults.INVITES`) marks contacts that carry an invitation to add the WeCom persona
    or join the welfare group: an opened one is accepted with :func:`invite_probability`, the gift paid
    as incentive cost; one not accepted adds fatigue. ``gender`` (a trait) scales conversion by the content's
    ``male_affinity`` for men; ``fan_opens`` counts a fan's opened messages while ``[fans]`` runs, each
    ``p.fan_per_tier`` of them a fan tier whose reward may buy the fan's contact details (SMS and WeCom reach).
    ``reward`` (length n, or length 0 to skip) receives each customer's net profit of the day:
    margin on purchases minus incentive, contact and marketplace costs. Rows with nothing but rest
    today are finished by :func:`rest_rows`; ``full=True`` sends every active row through the full
    day instead (the same results: a check of the fast path).
    """
    want_reward = reward.shape[0] > 0
    n = value.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    k_contact = stream_key(seed, day, P_CONTACT)
    k_organic = stream_key(seed, day, P_ORGANIC)
    k_referral = stream_key(seed, day, P_REFERRAL)
    k_group = stream_key(seed, day, P_GROUP)
    k_landing = stream_key(seed, day, P_LANDING)
    k_ask = stream_key(seed, day, P_ASK)
    k_invite = stream_key(seed, day, P_INVITE)
    k_fan = stream_key(seed, day, P_FAN)
    sal_decay, fat_decay, deal_decay = p_rec[0].salience_decay, p_rec[0].fatigue_decay, p_rec[0].deal_decay
    margin = p_rec[0].margin
    for b in prange(nblocks):
        p, ch, ct = p_rec[0], ch_rec[0], ct_rec[0]  # inside: a record may not cross into numba's parallel region
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        revenue = 0.0
        gross = 0.0
        buys_organic = 0.0
        lost = 0.0
        n_reach = 0.0
        n_unreach = 0.0
        n_drop = 0.0
        n_buyers = 0.0
        sum_sal = 0.0
        sum_fat = 0.0
        sum_tr = 0.0
        sum_dl = 0.0
        n_moments = 0.0
        # the contacts' counts, kept here and added to the block's record once (whole numbers: the same sums)
        n_con = n_opn = n_iwc = n_iwo = n_mcon = n_moff = n_fcon = 0.0
        # pass 1: rows that only rest, a run of groups alike today at a time (vectorized)
        eventful = np.empty(BLOCK, np.bool_)
        rows = np.empty(BLOCK, np.int32)
        a = lo
        g = lo // g_size
        while a < hi:
            e = min((g + 1) * g_size, hi)
            p_leave = group_leave_probability(p.group_leave, g_heat[g]) if (day + g) % 7 == 0 else -1.0
            hit = g_trust_hit[g]
            if p_leave < 0.0:  # the following groups with no leave day and the same trust hit rest alike
                while e < hi and (day + g + 1) % 7 != 0 and g_trust_hit[g + 1] == hit:
                    g += 1
                    e = min((g + 1) * g_size, hi)
            census = rest_rows(a, day, k_organic, k_group, k_referral, full, p, ev_pull, hit, p_leave,
                               act_channel[a:e], cycle[a:e], dropout[a:e], referral[a:e], salience[a:e], fatigue[a:e],
                               trust[a:e], deal[a:e], need_clock[a:e], status[a:e], reach[a:e], stage[a:e],
                               last_purchase[a:e], events[a:e], eventful[a - lo:e - lo])
            sum_sal += census[0]
            sum_fat += census[1]
            sum_tr += census[2]
            sum_dl += census[3]
            n_reach += census[4]
            n_unreach += census[5]
            n_drop += census[6]
            n_buyers += census[7]
            n_moments += census[8]
            a = e
            g += 1
        # pass 2: the full day of eventful rows, a few percent scattered over the block
        if want_reward:
            reward[lo:hi] = 0.0
        m = 0
        for j in range(hi - lo):  # branch-free compaction
            rows[m] = lo + j
            m += eventful[j]
        g_next = 0  # the first row of the group after row i's: rows come in order, so g changes only there
        for t in range(m):
            if t + AHEAD < m:  # fetch the cache lines of a later row while this one is worked on
                prefetch_row(rows[t + AHEAD], value, price_sens, receptive, slot_mask, referral, monetary,
                             frequency, first_purchase, last_contact, last_flags, active_slot, tier,
                             act_content, act_slot, month_count)
            i = rows[t]
            if i >= g_next:  # an integer division only where a new group starts, not on every row
                g = i // g_size
                g_next = (g + 1) * g_size
            leave_day = (day + g) % 7 == 0
            in_group = (reach[i] >> GROUP) & 1
            sal, fat, dl, tr, nc = rest(salience[i], fatigue[i], deal[i], trust[i], need_clock[i],
                                        in_group * g_trust_hit[g], sal_decay, fat_decay, deal_decay,
                                        p.rival_fatigue)
            inv_cyc = 1.0 / cycle[i]
            bought = False
            occasion = False  # the need came up or was met today: the chance to lapse (need_lapse)
            seen = True
            asked_ref = False
            r_i = 0.0
            m_cut, m_points, m_loyal = member_terms(day < member_until[i], tier[i], p)
            c = act_channel[i]
            if c >= 0:
                k = act_content[i]
                s = act_slot[i]
                bits = draw(k_contact, i)
                inwin = (slot_mask[i] >> s) & 1
                hard = ct.hardness[k]
                need = need_level(nc, inv_cyc, ev_pull)
                f_add = ch.intrusiveness[c] * hard * (1.0 + p.irrelevance_fatigue * max(0.0, 1.0 - need))
                if inwin == 0:
                    f_add *= p.off_window_fatigue
                if act_ask[i] != 0:
                    f_add += p.ask_fatigue
                    stats[b, _ASK] += 1.0
                fat += f_add
                sf = saturate(fat)
                boost = 1.0  # group heat, guide service quality, platform folding
                if c == GROUP:
                    boost = g_open[g]
                elif c == MOMENTS:
                    boost = moments_fold
                elif c == WECOM and account[i] != ACCOUNT_WECOM:
                    boost = p.personal_open  # personal WeChat is opened more often
                opened = u21(bits, 0) < open_probability(ch.open_rate[c] * boost * ev_attention, sal, sf, inwin, p)
                conv = 1.0
                if c == GROUP:
                    conv = g_conv[g]
                    stats[b, _GCON] += 1.0
                    events[i] |= EV_GROUP_CONTACT
                    if hard >= 0.5:
                        events[i] |= EV_GROUP_PROMO
                elif c == WECOM and per_guide > 0:
                    conv = quality[i // per_guide]
                t_lift = 1.0  # trust a 1:1 message builds: personal WeChat wins it more easily
                if c == WECOM:
                    if account[i] == ACCOUNT_WECOM:
                        conv *= p.wecom_service  # WeCom replies later: less conversion and trust (through conv)
                    else:
                        t_lift = p.personal_trust
                flags = FLAG_DELIVERED
                base = S_CHANNEL0 + 4 * c
                male = gender[i] == GENDER_MALE
                n_con += 1.0
                n_mcon += male
                n_moff += male & (ct.discount[k] > 0.0)
                n_fcon += tier[i] == 0
                cost = ch.cost[c] + ct.cost[k]
                stats[b, _CC] += cost
                r_i -= cost
                stats[b, base] += 1.0
                n_iwc += inwin
                month_count[i, c] += 1
                last_contact[i] = day
                if opened:
                    flags |= FLAG_OPENED
                    n_opn += 1.0
                    n_iwo += inwin
                    stats[b, base + 1] += 1.0
                    active_slot[i] = s
                    if c == GROUP:
                        events[i] |= EV_GROUP_OPEN
                        stats[b, _GOPN] += 1.0
                    sal += ch.salience_gain[c] * (1.0 - sal)
                    tr += ct.trust_gain[k] * t_lift * min(conv, 1.0) * (1.0 - tr) - p.spam_erosion * hard * sf * tr
                    tr = min(max(tr, 0.0), 1.0)
                    disc = ct.discount[k]
                    d_buy = max(disc, ev_discount, m_cut)  # the best of the offer, the event and the member price
                    if gender[i] == GENDER_MALE:
                        conv *= ct.male_affinity[k]  # what men respond to (neutral at 1)
                    p_buy = purchase_probability(ct.conversion[k] * conv, need, tr, d_buy, dl, price_sens[i],
                                                 ct.novelty[k], receptive[i], p)
                    if disc > 0.0:
                        dl += p.deal_learning * max(0.0, disc - dl)  # towards the offer, never past it
                        dl += p.deal_learning * 0.25 * disc * (1.0 - dl)  # and a step up: stays in [0, 1]
                    if act_ask[i] != 0 and stage[i] >= A4:  # an opened referral ask to a buyer
                        who = 1.0 if stage[i] == A5 else p.ask_buyer_factor
                        asked_ref = u24(draw(k_ask, i), 0) < p.ask_conversion * who * tr * p.referral_mult
                    if p.fan_per_tier > 0 and tier[i] == 0 and fan_opens[i] < 255:  # a fan climbs by interacting
                        fan_opens[i] += 1
                        if (fan_opens[i] % p.fan_per_tier == 0 and fan_opens[i] // p.fan_per_tier <= 3
                                and reach[i] & _DETAILS != _DETAILS
                                and u24(draw(k_fan, i), 0) < p.fan_details_rate):  # leaves details for the reward
                            if (reach[i] >> WECOM) & 1 == 0:
                                account[i] = ACCOUNT_WECOM
                            reach[i] |= _DETAILS
                            stats[b, _FAN] += 1.0
                            stats[b, _INC] += p.fan_reward
                            r_i -= p.fan_reward
                    if stage[i] < A2:
                        stage[i] = A2
                    if stage[i] < A3 and tr > 0.5:
                        stage[i] = A3
                    if u21(bits, 1) < p_buy:
                        bought = True
                        price = value[i] * (1.0 - d_buy)
                        market, seen = landing(draw(k_landing, i), p.wechat_share, p.visibility)
                        if seen:
                            flags |= FLAG_BOUGHT
                            monetary[i] += price
                        revenue += price
                        gross += value[i] * margin
                        stats[b, _INC] += value[i] * (d_buy + m_points)
                        if gender[i] == GENDER_MALE:
                            stats[b, _MDSC] += value[i] * d_buy
                        stats[b, _MDISC] += value[i] * (d_buy - max(disc, ev_discount) + m_points)
                        r_i += value[i] * (margin - d_buy - m_points) - book_landing(stats, b, price, market, seen,
                                                                                    p.commission)
                        stats[b, _BUYC] += 1.0
                        stats[b, base + 2] += 1.0
                        if disc > 0.0:
                            stats[b, _RED] += 1.0
                        if c == GROUP:
                            stats[b, _GBUY] += 1.0
                            events[i] |= EV_GROUP_BUY
                        nc = 0
                        occasion = True
                inv = act_invite[i]
                if inv != 0:  # an invitation to add the WeCom persona or join the welfare group
                    stats[b, _INV] += 1.0
                    stats[b, _CC] += p.invite_cost
                    r_i -= p.invite_cost
                    to_group = inv == INVITE_GROUP or inv == INVITE_GROUP_GIFT
                    gift = inv == INVITE_WECOM_GIFT or inv == INVITE_GROUP_GIFT
                    paid_offer = inv == INVITE_PAID
                    accept = p.paid_accept if paid_offer else (p.invite_group_accept if to_group
                                                               else p.invite_wecom_accept)
                    p_acc = invite_probability(accept, tr, float(day - last_purchase[i]), gift, p) if opened else 0.0
                    if u24(draw(k_invite, i), 0) < p_acc:
                        stats[b, _INVA] += 1.0
                        if paid_offer:  # paid membership sold: the fee is revenue and margin
                            member_until[i] = day + p.paid_days
                            revenue += p.paid_fee
                            gross += p.paid_fee
                            r_i += p.paid_fee
                            stats[b, _MSOLD] += 1.0
                            stats[b, _MFEE] += p.paid_fee
                        elif to_group:
                            reach[i] = np.uint8(reach[i] | (1 << GROUP))
                        else:  # a WeCom friend also sees the persona's Moments; a personal chat moves to WeCom
                            reach[i] = np.uint8(reach[i] | (1 << WECOM) | (1 << MOMENTS))
                            account[i] = ACCOUNT_WECOM
                        if gift:
                            stats[b, _INC] += p.invite_gift_yuan
                            r_i -= p.invite_gift_yuan
                    else:
                        fat += p.invite_fatigue
                # mute, delete or leave: driven by saturated fatigue
                u_neg = u21(bits, 2)
                p_unsub = unsubscribe_probability(ch.unsubscribe_rate[c], sf)
                if u_neg < p_unsub:
                    flags |= FLAG_UNSUBSCRIBED
                    drop_bits = 1 << c
                    if c == WECOM:  # deleting the WeCom friend also hides its Moments
                        drop_bits |= 1 << MOMENTS
                    reach[i] = np.uint8(reach[i] & (0xFF ^ drop_bits))
                    stats[b, _UNS] += 1.0
                    stats[b, base + 3] += 1.0
                    if c == GROUP:
                        events[i] |= EV_GROUP_LEFT
                        stats[b, _GLEFT] += 1.0
                elif u_neg < p_unsub + complaint_probability(ch.complaint_rate[c], sf, hard):
                    flags |= FLAG_COMPLAINED
                    tr = max(tr - p.complaint_trust_loss, 0.0)
                    stats[b, _CMP] += 1.0
                    if c == GROUP:  # a public complaint: every member sees it
                        events[i] |= EV_GROUP_COMPLAINT
                        stats[b, _GCMP] += 1.0
                last_flags[i] = flags
            obits = draw(k_organic, i)
            if not bought:
                if u21(obits, 0) < need_hazard(nc, inv_cyc, p.need_hazard, p.need_onset - ev_pull, p.need_impulse):
                    nc = 0
                    occasion = True
                    offered = max(ev_discount, m_cut)  # the event or the member price, whichever is lower
                    share = occasion_share(sal, tr, dl, price_sens[i], offered, dropout[i], m_loyal, p) \
                        * tenure_share(day, first_purchase[i], p)
                    if u21(obits, 1) < share:
                        bought = True
                        market, seen = landing(draw(k_landing, i), p.wechat_share, p.visibility)
                        price = value[i] * (1.0 - offered)
                        event_cut = value[i] * (offered + m_points)
                        revenue += price
                        gross += value[i] * margin
                        stats[b, _INC] += event_cut
                        stats[b, _MDISC] += value[i] * (offered - ev_discount + m_points)
                        r_i += value[i] * margin - event_cut - book_landing(stats, b, price, market, seen,
                                                                            p.commission)
                        buys_organic += 1.0
                        if seen:
                            monetary[i] += price
                            active_slot[i] = pick_slot(slot_mask[i], u24(draw(k_referral, i), 1))
                    else:
                        lost += 1.0
                        sal *= p.lost_salience
            if bought:
                sal += p.purchase_salience * (1.0 - sal)
                f = frequency[i] + 1
                if seen:  # the CRM record; a marketplace order it cannot match leaves no trace there
                    frequency[i] = min(f, 30000)
                    if first_purchase[i] == NEVER:
                        first_purchase[i] = day
                    last_purchase[i] = day
                    tier[i] = tier_of(monetary[i], p.tier1, p.tier2, p.tier3)
                if f >= 2 and tr >= p.advocate_trust:
                    stage[i] = A5
                elif stage[i] < A4:
                    stage[i] = A4
            elif stage[i] == A5 and tr < p.advocate_trust * ADVOCATE_KEEP:
                stage[i] = A4
            if asked_ref or (stage[i] == A5 and u24(draw(k_referral, i), 0) < referral[i] * tr * p.referral_mult):
                stats[b, _REF] += 1.0
                events[i] |= EV_REFERRED
            if leave_day and in_group and (reach[i] >> GROUP) & 1:
                if u24(draw(k_group, i), 0) < group_leave_probability(p.group_leave, g_heat[g]):
                    reach[i] = np.uint8(reach[i] & (0xFF ^ (1 << GROUP)))
                    events[i] |= EV_GROUP_LEFT
                    stats[b, _GLEFT] += 1.0
            if u21(obits, 2) < lapse_probability(dropout_probability(dropout[i], sal, p.dropout_salience), occasion,
                                                 personal_lapse(p.need_lapse, p.need_lapse_spread, dropout[i],
                                                                p.dropout_per_day)):
                status[i] = DROPPED
                reach[i] = 0
                stats[b, _DRP] += 1.0
                n_drop += 1.0
            elif reach[i] == 0:
                n_unreach += 1.0
            else:
                n_reach += 1.0
            n_moments += (reach[i] >> MOMENTS) & 1
            n_buyers += day - last_purchase[i] <= ACTIVE_WINDOW_DAYS
            sum_sal += sal
            sum_fat += fat
            sum_tr += tr
            sum_dl += dl
            if want_reward:
                reward[i] = r_i
            salience[i] = sal
            fatigue[i] = fat
            trust[i] = tr
            deal[i] = dl
            need_clock[i] = nc
        stats[b, _CON] += n_con
        stats[b, _OPN] += n_opn
        stats[b, _IWC] += n_iwc
        stats[b, _OWC] += n_con - n_iwc
        stats[b, _IWO] += n_iwo
        stats[b, _OWO] += n_opn - n_iwo
        stats[b, _MCON] += n_mcon
        stats[b, _MOFF] += n_moff
        stats[b, _FCON] += n_fcon
        stats[b, _REV] += revenue
        stats[b, _GM] += gross
        stats[b, _BUYO] += buys_organic
        stats[b, _BUY] += buys_organic + stats[b, _BUYC]
        stats[b, _LOST] += lost
        stats[b, _PREACH] = n_reach
        stats[b, _PUNREACH] = n_unreach
        stats[b, _PDROP] = n_drop
        stats[b, _PBUYERS] = n_buyers
        stats[b, _SSAL] = sum_sal
        stats[b, _SFAT] = sum_fat
        stats[b, _STR] = sum_tr
        stats[b, _SDL] = sum_dl
        stats[b, _MAUD] = n_moments


AHEAD = 4
"""Eventful rows fetched ahead of the one being worked on."""


@njit(cache=True, error_model="numpy", fastmath=True)
def organic_chance(p_rec, ev_pull, ev_discount, day, price_sens, cycle, dropout, salience, fatigue, trust, deal,
                   need_clock, status, reach, tier, member_until, first_purchase, g_size, g_trust_hit,
                   out):  # pragma: no cover
    """Add to ``out`` each active customer's chance of an organic purchase the CRM sees today, before the day's draws.

    The day's rest, the need's hazard, the brand's share and the landing, with :func:`step_day`'s formulas. On a day
    without contacts that is the customer's expected purchases of the day given the state, so its sum over days is
    their purchases with the noise of the draws taken out (Rao-Blackwell), and the same in expectation.
    """
    p = p_rec[0]
    seen = seen_probability(p.wechat_share, p.visibility)
    onset = p.need_onset - ev_pull
    for i in range(out.shape[0]):
        if status[i] != ACTIVE:
            continue
        in_group = (reach[i] >> GROUP) & 1
        sal, fat, dl, tr, nc = rest(salience[i], fatigue[i], deal[i], trust[i], need_clock[i],
                                    in_group * g_trust_hit[i // g_size], p.salience_decay, p.fatigue_decay,
                                    p.deal_decay, p.rival_fatigue)
        m_cut, _, m_loyal = member_terms(day < member_until[i], tier[i], p)
        share = occasion_share(sal, tr, dl, price_sens[i], max(ev_discount, m_cut), dropout[i], m_loyal, p) \
            * tenure_share(day, first_purchase[i], p)
        out[i] += need_hazard(nc, 1.0 / cycle[i], p.need_hazard, onset, p.need_impulse) * share * seen


@njit(cache=True, inline="always")
def prefetch_row(i, value, price_sens, receptive, slot_mask, referral, monetary, frequency, first_purchase,
                 last_contact, last_flags, active_slot, tier, act_content, act_slot, month_count):
    """Ask for the cache lines of row ``i`` that the rest pass did not touch."""
    prefetch(value, i)
    prefetch(price_sens, i)
    prefetch(receptive, i)
    prefetch(slot_mask, i)
    prefetch(referral, i)
    prefetch(monetary, i)
    prefetch(frequency, i)
    prefetch(first_purchase, i)
    prefetch(last_contact, i)
    prefetch(last_flags, i)
    prefetch(active_slot, i)
    prefetch(tier, i)
    prefetch(act_content, i)
    prefetch(act_slot, i)
    prefetch(month_count[i], 0)


# --- shaping potential -----------------------------------------------------------------------


@njit(cache=True, inline="always")
def customer_potential(p, value, price_sens, cycle, dropout, salience, trust, deal, status, reach):
    """Closed-form proxy of one customer's future margin (yuan): the RL shaping potential.

    The margin of the brand purchases they would make over the residual horizon if left alone at
    today's brand share (orders x brand share x survival x margin, less the marketplace fee on the
    share that lands there); zero once they left or no channel reaches them. Not a value: the
    headline residual is simulated (:meth:`sim.engine.Simulation.residual_blocks`). Takes the customer's
    values, not the pool's arrays and an index (see :func:`action_fault`).
    """
    if status != ACTIVE or reach == 0:
        return 0.0
    horizon = p.residual_days
    floor = personal_floor(p.share_floor, p.share_floor_spread, dropout, p.dropout_median_per_day)
    share = brand_share(salience, trust, deal, price_sens, 0.0, floor, p)
    # less the marketplace's fee; never below zero: a brand would stop selling at a loss
    margin = max(p.margin - (1.0 - p.wechat_share) * p.commission, 0.0)
    lapse = personal_lapse(p.need_lapse, p.need_lapse_spread, dropout, p.dropout_per_day)
    return value * margin * (horizon / cycle) * share * np.exp(-(dropout + lapse / cycle) * horizon)


@twin(cache=True)
def potential_rows(p_rec, value, price_sens, cycle, dropout, salience, trust, deal, status, reach,
                   out):  # pragma: no cover - jitted
    """Shaping potential of every customer, in yuan (:func:`customer_potential`); ``p_rec`` as in :func:`step_day`."""
    for i in prange(value.shape[0]):
        p = p_rec[0]  # inside: a record may not cross into numba's parallel region
        out[i] = customer_potential(p, value[i], price_sens[i], cycle[i], dropout[i], salience[i], trust[i], deal[i],
                                    status[i], reach[i])


# --- action validation -----------------------------------------------------------------------
E_OK, E_CHANNEL, E_CONTENT, E_SLOT, E_UNREACHABLE, E_CAP, E_DROPPED = range(7)


@twin(light=True, cache=True)
def check_actions(act_channel, act_content, act_slot, reach, month_count, status, caps,
                  n_contents, n_slots):  # pragma: no cover - jitted
    """First invalid action as (error code, customer index); (E_OK, -1) when all are valid.

    Blocks of customers are checked in parallel: first whether the block holds any fault, in one
    branch-free pass (:func:`block_valid`), and only a faulty block again up to its first fault; the
    first faulty block reports.
    """
    n = act_channel.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    codes = np.empty(nb, np.int64)  # set in the loop: np.zeros would be a parallel loop of its own
    where = np.full(nb, -1, np.int64)
    for b in prange(nb):
        codes[b] = E_OK
        lo, hi = b * BLOCK, min((b + 1) * BLOCK, n)
        if block_valid(act_channel[lo:hi], act_content[lo:hi], act_slot[lo:hi], status[lo:hi], reach[lo:hi],
                       month_count[lo:hi], caps, n_contents, n_slots):
            continue
        for i in range(lo, hi):
            code = action_fault(act_channel[i], act_content[i], act_slot[i], status[i], reach[i], month_count[i],
                                caps, n_contents, n_slots)
            if code != E_OK:
                codes[b], where[b] = code, i
                break
    for b in range(nb):
        if codes[b] != E_OK:
            return codes[b], where[b]
    return E_OK, -1


@njit(cache=True)
def block_valid(channel, content, slot, status, reach, month_count, caps, n_contents, n_slots):  # pragma: no cover
    """Whether every action of a block of customers is valid (:func:`action_fault` is E_OK for each).

    Most rows are no contact: one pass without a branch per row finds any negative code other than
    NO_CONTACT (the loop vectorizes), then the contacted rows alone are checked, each check without
    a branch of its own. Half the time of a branch per check on every row (docs/performance.md).
    """
    n_channels = caps.shape[0]
    stray = 0
    for i in range(channel.shape[0]):
        stray += channel[i] < -1
    if stray:
        return False
    for i in range(channel.shape[0]):
        c = np.int64(channel[i])
        if c == -1:
            continue
        inside = (c >= 0) & (c < n_channels)
        cc = c if inside else 0  # a channel outside the table reads channel 0's count and fails all the same
        if not (inside & (np.uint64(content[i]) < np.uint64(n_contents)) & (np.uint64(slot[i]) < np.uint64(n_slots))
                & (status[i] == ACTIVE) & (((reach[i] >> cc) & 1) == 1) & (month_count[i, cc] < caps[cc])):
            return False
    return True


@njit(cache=True, inline="always")
def action_fault(channel, content, slot, status, reach, month_count, caps, n_contents, n_slots):
    """Error code of one customer's action (E_OK when valid); ``month_count`` is that customer's row.

    Scalars and one row, not the pool's arrays and an index: with the arrays and an index, the serial
    twin of :func:`check_actions` ran 20x slower than the parallel kernel on one thread (320 against
    14 us at 10,000 customers); with scalars both take the same time (docs/performance.md).
    """
    c = channel
    if c < 0:
        return E_OK if c == -1 else E_CHANNEL
    if c >= caps.shape[0]:
        return E_CHANNEL
    if content < 0 or content >= n_contents:
        return E_CONTENT
    if slot < 0 or slot >= n_slots:
        return E_SLOT
    if status != ACTIVE:
        return E_DROPPED
    if (reach >> c) & 1 == 0:
        return E_UNREACHABLE
    if month_count[c] >= caps[c]:
        return E_CAP
    return E_OK
