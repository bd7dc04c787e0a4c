"""Turn a policy reference from the CLI or an experiment file into a policy object.

A reference is a baseline name (``fatigue_capped``), a TOML file naming a baseline and its
parameters, or a ``prefix:argument`` handled by a registered loader (e.g. ``rl:DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from policies.base import Policy
from policies.baselines import BASELINES
from sim.config import ConfigError, path_exists, read_toml, short, validate_model

LOADERS: dict[str, Callable[[str], Policy]] = {}
"""Loaders for ``prefix:argument`` references, by prefix."""
CHECKS: dict[str, Callable[[str], object]] = {}
"""Checks of ``prefix:argument`` references that load nothing (reading a spec never loads a model)."""


def policy_names() -> list[str]:
    """Names of the built-in baselines."""
    return sorted(BASELINES)


def make_policy(kind: str, params: dict[str, Any] | None = None, name: str | None = None,
                source: str = "policy") -> Policy:
    """A baseline by kind, with parameters validated against its ``Params`` model."""
    if kind not in BASELINES:
        raise ConfigError(f"{source}: unknown policy '{short(kind)}'; baselines: {', '.join(policy_names())}"
                          + (f"; prefixes: {', '.join(p + ':' for p in sorted(LOADERS))}" if LOADERS else ""))
    cls = BASELINES[kind]
    model = validate_model(cls.Params, params or {}, f"{source} [params]")
    try:
        policy = cls(model, name=name)
        _probe(policy)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return policy


def _probe(policy: Any) -> None:
    """Resolve channel, content and slot names now, so a typo fails before the run."""
    from policies.base import channel_codes, content_code, slot_code
    p = policy.params
    for field in ("channels",):
        if hasattr(p, field):
            channel_codes(getattr(p, field))
    for field in ("content", "offer"):
        if hasattr(p, field):
            content_code(getattr(p, field))
    for field in ("slot", "default_slot"):
        if hasattr(p, field):
            slot_code(getattr(p, field))


def load_policy(ref: str) -> Policy:
    """A policy from a baseline name, a TOML path, or a ``prefix:argument`` reference."""
    ref = ref.strip()
    if ref in BASELINES:
        return make_policy(ref)
    prefix, sep, arg = ref.partition(":")
    if sep and prefix in LOADERS:
        return LOADERS[prefix](arg)
    if ref.endswith(".toml") or path_exists(ref):
        data = read_toml(Path(ref))
        kind = data.get("policy")
        if not isinstance(kind, str):
            raise ConfigError(f"{short(ref, 200)}: needs a top-level `policy = \"NAME\"` naming a baseline "
                              f"({', '.join(policy_names())})")
        unknown = sorted(set(data) - {"policy", "name", "params"})
        if unknown:
            raise ConfigError(f"{short(ref, 200)}: unknown keys {short(', '.join(unknown))}; "
                              "allowed: policy, name, params")
        name = data.get("name", Path(ref).stem)
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise ConfigError(f"{short(ref, 200)}: name = {short(repr(name))}: a text of 1 to 100 characters")
        return make_policy(kind, data.get("params", {}), name, source=short(ref, 200))
    raise ConfigError(f"unknown policy '{short(ref)}'; baselines: {', '.join(policy_names())}, "
                      "or a TOML file naming one"
                      + (f", or {', '.join(p + ':PATH' for p in sorted(LOADERS))}" if LOADERS else ""))
