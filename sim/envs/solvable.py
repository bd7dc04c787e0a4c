"""An exactly solvable pool: the optimal contact policy by value iteration, to measure learners against.

The scenario (``solvable.toml``) runs on the ordinary engine kernels, but every customer is the same
person and the only state that moves profit is ``(need clock, reach mask)``: salience, trust and deal
waiting are switched off (floors at 1, no lure or deal learning, no dropout), fatigue is forgotten
overnight (so it only scales today's contact by the content's hardness), the brand wins every need
occasion (so the need clock restarts at every purchase), one channel reaches, its cap never binds.

What makes the comparison honest:

* **No second model.** Transition probabilities and rewards are *estimated by the engine*: for every
  state and action, a large population is placed in that state and stepped one day by
  :meth:`Simulation.step` (:func:`estimate_mdp`). Nothing here restates the dynamics.
* **No aggregation error.** The tabulated state is the engine's whole profit-relevant state, not a
  bucketing of it, so the estimated MDP differs from the true one only by sampling error (40,000 draws
  per state and action). :func:`model_value` predicts the optimal value of an evaluation population from
  the table; the benchmark checks it against the engine-measured value of the same policy, which
  would disagree if the state were not Markov.
* **Same information.** The optimal policy (:class:`TablePolicy`) acts on the CRM record only: the
  need clock is recency, less one day once the customer has bought during the run (the engine restarts
  the clock on the day of a purchase). The learner sees the same record; it cannot tell the one-day
  offset of customers who have not bought yet, a small handicap counted against it.
* **Same yardstick.** Every policy (optimal, learned, rules) is measured the same way: the mean
  discounted net profit per customer (discount ``GAMMA`` per day, 1,000 days, so the cut-off tail is
  below 0.01 %) in the engine, on held-out seeds with common random numbers (:func:`discounted_values`).
  The reported optimum is that engine measurement of the value-iteration policy, a lower bound of the
  true optimum within sampling error; the table's own prediction is reported next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import Scenario, load_scenario
from sim.defaults import CHANNELS, N_CONTENTS, N_SLOTS
from sim.engine import PolicyLike, Simulation
from sim.envs.encoding import decode
from sim.envs.reward import RewardMeter
from sim.observation import UNKNOWN_DAYS, Action, Observation
from sim.state import State

SCENARIO_PATH = Path(__file__).with_name("solvable.toml")
"""The scenario file (usable anywhere a scenario path is: ``--scenario``, ``gym.make(..., scenario=)``)."""
GAMMA = 0.99
"""Daily discount of the solvable objective (the same as the learners')."""
EVAL_DAYS = 1000
"""Days per evaluation run; GAMMA ** EVAL_DAYS < 1e-4."""


def solvable_scenario() -> Scenario:
    """The solvable scenario."""
    return load_scenario(SCENARIO_PATH)


@dataclass
class TabularMDP:
    """The solvable pool as a finite MDP: states ``(need clock, reach mask)``, agent actions."""

    clock_max: int
    """Largest need clock tabulated (the brand has surely sold by then)."""
    masks: tuple[int, ...]
    """Reach masks, in state order."""
    actions: np.ndarray
    """(A, 3) agent actions ``(channel + 1, content, slot)``; row 0 is no contact."""
    P: np.ndarray
    """(S, A, S) estimated transition probabilities (rows of invalid actions are zero)."""
    R: np.ndarray
    """(S, A) estimated expected net profit of the day (yuan)."""
    valid: np.ndarray
    """(S, A) whether the engine accepts the action in the state."""

    def state(self, clock: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """State indices of need clocks and reach masks."""
        m = np.searchsorted(np.asarray(self.masks), mask)
        return m * (self.clock_max + 1) + np.minimum(clock, self.clock_max)


def all_actions() -> np.ndarray:
    """Every agent action: no contact, then channel x content x slot (absolute slots)."""
    grid = np.array([(c + 1, k, s + 1) for c in range(len(CHANNELS)) for k in range(N_CONTENTS)
                     for s in range(N_SLOTS)])
    return np.vstack([[0, 0, 0], grid]).astype(np.int64)


def estimate_mdp(scenario: Scenario, samples: int = 40_000, clock_max: int = 120, seed: int = 0,
                 shaping_gamma: float | None = None) -> TabularMDP:
    """Tabulate transitions and rewards by stepping the engine from every state under every action.

    For each state, ``samples`` customers per valid action are placed in it and stepped one day,
    each group under its action, in one engine call. Reach masks are discovered from the starting
    population and from where actions lead, so the table closes over every reachable mask. With
    ``shaping_gamma`` the rewards are the environments' shaped ones (:class:`~sim.envs.reward.RewardMeter`
    with residual shaping at that discount), in yuan.
    """
    actions = all_actions()
    pool = Simulation(scenario, samples * len(actions), seed).state
    masks = sorted({int(m) for m in np.unique(pool.reach)})
    rows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    todo = list(masks)
    while todo:
        mask = todo.pop()
        ok = np.array([a[0] == 0 or bool((mask >> (a[0] - 1)) & 1) for a in actions])
        chosen = np.flatnonzero(ok)
        for clock in range(clock_max + 1):
            key = seed + 1 + len(rows)
            next_clock, next_mask, profit = _one_day(scenario, pool, samples, clock, mask, actions[chosen], key,
                                                     shaping_gamma)
            if next_clock.max() > clock_max:
                raise ValueError(f"need clock passed clock_max={clock_max}; tabulate more days")
            for m in np.unique(next_mask):
                if int(m) not in masks:
                    masks.append(int(m))
                    todo.append(int(m))
            rows[(mask, clock)] = (chosen, next_clock, next_mask, profit)
    mdp = TabularMDP(clock_max, tuple(sorted(masks)), actions, np.zeros(0), np.zeros(0), np.zeros(0, bool))
    n_states = len(masks) * (clock_max + 1)
    mdp.P = np.zeros((n_states, len(actions), n_states))
    mdp.R = np.zeros((n_states, len(actions)))
    mdp.valid = np.zeros((n_states, len(actions)), bool)
    for (mask, clock), (chosen, next_clock, next_mask, profit) in rows.items():
        s = int(mdp.state(np.array(clock), np.array(mask)))
        nxt = mdp.state(next_clock, next_mask).reshape(len(chosen), samples)
        for j, a in enumerate(chosen):
            mdp.P[s, a] = np.bincount(nxt[j], minlength=n_states) / samples
        mdp.R[s, chosen] = profit.reshape(len(chosen), samples).mean(axis=1)
        mdp.valid[s, chosen] = True
    return mdp


def _one_day(scenario: Scenario, pool: State, samples: int, clock: int, mask: int, actions: np.ndarray,
             seed: int, shaping_gamma: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place ``samples`` customers per action in ``(clock, mask)`` and step them one day in one call."""
    n = samples * len(actions)
    state = State(**{k: v[:n].copy() for k, v in pool.arrays().items()})
    state.need_clock[:] = clock
    state.last_purchase[:] = -clock - 1
    state.reach[:] = mask
    sim = Simulation(scenario, n, seed, state=state)
    meter = RewardMeter(1.0, shaping_gamma is not None, shaping_gamma or 1.0)
    meter.start(sim)
    sim.step(decode(np.repeat(actions, samples, axis=0), sim.observe()), reward=meter.profit)
    return state.need_clock.astype(np.int64), state.reach.astype(np.int64), meter.settle_yuan(sim)


def value_iteration(mdp: TabularMDP, gamma: float = GAMMA, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values (yuan) and the optimal action index of every state.

    The transitions go in as a sparse matrix: a day moves a state to a few others (about 0.1% of the
    table is non-zero), and thousands of sweeps at a discount near 1 took half a minute dense.
    """
    from scipy.sparse import csr_array

    S, A = mdp.R.shape
    P = csr_array(mdp.P.reshape(S * A, S))
    V = np.zeros(S)
    while True:
        Q = np.where(mdp.valid, mdp.R + gamma * (P @ V).reshape(S, A), -np.inf)
        V_new = Q.max(axis=1)
        if np.max(np.abs(V_new - V)) < tol:
            return V_new, Q.argmax(axis=1)
        V = V_new


def crm_clock(obs: Observation) -> np.ndarray:
    """The need clock from the CRM record: recency, less one day after a purchase during the run."""
    rec = obs.recency.astype(np.int64)
    bought_in_run = (rec < UNKNOWN_DAYS) & (obs.day - rec >= 0)
    return np.where(bought_in_run, rec - 1, rec)


class TablePolicy:
    """The value-iteration policy, acting on the CRM record (need clock from recency, reach mask)."""

    def __init__(self, mdp: TabularMDP, best: np.ndarray, name: str = "optimal") -> None:
        self.mdp = mdp
        self.best = best
        self.name = name

    def reset(self, n: int, seed: int) -> None:
        """Stateless."""

    def act(self, obs: Observation) -> Action:
        """The optimal action of each customer's state."""
        s = self.mdp.state(crm_clock(obs), obs.reach.astype(np.int64))
        return decode(self.mdp.actions[self.best[s]], obs)


def discounted_values(scenario: Scenario, policy: PolicyLike, seeds: list[int], customers: int = 20_000,
                      days: int = EVAL_DAYS, gamma: float = GAMMA) -> np.ndarray:
    """Mean discounted net profit per customer (yuan) of ``policy``, one value per seed."""
    weights = gamma ** np.arange(days)
    out = []
    for seed in seeds:
        result = Simulation(scenario, customers, seed).run(policy, days)
        out.append(float(weights @ result.daily["net_profit"]) / customers)
    return np.array(out)


def model_value(mdp: TabularMDP, V: np.ndarray, scenario: Scenario, seeds: list[int],
                customers: int = 20_000) -> np.ndarray:
    """The table's prediction of the optimal value of each seed's starting population."""
    out = []
    for seed in seeds:
        st = Simulation(scenario, customers, seed).state
        out.append(float(V[mdp.state(st.need_clock.astype(np.int64), st.reach.astype(np.int64))].mean()))
    return np.array(out)
