"""Who the population is: the Mesa view of a pool (``PoolModel``) and its agents over the engine's arrays.

``from agents import PoolModel`` needs the ``[mesa]`` extra; importing ``agents`` alone does not.
"""

from __future__ import annotations

from typing import Any

EXPLORER_MODULES = ("mesa", "solara", "altair", "matplotlib", "networkx")
"""What the explorer page (``siyu explore``) imports; all in the ``[mesa]`` extra."""

_EXPORTS = {"PoolModel": "agents.mesa_model", "TrackedCustomer": "agents.mesa_model",
            "CustomerAgent": "agents.views", "GroupAgent": "agents.views", "StaffAgent": "agents.views",
            "RowSet": "agents.views"}


def require_explorer(needed_by: str = "siyu explore") -> None:
    """Raise :class:`~sim.extras.MissingExtra` (one line; exit 3 on the CLI) unless the explorer can be built."""
    from sim.extras import MissingExtra, installed
    if not all(installed(m) for m in EXPLORER_MODULES):
        raise MissingExtra("mesa", needed_by)


def __getattr__(name: str) -> Any:
    """Import the Mesa adapter on first use, so a core install can import ``agents`` without Mesa."""
    if name in _EXPORTS:
        import importlib
        try:
            module = importlib.import_module(_EXPORTS[name])
        except AttributeError as exc:  # would read as "cannot import name" otherwise
            raise ImportError(f"importing {_EXPORTS[name]} failed: {exc}") from exc
        return getattr(module, name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


__all__ = [*_EXPORTS, "EXPLORER_MODULES", "require_explorer"]
