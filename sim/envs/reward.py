"""Per-customer reward of the RL environments: the day's net profit, optionally shaped by a potential.

The engine writes each customer's net profit of the day (margin minus incentive and contact cost)
into a buffer; :class:`RewardMeter` scales it and, with ``residual_shaping``, adds the potential-based
term ``gamma * Phi(s') - Phi(s)`` where the potential Phi is a closed-form proxy of the customer's
future margin (:meth:`Simulation.potential_rows`; any potential keeps the optimal policy) and
``gamma`` the learner's daily discount (Ng, Harada and Russell, 1999). The agent is paid at once for
what raises the pool's future value (salience, trust, reach) and charged at once for what burns it
(unsubscribes, dropout), yet the optimal policy is that of the unshaped reward: the discounted sum of
shaped rewards is the discounted profit plus ``gamma**T Phi(s_T) - Phi(s_0)``, and the first term does
not depend on the policy. Without the discount in the shaping term (``gamma * Phi(s') - Phi(s)`` with
gamma = 1) an agent would earn about ``(1 - gamma) Phi`` a day merely for keeping salience high.
Rewards are computed from hidden state, as the metric is; the agent's observation never is.

Rewards are in units of one typical order's margin (``reward_scale`` = 1 / (median order value x
gross margin rate)), so a purchase is worth about 1.
"""

from __future__ import annotations

import numpy as np

from sim.config import Scenario
from sim.engine import Simulation


SHAPING_GAMMA = 0.99
"""Default daily discount of the shaping term: stable-baselines3's default ``gamma``. Match it to the learner's."""


def reward_scale(scenario: Scenario) -> float:
    """Reward units per yuan: one over the margin of a median order."""
    return 1.0 / (scenario.population.order_value_median * scenario.economics.gross_margin_rate)


def potential_rows(sim: Simulation, out: np.ndarray | None = None) -> np.ndarray:
    """Shaping potential of each customer (yuan; :meth:`Simulation.potential_rows`)."""
    return sim.potential_rows(out)


class RewardMeter:
    """Turns the engine's per-customer profit of a day into the agents' reward (see module doc)."""

    def __init__(self, scale: float, residual_shaping: bool, gamma: float = SHAPING_GAMMA) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"shaping gamma must be in (0, 1], got {gamma}")
        self.scale = float(scale)
        self.residual_shaping = bool(residual_shaping)
        self.gamma = float(gamma)
        """The learner's daily discount, used in the shaping term."""
        self.profit = np.zeros(0, np.float64)
        """Buffer the engine writes each customer's net profit of the day into (yuan)."""
        self._residual = np.zeros(0, np.float64)
        self._after = np.zeros(0, np.float64)

    def start(self, sim: Simulation) -> None:
        """Size the buffers for ``sim`` and take the potential before the first step."""
        self.profit = np.zeros(sim.n, np.float64)
        self._residual = np.zeros(sim.n, np.float64)
        self._after = np.zeros(sim.n, np.float64)
        if self.residual_shaping:
            potential_rows(sim, self._residual)

    def settle(self, sim: Simulation) -> np.ndarray:
        """Rewards of the day just stepped (float32, per customer, in reward units)."""
        return (self.settle_yuan(sim) * self.scale).astype(np.float32)

    def settle_yuan(self, sim: Simulation) -> np.ndarray:
        """Rewards of the day just stepped before scaling (float64, per customer, yuan)."""
        r = self.profit.copy()
        if self.residual_shaping:
            potential_rows(sim, self._after)
            r += self.gamma * self._after - self._residual
            self._residual, self._after = self._after, self._residual
        return r

    def refresh(self, sim: Simulation, rows: np.ndarray) -> None:
        """Re-take the potential of ``rows`` after they were redrawn as new customers."""
        if self.residual_shaping and rows.size:
            potential_rows(sim, self._after)
            self._residual[rows] = self._after[rows]
