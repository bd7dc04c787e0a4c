"""A Mesa view of a siyu pool: agents and a DataCollector over the engine, not a second model.

Mesa users get the API they know (``model.step()``, ``model.agents``, ``DataCollector``) while the
dynamics stay in the numba kernels: :class:`PoolModel` steps one :class:`sim.Simulation` a day at a
time, and each :class:`CustomerAgent` is a window onto one row of the engine's state, for a sample of
customers small enough to inspect one by one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from policies.base import Policy
from sim.config import Scenario
from sim.defaults import STAGES
from sim.engine import Simulation
from sim.extras import require

require("mesa", "agents.mesa_model (the Mesa adapter)")
import mesa  # noqa: E402  (after the check, so a missing Mesa is named in one line)

MODEL_REPORTERS = ("reachable", "dropped", "active_buyers", "revenue", "contacts", "opens", "purchases",
                   "unsubscribes", "groups_alive", "acquired")
"""Daily pool KPIs collected at model level."""


class CustomerAgent(mesa.Agent):
    """One customer, read live from the engine's arrays (hidden state included, for analysis)."""

    def __init__(self, model: "PoolModel", row: int) -> None:
        super().__init__(model)
        self.row = row

    def _get(self, field: str) -> Any:
        return getattr(self.model.simulation.state, field)[self.row].item()

    @property
    def salience(self) -> float:
        """How present the brand is in the customer's mind (hidden from policies)."""
        return self._get("salience")

    @property
    def fatigue(self) -> float:
        """Accumulated annoyance (hidden from policies)."""
        return self._get("fatigue")

    @property
    def trust(self) -> float:
        """Trust in the brand (hidden from policies)."""
        return self._get("trust")

    @property
    def tier(self) -> int:
        """Member tier (CRM-visible)."""
        return self._get("tier")

    @property
    def stage(self) -> str:
        """5A stage name."""
        return STAGES[self._get("stage")]

    @property
    def reachable(self) -> bool:
        """Whether any channel still reaches the customer."""
        return self._get("reach") != 0


class PoolModel(mesa.Model):
    """Mesa model over one simulated pool played by ``policy``; collects KPIs every day."""

    def __init__(self, scenario: Scenario, policy: Policy, customers: int | None = None, seed: int = 0,
                 agent_sample: int = 200) -> None:
        super().__init__(seed=seed)
        self.simulation = Simulation(scenario, customers, seed)
        self.policy = policy
        policy.reset(self.simulation.n, seed)
        n = min(agent_sample, self.simulation.customers)
        for row in np.linspace(0, self.simulation.customers - 1, n).astype(int) if n else []:
            CustomerAgent(self, int(row))
        self._today: dict[str, float] = {k: 0.0 for k in MODEL_REPORTERS}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m._today[k]) for k in MODEL_REPORTERS},
            agent_reporters={"salience": "salience", "fatigue": "fatigue", "trust": "trust", "tier": "tier"},
        )

    def step(self) -> None:
        """One day: the policy acts on the CRM view, the engine advances, the collector records."""
        from sim.defaults import S
        sim = self.simulation
        blocks = sim.step(self.policy.act(sim.observe()))
        row = blocks.sum(axis=0)
        self._today = {k: float(row[S[k]]) for k in MODEL_REPORTERS}
        self.datacollector.collect(self)
