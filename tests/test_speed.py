"""The fast per-day paths compute what the plain numpy definitions compute, value for value.

The rule policies, the recorder and the typical interval derive the CRM features in their own compiled
pass; validation checks blocks of customers in parallel; the day's joiners are filled in place. Each
is checked here against the straightforward numpy formulation on a small pool.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
import pytest

import sim.segments as seg
from experiments.recording import ContactRecorder
from policies import make_policy
from sim import Simulation
from sim.acquisition import JoinRates, daily_joiners, order_add_probability, store_add_probability
from sim.defaults import (ACTIVE, BLOCK, CONTENTS, DROPPED, N_SLOTS, NEVER, NO_CONTACT, ORIGIN_AD, ORIGIN_ORDER,
                          ORIGIN_REFERRAL, ORIGIN_STORE)
from sim.observation import Action, InvalidActionError, Observation, _typical_interval, crm_row
from sim.rng import P_ACQUISITION


@pytest.fixture(scope="module")
def played(beauty) -> Simulation:
    """A pool of three blocks and more after 40 days, the last 10 of daily blasts: buyers and used-up caps."""
    sim = Simulation(beauty, 3 * BLOCK + 300, 4)
    sim.run(make_policy("fatigue_capped"), 30)
    sim.run(make_policy("blast"), 10)
    return sim


def _numpy_segments(obs: Observation) -> np.ndarray:
    """The segment rules as numpy masks, applied from the last rule to the first."""
    rel = seg.repurchase_ratio(obs)
    codes = np.where(obs.frequency >= 2, seg.REPEAT, seg.NEW)
    codes[rel >= seg.DUE_FROM] = seg.DUE
    codes[obs.tier >= seg.VIP_TIER] = seg.VIP
    codes[rel >= seg.LAPSED_FROM] = seg.LAPSED
    codes[obs.frequency == 0] = seg.FAN
    return codes


def test_crm_row_is_the_observation_s_features(played):
    obs = played.observe()
    record = obs.crm_record()
    rows = np.array([crm_row(i, record) for i in range(obs.n)], dtype=np.float64)
    assert np.array_equal(rows[:, 0], obs.recency) and np.array_equal(rows[:, 1], obs.days_since_contact)
    assert np.array_equal(rows[:, 2], obs.interval) and np.array_equal(rows[:, 3], obs.usable)
    assert (obs.usable != obs.reach).any()  # some caps are used up: the mask is not just reach


def test_segments_and_the_recorder_match_numpy(played):
    obs = played.observe()
    codes = _numpy_segments(obs)
    assert np.array_equal(seg.segment_codes(obs), codes) and len(set(codes.tolist())) >= 4
    recorder = ContactRecorder(make_policy("rfm_tiered"))
    recorder.reset(obs.n, 4)
    action = recorder.act(obs)
    contacts, reachable = recorder.counts()
    hit = action.channel >= 0
    nc = len(CONTENTS)
    cells = np.bincount(codes[hit] * nc + action.content[hit].astype(np.int64), minlength=len(seg.SEGMENTS) * nc)
    assert hit.sum() > 100 and np.array_equal(contacts[0], cells.reshape(-1, nc))
    assert np.array_equal(reachable[0], np.bincount(codes[obs.reachable], minlength=len(seg.SEGMENTS)))


def test_the_purchase_interval_is_the_float64_quotient_rounded_to_float32():
    """``purchase_interval`` divides in float32: the same value as numpy's float64 quotient cast to float32.

    Every span of 0-3,000 days over 1-3,000 purchases, then spans and counts at their limits (spans to 2^24 - 1
    days, a run's MAX_DAYS and more; counts to the record's cap of 30,000).
    """
    from sim.observation import purchase_interval

    @numba.njit
    def both(spans, counts):
        out = np.empty(spans.shape[0], np.float32)
        for j in range(spans.shape[0]):
            out[j] = purchase_interval(spans[j], 0, counts[j])
        return out

    grid_span, grid_count = np.meshgrid(np.arange(3001), np.arange(2, 3002))
    rng = np.random.default_rng(7)
    spans = np.concatenate([grid_span.ravel(), rng.integers(0, 2**24, 2_000_000), np.full(30_000, 2**24 - 1)])
    counts = np.concatenate([grid_count.ravel(), rng.integers(2, 30_001, 2_000_000), np.arange(2, 30_002)])
    expected = (spans / (counts - 1)).astype(np.float32)
    assert np.array_equal(both(spans.astype(np.int32), counts.astype(np.int16)), expected)
    assert both(np.array([5], np.int32), np.array([1], np.int16))[0] == 0.0


@pytest.mark.parametrize("buyers", [0, 9, 10, 11, 12, 1001, 1002])
@pytest.mark.parametrize("step", [1, 3])
def test_typical_interval_is_numpy_s_float32_median(buyers, step):
    rng = np.random.default_rng(buyers * 10 + step)
    n = 3000 + step * 1100
    freq = np.zeros(n, np.int16)
    freq[rng.choice(np.arange(0, n, step), buyers, replace=False)] = rng.integers(2, 9, buyers)
    first = rng.integers(-400, 0, n).astype(np.int32)
    last = (first + rng.integers(0, 300, n)).astype(np.int32)
    last[freq == 0] = NEVER
    iv = np.where(freq >= 2, (last - first) / np.maximum(freq - 1, 1), 0.0).astype(np.float32)[::step]
    iv = iv[freq[::step] >= 2]
    expected = 0.0 if iv.size < 10 else float(np.median(iv))
    assert float(_typical_interval(last, first, freq, step)) == expected


@pytest.mark.parametrize("case", range(12))
def test_the_radix_median_is_numpy_s_on_hard_cases(case):
    """Ties, negatives, zeros, one value, and an even count whose middle opens its top-bits bucket."""
    from sim.observation import _median, _order_keys
    rng = np.random.default_rng(case)
    hard = [np.array([1.0] * 5 + [100.0] * 5), np.array([3.5]), np.array([-2.0, 0.0, -0.0, 7.0]),
            np.array([-1e30, 1e30, 0.5, -0.5, 2.0, 2.0])]
    if case < len(hard):
        values = hard[case].astype(np.float32)
    else:
        size = int(rng.integers(1, 5000))
        values = np.round(rng.normal(0, 10 ** rng.integers(0, 6), size), int(rng.integers(0, 3))).astype(np.float32)
    assert float(_median(_order_keys(values))) == float(np.median(values))


def test_validation_names_the_first_fault_across_blocks(played):
    n = played.n
    channel = np.full(n, NO_CONTACT, np.int8)
    channel[[2 * BLOCK + 7, BLOCK + 5, 3 * BLOCK + 1]] = 9  # no such channel, in three blocks
    action = Action(channel, np.zeros(n, np.int8), np.zeros(n, np.int8))
    with pytest.raises(InvalidActionError, match=f"customer {BLOCK + 5}: channel code out of range"):
        played.validate(action)
    channel[BLOCK + 5] = NO_CONTACT
    with pytest.raises(InvalidActionError, match=f"customer {2 * BLOCK + 7}: channel code out of range"):
        played.validate(action)


def _first_fault(ch, ct, sl, reach, month_count, status, caps) -> tuple[int, int]:
    """The first invalid action, row by row in Python: the definition validation must match."""
    from sim import kernels as k
    for i in range(ch.shape[0]):
        c = int(ch[i])
        if c < 0:
            if c != -1:
                return k.E_CHANNEL, i
            continue
        code = (k.E_CHANNEL if c >= caps.shape[0] else k.E_CONTENT if not 0 <= ct[i] < len(CONTENTS)
                else k.E_SLOT if not 0 <= sl[i] < N_SLOTS else k.E_DROPPED if status[i] != ACTIVE
                else k.E_UNREACHABLE if not (int(reach[i]) >> c) & 1 else k.E_CAP if month_count[i, c] >= caps[c]
                else k.E_OK)
        if code != k.E_OK:
            return code, i
    return k.E_OK, -1


@pytest.mark.parametrize("fault", ["channel", "content", "slot", "dropped", "unreachable", "cap", "none"])
def test_validation_finds_the_first_fault_of_every_kind_in_both_twins(played, fault):
    """The branch-free block check and the row-by-row search name the fault a row-by-row definition names."""
    from sim import kernels
    st, n = played.state, played.n
    rng = np.random.default_rng(len(fault))
    usable = played.observe().usable
    ch = np.full(n, NO_CONTACT, np.int8)
    ok_rows = np.flatnonzero(usable != 0)
    rows = rng.choice(ok_rows, min(400, ok_rows.size), replace=False)
    ch[rows] = [int(np.flatnonzero([(u >> c) & 1 for c in range(5)])[0]) for u in usable[rows]]
    ct, sl = rng.integers(0, len(CONTENTS), n).astype(np.int8), rng.integers(0, N_SLOTS, n).astype(np.int8)
    status, reach, month_count = st.status.copy(), st.reach.copy(), st.month_count.copy()
    at = [int(rng.integers(BLOCK + 1, n)), int(rng.integers(2 * BLOCK, n))]  # past the first block
    for i in at:
        ch[i], ct[i], sl[i], status[i], reach[i], month_count[i] = 1, 0, 0, ACTIVE, 0b11111, 0  # valid, until:
        if fault == "channel":
            ch[i] = rng.choice([-2, -128, 5, 9, 127])
        elif fault == "content":
            ct[i] = rng.choice([-1, len(CONTENTS), 100])
        elif fault == "slot":
            sl[i] = rng.choice([-1, N_SLOTS, 100])
        elif fault == "dropped":
            status[i] = DROPPED
        elif fault == "unreachable":
            reach[i] = 0b11101
        elif fault == "cap":
            month_count[i, 1] = played.params.caps[1]
    args = (ch, ct, sl, reach, month_count, status, played.params.caps)
    expected = _first_fault(*args)
    assert (expected[0] != kernels.E_OK) == (fault != "none")
    for kernel in (kernels.check_actions.parallel, kernels.check_actions.serial):
        code, i = kernel(*args, len(CONTENTS), N_SLOTS)
        assert (int(code), int(i)) == expected


def test_the_day_s_joiners_come_in_order_and_match_their_counts(beauty):
    inviters = np.array([0.2, 0.5, 0.9])
    for day in range(10):
        j = daily_joiners(JoinRates.of(beauty), 3, day, inviters)
        kinds = [ORIGIN_REFERRAL] * 3 + [ORIGIN_ORDER] * int(j.stats["acquired_orders"]) \
            + [ORIGIN_STORE] * int(j.stats["acquired_store"]) + [ORIGIN_AD] * int(j.stats["acquired_ads"])
        assert j.kind.tolist() == kinds and j.kind.dtype == np.int64
        orders = j.kind == ORIGIN_ORDER
        assert np.array_equal(j.trust[:3], beauty.referral.inherit_trust * inviters) and not j.trust[3:].any()
        assert (j.age[orders] == np.floor(j.age[orders])).all() and not j.age[~orders][3:].any()
        assert j.stats["orders_recent_added"] <= min(j.stats["orders_recent_offered"], j.stats["acquired_orders"])


def _joiners_by_numpy(scenario, seed: int, day: int, inviter_trust: np.ndarray) -> tuple:
    """The day's joiners drawn by numpy's calls one by one, from a new generator: what :func:`daily_joiners` must equal.

    The orders' ages by ``uniform``, their adds by ``random`` against :func:`order_add_probability` of the
    ages drawn; returns (kind, age, trust, cost, counts) as ``daily_joiners`` lays them out.
    """
    a, r = scenario.acquisition, scenario.referral
    rng = np.random.default_rng([seed, day, P_ACQUISITION])
    refs = inviter_trust.size if r.joins else 0
    cost = refs * r.reward_yuan if refs else 0.0
    n_orders = rng.poisson(a.orders_per_day) if a.orders_per_day > 0 else 0
    order_age = rng.uniform(0.0, a.order_max_age_days, n_orders).astype(np.int64).astype(np.float64)
    added = rng.random(n_orders) < order_add_probability(order_age, scenario)
    visitors = rng.poisson(a.store_visitors_per_day) if a.store_visitors_per_day > 0 else 0
    store = int(rng.binomial(visitors, store_add_probability(scenario))) if visitors else 0
    ads = int(rng.poisson(a.ad_adds_per_day)) if a.ad_adds_per_day > 0 else 0
    cost += store * a.gift_yuan + ads * a.ad_cost_per_add
    orders = int(added.sum())
    kind = np.array([ORIGIN_REFERRAL] * refs + [ORIGIN_ORDER] * orders + [ORIGIN_STORE] * store + [ORIGIN_AD] * ads,
                    np.int64)
    age = np.concatenate([np.full(refs, r.invitee_need), order_age[added], np.zeros(store + ads)])
    trust = np.concatenate([r.inherit_trust * inviter_trust, np.zeros(orders + store + ads)])
    recent, old = order_age <= 7, order_age > 30
    counts = [refs, recent.sum(), (added & recent).sum(), old.sum(), (added & old).sum(), orders, store, ads]
    return kind, age, trust, cost, np.array(counts, np.float64)


@pytest.mark.parametrize("acquisition", [{}, {"orders_per_day": 900.0, "order_max_age_days": 60.5,
                                              "store_visitors_per_day": 5000.0, "ad_adds_per_day": 3.0},
                                         {"orders_per_day": 4.0, "order_max_age_days": 0.0},
                                         {"orders_per_day": 2000.0, "order_max_age_days": 3650.0,
                                          "order_age_decay_days": 123.4}])
def test_the_day_s_joiners_are_numpy_s_draws_bit_for_bit(beauty, acquisition):
    """One ``random`` call for the orders' ages and adds, the add chance looked up by whole age: numpy's draws."""
    scenario = beauty.model_copy(update={"acquisition": beauty.acquisition.model_copy(update=acquisition)})
    rates = JoinRates.of(scenario)
    for seed in (0, 3, 2**40 + 1):
        for day in range(0, 200, 7):
            inviters = np.random.default_rng(day).random(day % 4)
            j = daily_joiners(rates, seed, day, inviters)
            kind, age, trust, cost, counts = _joiners_by_numpy(scenario, seed, day, inviters)
            assert np.array_equal(j.kind, kind) and np.array_equal(j.age, age) and np.array_equal(j.trust, trust)
            assert j.cost == cost and np.array_equal(j.counts, counts)


@pytest.mark.parametrize("room", [True, False], ids=["settled", "grown"])
def test_the_engine_s_joiners_in_one_call_are_daily_joiners_drawn_and_settled(beauty, room):
    """``World.join`` (one compiled call) lays out what :func:`daily_joiners` does and draws and settles them as
    :func:`sim.state.redraw` then :func:`sim.world.settle_joiners` would, or leaves them to the caller when the
    rows are full."""
    from sim.state import redraw
    from sim.world import S, inviter_trust, settle_joiners
    sim = Simulation(beauty.model_copy(update={"referral": beauty.referral.model_copy(update={"joins": True})}),
                     3000, seed=5)
    for _ in range(200):  # to a day with referrals (the day's record; its joiners are drawn from it below)
        stats = sim.step()
        if stats[:, S["referrals"]].sum() > 0:
            break
    day, first = sim.day, (sim.joined if room else sim.n - 1)  # without room: the call must write nothing
    before = sim.state.copy()
    joiners, settled = sim.world.join(day, stats, sim.state, first)
    inviters = inviter_trust(before.events, before.trust, stats[:, S["referrals"]], BLOCK)
    expected = daily_joiners(sim.world.join_rates, sim.seed, day, inviters)
    assert np.array_equal(joiners.kind, expected.kind) and np.array_equal(joiners.age, expected.age)
    assert np.array_equal(joiners.trust, expected.trust) and np.array_equal(joiners.counts, expected.counts)
    assert joiners.cost == expected.cost and expected.kind.size > 1 and inviters.size > 0
    assert settled == room
    if room:
        rows = np.arange(first, first + expected.kind.size, dtype=np.int64)
        redraw(sim.params.records.population, before, rows, sim.seed, day + 1)
        st = before
        settle_joiners.serial(rows, expected.kind, expected.age, expected.trust, day + 1, sim.params.records.joiners,
                              st.value, st.cycle, st.salience, st.trust, st.need_clock, st.reach, st.last_purchase,
                              st.first_purchase, st.frequency, st.monetary, st.tier, st.stage, st.origin, sim.seed)
    for name, arr in sim.state.arrays().items():
        assert np.array_equal(arr, before.arrays()[name]), name


def _played_as(scenario, policy: str, serial: bool, monkeypatch) -> tuple[Simulation, dict, np.ndarray]:
    """A run on 2 numba threads through the serial twins (``serial``) or the parallel kernels; its outputs."""
    import sim._threads as threads
    monkeypatch.setattr(threads, "PARALLEL_FROM", 2**40 if serial else 0)
    monkeypatch.setattr(threads, "LIGHT_PARALLEL_FROM", 2**40 if serial else 0)
    numba.set_num_threads(2)
    try:
        s = Simulation(scenario, 4 * BLOCK + 300, 11)
        recorder = ContactRecorder(make_policy(policy))
        result = s.run(recorder, 30)
        with threads.engine_threads(s.n):
            obs = s.observe()
            features = np.stack([obs.recency, obs.days_since_contact, obs.interval, obs.usable.astype(float),
                                 s.potential_rows()])
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return s, {**result.daily, "counts": recorder.counts()[0], "totals": result.block_totals}, features


@pytest.mark.parametrize("policy", ["fatigue_capped", "rfm_tiered", "blast"])
def test_serial_twins_compute_what_the_parallel_kernels_compute(beauty, policy, monkeypatch):
    """Below the measured pool size the kernels run their one-thread twins: the same results, bit for bit."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    par, out_par, feat_par = _played_as(beauty, policy, False, monkeypatch)
    ser, out_ser, feat_ser = _played_as(beauty, policy, True, monkeypatch)
    assert out_par["contacts"].sum() > 1000
    for name, values in out_par.items():
        assert np.array_equal(values, out_ser[name]), name
    assert np.array_equal(feat_par, feat_ser)
    for field, arr in par.state.arrays().items():
        assert np.array_equal(arr, ser.state.arrays()[field]), field


def test_engine_threads_picks_the_twin_by_pool_size_and_restores(monkeypatch):
    """Only the twin flag changes: numba's thread count is left as set, on entry, inside and on exit."""
    import sim._threads as threads
    monkeypatch.setattr(threads, "PARALLEL_FROM", 1000)
    numba.set_num_threads(2)
    try:
        assert not threads.serial_now()
        with threads.engine_threads(999):
            assert threads.serial_now() and numba.get_num_threads() == 2
            with threads.engine_threads(999):  # nested (the Mesa model around a step): the outer comes back
                assert threads.serial_now()
            with threads.engine_threads(1000):
                assert not threads.serial_now()
            assert threads.serial_now() and numba.get_num_threads() == 2
        with threads.engine_threads(1000):
            assert not threads.serial_now() and numba.get_num_threads() == 2
        assert not threads.serial_now() and numba.get_num_threads() == 2
        numba.set_num_threads(1)
        with threads.engine_threads(5000):  # a large pool on one thread: the parallel kernels, on that thread
            assert not threads.serial_now() and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_engine_threads_restores_the_pool_size_and_the_held_section_when_the_day_raises():
    """A day that fails inside leaves no pool size and no Ctrl-C hold behind (the section is a plain class now)."""
    import sim._threads as threads
    import sim.interrupts as interrupts
    assert getattr(threads._local, "rows", None) is None
    with pytest.raises(ValueError, match="inside"):
        with threads.engine_threads(10):
            assert threads.serial_now() and interrupts._local.depth == 1
            raise ValueError("inside")
    assert getattr(threads._local, "rows", None) is None and interrupts._local.depth == 0
    assert not threads.serial_now()


def test_a_light_twin_runs_serially_up_to_its_own_pool_size(monkeypatch):
    """Between ``PARALLEL_FROM`` and ``LIGHT_PARALLEL_FROM`` rows only the light kernels stay serial."""
    import sim._threads as threads
    from sim.kernels import check_actions, step_day
    from sim.world import groups_day
    assert groups_day.light and check_actions.light and not step_day.light

    class Half:
        def __init__(self, name: str) -> None:
            self.name, self.py_func, self.__doc__ = name, None, ""

        def __call__(self) -> str:
            return self.name

    monkeypatch.setattr(threads, "PARALLEL_FROM", 1000)
    monkeypatch.setattr(threads, "LIGHT_PARALLEL_FROM", 5000)
    plain, light = threads.Twin(Half("p"), Half("s")), threads.Twin(Half("p"), Half("s"), light=True)
    assert plain() == light() == "p"  # outside engine_threads: the parallel kernels
    for rows, expected in ((999, "ss"), (1000, "ps"), (4999, "ps"), (5000, "pp")):
        with threads.engine_threads(rows):
            assert plain() + light() == expected, rows


def _parallel_kernels_outside_twins() -> dict[str, object]:
    """Every ``njit(parallel=True)`` kernel of the day's modules that is not one half of a :class:`Twin`."""
    import sys

    from numba.core.registry import CPUDispatcher
    import agents.mesa_model, sim.envs.batch, sim.envs.pool  # noqa: F401, E401 - their policies' helpers load too
    found = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("sim", "policies", "experiments", "agents"):
            for attr, obj in list(vars(module).items()):
                if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("parallel"):
                    found[f"{name}.{attr}"] = obj
    return found


@pytest.mark.parametrize("policy", ["fatigue_capped", "rfm_tiered", "blast", "fixed_cadence", "journeys"])
def test_a_small_pool_s_day_enters_no_parallel_region(beauty, policy, monkeypatch):
    """Below ``PARALLEL_FROM`` rows a run calls no parallel kernel outside the twins, whatever the thread count.

    What keeps 2 threads from costing more than 1 on a small pool: a parallel kernel that is not a twin
    would launch on every thread set (``engine_threads`` no longer sets one thread).
    """
    calls: list[str] = []
    for qualified, kernel in _parallel_kernels_outside_twins().items():
        module, attr = qualified.rsplit(".", 1)

        def counted(*args, _k=kernel, _n=qualified):  # noqa: ANN002, ANN202 - a pass-through spy
            calls.append(_n)
            return _k(*args)
        monkeypatch.setattr(sys.modules[module], attr, counted)
    s = Simulation(beauty, 2 * BLOCK, 3)
    recorder = ContactRecorder(make_policy(policy))
    result = s.run(recorder, 8, residual=False)
    assert result.summary["contacts"] > 0
    assert calls == []
    assert "sim.kernels.check_actions" not in _parallel_kernels_outside_twins()  # validation is a twin


def test_the_bench_s_replay_steps_through_the_same_days_as_the_played_run(beauty):
    """``siyu bench``'s second yardstick replays the policy's contacts: the same seed ends in the same state."""
    from experiments.bench.throughput import played_contacts, replay_seconds
    played = Simulation(beauty, 2 * BLOCK + 100, 5)
    days = played_contacts(played, make_policy("fatigue_capped"), 12)
    assert sum(kept["rows"].size for _, kept in days) > 500
    replayed = Simulation(beauty, 2 * BLOCK + 100, 5)
    seconds, customer_days = replay_seconds(replayed, days)  # customer-days: those in the pool, not reserved rows
    assert seconds > 0 and 12 * (2 * BLOCK + 100) < customer_days < 12 * replayed.joined < 12 * replayed.n
    assert replayed.day == played.day == 12 and replayed.joined == played.joined
    for field, arr in played.state.arrays().items():
        assert np.array_equal(arr, replayed.state.arrays()[field]), field


def _stepped(scenario, every_row: bool, monkeypatch) -> tuple[Simulation, list[np.ndarray], list[np.ndarray]]:
    """30 days of ``fatigue_capped`` with each customer's reward, visiting the joined blocks or every row."""
    with monkeypatch.context() as m:
        if every_row:
            m.setattr(Simulation, "day_rows", property(lambda self: self.n))
        s = Simulation(scenario, 2 * BLOCK - 50, 6)
        policy = make_policy("fatigue_capped")
        policy.reset(s.n, s.seed)
        stats, rewards = [], []
        for _ in range(30):
            reward = np.full(s.n, 7.0)  # the kernel and the step must overwrite every row
            stats.append(s.step(policy.act(s.observe()), reward).copy())
            rewards.append(reward)
    return s, stats, rewards


def test_the_day_skips_reserved_rows_with_the_same_results(beauty, monkeypatch):
    """``day_rows`` stops at the joined customers' last block: the same days as visiting every reserved row too."""
    fast, stats, rewards = _stepped(beauty, False, monkeypatch)
    full, stats_full, rewards_full = _stepped(beauty, True, monkeypatch)
    assert 2 * BLOCK < fast.joined < fast.n  # the joiners crossed a block boundary; rows are still reserved
    assert Simulation(beauty, 2 * BLOCK - 50, 6).day_rows == 2 * BLOCK < fast.n
    assert sum(r.any() for r in rewards) == 30
    for day, (a, b) in enumerate(zip(stats, stats_full)):
        assert np.array_equal(a, b), day
    for day, (a, b) in enumerate(zip(rewards, rewards_full)):
        assert np.array_equal(a, b) and not a[fast.joined + 50:].any(), day
    for field, arr in fast.state.arrays().items():
        assert np.array_equal(arr, full.state.arrays()[field]), field


def test_redraw_draws_the_same_customers_through_the_serial_twin(beauty):
    """A day's joiners are drawn by the serial twin: the same customers as the parallel kernel draws."""
    from sim.state import _generate, empty, redraw
    pop = Simulation(beauty, 100, 0).params.records.population
    rows = np.arange(5, 3000, 7, dtype=np.int64)
    twin, par = empty(3000), empty(3000)
    redraw(pop, twin, rows, 9, 40)
    _generate.parallel(np.int64(9), np.int64(40), rows, pop, *par.arrays().values())
    for field, arr in twin.arrays().items():
        assert np.array_equal(arr, par.arrays()[field]), field
    assert (twin.status[rows] == 0).all() and (twin.status[rows + 1] != 0).all()


def test_a_given_state_with_unjoined_rows_between_customers_is_visited_whole(beauty):
    """``day_rows`` relies on the joined customers coming first; a state that interleaves them runs every row."""
    from sim.defaults import NOT_JOINED
    from sim.state import generate
    st = generate(beauty, 3 * BLOCK, 3)
    st.status[10:BLOCK + 10] = NOT_JOINED
    sim = Simulation(beauty, 3 * BLOCK, 3, state=st, inflow=False)
    assert sim.joined == 2 * BLOCK and sim.day_rows == 3 * BLOCK
    assert Simulation(beauty, 3 * BLOCK, 3, state=generate(beauty, 2 * BLOCK, 3, 3 * BLOCK)).day_rows == 2 * BLOCK


def _twins() -> dict[str, object]:
    """Every :class:`~sim._threads.Twin` of the modules loaded from the project's packages, by qualified name."""
    from sim._threads import Twin
    return {f"{name}.{attr}": obj for name, module in list(sys.modules.items())
            if name.split(".")[0] in ("sim", "policies", "experiments", "agents")
            for attr, obj in list(vars(module).items()) if isinstance(obj, Twin)}


class _Counted(Exception):
    """Raised by :func:`_parallel_regions`'s last pass with the number of top-level parallel loops."""


def _parallel_regions(kernel, signature) -> int:
    """Top-level parallel loops of ``kernel``'s parallel compilation, without lowering it.

    numba's own pipeline runs through its parfor passes (conversion, fusion, pre-lowering: the loops that would
    be launched); a last pass counts them and stops the compilation before LLVM, which took about 40% of the
    time. The cache keeps no parallel diagnostics, so the kernel is compiled afresh.
    """
    from numba.core.compiler import CompilerBase, DefaultPassBuilder
    from numba.core.compiler_machinery import AnalysisPass, PassManager, register_pass
    from numba.parfors.parfor import Parfor

    @register_pass(mutates_CFG=False, analysis_only=True)
    class CountParfors(AnalysisPass):
        _name = "siyu_count_parfors"

        def __init__(self) -> None:
            AnalysisPass.__init__(self)

        def run_pass(self, state):  # noqa: ANN001, ANN202 - numba's pass interface
            raise _Counted(sum(isinstance(stmt, Parfor) for block in state.func_ir.blocks.values()
                               for stmt in block.body))

    class UpToParfors(CompilerBase):
        def define_pipelines(self):  # noqa: ANN202 - numba's compiler interface
            pm = PassManager("up_to_parfors")
            pm.passes.extend(DefaultPassBuilder.define_untyped_pipeline(self.state).passes)
            pm.passes.extend(DefaultPassBuilder.define_typed_pipeline(self.state).passes)
            pm.add_pass(CountParfors, "count the top-level parallel loops")
            pm.finalize()
            return [pm]

    options = {k: v for k, v in kernel.parallel.targetoptions.items() if k not in ("cache", "nopython")}
    with pytest.raises(_Counted) as counted:
        numba.njit(pipeline_class=UpToParfors, **options)(kernel.py_func).compile(signature)
    return counted.value.args[0]


def test_each_parallel_kernel_is_one_parallel_region(beauty):
    """A twin's parallel kernel launches one parallel region a call, not one per array expression or block.

    With parallel=True numba turns ``np.zeros`` and whole-array arithmetic outside the ``prange`` into
    parallel loops of their own: each is a launch and a join, and with passive waiting a wake-up of the
    other threads. The recorder's per-block sums were two such loops per block (393 launches a day at
    200,000 customers: the 60-day run 9x slower on 2 threads). Each kernel the day calls has its top-level
    parallel loops counted (:func:`_parallel_regions`).
    """
    from sim._threads import engine_threads
    for policy in ("fatigue_capped", "rfm_tiered", "blast", "fixed_cadence", "journeys"):
        s = Simulation(beauty, 2 * BLOCK, 3)  # below PARALLEL_FROM: the serial twins record the signatures
        s.run(ContactRecorder(make_policy(policy)), 3, residual=False)
        s.observe().typical_interval
        with engine_threads(s.n):  # the CRM features as a run derives them (the rules derive theirs in their own pass)
            s.observe().recency
        seg.segment_codes(s.observe())
        s.potential()
    used = {name: k for name, k in _twins().items() if k.serial.signatures}
    assert {"sim.kernels.step_day", "sim.kernels.check_actions", "experiments.recording._count_contacts",
            "sim.observation._crm_features", "sim.world.groups_day"} <= set(used)
    regions = {name: _parallel_regions(kernel, kernel.serial.signatures[0]) for name, kernel in used.items()}
    assert regions == dict.fromkeys(used, 1)


def test_parallel_regions_counts_each_array_expression_outside_the_prange():
    """The count sees what the test above guards against: a whole-array expression beside the ``prange``."""
    from sim._threads import twin

    def fused(x):  # noqa: ANN001, ANN202
        out = np.empty_like(x)
        for i in numba.prange(x.size):
            out[i] = 2.0 * x[i]
        return out

    def with_sums(x):  # noqa: ANN001, ANN202
        out = np.zeros(x.size)
        for i in numba.prange(x.size):
            out[i] = 2.0 * x[i]
        return out + x.sum()

    signature = (numba.float64[:],)
    assert _parallel_regions(twin()(fused), signature) == 1
    assert _parallel_regions(twin()(with_sums), signature) > 1


def test_a_small_pool_calls_no_parallel_twin_from_its_first_day_on(beauty, monkeypatch):
    """Below ``PARALLEL_FROM`` rows neither drawing the pool, its first census, nor a recorded day runs a parallel half.

    The pool's first group census ran outside :func:`~sim._threads.engine_threads`: every small pool compiled
    (about a second on a fresh machine) and launched the parallel ``groups_day`` once.
    """
    calls: list[str] = []
    for name, kernel in _twins().items():
        def spy(*args, _k=kernel.parallel, _n=name):  # noqa: ANN002, ANN202 - a pass-through spy
            calls.append(_n)
            return _k(*args)
        monkeypatch.setattr(kernel, "parallel", spy)
    for policy in ("fatigue_capped", "rfm_tiered", "blast", "journeys"):
        s = Simulation(beauty, 2 * BLOCK, 3)
        s.run(ContactRecorder(make_policy(policy)), 3)
        s.observe().typical_interval
    assert len(_twins()) >= 10 and calls == []
