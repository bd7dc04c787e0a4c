"""Same seed, same result, bit for bit, whatever the thread count; policies share the luck."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from policies import load_policy
from sim import Simulation
from sim.defaults import ACTIVE, STAT_NAMES
from sim.seeding import from_histories


def _run(scenario, policy, seed, threads, n=5000, days=40):
    numba.set_num_threads(threads)
    try:
        sim = Simulation(scenario, n, seed)
        result = sim.run(load_policy(policy), days)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return sim, result


@pytest.mark.parametrize("policy", ["rfm_tiered", "blast"])
def test_same_seed_twice_and_across_thread_counts(beauty, policy):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    sim1, r1 = _run(beauty, policy, 7, 1)
    sim2, r2 = _run(beauty, policy, 7, 2)
    sim3, r3 = _run(beauty, policy, 7, 2)
    for a, b in ((r1, r2), (r2, r3)):
        for name in STAT_NAMES:
            assert np.array_equal(a.daily[name], b.daily[name]), name
        assert np.array_equal(a.block_totals, b.block_totals)
        assert a.summary["total_value"] == b.summary["total_value"]
    for field, arr in sim1.state.arrays().items():
        assert np.array_equal(arr, sim2.state.arrays()[field]), field


def _seeded(scenario, threads, n=3000):
    """Customers seeded from a record (siyu forecast's start): silences of 0-399 days played on ``threads``."""
    numba.set_num_threads(threads)
    try:
        last = -(np.arange(n) % 400).astype(np.int64) - 1
        return from_histories(scenario, 9, np.full(n, 45.0), np.full(n, 0.15 / 365), np.full(n, 100.0), last - 90,
                              last, np.full(n, 2), np.full(n, 200.0), np.ones(n, bool))
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_customers_seeded_from_a_record_are_the_same_whatever_the_thread_count(beauty):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    one, two = _seeded(beauty, 1), _seeded(beauty, 2)
    assert 0 < np.mean(one.status[:3000] != ACTIVE) < 1  # some left in their silence: the paths differ by customer
    for field, arr in one.arrays().items():
        assert np.array_equal(arr, two.arrays()[field]), field


def test_different_seeds_differ(beauty):
    _, a = _run(beauty, "rfm_tiered", 1, 2)
    _, b = _run(beauty, "rfm_tiered", 2, 2)
    assert a.summary["revenue"] != b.summary["revenue"]


def test_population_is_a_function_of_seed_and_id(beauty):
    small = Simulation(beauty, 300, 5).state
    large = Simulation(beauty, 3000, 5).state
    for field in ("value", "cycle", "price_sens", "slot_mask", "reach", "salience", "trust"):
        assert np.array_equal(getattr(small, field)[:300], getattr(large, field)[:300]), field


def test_policies_face_the_same_customers_and_luck(beauty):
    """Common random numbers: with no contact on day 0, both runs match exactly on day 0."""
    a = Simulation(beauty, 4000, 3)
    b = Simulation(beauty, 4000, 3)
    for field, arr in a.state.arrays().items():
        assert np.array_equal(arr, b.state.arrays()[field])
    sa = a.step().copy()
    sb = b.step().copy()
    assert np.array_equal(sa, sb)


@pytest.mark.parametrize("preset", ["beauty", "high_ticket", "hair_transplant", "mother_baby"])  # mother_baby: events
def test_resting_rows_fast_path_matches_the_full_day(preset):
    """Rows finished by the vectorized rest pass end exactly where the full day would put them."""
    from sim.config import load_scenario

    sc = load_scenario(preset)
    ends = []
    for full in (False, True):
        sim = Simulation(sc, 6000, 11)
        sim.full_days = full
        result = sim.run(load_policy("fatigue_capped"), 45)
        ends.append((sim.state.arrays(), result))
    (fast, r_fast), (slow, r_slow) = ends
    for field, arr in fast.items():
        assert np.array_equal(arr, slow[field]), field
    for name in STAT_NAMES:  # the same sums, added in another order
        np.testing.assert_allclose(r_fast.daily[name], r_slow.daily[name], rtol=1e-12, atol=1e-9)


def test_old_kernel_caches_are_pruned_to_the_most_recent(tmp_path):
    """Each engine version compiles into its own folder; only the newest few stay on disk."""
    import os

    from sim._cache import prune
    for k in range(6):
        folder = tmp_path / f"numba-{k:016x}"
        folder.mkdir()
        (folder / "index.nbi").write_bytes(b"x")
        os.utime(folder, (1_000_000 + k, 1_000_000 + k))
    (tmp_path / "notes").mkdir()
    removed = prune(tmp_path, keep=4)
    assert sorted(p.name for p in removed) == ["numba-0000000000000000", "numba-0000000000000001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"] + [f"numba-{k:016x}" for k in range(2, 6)]


def test_engine_threads_wait_passively_unless_the_environment_says_otherwise():
    """Spinning OpenMP threads make a busy machine several times slower (see sim._threads)."""
    import os
    import subprocess
    import sys
    code = "import os, sim; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"
