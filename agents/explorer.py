"""The explorer page (``siyu explore``): a pool in Mesa's SolaraViz, with sliders, plots and a policy comparison.

What it shows: the pool's KPIs day by day (Mesa plot components over the DataCollector), the groups
as a network coloured by heat, a sample of customers coloured by fatigue or 5A stage, a one-line
KPI readout, and a button that plays every baseline on the same pool and seed and plots their
cumulative net profit. The sliders set the policy's main parameters and the scenario's key ones;
Mesa's Reset rebuilds the model with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.mesa_model import PoolModel, resolve_scenario
from policies import load_policy, make_policy, policy_names
from sim.config import apply_overrides, preset_names
from sim.defaults import STAGES
from agents import require_explorer

require_explorer("agents.explorer")
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # the page renders figures to images; no display needed
import networkx as nx  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import Slider, SolaraViz, make_plot_component  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

POLICY_KNOBS = {"min_gap_days": ("min gap (days)", 1, 30, 1),
                "content_every_days": ("content every (days)", 0, 30, 1),
                "cool_down_days": ("cool-down (days)", 0, 120, 5)}
"""Main parameters of the contact policies: (label, min, max, step); applied to a policy that has them."""
SCENARIO_KNOBS = {"fatigue_half_life_days": ("dynamics.fatigue_half_life_days", "fatigue half-life", 1, 30, 1),
                  "salience_half_life_days": ("dynamics.salience_half_life_days", "salience half-life", 2, 90, 2),
                  "group_size": ("groups.size", "group size", 50, 500, 50),
                  "customers_per_guide": ("staff.customers_per_guide", "customers/guide", 0, 2000, 250)}
"""Key scenario parameters: (dotted path, label, min, max, step)."""
COMPARED = ("no_contact", "blast", "fixed_cadence", "rfm_tiered", "fatigue_capped")
"""Policies the comparison button plays (those that are baselines of this install)."""
SAMPLE = 1500
"""Customers drawn in the customer map (spread over the rows)."""


class ExplorerModel(PoolModel):
    """:class:`PoolModel` whose knobs are keyword arguments, as Mesa's sliders need (None: the preset's value)."""

    def __init__(self, scenario: Any = "beauty", policy: Any = "fatigue_capped", customers: int = 5000,
                 days: int = 90, seed: int | None = 0, rng: Any = None, min_gap_days: int | None = None,
                 content_every_days: int | None = None, cool_down_days: int | None = None,
                 fatigue_half_life_days: float | None = None, salience_half_life_days: float | None = None,
                 group_size: int | None = None, customers_per_guide: int | None = None) -> None:
        """Apply the knobs to the scenario and the policy, then build the model as :class:`PoolModel` does."""
        if isinstance(seed, str):  # the page's seed box is text
            seed = _seed_text(seed)
        given = {"fatigue_half_life_days": fatigue_half_life_days, "salience_half_life_days": salience_half_life_days,
                 "group_size": group_size, "customers_per_guide": customers_per_guide}
        overrides = {SCENARIO_KNOBS[k][0]: v for k, v in given.items() if v is not None}
        self.policy_knobs = {k: v for k, v in {"min_gap_days": min_gap_days, "content_every_days": content_every_days,
                                               "cool_down_days": cool_down_days}.items() if v is not None}
        sc = apply_overrides(resolve_scenario(scenario), overrides, "explorer sliders")
        super().__init__(sc, knobbed_policy(policy, self.policy_knobs), customers=customers, days=days, seed=seed,
                         rng=rng)


def _seed_text(text: str) -> int | None:
    """The seed typed in the page: a whole number, or empty for a fresh one."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"seed must be a whole number >= 0, got {text[:40]!r}")
    return int(text)


def knobbed_policy(policy: Any, knobs: dict[str, Any]) -> Any:
    """The baseline ``policy`` with those ``knobs`` its parameters have; any other policy as given."""
    if isinstance(policy, str) and policy in policy_names():
        base = load_policy(policy)
        fields = type(base.params).model_fields
        return make_policy(policy, {**base.params.model_dump(), **{k: v for k, v in knobs.items() if k in fields}})
    return policy


def model_params(scenario: str, policy: str, customers: int, days: int, seed: int) -> dict[str, Any]:
    """Mesa ``model_params``: selects, sliders starting at the preset's and policy's values, the seed."""
    sc = resolve_scenario(scenario)
    params: dict[str, Any] = {
        "scenario": {"type": "Select", "value": scenario, "values": sorted({*preset_names(), scenario}),
                     "label": "scenario"},
        "policy": {"type": "Select", "value": policy, "values": sorted({*policy_names(), policy}), "label": "policy"},
        "customers": Slider("customers", customers, 500, max(20_000, customers), 500),
        "days": Slider("horizon (days)", days, 10, max(365, days), 10),
        "seed": {"type": "InputText", "value": str(seed), "label": "seed"},
    }
    policy_fields = load_policy(policy).params.model_dump() if policy in policy_names() else {}
    for name, (label, lo, hi, step) in POLICY_KNOBS.items():
        start = policy_fields.get(name, _first_default(name))
        params[name] = Slider(f"policy {label}", int(start), lo, hi, step)
    data = sc.model_dump()
    for name, (path, label, lo, hi, step) in SCENARIO_KNOBS.items():
        section, field = path.split(".")
        value = data[section][field]
        params[name] = Slider(label, value, lo, hi, step, dtype=type(value))
    return params


def _first_default(name: str) -> int:
    """The default of a policy knob in the first baseline that has it."""
    for kind in policy_names():
        fields = load_policy(kind).params.model_dump()
        if name in fields:
            return int(fields[name])
    return 0


# --- components ----------------------------------------------------------------------------------

@solara.component
def KpiReadout(model: PoolModel) -> None:
    """One line of the day's headline numbers (what a test or a screenshot reads)."""
    update_counter.get()
    t = model.today
    if not t:
        solara.Text(f"{model.policy.name} on {model.scenario.name}, seed {model.seed}: day 0, press step or play",
                    classes=["siyu-kpis"])
        return
    solara.Text(f"{model.policy.name} on {model.scenario.name}, seed {model.seed}: "
                    f"day {int(t['day']) + 1} · cumulative net profit {t['cumulative_net_profit']:,.0f} · "
                    f"reachable {t['reachable']:,.0f} · contacts today {t['contacts']:,.0f} · "
                    f"group heat {t['group_heat_mean']:.3f}", classes=["siyu-kpis"])


@solara.component
def GroupNetwork(model: PoolModel) -> None:
    """Groups as a network coloured by heat: groups sharing a guide are linked (without guides: in join order)."""
    update_counter.get()
    groups = model.groups
    heat, members = groups.get("heat"), groups.get("members")
    graph = nx.Graph()
    graph.add_nodes_from(range(len(heat)))
    size, per = model.simulation.groups.size, model.simulation.per_guide
    for g in range(len(heat) - 1):
        if per <= 0 or (g * size) // per == ((g + 1) * size) // per:
            graph.add_edge(g, g + 1)
    pos = solara.use_memo(lambda: nx.spring_layout(graph, seed=0), [len(heat), size, per])
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    nodes = nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=heat, cmap="inferno", vmin=0, vmax=1,
                                   node_size=20 + 200 * members / max(members.max(), 1))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.3)
    fig.colorbar(nodes, ax=ax, label="heat")
    ax.set_title(f"{len(heat)} groups (size: members)")
    ax.set_axis_off()
    solara.FigureMatplotlib(fig, format="png")


colour_by = solara.reactive("fatigue")
"""What the customer map colours by: ``fatigue`` or ``stage``."""


@solara.component
def CustomerMap(model: PoolModel) -> None:
    """A spread sample of active customers: salience against trust, coloured by fatigue or 5A stage."""
    update_counter.get()
    solara.ToggleButtonsSingle(value=colour_by, values=["fatigue", "stage"])
    rows = np.unique(np.linspace(0, len(model.customers) - 1, SAMPLE).astype(np.int64))
    sample = model.customers.select(lambda c: np.isin(c.row, rows) & c.active)
    x, y = sample.get("salience"), sample.get("trust")
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    if colour_by.value == "stage":
        stages = sample.get("stage")
        for name in STAGES:
            at = stages == name
            ax.scatter(x[at], y[at], s=6, label=name)
        ax.legend(loc="lower right", fontsize=7)
    else:
        dots = ax.scatter(x, y, s=6, c=sample.get("fatigue"), cmap="viridis")
        fig.colorbar(dots, ax=ax, label="fatigue")
    ax.set(xlabel="salience", ylabel="trust", title=f"{len(sample)} customers")
    solara.FigureMatplotlib(fig, format="png")


comparison = solara.reactive(None)
"""The last comparison: ``{policy: cumulative net profit per day}``, with its settings."""


def compare(model: PoolModel, policies: tuple[str, ...] = COMPARED) -> dict[str, Any]:
    """Play each of ``policies`` on the model's pool, seed and horizon; cumulative net profit by day and total value."""
    knobs = getattr(model, "policy_knobs", {})
    curves, totals = {}, {}
    for name in (p for p in policies if p in policy_names()):
        run = PoolModel(model.scenario, knobbed_policy(name, knobs), customers=model.simulation.customers,
                        days=model.days, seed=model.seed)
        run.run_model()
        curves[name] = run.datacollector.get_model_vars_dataframe()["cumulative_net_profit"].to_numpy()
        totals[name] = run.summary()["total_value"]
    return {"curves": curves, "totals": totals, "seed": model.seed, "days": model.days,
            "customers": model.simulation.customers}


@solara.component
def Comparison(model: PoolModel) -> None:
    """A button playing every baseline on this pool and seed, and their cumulative net profit."""
    busy = solara.use_reactive(False)

    def run() -> None:
        busy.set(True)
        try:
            comparison.set(compare(model))
        finally:
            busy.set(False)

    solara.Button("Run comparison", on_click=run, disabled=busy.value, color="primary")
    result = comparison.value
    if result is None:
        solara.Text("Plays every baseline on this pool, seed and horizon.")
        return
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, curve in result["curves"].items():
        ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
    ax.set(xlabel="day", ylabel="cumulative net profit",
           title=f"{result['customers']:,} customers, seed {result['seed']}")
    ax.legend(loc="best", fontsize=7)
    solara.FigureMatplotlib(fig, format="png")
    best = max(result["totals"], key=result["totals"].get)
    solara.Text("total value: " + " · ".join(f"{k} {v:,.0f}" for k, v in result["totals"].items())
                + f" — best: {best}", classes=["siyu-comparison"])


def explorer_page(scenario: str = "beauty", policy: str = "fatigue_capped", customers: int = 5000, days: int = 90,
                  seed: int = 0) -> Any:
    """The SolaraViz page over an :class:`ExplorerModel` built from these settings."""
    model = ExplorerModel(scenario, policy, customers=customers, days=days, seed=seed)
    components = [
        (KpiReadout, 0),
        make_plot_component("cumulative_net_profit", page=0),
        make_plot_component({"reachable": "tab:blue", "active_buyers": "tab:green"}, page=0),
        make_plot_component({"contacts": "tab:orange", "opens": "tab:purple", "purchases": "tab:red"}, page=0),
        make_plot_component("group_heat_mean", page=0),
        (GroupNetwork, 0),
        (CustomerMap, 0),
        (Comparison, 0),
    ]
    return SolaraViz(model, components=components, model_params=model_params(scenario, policy, customers, days, seed),
                     name="siyu explorer", play_interval=50)
