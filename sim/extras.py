"""Optional parts of siyu and the pip extra that installs each, so a missing one is named in one line.

A simulation and ``siyu compare`` need only the core install; training and trained policies need
``siyu[rl]`` (torch, stable-baselines3), the agent view needs ``siyu[mesa]``, ``siyu tune`` needs
``siyu[tune]`` (optuna), ``--backend ray`` needs ``siyu[distributed]`` (Ray).
"""

from __future__ import annotations

import importlib.util
import sys

EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rl": ("RL", ("torch", "stable_baselines3", "sb3_contrib")),
    "mesa": ("Mesa", ("mesa",)),
    "tune": ("tuning", ("optuna",)),
    "distributed": ("Ray", ("ray",)),
}
"""Extra name -> (what people call it, modules it provides)."""


class MissingExtra(ImportError):
    """A command or object needs an optional part that is not installed."""

    def __init__(self, extra: str, needed_by: str) -> None:
        self.extra = extra
        super().__init__(f"{needed_by} needs the {EXTRAS[extra][0]} extra: pip install 'siyu[{extra}]'")


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a ``None`` in sys.modules blocks it)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def require(extra: str, needed_by: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported."""
    if not all(installed(m) for m in EXTRAS[extra][1]):
        raise MissingExtra(extra, needed_by)
