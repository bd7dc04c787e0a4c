"""The RL environments: gymnasium/SB3 contracts, determinism, CRM-only observations, masks, VecEnv conformity."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sim
from sim import InvalidActionError, Simulation
from sim.config import apply_overrides
from sim.defaults import ACTIVE
from sim.envs import ENV_IDS
from sim.envs.encoding import (ACTION_NVEC, MASK_SIZE, N_FEATURES, action_masks, channel_allowed, encode,
                               flatten_masks, unflatten_actions)
from sim.envs.reward import potential_rows, reward_scale
from sim.envs.vec import CustomerVecEnv, FlatActions
from sim.state import HIDDEN

SMALL = {"siyu/Pool-v1": {"customers": 300, "weeks": 4, "inflow": False}}
"""Keyword arguments that keep each env cheap in tests."""


def _make(env_id: str) -> gym.Env:
    return gym.make(env_id, **SMALL.get(env_id, {}))


def _masked_sample(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """Random actions drawn only among allowed values, one row per mask row."""
    out = np.empty((masks.shape[0], len(ACTION_NVEC)), np.int64)
    lo = 0
    for k, size in enumerate(ACTION_NVEC):
        m = masks[:, lo:lo + size]
        u = rng.random(m.shape) * m
        out[:, k] = u.argmax(axis=1)
        lo += size
    return out


def test_every_registered_siyu_env_is_known_and_passes_both_checkers():
    registered = sorted(k for k in gym.registry if k.startswith("siyu/"))
    assert registered == sorted(ENV_IDS)
    for env_id in registered:
        env = _make(env_id)
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_side_by_side_gives_identical_trajectories(env_id):
    a, b = _make(env_id), _make(env_id)
    rng = np.random.default_rng(0)
    oa, ia = a.reset(seed=42)
    ob, ib = b.reset(seed=42)
    assert np.array_equal(oa, ob) and ia == ib
    episodes = 0
    for _ in range(200 if env_id == sim.envs.CUSTOMER_ID else 30):
        action = rng.integers(0, a.action_space.nvec)
        sa, sb = a.step(action), b.step(action)
        assert np.array_equal(sa[0], sb[0])
        assert sa[1:4] == sb[1:4]
        if sa[2] or sa[3]:
            episodes += 1
            assert np.array_equal(a.reset()[0], b.reset()[0])
    assert episodes >= 1  # the comparison crossed an episode boundary (truncation or dropout)
    assert not np.array_equal(_make(env_id).reset(seed=43)[0], a.reset(seed=42)[0])


def test_customer_env_reports_engine_seed_and_truncates_at_the_horizon():
    env = gym.make(sim.envs.CUSTOMER_ID)
    _, info = env.reset(seed=1)
    assert 0 <= info["engine_seed"] < 2**63
    steps, done = 0, False
    while not done:
        _, _, term, trunc, _ = env.step(np.zeros(3, np.int64))
        steps += 1
        done = term or trunc
    assert trunc and steps == sim.envs.HORIZON_DAYS or term and steps < sim.envs.HORIZON_DAYS


def test_observation_is_crm_only(beauty):
    """Scrambling hidden state changes nothing the agent sees; changing the CRM record does."""
    s = Simulation(beauty, 500, 3, inflow=False)
    for _ in range(20):
        s.step()
    before = encode(s.observe())
    rng = np.random.default_rng(1)
    for name in HIDDEN:
        arr = getattr(s.state, name)
        if name == "status":
            continue  # leaving the pool also empties reach, which the CRM sees
        arr[:] = rng.permutation(arr)
    assert np.array_equal(encode(s.observe()), before)
    s.state.frequency[:] += 1
    assert not np.array_equal(encode(s.observe()), before)
    assert before.shape == (500, N_FEATURES) and before.min() >= 0.0 and before.max() <= 1.0


def test_potential_rows_sum_to_the_engine_potential(beauty):
    s = Simulation(beauty, 3000, 5, inflow=False)
    for _ in range(30):
        s.step()
    rows = potential_rows(s)
    assert rows.sum() == pytest.approx(s.potential(), rel=1e-9)
    assert (rows[s.state.reach == 0] == 0).all() and (rows[s.state.reach != 0] > 0).any()


def test_shaped_rewards_add_up_to_discounted_profit_plus_discounted_residual_change(beauty):
    """Per customer: sum of g^t r_t = (sum of g^t profit_t + g^T end residual - start residual) x scale."""
    gamma = 0.95
    v = CustomerVecEnv(beauty, 400, horizon=30, seed=9, residual_shaping=True, shaping_gamma=gamma)
    v.reset()
    sim0 = v.batch.sim
    start = potential_rows(sim0).copy()
    total = np.zeros(400)
    profit = np.zeros(400)
    ever_done = np.zeros(400, bool)
    rng = np.random.default_rng(2)
    days = 29
    for t in range(days):
        obs, rew, done, _ = v.step(_masked_sample(rng, v.action_masks()))
        ever_done |= done
        total += gamma ** t * rew
        profit += gamma ** t * v.batch.meter.profit
    keep = ~ever_done
    expected = (profit + gamma ** days * potential_rows(sim0) - start) * reward_scale(beauty)
    assert keep.sum() > 300
    np.testing.assert_allclose(total[keep], expected[keep], rtol=1e-4, atol=1e-4)


def test_masked_actions_pass_the_engine_validation_and_unmasked_ones_fail(beauty):
    env = CustomerVecEnv(beauty, 512, horizon=60, seed=4, invalid_action="raise")
    env.reset()
    rng = np.random.default_rng(3)
    contacts = 0
    for _ in range(60):  # caps run out and channels are lost on the way: the mask must follow
        masks = env.action_masks()
        actions = _masked_sample(rng, masks)
        contacts += int((actions[:, 0] > 0).sum())
        env.step(actions)
    assert contacts > 10_000
    masks = env.action_masks()
    forbidden = np.argwhere(~masks[:, :ACTION_NVEC[0]])
    assert forbidden.size, "after 60 days of random contact some channels must be masked"
    i, c = forbidden[0]
    actions = np.zeros((512, 3), np.int64)
    actions[i] = (c, 0, 0)
    with pytest.raises(InvalidActionError):
        env.step(actions)


def test_forbidden_actions_become_no_contact_and_are_flagged(beauty):
    env = CustomerVecEnv(beauty, 256, horizon=60, seed=4)
    env.reset()
    allowed = env.batch.allowed
    actions = np.zeros((256, 3), np.int64)
    blocked = np.flatnonzero(~allowed[:, 5])  # not reachable by SMS
    assert blocked.size
    actions[:, 0] = 5
    _, _, _, infos = env.step(actions)
    assert all(infos[i].get("invalid_action") for i in blocked)
    assert env.invalid_actions == blocked.size
    assert not any(infos[i].get("invalid_action") for i in np.flatnonzero(allowed[:, 5]))


def test_mask_layout_matches_channel_permissions(beauty):
    s = Simulation(beauty, 200, 1, inflow=False)
    obs = s.observe()
    m = action_masks(obs)
    assert m.shape == (200, MASK_SIZE)
    assert np.array_equal(m[:, :ACTION_NVEC[0]], channel_allowed(obs))
    assert m[:, ACTION_NVEC[0]:].all() and m[:, 0].all()
    flat = flatten_masks(m, ACTION_NVEC)
    assert flat.shape == (200, int(np.prod(ACTION_NVEC)))
    for k in np.random.default_rng(0).integers(0, flat.shape[1], 50):
        parts = unflatten_actions(np.array([k]), ACTION_NVEC)[0]
        assert np.array_equal(flat[:, k], m[:, parts[0]])  # content and slot are always free


def test_vec_env_auto_resets_at_the_horizon_with_terminal_observations(beauty):
    v = CustomerVecEnv(beauty, 64, horizon=5, seed=1)
    first = v.reset()
    assert first.shape == (64, N_FEATURES) and first.dtype == np.float32
    seed0 = v.round_seed
    for day in range(5):
        obs, rew, dones, infos = v.step(np.zeros((64, 3), np.int64))
        assert rew.shape == (64,) and dones.shape == (64,) and len(infos) == 64
    assert dones.all()
    assert all("terminal_observation" in i for i in infos)
    assert all(i["TimeLimit.truncated"] for i in infos)
    assert v.round_seed != seed0
    terminal = np.stack([i["terminal_observation"] for i in infos])
    assert not np.array_equal(terminal, obs)  # a new population replaced the old one
    assert np.array_equal(obs, v.batch.obs)


def test_vec_env_terminates_and_redraws_customers_who_leave(beauty):
    leaving = apply_overrides(beauty, {"population.dropout_per_year": 20.0})
    v = CustomerVecEnv(leaving, 300, horizon=100, seed=2)
    v.reset()
    seen = 0
    for _ in range(20):
        obs, _, dones, infos = v.step(np.zeros((300, 3), np.int64))
        for i in np.flatnonzero(dones):
            seen += 1
            assert infos[i]["TimeLimit.truncated"] is False
            assert not infos[i]["terminal_observation"][24:29].any()  # a leaver is reachable nowhere
        assert (v.batch.sim.state.status == ACTIVE).all()  # leavers were replaced in place
    assert seen > 20


def test_vec_env_seeding_attributes_and_methods(beauty):
    a = CustomerVecEnv(beauty, 32, horizon=10)
    b = CustomerVecEnv(beauty, 32, horizon=10)
    a.seed(7)
    b.seed(7)
    assert np.array_equal(a.reset(), b.reset())
    a.seed(8)
    assert not np.array_equal(a.reset(), b.reset())
    assert a.get_attr("horizon") == [10] * 32
    assert a.get_attr("horizon", indices=[0, 3]) == [10, 10]
    a.set_attr("horizon", 12)
    assert a.horizon == 12
    with pytest.raises(ValueError):
        a.set_attr("horizon", 5, indices=[1])
    rows = a.env_method("action_masks", indices=[2, 5])
    assert np.array_equal(np.stack(rows), a.action_masks()[[2, 5]])
    assert a.env_is_wrapped(gym.Wrapper) == [False] * 32
    assert a.has_attr("action_masks")


def test_flat_actions_for_dqn(beauty):
    v = FlatActions(CustomerVecEnv(beauty, 16, horizon=10, seed=3))
    v.reset()
    assert v.action_space.n == int(np.prod(ACTION_NVEC))
    masks = np.stack(v.env_method("action_masks"))
    assert masks.shape == (16, v.action_space.n)
    allowed = np.array([np.flatnonzero(m)[-1] for m in masks])
    obs, rew, dones, infos = v.step(allowed)
    assert obs.shape == (16, N_FEATURES)
    assert not any(i.get("invalid_action") for i in infos)


def test_pool_env_acts_on_the_whole_pool_and_rewards_value(beauty):
    env = gym.make(sim.envs.POOL_ID, customers=500, weeks=3, inflow=False)
    obs, _ = env.reset(seed=0)
    quiet = np.zeros(env.action_space.shape, np.int64)
    _, r_quiet, *_ = env.step(quiet)
    env.reset(seed=0)
    busy = np.tile([3, 0, 4], 5)  # every segment: flash sales every 3 days, WeCom first
    obs2, r_busy, _, _, info = env.step(busy)
    assert obs.shape == obs2.shape == (14,)
    assert r_quiet != r_busy
    assert info["net_profit"] != 0.0


def test_pool_env_shaping_adds_up_to_discounted_profit_plus_discounted_residual_change():
    """Sum of g^t r_t = (sum of g^t net_t + g^T end residual - start residual) x scale."""
    gamma = 0.9
    env = gym.make(sim.envs.POOL_ID, customers=400, weeks=3, inflow=False, shaping_gamma=gamma).unwrapped
    env.reset(seed=1)
    start = env.sim.potential()
    plan = np.tile([2, 0, 3], 5)
    shaped = plain = 0.0
    for t in range(3):
        _, r, _, _, info = env.step(plan)
        shaped += gamma ** t * r
        plain += gamma ** t * info["net_profit"]
    expected = (plain + gamma ** 3 * info["potential"] - start) * env.scale
    assert shaped == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="shaping_gamma"):
        gym.make(sim.envs.POOL_ID, customers=10, shaping_gamma=0.0)


def test_solvable_table_is_a_markov_model_of_the_engine():
    """The engine-estimated table predicts what the engine measures, and its optimum beats the rules."""
    from policies import load_policy
    from sim.envs.solvable import TablePolicy, discounted_values, estimate_mdp, solvable_scenario, value_iteration
    sc = solvable_scenario()
    mdp = estimate_mdp(sc, samples=3000)
    rows = mdp.P.sum(axis=2)
    assert np.allclose(rows[mdp.valid], 1.0) and (rows[~mdp.valid] == 0).all()
    assert mdp.masks == (0, 1)  # WeCom reaches, or nothing does
    V, best = value_iteration(mdp)
    quiet = np.zeros(mdp.R.shape[0], np.int64)  # action 0 (no contact) everywhere
    P0 = mdp.P[np.arange(len(quiet)), quiet]
    V0 = np.linalg.solve(np.eye(len(quiet)) - 0.99 * P0, mdp.R[np.arange(len(quiet)), quiet])
    start = Simulation(sc, 4000, 77).state
    predicted = V0[mdp.state(start.need_clock.astype(np.int64), start.reach.astype(np.int64))].mean()
    measured = discounted_values(sc, load_policy("no_contact"), [77], customers=4000)[0]
    assert measured == pytest.approx(predicted, rel=0.02)
    assert (V >= V0 - 1e-6).all() and V.mean() > V0.mean() * 1.05  # VI stops within 1e-8
    optimal = discounted_values(sc, TablePolicy(mdp, best), [77], customers=4000, days=500)[0]
    rule = discounted_values(sc, load_policy("rfm_tiered"), [77], customers=4000, days=500)[0]
    assert optimal > rule * 1.05


def test_potential_based_shaping_keeps_the_optimal_policy_of_the_solvable_pool():
    """Shaping with the learner's discount changes the rewards but not the optimal action of any state."""
    from sim.envs.solvable import estimate_mdp, solvable_scenario, value_iteration
    sc = solvable_scenario()
    plain = estimate_mdp(sc, samples=2000)
    shaped = estimate_mdp(sc, samples=2000, shaping_gamma=0.99)
    assert np.array_equal(plain.P, shaped.P)  # the same draws: only the rewards differ
    assert not np.allclose(plain.R, shaped.R)
    V, best = value_iteration(plain, gamma=0.99)
    V_shaped, best_shaped = value_iteration(shaped, gamma=0.99)
    assert np.array_equal(best, best_shaped)


def test_features_of_a_hand_built_crm_record():
    """Each feature means what its name says (recency per interval, one-hots, caps left, window phase)."""
    from sim.defaults import FLAG_DELIVERED, FLAG_OPENED, N_CHANNELS, NEVER, WECOM
    from sim.envs.encoding import FEATURES
    from sim.observation import Observation

    month = np.zeros((2, N_CHANNELS), np.uint8)
    month[0, WECOM] = 3
    obs = Observation(45, reach=np.array([0b00011, 0], np.uint8), last_purchase=np.array([15, NEVER], np.int32),
                      first_purchase=np.array([-15, NEVER], np.int32), frequency=np.array([3, 0], np.int16),
                      monetary=np.array([500.0, 0.0], np.float32), last_contact=np.array([43, NEVER], np.int32),
                      last_flags=np.array([FLAG_DELIVERED | FLAG_OPENED, 0], np.uint8),
                      active_slot=np.array([2, -1], np.int8), month_count=month, tier=np.array([1, 0], np.int8),
                      caps=np.full(N_CHANNELS, 4))
    f = dict(zip(FEATURES, encode(obs)[0]))
    g = dict(zip(FEATURES, encode(obs)[1]))
    assert f["recency_90d"] == pytest.approx(30 / 90) and f["recency_per_interval"] == pytest.approx(2 / 4)
    assert f["has_interval"] == 1 and f["never_bought"] == 0 and g["never_bought"] == 1 and g["recency_log"] == 1
    assert f["contact_gap_30d"] == pytest.approx(2 / 30) and g["never_contacted"] == 1
    assert f["tier_1"] == 1 and f["tier_0"] == 0 and g["tier_0"] == 1
    assert f["last_delivered"] == f["last_opened"] == 1 and f["last_bought"] == 0
    assert f["active_slot_evening"] == 1 and g["active_slot_none"] == 1
    assert f["reach_wecom"] == f["reach_group"] == 1 and f["reach_moments"] == 0
    assert f["cap_left_wecom"] == pytest.approx(1 / 4) and f["cap_left_sms"] == 1
    assert f["cap_window_phase"] == pytest.approx(15 / 30)
    assert f["frequency_log"] == pytest.approx(np.log1p(3) / np.log1p(50), rel=1e-6)
