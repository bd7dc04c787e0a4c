"""The posterior of each customer's hidden state given their record, taken from the scenario by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import engine_histories

from experiments.calibrate.forecast import conditioned_state
from experiments.calibrate.posterior import Nearest, Posterior, reference_log, rng_of, seed_of
from experiments.crm.snapshot import view_of_simulation
from experiments.ope.brand import BrandPool
from experiments.ope.simulate import play, warmed_pool
from sim.config import load_scenario
from sim.state import generate


def fisher_z(r: float, n: int) -> float:
    """Fisher z of a correlation r of n pairs against 0."""
    return float(np.arctanh(r) * np.sqrt(n - 3))


def test_nearest_breaks_ties_at_random_keeps_status_and_is_seeded():
    ref = np.zeros((2000, 1))  # every record equal
    status = np.arange(2000) % 2 == 0
    near = Nearest(ref, status, seed=1)
    alive = np.ones(1000, bool)
    pick = near.draw(np.zeros((1000, 1)), rng_of(3), alive)
    assert status[pick].all()
    assert np.unique(pick).size > 500  # not always the same ten of the thousand equal records
    assert np.array_equal(pick, near.draw(np.zeros((1000, 1)), rng_of(3), alive))
    assert not np.array_equal(pick, near.draw(np.zeros((1000, 1)), rng_of(4), alive))
    # a distinct record is matched with its own kind
    ref2 = np.concatenate([np.zeros((500, 1)), np.full((500, 1), 10.0)])
    got = Nearest(ref2, seed=2).draw(np.array([[9.5]] * 50), rng_of(5))
    assert (got >= 500).all()


def test_the_reference_is_never_the_data_seed():
    assert all(seed_of(s) != s for s in range(100))
    assert seed_of(3) == seed_of(3) and seed_of(3) != seed_of(3, 1)


@pytest.fixture(scope="module")
def brand():
    sc = load_scenario("beauty")
    sim = warmed_pool(sc, 8000, 21, 30)
    return sc, sim, BrandPool(sc, view_of_simulation(sim), sim.day)


def test_brand_pool_cycles_follow_the_true_ones(brand):
    _, sim, pool = brand
    drawn = pool.draw(2)
    rows = pool.rows
    r = float(np.corrcoef(np.log(drawn.state.cycle[rows]), np.log(sim.state.cycle[rows]))[0, 1])
    # the auxiliary posterior gave -0.004 on such records; a record says much about an engine customer's cycle
    assert fisher_z(r, rows.size) > 3 and r > 0.4, r


def test_brand_pool_is_worth_what_the_true_pool_is(brand):
    """14 days without contact: the mean revenue per customer of a drawn pool is the true pool's (|z| < 3)."""
    _, sim, pool = brand
    true = play(sim, None, 14).sum(axis=1)
    drawn = np.concatenate([play(pool.draw(s), None, 14).sum(axis=1) for s in (2, 3)])
    se = np.sqrt(true.var() / true.size + drawn.var() / drawn.size)
    z = (drawn.mean() - true.mean()) / se
    assert abs(z) < 3, (drawn.mean(), true.mean(), z)


def test_forecast_cycles_follow_the_true_ones(tmp_path):
    sc, days = load_scenario("beauty"), 240
    _, h, _ = engine_histories(tmp_path / "tx.csv", 1500, days, 7)
    true = generate(sc, 1500, 7).cycle[np.array([int(str(i)[1:]) for i in h.ids])]
    post = Posterior(reference_log(sc, h, 3), seed=3)
    pick = post.draw(h.x, h.t_x, h.T, rng_of(3))
    cycle, dropout = post.traits(sc, pick)
    hidden = post.hidden(pick)  # an existing pool: the simulated customers' state at the end of the log
    st = conditioned_state(sc, h, cycle, dropout, 1, hidden=hidden)
    assert np.array_equal(st.cycle, cycle.astype(np.float32))
    assert np.array_equal(st.status, hidden.status) and np.array_equal(st.salience, hidden.salience)
    assert np.array_equal(st.last_purchase, (h.last - h.end - 1).astype(np.int32))  # the record stays their own
    r = float(np.corrcoef(np.log(cycle), np.log(true))[0, 1])
    assert fisher_z(r, h.n) > 3, r


def test_forecast_is_seeded(tmp_path):
    """Same seed, same forecast bit for bit (reference simulation, neighbour picks, replicates)."""
    from experiments.calibrate.forecast import forecast
    sc = load_scenario("beauty")
    _, h, _ = engine_histories(tmp_path / "tx.csv", 600, 120, 9)
    one, two = forecast(sc, h, 28, replicates=2, seed=5), forecast(sc, h, 28, replicates=2, seed=5)
    assert np.array_equal(one.replicates, two.replicates) and np.array_equal(one.p_alive, two.p_alive)
    other = forecast(sc, h, 28, replicates=2, seed=6)
    assert not np.array_equal(one.expected_transactions, other.expected_transactions)


def test_a_small_log_is_matched_against_a_reference_of_at_least_the_floor(tmp_path):
    """A reference is shared by every replicate of a forecast: below REFERENCE_POOL its noise would not average out."""
    from experiments.calibrate.posterior import REFERENCE_POOL
    _, h, _ = engine_histories(tmp_path / "tx.csv", 600, 120, 9)
    assert reference_log(load_scenario("beauty"), h, 3, cohort="new").n == REFERENCE_POOL  # every one simulated
