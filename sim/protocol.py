"""The policy protocol, defined once: the engine runs anything that has it, :mod:`policies` implements it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sim.observation import Action, Observation


@runtime_checkable
class Policy(Protocol):
    """Decides each day whom to contact, on which channel, with what and when, from the CRM view only."""

    name: str

    def reset(self, n: int, seed: int) -> None:
        """Prepare for a run over ``n`` customers (seed for any randomness of the policy's own)."""

    def act(self, obs: Observation) -> Action:
        """Today's action for every customer."""
