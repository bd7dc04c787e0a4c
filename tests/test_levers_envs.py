"""The RL envs understand the levers (``levers=True``): ask and invitation actions, their masks, the calendar.

A mask must forbid exactly what the engine would reject: actions sampled from the masks pass the engine's
own validation (``invalid_action="raise"``) day after day; the old spaces stay as they were.
"""

from __future__ import annotations

import numpy as np
from gymnasium.utils.env_checker import check_env

from sim import load_scenario
from sim.defaults import INVITE_PAID, INVITE_WECOM_GIFT, INVITES, S
from sim.envs.batch import CustomerBatch
from sim.envs.customer import CustomerEnv
from sim.envs.encoding import (ACTION_NVEC, ACTION_NVEC_LEVERS, LEVER_FEATURES, N_FEATURES, MASK_SIZE,
                               MASK_SIZE_LEVERS)
from sim.envs.pool import DECISION_NVEC_LEVERS, KPIS, LEVER_KPIS, SEGMENTS, PoolEnv

SEED = 7


def _sample(masks: np.ndarray, nvec: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One allowed value per component and row, uniformly among those the mask allows."""
    out = np.zeros((masks.shape[0], len(nvec)), np.int64)
    lo = 0
    for k, size in enumerate(nvec):
        scores = np.where(masks[:, lo:lo + size], rng.random((masks.shape[0], size)), -1.0)
        out[:, k] = scores.argmax(axis=1)
        lo += size
    return out


def test_actions_the_lever_masks_allow_pass_the_engines_validation():
    batch = CustomerBatch(load_scenario("mother_baby"), 3000, invalid_action="raise", levers=True)
    batch.start(SEED)
    rng = np.random.default_rng(SEED)
    invited = accepted = 0.0
    for _ in range(10):
        masks = batch.masks()
        assert masks.shape == (3000, MASK_SIZE_LEVERS)
        assert not masks[:, MASK_SIZE + 2 + INVITE_PAID].any()  # mother_baby has no member programme
        out = batch.step(_sample(masks, ACTION_NVEC_LEVERS, rng))  # raises if a mask let through a bad action
        assert not out.invalid.any()
        record = batch.sim._stats.sum(axis=0)
        invited += record[S["invitations"]]
        accepted += record[S["invitations_accepted"]]
    assert batch.obs.shape == (3000, N_FEATURES + len(LEVER_FEATURES))
    assert invited > 1000 and accepted > 0


def test_a_forbidden_invitation_is_dropped_and_flagged():
    batch = CustomerBatch(load_scenario("beauty"), 500, levers=True)
    batch.start(SEED)
    reached = ~batch.masks()[:, MASK_SIZE + 2 + INVITE_WECOM_GIFT]  # WeCom reaches them already (or nothing does)
    actions = np.zeros((500, 5), np.int64)
    actions[:, 0] = 1 + np.argmax(batch.allowed[:, 1:], axis=1)  # some channel that reaches each of them
    actions[:, 4] = INVITE_WECOM_GIFT
    out = batch.step(actions)
    assert 0 < reached.sum() < 500 and (out.invalid == reached).all()


def test_customer_env_with_levers_is_a_valid_gymnasium_env_and_without_is_unchanged():
    env = CustomerEnv("mother_baby", levers=True)
    check_env(env, skip_render_check=True)
    assert tuple(env.action_space.nvec) == tuple(ACTION_NVEC_LEVERS) and len(ACTION_NVEC_LEVERS) == 5
    obs, _ = env.reset(seed=SEED)
    assert obs.shape == (N_FEATURES + len(LEVER_FEATURES),) and env.action_masks().shape == (MASK_SIZE_LEVERS,)
    plain = CustomerEnv("mother_baby")
    assert tuple(plain.action_space.nvec) == tuple(ACTION_NVEC)
    assert plain.observation_space.shape == (N_FEATURES,)


def test_pool_env_with_levers_invites_and_sees_the_calendar():
    env = PoolEnv("mother_baby", customers=3000, levers=True)
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (len(KPIS) + len(LEVER_KPIS),)
    env.reset(seed=SEED)
    plan = np.tile([2, 2, 0, INVITES.index("wecom_gift"), 0], len(SEGMENTS))  # weekly notices carrying the invite
    assert env.action_space.contains(plan) and len(DECISION_NVEC_LEVERS) == 5
    kpis, *_ = env.step(plan)
    assert kpis[len(KPIS) + 2] > 0  # accepted invitations last week
