"""CRM segments have one definition: the report, Pool-v1 and the rule baselines see the same customers."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

import experiments.recording as recording
import policies.base as base
import policies.baselines as baselines
import sim.envs.pool as pool
import sim.segments as seg
from policies import make_policy
from sim import Simulation
from sim.defaults import COUPON
from sim.observation import Observation

from test_policies import _crm

CALLERS = (recording, pool, base, baselines)


@pytest.fixture(scope="module")
def pool_obs(beauty) -> Observation:
    """A pool after two months without contact: every segment is populated."""
    sim = Simulation(beauty, 4000, 11)
    sim.run(make_policy("no_contact"), 60)
    return sim.observe()


def _names(obs: Observation) -> list[str]:
    return [seg.SEGMENTS[c] for c in seg.segment_codes(obs)]


def test_segments_partition_the_pool_by_the_documented_rules(pool_obs):
    obs = pool_obs
    codes = seg.segment_codes(obs)
    counts = np.bincount(codes, minlength=len(seg.SEGMENTS))
    assert counts.sum() == obs.n and len(counts) == len(seg.SEGMENTS)
    assert (counts > 0).all(), dict(zip(seg.SEGMENTS, counts))
    rel, buyer = seg.repurchase_ratio(obs), obs.frequency > 0
    lapsed = buyer & (rel >= seg.LAPSED_FROM)
    vip = buyer & ~lapsed & (obs.tier >= seg.VIP_TIER)
    due = buyer & ~lapsed & ~vip & (rel >= seg.DUE_FROM)
    rest = buyer & ~lapsed & ~vip & ~due
    expected = {"fan": ~buyer, "lapsed": lapsed, "vip": vip, "due": due,
                "new": rest & (obs.frequency == 1), "repeat": rest & (obs.frequency >= 2)}
    for name, mask in expected.items():
        assert np.array_equal(codes == seg.SEGMENTS.index(name), mask), name


def test_boundaries_are_inclusive_and_segments_follow_their_order():
    day, typical = 400, seg.FALLBACK_INTERVAL_DAYS  # fewer than 10 repeat buyers: the fallback applies
    rows = [
        dict(),  # never bought
        dict(freq=1, first=390, last=390, tier=1),  # one order, ratio 10/45
        dict(freq=3, first=380, last=390, tier=2),  # interval 5, recency 10: ratio 2 -> due
        dict(freq=3, first=385, last=395, tier=1),  # interval 5, recency 5: ratio 1 -> due
        dict(freq=3, first=388, last=398, tier=1),  # interval 5, recency 2: ratio 0.4
        dict(freq=1, first=day - int(typical), last=day - int(typical), tier=1),  # ratio 1 on the fallback
        dict(freq=3, first=380, last=390, tier=3),  # VIP wins over due
        dict(freq=3, first=350, last=370, tier=3),  # interval 10, recency 30: lapsed wins over VIP
        dict(freq=2, first=390, last=390, tier=1),  # same-day repeat: interval 0 -> the typical one
    ]
    obs = _crm(day, rows)
    assert _names(obs) == ["fan", "new", "due", "due", "repeat", "due", "vip", "lapsed", "repeat"]
    iv = 20  # own interval of the buyers below; the boundary recencies are whole days
    due_at, lapsed_at = round(seg.DUE_FROM * iv), round(seg.LAPSED_FROM * iv)
    edge = _crm(day, [dict(freq=3, first=day - r - 2 * iv, last=day - r, tier=1)
                      for r in (due_at - 1, due_at, lapsed_at - 1, lapsed_at)])
    assert seg.repurchase_ratio(edge)[[1, 3]].tolist() == [seg.DUE_FROM, seg.LAPSED_FROM]
    assert _names(edge) == ["repeat", "due", "due", "lapsed"]


def test_the_fallback_interval_is_used_below_two_orders_and_only_without_a_norm():
    day = 300
    one = dict(freq=1, first=day - 30, last=day - 30, tier=1)
    alone = _crm(day, [one])
    assert seg.typical_interval(alone) == seg.FALLBACK_INTERVAL_DAYS
    assert seg.expected_interval(alone)[0] == np.float32(seg.FALLBACK_INTERVAL_DAYS)
    assert seg.repurchase_ratio(alone)[0] == pytest.approx(30 / seg.FALLBACK_INTERVAL_DAYS)
    repeaters = [dict(freq=2, first=day - 40, last=day - 20, tier=1)] * 12  # a known norm: 20 days
    known = _crm(day, [one] + repeaters)
    assert seg.typical_interval(known) == 20.0
    assert seg.expected_interval(known).tolist() == [20.0] * 13  # own interval, or the norm for one order
    assert _names(known)[0] == "due"  # 30 days on a 20-day norm (it was "new" on the fallback)
    assert _names(alone)[0] == "new"
    assert base.typical_interval is seg.typical_interval  # the policies' helper is the same function


def test_ratio_grows_with_recency_and_segments_move_forward_only():
    day, order = 2000, ["repeat", "due", "lapsed"]
    for interval in (3, 10, 45, 240):
        rows = [dict(freq=3, first=day - r - 2 * interval, last=day - r, tier=1) for r in range(0, 4 * interval)]
        obs = _crm(day, rows)
        rel, names = seg.repurchase_ratio(obs), _names(obs)
        assert (np.diff(rel) > 0).all()
        ranks = [order.index(n) for n in names]
        assert ranks == sorted(ranks) and set(names) == set(order), interval
    assert 0 < seg.DUE_FROM <= 1 < seg.LAPSED_FROM


def test_jitted_ratio_equals_the_vectorised_one(pool_obs):
    from numba import njit

    @njit
    def ratios(recency, interval, typical):
        out = np.empty(recency.shape[0])
        for i in range(recency.shape[0]):
            out[i] = seg.ratio_of(recency[i], interval[i], typical)
        return out

    typical = np.float32(seg.typical_interval(pool_obs))
    assert np.array_equal(ratios(pool_obs.recency, pool_obs.interval, typical), seg.repurchase_ratio(pool_obs))


def test_report_and_pool_v0_count_the_same_customers(pool_obs, beauty):
    obs = pool_obs
    recorder = recording.ContactRecorder(make_policy("no_contact"))
    recorder.reset(obs.n, 0)
    recorder.act(obs)
    _, reachable = recorder.counts()
    report = dict(zip(recording.SEGMENTS, reachable[0]))
    env = np.bincount(pool.segments(obs)[obs.reachable], minlength=len(pool.SEGMENTS))
    env = dict(zip(pool.SEGMENTS, env))
    for name in ("fan", "due", "lapsed", "vip"):
        assert report[name] == env[name] > 0, name
    assert report["new"] + report["repeat"] == env["active"]


def test_pool_v0_observes_the_shared_segment_shares(beauty):
    from sim.envs.pool import KPIS, PoolEnv

    env = PoolEnv(beauty, customers=500, weeks=2, inflow=False)
    kpis, _ = env.reset(seed=3)
    kpis, *_ = env.step(np.zeros(env.action_space.shape, np.int64))
    obs = env.sim.observe()
    codes = seg.segment_codes(obs)
    for name in ("fan", "due", "lapsed", "vip"):
        share = np.float32((codes == seg.SEGMENTS.index(name)).mean())
        assert kpis[KPIS.index(f"share_{name}")] == pytest.approx(share, abs=1e-6), name


def test_rfm_tiered_acts_on_the_shared_segments(pool_obs):
    policy = make_policy("rfm_tiered", {"lapsed_offer_every_days": 1, "offer_gap_days": 1,
                                        "active_content_every_days": 0, "fan_content_every_days": 0,
                                        "lapsed_content_every_days": 0, "vip_service_every_days": 0})
    action = policy.act(pool_obs)
    codes = seg.segment_codes(pool_obs)
    sent = action.channel >= 0
    flash = sent & (action.content == COUPON + 1)
    coupon = sent & (action.content == COUPON)
    lapsed = codes == seg.LAPSED
    due_now = (seg.repurchase_ratio(pool_obs) >= seg.DUE_FROM) & ~lapsed & (pool_obs.frequency > 0)
    assert flash.any() and coupon.any()
    assert np.array_equal(flash, lapsed & sent)  # win-back goes to the report's lapsed, nobody else
    assert np.array_equal(coupon, due_now & sent)  # offers go to the due (VIP or not), nobody else
    assert not (sent & (codes != seg.LAPSED) & ~due_now).any()


def test_no_caller_redefines_a_threshold_or_a_segment_rule():
    shared = {n for n, v in vars(seg).items() if not n.startswith("_") and getattr(v, "__module__", "") == seg.__name__}
    shared |= {"DUE_FROM", "LAPSED_FROM", "LAPSED_AFTER", "VIP_TIER", "FALLBACK_INTERVAL_DAYS", "repurchase_ratio"}
    for module in CALLERS:
        tree = ast.parse(inspect.getsource(module))
        targets = [t for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                   for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
        defined = {t.id for t in targets if isinstance(t, ast.Name)}
        defined |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert not defined & shared, (module.__name__, defined & shared)
        assert "sim.segments" in inspect.getsource(module) or "from sim import segments" in inspect.getsource(module)
    assert recording.SEGMENTS is seg.SEGMENTS and recording.segment_codes is seg.segment_codes
    assert baselines.ratio_of is seg.ratio_of and baselines.typical_interval is seg.typical_interval
    assert pool.crm is seg
    rfm, capped = baselines.RfmParams.model_fields, baselines.FatigueCappedParams.model_fields
    assert rfm["due_from"].default is seg.DUE_FROM and rfm["lapsed_after"].default is seg.LAPSED_FROM
    assert rfm["vip_min_tier"].default == seg.VIP_TIER and capped["offer_window"].default[0] is seg.DUE_FROM


def test_the_policy_protocol_is_defined_once():
    import sim.engine as engine
    import sim.protocol as protocol

    assert base.Policy is protocol.Policy and engine.PolicyLike is protocol.Policy
    assert all(isinstance(make_policy(kind), protocol.Policy) for kind in baselines.BASELINES)
    assert not isinstance(object(), protocol.Policy)
