"""Experiment specs: a TOML file naming a scenario (with overrides), policies, seeds, sizes and a grid.

A spec is validated like a scenario (pydantic; a bad field is reported with the file, its path and
what is allowed) and then resolved into an :class:`Experiment`: every scenario and policy of every
grid point is built up front, so a typo fails before any simulation starts.

Example::

    name = "cadence_vs_coupon"
    scenario = "beauty"                  # preset or TOML path (relative to this file)
    policies = ["no_contact", { name = "cadence", kind = "fixed_cadence", params = { offer_every_days = 14 } }]
    seeds = 5
    customers = 5000
    days = 180
    [overrides]
    "dynamics.lure" = 3.5
    [grid.scenario]
    "contents.coupon.discount" = [0.1, 0.2, 0.3]
    [grid.policies.cadence]
    offer_every_days = [7, 14, 28]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from experiments.stats.comparison import COMPARE_METRICS
from policies import load_policy, make_policy, policy_names
from policies.registry import CHECKS, LOADERS
from sim.config import (STRICT, ConfigError, F, Scenario, apply_overrides, load_scenario, path_exists, preset_names,
                        read_toml, short, validate_model)
from sim.engine import code_version

MetricName = Literal[COMPARE_METRICS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = STRICT


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted paths: ``{"dynamics": {"lure": 3}}`` -> ``{"dynamics.lure": 3}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


class PolicyEntry(_Strict):
    """One policy: a baseline ``kind`` with ``params``, or a ``ref`` (name, policy TOML, prefix:arg)."""

    name: str | None = Field(None, min_length=1, max_length=100,
                             description="label in tables and plots (default: the kind or file name)")
    kind: str | None = Field(None, max_length=100, description="baseline policy to configure")
    ref: str | None = Field(None, min_length=1, max_length=1024,
                            description="baseline name, policy TOML file, or prefix:argument")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the baseline `kind`")

    @model_validator(mode="after")
    def _one_source(self) -> "PolicyEntry":
        if (self.kind is None) == (self.ref is None):
            raise ValueError("give exactly one of `kind` (a baseline, with `params`) or `ref`")
        if self.ref is not None and self.params:
            raise ValueError("`params` go with `kind`; a `ref` file carries its own")
        return self


class GridSpec(_Strict):
    """Axes of a parameter sweep; every combination of values is one grid point."""

    scenario: dict[str, list[Any]] = Field(default_factory=dict, description="scenario field path -> values")
    policies: dict[str, dict[str, list[Any]]] = Field(
        default_factory=dict, description="policy name -> parameter -> values")

    @field_validator("scenario", mode="before")
    @classmethod
    def _dotted(cls, value: Any) -> Any:
        return flatten(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _non_empty(self) -> "GridSpec":
        lists = list(self.scenario.items()) + [
            (f"{pol}.{param}", vals) for pol, params in self.policies.items() for param, vals in params.items()]
        if not lists:
            raise ValueError("a grid needs at least one axis under [grid.scenario] or [grid.policies.NAME]")
        for name, values in lists:
            if not values:
                raise ValueError(f"grid axis {name} has no values")
        return self


class ExperimentSpec(_Strict):
    """The file format of ``siyu experiment SPEC.toml``."""

    name: str = Field("experiment", pattern=r"^[\w-][\w.-]*$", max_length=64,
                      description="short name: letters, digits, _ . -, not starting with a dot "
                                  "(default output folder runs/NAME)")
    description: str = Field("", max_length=2000, description="one line on the question this experiment answers")
    scenario: str = Field("beauty", min_length=1, max_length=1024,
                          description=f"preset ({', '.join(preset_names())}) or scenario TOML path")
    overrides: dict[str, Any] = Field(default_factory=dict, description="scenario field path -> value")
    policies: list[PolicyEntry] = Field(min_length=1, description="policies to compare; strings are references")
    reference: str | None = Field(None, max_length=1024,
                                  description="policy every other is compared with (default: the first)")
    seeds: int = F(5, "seeds", "number of seeds (common to all policies)", ge=1, le=100_000)
    first_seed: int = F(0, "seed", "first seed; seeds are first_seed, first_seed+1, ...", ge=0, le=2**62)
    customers: int | None = F(None, "customers", "pool size (default: the scenario's)", ge=1, le=50_000_000)
    days: int = F(180, "days", "horizon of each run", ge=1, le=3650)
    metric: MetricName = Field("total_value", description="headline KPI: picks the best policy and the sweep optimum")
    grid: GridSpec | None = Field(None, description="optional parameter sweep")
    realize_residual: bool = Field(False, strict=True, description="also play each run's continuation on the run "
                                   "itself and record residual_realized next to residual_value (a check)")

    @field_validator("overrides", mode="before")
    @classmethod
    def _dotted(cls, value: Any) -> Any:
        return flatten(value) if isinstance(value, dict) else value

    @field_validator("policies", mode="before")
    @classmethod
    def _strings_are_refs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"ref": v} if isinstance(v, str) else v for v in value]
        return value


# --- resolved form -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicySpec:
    """A policy fully resolved: a baseline kind with all its parameters, or an opaque reference."""

    name: str
    kind: str | None
    params: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None

    def build(self) -> Any:
        """A fresh policy object."""
        if self.kind is not None:
            return make_policy(self.kind, self.params, self.name)
        policy = load_policy(str(self.ref))
        policy.name = self.name
        return policy

    def identity(self) -> dict[str, Any]:
        """What makes two runs of this policy the same (part of a run's key)."""
        if self.kind is not None:
            return {"name": self.name, "kind": self.kind, "params": self.params}
        return {"name": self.name, "ref": self.ref, "file": _file_digest(str(self.ref))}

    def describe(self) -> dict[str, Any]:
        """JSON form for ``experiment.json``."""
        return {"name": self.name, "kind": self.kind, "params": self.params, "ref": self.ref}


def _file_digest(ref: str) -> str | None:
    """Hash of the file a reference points to (``rl:DIR``'s model.pt, ``my.toml``), if there is one."""
    for candidate in (ref, ref.partition(":")[2]):
        if not candidate or not path_exists(candidate):
            continue
        path = Path(candidate)
        if path.is_dir() and (path / "model.pt").is_file():
            path = path / "model.pt"  # rl:DIR names the weights written by siyu train
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return None


@dataclass(frozen=True)
class Axis:
    """One sweep axis: a scenario field path or one policy's parameter, and its values."""

    label: str
    target: str
    """``"scenario"`` or the name of the policy whose parameter varies."""
    field: str
    values: tuple[Any, ...]
    unit: str = ""

    @property
    def title(self) -> str:
        """Axis label with its unit, for plots."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class GridPoint:
    """One combination of axis values with the scenario and policies it gives."""

    index: int
    values: dict[str, Any]
    scenario: Scenario
    policies: tuple[PolicySpec, ...]


@dataclass
class Experiment:
    """A validated, resolved experiment: everything needed to plan its runs."""

    name: str
    description: str
    source: str
    scenario_ref: str
    scenario: Scenario
    overrides: dict[str, Any]
    policies: list[PolicySpec]
    """Reference first."""
    seeds: list[int]
    customers: int
    days: int
    metric: str
    axes: list[Axis]
    points: list[GridPoint]
    realize_residual: bool = False
    """Record ``residual_realized`` next to ``residual_value`` in every run (:func:`sim.engine.realize_residual`)."""

    @property
    def reference(self) -> str:
        """Name of the policy every other one is compared with."""
        return self.policies[0].name

    @property
    def policy_names(self) -> list[str]:
        """Policy names, reference first."""
        return [p.name for p in self.policies]

    def describe(self) -> dict[str, Any]:
        """JSON form written to ``experiment.json`` (read back by the report)."""
        return {
            "name": self.name, "description": self.description, "source": self.source,
            "scenario": {"ref": self.scenario_ref, "name": self.scenario.name,
                         "config_hash": self.scenario.config_hash()},
            "overrides": self.overrides, "policies": [p.describe() for p in self.policies],
            "reference": self.reference, "seeds": self.seeds, "customers": self.customers,
            "days": self.days, "metric": self.metric,
            "axes": [{"label": a.label, "target": a.target, "field": a.field, "values": list(a.values),
                      "unit": a.unit} for a in self.axes],
            "points": [{"index": p.index, "values": p.values, "config_hash": p.scenario.config_hash()}
                       for p in self.points],
            "code_version": code_version(),
        }


@dataclass(frozen=True)
class PointInfo:
    """A grid point as recorded: its index and axis values."""

    index: int
    values: dict[str, Any]


@dataclass
class ExperimentInfo:
    """An experiment as recorded in ``experiment.json``: what a report needs, without rebuilding it."""

    data: dict[str, Any]
    policy_names: list[str]
    seeds: list[int]
    metric: str
    axes: list[Axis]
    points: list[PointInfo]

    @classmethod
    def read(cls, path: Path) -> "ExperimentInfo":
        """Parse ``experiment.json`` written by :meth:`Experiment.describe`; a ConfigError if it is not one."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            axes = [Axis(a["label"], a["target"], a["field"], tuple(a["values"]), a.get("unit", ""))
                    for a in d["axes"]]
            points = [PointInfo(int(p["index"]), dict(p["values"])) for p in d["points"]]
            info = cls(d, [str(p["name"]) for p in d["policies"]], [int(x) for x in d["seeds"]], str(d["metric"]),
                       axes, points)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not an experiment.json written by siyu experiment or siyu compare "
                              f"({type(exc).__name__}: {short(str(exc))})") from None
        return info


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and resolve an experiment TOML file."""
    path = Path(path)
    spec = validate_model(ExperimentSpec, read_toml(path), str(path))
    return resolve(spec, path.parent, str(path))


def experiment_from_refs(scenario: str, policies: list[str], seeds: int, first_seed: int = 0,
                         customers: int | None = None, days: int = 180, name: str = "compare",
                         source: str = "command line", realize_residual: bool = False) -> Experiment:
    """The experiment ``siyu compare`` runs: policy references on one scenario, no grid."""
    data: dict[str, Any] = {"name": name, "scenario": scenario, "policies": policies, "seeds": seeds,
                            "first_seed": first_seed, "customers": customers, "days": days,
                            "realize_residual": realize_residual}
    spec = validate_model(ExperimentSpec, data, source)
    return resolve(spec, Path.cwd(), source)


def resolve(spec: ExperimentSpec, base_dir: Path, source: str) -> Experiment:
    """Build the scenario and every policy of every grid point; ConfigError on the first problem."""
    scenario_ref = _local(spec.scenario, base_dir, presets=preset_names())
    try:
        base = load_scenario(scenario_ref)
    except ConfigError as exc:
        raise ConfigError(f"{source}: scenario: {exc}") from None
    if spec.overrides:
        base = apply_overrides(base, spec.overrides, f"{source}: overrides")
    policies = [_policy_spec(e, i, base_dir, source) for i, e in enumerate(spec.policies)]
    names = [p.name for p in policies]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: policies: names must be distinct, repeated: {', '.join(dupes)} "
                          "(give each entry a `name`)")
    reference = spec.reference or names[0]
    if reference not in names:
        raise ConfigError(f"{source}: reference = {reference!r}: not a policy of this experiment; "
                          f"allowed: {', '.join(names)}")
    policies.sort(key=lambda p: p.name != reference)
    axes = _axes(spec.grid, policies, source)
    _check_size(axes, len(policies), spec.seeds, source)
    points = _points(axes, base, policies, source)
    customers = spec.customers or base.population.customers
    seeds = list(range(spec.first_seed, spec.first_seed + spec.seeds))
    return Experiment(spec.name, spec.description, source, scenario_ref, base, dict(spec.overrides),
                      policies, seeds, customers, spec.days, spec.metric, axes, points, spec.realize_residual)


MAX_GRID_POINTS = 10_000
"""Grid points one experiment may have (each is a scenario and policies built up front)."""
MAX_RUNS = 100_000
"""Runs (points x policies x seeds) one experiment may plan."""


def _check_size(axes: list[Axis], policies: int, seeds: int, source: str) -> None:
    """Refuse a grid or plan too big to build, before building it (a typo can square a sweep)."""
    points = math.prod(len(a.values) for a in axes)
    shape = " x ".join(f"{len(a.values):,}" for a in axes)
    if points > MAX_GRID_POINTS:
        raise ConfigError(f"{source}: grid: {points:,} points ({shape}); at most {MAX_GRID_POINTS:,}")
    runs = points * policies * seeds
    if runs > MAX_RUNS:
        raise ConfigError(f"{source}: {runs:,} runs ({points:,} grid points x {policies} policies x {seeds:,} seeds); "
                          f"at most {MAX_RUNS:,}")


def _local(ref: str, base_dir: Path, presets: tuple[str, ...] | list[str] = ()) -> str:
    """A relative file reference resolved against the spec's folder (names pass through)."""
    if ref in presets or Path(ref).is_absolute():
        return ref
    candidate = base_dir / ref
    return str(candidate) if path_exists(candidate) else ref


def _local_ref(ref: str, base_dir: Path) -> str:
    """A policy reference with its file resolved against the spec's folder, ``prefix:PATH`` included."""
    prefix, sep, arg = ref.partition(":")
    if sep and prefix in LOADERS and arg and not Path(arg).expanduser().is_absolute():
        candidate = base_dir / arg
        return f"{prefix}:{candidate}" if path_exists(candidate) else ref
    return _local(ref, base_dir, presets=policy_names())


def _policy_spec(entry: PolicyEntry, i: int, base_dir: Path, source: str) -> PolicySpec:
    where = f"{source}: policies[{i}]"
    if entry.kind is not None:
        policy = make_policy(entry.kind, entry.params, entry.name, source=where)
        ref = None
    else:
        ref = _local_ref(str(entry.ref), base_dir)
        prefix, sep, arg = ref.partition(":")
        if sep and prefix in CHECKS:  # e.g. a model: checked here, loaded only when a run builds it
            try:
                CHECKS[prefix](arg)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            return PolicySpec(entry.name or str(entry.ref).strip(), None, {}, ref)
        try:
            policy = load_policy(ref)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    name = entry.name or policy.name
    params = getattr(policy, "params", None)
    kind = getattr(policy, "kind", None)
    if kind in policy_names() and isinstance(params, BaseModel):
        return PolicySpec(name, kind, params.model_dump(mode="json"))
    return PolicySpec(name, None, {}, ref)


def _axes(grid: GridSpec | None, policies: list[PolicySpec], source: str) -> list[Axis]:
    if grid is None:
        return []
    axes = [Axis(path, "scenario", path, tuple(values), field_unit(Scenario, path))
            for path, values in grid.scenario.items()]
    by_name = {p.name: p for p in policies}
    for pol, params in grid.policies.items():
        if pol not in by_name:
            raise ConfigError(f"{source}: grid.policies.{pol}: no policy named {pol!r}; "
                              f"allowed: {', '.join(by_name)}")
        if by_name[pol].kind is None:
            raise ConfigError(f"{source}: grid.policies.{pol}: a sweep needs a baseline `kind` with "
                              "params, not an opaque reference")
        axes += [Axis(f"{pol}.{param}", pol, param, tuple(values)) for param, values in params.items()]
    return axes


def field_unit(model: type[BaseModel], path: str) -> str:
    """Unit of a model field by dotted path (``contents.coupon.discount`` -> ``share of price``), or ""."""
    current: Any = model
    info = None
    for part in path.split("."):
        fields = getattr(current, "model_fields", None)
        if fields is None:  # a dict of models (channels, contents): the key picks an entry
            args = getattr(current, "__args__", ())
            current = args[-1] if args else None
            continue
        if part not in fields:
            return ""
        info = fields[part]
        current = info.annotation
    extra = info.json_schema_extra if info is not None else None
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""


def _points(axes: list[Axis], base: Scenario, policies: list[PolicySpec], source: str) -> list[GridPoint]:
    points = []
    for index, combo in enumerate(itertools.product(*(a.values for a in axes))):
        values = {a.label: v for a, v in zip(axes, combo)}
        scen = {a.field: v for a, v in zip(axes, combo) if a.target == "scenario"}
        scenario = apply_overrides(base, scen, f"{source}: grid.scenario") if scen else base
        specs = []
        for pol in policies:
            changes = {a.field: v for a, v in zip(axes, combo) if a.target == pol.name}
            if changes:
                built = make_policy(str(pol.kind), {**pol.params, **changes}, pol.name,
                                    source=f"{source}: grid.policies.{pol.name}")
                pol = PolicySpec(pol.name, pol.kind, built.params.model_dump(mode="json"))
            specs.append(pol)
        points.append(GridPoint(index, values, scenario, tuple(specs)))
    return points
