"""``PoolModel``: a siyu pool as a Mesa model, stepping the engine a day at a time, with no dynamics of its own.

Mesa users get the API they know: ``PoolModel(scenario="beauty", policy="fatigue_capped", seed=1)``,
``model.step()`` (one day), ``model.running`` (false at the horizon), ``model.agents`` (every
customer, group and guide, as views over the engine's arrays: :mod:`agents.views`), a
``DataCollector`` with the pool's daily KPIs, and ``mesa.batch_run`` over preset names. The numbers
are the engine's: ``model.summary()`` is the ``summary.json`` of ``siyu run`` for the same
scenario, policy, seed, size and days.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from agents.collect import PoolDataCollector
from agents.views import AgentCache, CustomerAgent, GroupAgent, PoolAgent, RowSet, StaffAgent
from policies import load_policy
from sim._threads import engine_threads
from sim.config import Scenario, load_scenario
from sim.defaults import STAGES, STAT_NAMES, S
from sim.engine import MAX_DAYS, Ledger, RunResult, Simulation, net_profit
from sim.extras import require
from sim.guard import whole_number
from sim.protocol import Policy

require("mesa", "agents.mesa_model (the Mesa adapter)")
import mesa  # noqa: E402  (after the check, so a missing Mesa is named in one line)

DEFAULT_DAYS = 180
"""Horizon when none is given: the default ``--days`` of ``siyu run`` (scenarios carry no horizon)."""
DERIVED = ("net_profit", "cumulative_net_profit", "pool_size", "group_heat_mean")
"""Daily series of ``daily.csv`` computed from the day's statistics (as in :class:`sim.engine.RunResult`)."""
DAILY = ("day",) + STAT_NAMES + DERIVED
"""Model reporters: every column of the ``daily.csv`` of ``siyu run``, one row per day."""
POOL_KPIS = ("reachable", "active_buyers", "revenue", "net_profit", "cumulative_net_profit", "contacts", "opens",
             "purchases", "unsubscribes", "complaints", "groups_alive", "group_heat_mean", "pool_size")
"""The headline daily KPIs (what the explorer plots)."""
STAGE_REPORTERS = tuple(f"stage_{name}" for name in STAGES)
"""Model reporters counting active customers in each 5A stage (per-customer state, aggregated)."""
SUMMARY = ("total_value", "net_profit", "residual_value", "revenue", "gross_margin", "incentive_cost", "contact_cost",
           "purchases", "contacts", "opens", "unsubscribes", "complaints", "acquired", "reachable_end", "active_end",
           "open_rate")
"""Headline fields of ``summary.json``, reported as ``summary_<field>`` on the horizon's last day (NaN before:
the residual value costs a pass over the pool), so ``batch_run`` rows carry the run's summary."""
GROUP_REPORTERS = ("heat", "members", "alive", "damage")
"""Per-group state recorded each day (agent-type reporters of :class:`GroupAgent`)."""
STAFF_REPORTERS = ("quality",)
"""Per-guide state recorded each day (agent-type reporters of :class:`StaffAgent`)."""
CUSTOMER_REPORTERS = ("salience", "fatigue", "trust", "tier", "stage", "reachable")
"""Per-customer state recorded each day for the ``tracked`` customers (:class:`TrackedCustomer`)."""


class TrackedCustomer(CustomerAgent):
    """A customer whose state the DataCollector records every day (a sample spread over the rows)."""

    @classmethod
    def count(cls, model: PoolModel) -> int:
        """How many customers are tracked."""
        return int(model.tracked_rows.shape[0])


def _given_seed(seed: Any, rng: Any) -> int | None:
    """The engine seed given as ``seed=`` or as an int ``rng=`` (None: to be drawn from Mesa's ``rng``)."""
    if seed is not None and rng is not None:
        raise ValueError("you have to pass either rng or seed, not both")
    if seed is not None:
        return whole_number("seed", seed, 0, 2**63 - 1)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return whole_number("rng", rng, 0, 2**63 - 1)
    return None


def resolve_scenario(scenario: str | Path | Scenario) -> Scenario:
    """A scenario object, a preset name or a TOML path, resolved like ``siyu run --scenario``."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise TypeError(f"scenario must be a preset name, a TOML path or a Scenario, got {type(scenario).__name__}")


def resolve_policy(policy: str | Path | Policy) -> Policy:
    """A policy object, a baseline name, a TOML path or a ``prefix:ARG`` reference, like ``siyu run --policy``."""
    if isinstance(policy, (str, Path)):
        return load_policy(str(policy))
    if callable(getattr(policy, "act", None)) and callable(getattr(policy, "reset", None)):
        return policy
    raise TypeError(f"policy must be a name, a TOML path or a policy object, got {type(policy).__name__}")


class PoolModel(mesa.Model):
    """A simulated pool played by a policy, as a Mesa model.

    Args:
        scenario: preset name, TOML path or :class:`~sim.config.Scenario` (as ``siyu run --scenario``).
        policy: baseline name, policy TOML, ``prefix:ARG`` or a policy object (as ``siyu run --policy``).
        customers: initial pool size (None: the scenario's).
        days: horizon; ``running`` turns false after this many steps (stepping on is allowed).
        seed: the run's seed; the engine uses it as ``siyu run --seed`` does.
        rng: Mesa's alternative to ``seed``: an int is used as the seed; a Generator or None has the
            seed drawn from it. With neither, the seed is drawn from fresh entropy and kept in ``seed``.
        tracked: customers (spread over the rows) whose state the DataCollector records every day.

    Attributes:
        simulation: the engine (:class:`~sim.engine.Simulation`).
        seed: the seed the engine runs on (drawn if none was given).
        customers, groups, staff: every customer, group and guide as a :class:`~agents.views.RowSet`.
    """

    def __init__(self, scenario: str | Path | Scenario = "beauty", policy: str | Path | Policy = "fatigue_capped",
                 customers: int | None = None, days: int = DEFAULT_DAYS, seed: int | None = None,
                 rng: Any = None, tracked: int = 0) -> None:
        """Resolve the inputs, draw the population and reset the policy (day 0, nothing simulated yet)."""
        given = _given_seed(seed, rng)  # checked first: Mesa's own error for a negative seed names neither
        super().__init__(seed=seed, rng=rng)
        self.scenario = resolve_scenario(scenario)
        self.policy = resolve_policy(policy)
        self.days = whole_number("days", days, 1, MAX_DAYS)
        self.seed = given if given is not None else int(self.rng.integers(2**63 - 1))
        self.simulation = Simulation(self.scenario, customers, self.seed)
        self.policy.reset(self.simulation.n, self.seed)
        tracked = whole_number("tracked", tracked, 0, self.simulation.customers)
        self.tracked_rows = np.unique(np.linspace(0, self.simulation.customers - 1, tracked).astype(np.int64))
        self._cache = AgentCache()
        self.customers = RowSet(self, [(CustomerAgent, None)])
        self.groups = RowSet(self, [(GroupAgent, None)])
        self.staff = RowSet(self, [(StaffAgent, None)])
        self._everyone = RowSet(self, [(CustomerAgent, None), (GroupAgent, None), (StaffAgent, None)])
        self._ledger = Ledger(self.simulation.n_blocks, self.days)
        self._summary: dict[str, Any] | None = None
        self.today: dict[str, float] = {}
        """Today's row of ``daily.csv`` (after the latest step), plus the stage counts."""
        self.datacollector = PoolDataCollector(
            model_reporters={**{k: partial(_read_today, key=k) for k in DAILY + STAGE_REPORTERS},
                             **{f"summary_{k}": partial(_read_summary, key=k) for k in SUMMARY}},
            agenttype_reporters={GroupAgent: {k: k for k in GROUP_REPORTERS},
                                 StaffAgent: {k: k for k in STAFF_REPORTERS},
                                 **({TrackedCustomer: {k: k for k in CUSTOMER_REPORTERS}} if tracked else {})},
        )

    # --- Mesa's collections -----------------------------------------------------------------------
    @property
    def agents(self) -> RowSet:
        """Every customer, group and guide, as views over the engine's arrays (made when looked at)."""
        return self._everyone

    @property
    def agent_types(self) -> list[type]:
        """The agent kinds of the model."""
        return list(self.agents_by_type)

    @property
    def agents_by_type(self) -> dict[type, RowSet]:
        """Customers, groups and guides by kind (and the tracked customers when there are any)."""
        kinds: dict[type, RowSet] = {CustomerAgent: self.customers, GroupAgent: self.groups, StaffAgent: self.staff}
        if self.tracked_rows.shape[0]:
            kinds[TrackedCustomer] = RowSet(self, [(TrackedCustomer, self.tracked_rows)])
        return kinds

    def agent(self, kind: type[PoolAgent], row: int) -> PoolAgent:
        """The agent of ``kind`` viewing ``row`` (the same object while anybody holds it)."""
        return self._cache.get(self, kind, row)

    # --- the day ----------------------------------------------------------------------------------
    def step(self) -> None:
        """One day: the policy acts on the CRM view, the engine advances, the collector records."""
        sim = self.simulation
        with engine_threads(sim.n):  # the policy's jitted rules on as many threads as the engine's
            blocks = sim.step(self.policy.act(sim.observe()))
        self.today = self._today(self._ledger.add(blocks))
        self.running = self._ledger.days < self.days
        self._summary = None if self.running else self.summary()
        self.datacollector.collect(self)

    def _today(self, row: np.ndarray) -> dict[str, float]:
        """The day's ``daily.csv`` row, derived as :meth:`RunResult.build` derives it, and the stage counts."""
        today = {name: float(row[S[name]]) for name in STAT_NAMES}
        previous = self.today.get("cumulative_net_profit", 0.0)
        today["day"] = self.simulation.day - 1
        today["net_profit"] = float(net_profit(row))
        today["cumulative_net_profit"] = previous + today["net_profit"]
        today["pool_size"] = today["reachable"] + today["unreachable"]
        today["group_heat_mean"] = today["group_heat_sum"] / max(today["groups_alive"], 1.0)
        st, joined = self.simulation.state, self.simulation.joined
        key = st.status[:joined] * np.uint8(len(STAGES)) + st.stage[:joined].view(np.uint8)  # one pass, no mask
        counts = np.bincount(key, minlength=len(STAGES))[: len(STAGES)]  # status 0 (active) comes first
        today.update({name: int(counts[i]) for i, name in enumerate(STAGE_REPORTERS)})
        return today

    # --- results ----------------------------------------------------------------------------------
    def result(self) -> RunResult:
        """The run so far as the engine's :class:`~sim.engine.RunResult` (summary, daily series, block totals)."""
        if not self._ledger.days:
            raise ValueError("the model has not been stepped: no day to summarise")
        return RunResult.build(self.simulation, self.policy.name, self._ledger.days, self._ledger.daily(),
                               self._ledger.block_totals(self.simulation.n_blocks),
                               self.simulation.residual_blocks())

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` of ``siyu run`` for the days stepped so far."""
        return self.result().summary


def _read_today(model: PoolModel, key: str) -> Any:
    """One key of :attr:`PoolModel.today` (bound with ``functools.partial``: picklable, unlike a lambda)."""
    return model.today[key]


def _read_summary(model: PoolModel, key: str) -> Any:
    """One field of the run's summary on the horizon's last day; NaN on the days before."""
    return float("nan") if model._summary is None else model._summary[key]


__all__ = ["PoolModel", "TrackedCustomer", "CustomerAgent", "GroupAgent", "StaffAgent", "resolve_scenario",
           "resolve_policy", "DAILY", "POOL_KPIS", "DEFAULT_DAYS"]
