"""A rule's declared search space as Optuna distributions, and trial parameters back to policy parameters.

Each searched field carries its range in its metadata (:func:`policies.base.search_space`); this
module only translates. A tuple field (``offer_window``) becomes one Optuna parameter per element,
named ``offer_window[0]``, ``offer_window[1]``; a choice among lists (channel orders) is offered to
Optuna as JSON text, since Optuna's choices must be scalars.
"""

from __future__ import annotations

import json
import math
from typing import Any

from policies.base import search_space
from policies.baselines import BASELINES

Spec = dict[str, Any]
"""One declared range: ``{"type": "int"|"float", "low", "high", "log"}``, ``{"type": "categorical", "choices"}``
or ``{"type": "tuple", "items": [Spec, ...]}``."""


def flat_space(kind: str) -> dict[str, Spec]:
    """Optuna parameter name -> scalar range of the policy ``kind`` (tuples split per element)."""
    out: dict[str, Spec] = {}
    for name, spec in search_space(BASELINES[kind].Params).items():
        if spec["type"] == "tuple":
            out.update({f"{name}[{i}]": item for i, item in enumerate(spec["items"])})
        else:
            out[name] = spec
    return out


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _as_json(spec: Spec) -> bool:
    """Whether a categorical range is offered to Optuna as JSON text (some choice is not a scalar)."""
    return spec["type"] == "categorical" and not all(_scalar(c) for c in spec["choices"])


def choices(spec: Spec) -> list[Any]:
    """The choices of a categorical range as Optuna sees them."""
    return [json.dumps(c) for c in spec["choices"]] if _as_json(spec) else list(spec["choices"])


def encode(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Policy parameters -> Optuna parameters (to enqueue the defaults as the first trial)."""
    out = {}
    for name, spec in flat_space(kind).items():
        field, _, index = name.partition("[")
        value = params[field][int(index[:-1])] if index else params[field]
        out[name] = json.dumps(value) if _as_json(spec) else value
    return out


def decode(kind: str, trial_params: dict[str, Any]) -> dict[str, Any]:
    """Optuna parameters -> every parameter of ``kind`` (unsearched ones at their defaults), JSON-native."""
    params = BASELINES[kind].Params().model_dump(mode="json")
    tuples: dict[str, dict[int, Any]] = {}
    for name, spec in flat_space(kind).items():
        value = trial_params[name]
        value = json.loads(value) if _as_json(spec) else value
        if spec["type"] == "float" and spec.get("step"):
            value = round(value, 9)  # low + k * step, without the binary fraction's tail (0.6500000000000001)
        field, _, index = name.partition("[")
        if index:
            tuples.setdefault(field, {})[int(index[:-1])] = value
        else:
            params[field] = value
    for field, items in tuples.items():
        params[field] = [items[i] for i in sorted(items)]
    return params


def _limits(kind: str, field: str) -> tuple[float, float]:
    """The range a parameter may take at all (its ``ge``/``le`` validation), +-inf where open."""
    lo, hi = -math.inf, math.inf
    for m in BASELINES[kind].Params.model_fields[field].metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    return lo, hi


def at_edge(kind: str, trial_params: dict[str, Any]) -> list[str]:
    """Numeric parameters on an end of their search range that the range could be widened past.

    Not reported: an end that is also the parameter's limit (tier 3 of 3), and 0, which means "none"
    (no such message, no cool-down), a choice of its own.
    """
    out = []
    for name, spec in flat_space(kind).items():
        value = trial_params[name]
        if spec["type"] not in ("int", "float") or value == 0 or value not in (spec["low"], spec["high"]):
            continue
        if value in _limits(kind, name.partition("[")[0]):
            continue
        end = "low" if value == spec["low"] else "high"
        out.append(f"{name} = {value} ({end} end of {spec['low']}..{spec['high']})")
    return out
