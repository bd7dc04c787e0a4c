"""``siyu report DIR``: a self-contained HTML report and a Markdown summary of an experiment folder.

The report reads only what the runner wrote (``experiment.json`` and the tidy tables), aggregates it
per policy at one grid point (the sweep optimum, or the only point), draws the figures of
:mod:`experiments.reporting.figures` and lays the same content out twice: HTML with the images embedded as
base64 PNG, and Markdown linking the PNGs written to ``DIR/figures/``.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.reporting import figures
from experiments.console import count, number
from experiments.stats.comparison import Comparison, Leader, direction, unit
from experiments.store.io import atomic_write_text
from experiments.recording import SEGMENTS
from experiments.running.spec import ExperimentInfo
from experiments.reporting.mix import contact_mix, describe_entry
from experiments.stats.intervals import (UNDERPOWERED_BELOW, interval, level, paired_diff, seeds_for, seeds_text,
                                         seeds_to_resolve, underpowered)
from experiments.running.sweep import (optima, point_text, report_point, surface_rows, sweep_warnings,
                                       varying_policies)
from experiments.store.tables import Table, read_table, select
from sim.defaults import CHANNELS, CONTENTS

KPI_COLUMNS = ("net_profit", "residual_value", "revenue", "purchases", "contacts", "unsubscribes",
               "reachable_end")
"""KPIs shown next to the headline in the report's table."""
PRECISION = 0.01
"""Target CI half-width of the precision table, as a share of the reference's headline mean."""
TABLES = ("runs", "daily", "hidden", "segments")


@dataclass
class ReportData:
    """Everything the report shows, read from an experiment folder and restricted to one grid point."""

    info: ExperimentInfo
    point: int
    tables: dict[str, Table]
    """The tidy tables at :attr:`point` (the runs table keeps every point, for the sweep)."""
    comparison: Comparison
    colors: dict[str, Any] = field(default_factory=dict)

    @property
    def policies(self) -> list[str]:
        """Policy names, reference first."""
        return self.info.policy_names

    def per_seed(self, table: str, policy: str, column: str) -> np.ndarray:
        """(seeds, rows) values of ``column`` for one policy, rows in table order per seed."""
        t = select(self.tables[table], policy=policy)
        return np.stack([t[column][t["seed"] == s].astype(np.float64) for s in self.info.seeds])


def load(folder: Path) -> ReportData:
    """Read an experiment folder written by ``siyu experiment`` or ``siyu compare``."""
    meta = folder / "experiment.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{folder}: no experiment.json; run `siyu experiment SPEC --out {folder}` "
                                f"or `siyu compare --out {folder}` first")
    info = ExperimentInfo.read(meta)
    tables = {name: read_table(folder, name) for name in TABLES}
    point = report_point(info, tables["runs"])
    at = {name: select(t, point=point) if name != "runs" else t for name, t in tables.items()}
    for name in ("daily", "segments"):
        order = np.lexsort((at[name]["day"], at[name]["seed"]))
        at[name] = {k: v[order] for k, v in at[name].items()}
    comp = Comparison.from_table(select(tables["runs"], point=point), info.policy_names, info.seeds)
    return ReportData(info, point, at, comp, figures.policy_colors(info.policy_names))


# --- figures -------------------------------------------------------------------------------------

def figure_kpi(d: ReportData) -> Any:
    """Headline KPI per policy and the paired difference vs the reference, with 95% CIs."""
    m = d.info.metric
    stats = [interval(d.comparison.series(p, m)) for p in d.policies]
    rows = {r["policy"]: r for r in d.comparison.rows((m,))}
    return figures.kpi(m, unit(m), d.policies, np.array([s.mean for s in stats]),
                       np.array([[s.ci_low, s.ci_high] for s in stats]),
                       np.array([rows[p]["diff_vs_reference"] for p in d.policies]),
                       np.array([[rows[p]["ci_low"], rows[p]["ci_high"]] for p in d.policies]), d.colors)


def figure_value(d: ReportData) -> Any:
    """Where each policy's total value comes from, at the report's grid point."""
    runs = select(d.tables["runs"], point=d.point)

    def mean(policy: str, column: str) -> float:
        t = select(runs, policy=policy)
        return float(np.mean(t[column].astype(np.float64))) if column in t else 0.0  # older runs lack new costs

    parts = {col: np.array([mean(p, col) for p in d.policies]) for col, _, _ in figures.VALUE_PARTS}
    total = np.array([mean(p, "total_value") for p in d.policies])
    return figures.value_breakdown(d.policies, parts, total)


def figure_time_series(d: ReportData) -> Any:
    """Pool, reachable and active customers, revenue and cumulative net profit over days."""
    def series(column: str, smooth: int = 1) -> dict[str, np.ndarray]:
        out = {}
        for p in d.policies:
            arr = d.per_seed("daily", p, column)
            if smooth > 1:
                kernel = np.ones(smooth) / smooth
                arr = np.stack([np.convolve(np.pad(a, (smooth - 1, 0), mode="edge"), kernel, "valid") for a in arr])
            out[p] = arr
        return out

    pool = {p: d.per_seed("daily", p, "reachable") + d.per_seed("daily", p, "unreachable") for p in d.policies}
    panels = [
        ("pool size (customers who have not left)", "customers", pool),
        ("reachable customers (some channel open)", "customers", series("reachable")),
        ("active customers (recent buyers)", "customers", series("active_buyers")),
        ("revenue (7-day moving mean)", "yuan per day", series("revenue", 7)),
        ("cumulative net profit", "yuan", series("cumulative_net_profit")),
    ]
    days = d.per_seed("daily", d.policies[0], "day")[0]
    return figures.time_series(panels, days, d.colors)


def figure_funnel(d: ReportData) -> Any:
    """Contact funnel per channel (mean totals per run)."""
    totals = {p: np.array([[d.per_seed("daily", p, f"{ch}_{stage}").sum(axis=1).mean() for stage in figures.FUNNEL]
                           for ch in CHANNELS]) for p in d.policies}
    return figures.funnel(totals, d.colors)


def figure_hidden(d: ReportData) -> Any:
    """End-of-run fatigue and salience of the customers still in the pool, pooled over seeds."""
    t = d.tables["hidden"]
    hists: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for var in dict.fromkeys(t["variable"].tolist()):
        hists[var] = {}
        for p in d.policies:
            rows = select(t, variable=var, policy=p)
            lows = np.unique(rows["bin_low"])
            counts = np.array([rows["customers"][rows["bin_low"] == lo].sum() for lo in lows], np.float64)
            edges = np.append(lows, rows["bin_high"].max())
            hists[var][p] = (edges, counts / max(counts.sum(), 1.0))
    return figures.hidden(hists, d.colors)


def _segment_sums(d: ReportData, policy: str, column: str) -> np.ndarray:
    """(segments, days) sum over seeds of a column of the segments table."""
    t = select(d.tables["segments"], policy=policy)
    days = np.unique(t["day"])
    out = np.zeros((len(SEGMENTS), len(days)))
    for i, seg in enumerate(SEGMENTS):
        rows = select(t, segment=seg)
        np.add.at(out[i], np.searchsorted(days, rows["day"]), rows[column].astype(np.float64))
    return out


def figure_heatmap(d: ReportData) -> Any:
    """Contacts per 100 reachable customers by segment and day."""
    rates = {}
    for p in d.policies:
        reach = _segment_sums(d, p, "reachable")
        rates[p] = 100 * _segment_sums(d, p, "contacts") / np.maximum(reach, 1.0)
    days = np.unique(d.tables["segments"]["day"])
    return figures.contact_heatmap(rates, SEGMENTS, days, d.colors)


def figure_content_mix(d: ReportData) -> Any:
    """Contacts per reachable customer over the horizon, by segment and content."""
    mix = {}
    for p in d.policies:
        reach = _segment_sums(d, p, "reachable").mean(axis=1)
        mix[p] = np.stack([_segment_sums(d, p, f"contacts_{c}").sum(axis=1) for c in CONTENTS], axis=1)
        mix[p] = mix[p] / np.maximum(reach, 1.0)[:, None]
    return figures.content_mix(mix, SEGMENTS, d.colors)


def figure_surface(d: ReportData) -> Any:
    """The sweep's response surface of the headline KPI per varying policy, optimum and runner-up marked."""
    info, m = d.info, d.info.metric
    rows = surface_rows(info, d.tables["runs"], m)
    shape = tuple(len(a.values) for a in info.axes)
    sign = direction(m) or 1
    panels = {}
    for pol in varying_policies(info, d.tables["runs"]):
        mine = [r for r in rows if r["policy"] == pol]
        mean = np.array([r["mean"] for r in mine]).reshape(shape)
        panel: dict[str, Any] = {"axes": [a.title for a in info.axes[:2]],
                                 "ticks": [a.values for a in info.axes[:2]]}
        best = next((i for i, r in enumerate(mine) if r["optimum"]), int(np.argmax(sign * mean.ravel())))
        second = next((i for i, r in enumerate(mine) if r["runner_up"]), None)
        if len(shape) == 1:
            panel.update(mean=mean, low=np.array([r["ci_low"] for r in mine]),
                         high=np.array([r["ci_high"] for r in mine]), best=(best,),
                         second=None if second is None else (second,))
        elif len(shape) == 2:
            panel.update(mean=mean, best=np.unravel_index(best, shape),
                         second=None if second is None else np.unravel_index(second, shape))
        else:
            flat = (sign * mean).reshape(shape[0], shape[1], -1).max(axis=2) * sign
            panel.update(mean=flat, best=np.unravel_index(int(np.argmax(sign * flat)), flat.shape),
                         note="best over " + ", ".join(a.label for a in info.axes[2:]))
        panels[pol] = panel
    return figures.surface(panels, m, unit(m), d.colors)


FIGURES: list[tuple[str, str, str, Callable[[ReportData], Any]]] = [
    ("kpi", "Headline KPI", "Mean over seeds with its 95% t interval; right: paired difference vs the "
     "reference on the same seeds (common random numbers), with its interval at the table's "
     "Bonferroni-adjusted level.", figure_kpi),
    ("value", "Where the value comes from", "Mean over seeds. Right of zero: gross margin earned over the "
     "horizon and the residual value of the pool left at its end (what it would still earn); left of zero: "
     "what was spent. The diamond is total value, the sum: a policy that burns the pool earns margin now "
     "and loses residual value.", figure_value),
    ("time_series", "Over time", "Lines: mean over seeds; bands: min to max over seeds.", figure_time_series),
    ("funnel", "Contact funnel per channel", "Contacts delivered, opened, converted into a purchase, and "
     "unsubscribes (mute or delete) they caused; mean totals per run, log scale.", figure_funnel),
    ("hidden", "What the CRM cannot see", "Distribution of hidden fatigue and salience at the end of the "
     "horizon over customers still in the pool, pooled over seeds.", figure_hidden),
    ("contacts_heatmap", "Who got contacted when", "Contacts per 100 reachable customers of each CRM "
     "lifecycle segment, by day (summed over seeds). Segments (sim.segments): fan = never bought; lapsed = "
     "2.5+ expected intervals since the last order; vip = top tier; due = 0.85+ intervals; new / repeat = "
     "one / several orders, not yet due.", figure_heatmap),
    ("content_mix", "Who got what", "Contacts per reachable customer over the horizon, by segment and "
     "content.", figure_content_mix),
]
SURFACE = ("surface", "Response surface", "Headline KPI at each grid point, mean over seeds, for each "
           "policy the grid changes; the optimum is starred (one axis) or framed (two axes), the runner-up ringed "
           "or framed with a dashed line. Bands are 95% "
           "t intervals of each point's mean; all points share the seeds, so differences between points are "
           "measured more precisely than the bands suggest.", figure_surface)


def build_figures(d: ReportData) -> list[tuple[str, str, str, Any]]:
    """(name, title, caption, Figure) of every figure of the report, the surface first when there is one."""
    specs = ([SURFACE] if d.info.axes else []) + FIGURES
    return [(name, title, caption, make(d)) for name, title, caption, make in specs]


# --- text ----------------------------------------------------------------------------------------

def level_text(comparisons: int) -> str:
    """'95%' or '98.33% (Bonferroni over 3 comparisons)': the level of a family's intervals, in words."""
    pct = f"{100 * level(comparisons):.2f}".rstrip("0").rstrip(".") + "%"
    return pct if comparisons <= 1 else f"{pct} (Bonferroni over {comparisons} comparisons)"


def headline(comp: Comparison, metric: str) -> str:
    """One paragraph: the best policy, its lead over the runner-up and whether the intervals shown make it significant.

    The significance follows from the intervals it quotes: best minus each other policy, one
    Bonferroni family; the lead is significant when all of them exclude zero.
    """
    lead: Leader | None = comp.leader(metric)
    n = len(comp.seeds)
    if lead is None:
        return f"{metric} has no better direction; see the table."
    u = unit(metric)
    best_mean = number(comp.series(lead.best, metric).mean())
    if lead.runner_up is None or lead.lead is None:
        return f"One policy, {lead.best}: mean {metric} {best_mean} {u} over {count(n, 'seed')}."
    gap = lead.lead
    k = len(comp.policies) - 1
    ci = ("no interval from a single seed" if math.isnan(gap.ci_low) else
          f"{level_text(k)} CI {number(gap.ci_low, True)} to {number(gap.ci_high, True)}")
    text = (f"Best on {metric}: {lead.best} (mean {best_mean} {u}), ahead of {lead.runner_up} by "
            f"{number(gap.mean, True)} {u} ({ci}). ")
    weakest = lead.weakest
    assert weakest is not None
    if lead.significant:
        if k == 1:
            text += "The lead is significant: its interval excludes zero."
        else:
            w, wd = weakest
            text += (f"The lead is significant: its intervals against each of the other {count(k, 'policy')} "
                     f"exclude zero (closest to zero: vs {w}, {number(wd.ci_low, True)} to "
                     f"{number(wd.ci_high, True)}).")
    elif not math.isnan(gap.ci_low):
        w, wd = weakest
        text += (f"The lead is not significant: its interval against {w} ({number(wd.ci_low, True)} to "
                 f"{number(wd.ci_high, True)}) includes zero.")
    need = seeds_to_resolve(comp.series(lead.best, metric) - comp.series(lead.runner_up, metric), k)
    if underpowered(n):
        text += f" Underpowered: only {count(n, 'seed')} (fewer than {UNDERPOWERED_BELOW}); "
        if lead.significant:
            text += (f"the spread behind these intervals is a rough guess, so rerun with at least "
                     f"{UNDERPOWERED_BELOW} seeds.")
        elif n >= 2:
            text += (f"about {seeds_text(None if need is None else max(need, UNDERPOWERED_BELOW))} would "
                     f"resolve a lead of this size.")
        else:
            text += f"one seed gives no interval: rerun with at least {UNDERPOWERED_BELOW} seeds."
    elif not lead.significant:
        text += f" About {seeds_text(need)} would resolve a lead of this size."
    return text


def silence_warnings(comp: Comparison) -> list[str]:
    """One line per policy that contacted nobody: intended for a control, a red flag for anything else."""
    return [f"Warning: {p} made no contact at all on {count(len(comp.seeds), 'seed')}; as a control that is "
            "intended, otherwise the policy does nothing (a briefly trained rl: model often ends up here)."
            for p in comp.silent()]


def kpi_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the KPI table: the headline with its paired interval, p and seeds to resolve; other KPIs."""
    m = d.info.metric
    ref = d.policies[0]
    metrics = (m,) + tuple(k for k in KPI_COLUMNS if k != m)
    by = {(r["policy"], r["metric"]): r for r in d.comparison.rows(metrics)}
    k = max(len(d.policies) - 1, 1)
    header = ["policy", f"{m} ({unit(m)})", f"diff vs {ref} [{level_text(k)} CI]", "p (Bonferroni)",
              "seeds to resolve"] + list(metrics[1:])
    rows = []
    for i, p in enumerate(d.policies):
        r = by[(p, m)]
        diff = "reference" if i == 0 else (f"{number(r['diff_vs_reference'], True)} "
                                           f"[{number(r['ci_low'], True)}, {number(r['ci_high'], True)}]")
        pv = "" if i == 0 else ("n/a" if math.isnan(r["p_adjusted"]) else
                                f"{r['p_adjusted']:.4f}" + (" *" if r["significant"] else ""))
        need = "" if i == 0 or r["significant"] or len(d.info.seeds) < 2 else (
            seeds_text(None if math.isnan(r["seeds_needed"]) else max(int(r["seeds_needed"]), UNDERPOWERED_BELOW)))
        name = p + (" (best" + (", significant lead)" if r["lead_significant"] else ")") if r["best"] else "")
        rows.append([name, number(r["mean"]), diff, pv, need] + [number(by[(p, k)]["mean"]) for k in metrics[1:]])
    return header, rows


LEVER_COLUMNS = (("asks", "referral asks", True), ("invitations", "invitations", True),
                 ("invitations_accepted", "accepted", False), ("memberships_sold", "paid memberships sold", True),
                 ("membership_fees", "membership fees (yuan)", False),
                 ("member_discounts", "member prices and points (yuan)", True),
                 ("event_contacts", "contacts on event days", True), ("acquired_referral", "referred joiners", False),
                 ("male_contacts", "contacts to men", False), ("male_offers", "coupons and flash sales to men", False),
                 ("male_discounts", "discounts to men (yuan)", False),
                 ("group_days_folded", "folded group-days", True),
                 ("staff_lost_customers", "chats lost (personal-WeChat bans, guides leaving)", False),
                 ("fan_contacts", "contacts to fans", False),
                 ("fan_details", "fans who left contact details", True))
"""Daily columns of the levers table: what each lever was used for and what it brought or cost; the flag marks
the columns that show a lever was pulled (or a platform lever bit), which is when the table is shown."""


def lever_table(d: ReportData) -> tuple[list[str], list[list[str]]] | None:
    """Per policy, the levers it pulled (mean over seeds of the run's totals); None if no policy pulled any.

    Columns that are zero for every policy are left out (a lever the scenario does not run).
    """
    daily = d.tables["daily"]
    means = {k: [float(d.per_seed("daily", p, k).sum(axis=1).mean()) for p in d.policies]
             for k, _, _ in LEVER_COLUMNS if k in daily}
    if not any(any(means.get(k, ())) for k, _, pulls in LEVER_COLUMNS if pulls):
        return None
    cols = [(k, title) for k, title, _ in LEVER_COLUMNS if any(means.get(k, ()))]
    return (["policy"] + [title for _, title in cols],
            [[p] + [number(means[k][i]) for k, _ in cols] for i, p in enumerate(d.policies)])


def policy_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    """Per policy, in words: its rule and parameters, contacts per customer-month, channel and content mix.

    Parameters are those run at the reported grid point (a swept parameter shows its value there).
    """
    header = ["policy", "what it does", "contacts per customer-month", "delivered by channel", "by content"]
    entries = {e["name"]: e for e in d.info.data["policies"]}
    point = next(pt for pt in d.info.points if pt.index == d.point)
    rows = []
    for p in d.policies:
        entry = dict(entries.get(p, {"name": p}))
        swept = {a.field: point.values[a.label] for a in d.info.axes if a.target == p}
        if swept and entry.get("kind"):
            entry["params"] = {**(entry.get("params") or {}), **swept}  # as run at the reported grid point
        mix = contact_mix(d.tables["daily"], d.tables["segments"], p)
        rows.append([p, describe_entry(entry), f"{mix.per_customer_month:.2f}", mix.channel_text(),
                     mix.content_text()])
    return header, rows


def optimum_table(d: ReportData) -> tuple[list[str], list[list[str]]] | None:
    """Per policy the grid moves: the optimum and the runner-up, each with its 95% interval."""
    found = optima(d.info, d.tables["runs"], d.info.metric)
    if not found:
        return None
    header = ["policy", "optimum", f"{d.info.metric} [95% CI]", "runner-up", f"{d.info.metric} [95% CI]",
              "on the grid's edge in"]
    rows = []
    for o in found:
        r = o.runner_up
        rows.append([o.policy, point_text(o.best, list(o.axes)), _mean_ci(o.best),
                     point_text(r, list(o.axes)) if r else "", _mean_ci(r) if r else "",
                     ", ".join(o.edges) or "no"])
    return header, rows


def _mean_ci(row: dict[str, Any]) -> str:
    return f"{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]"


def precision_table(d: ReportData) -> tuple[list[str], list[list[str]]] | None:
    """Per policy: spread of the paired difference, current CI half-width, seeds for +-1% of the reference."""
    m = d.info.metric
    n = len(d.info.seeds)
    if len(d.policies) < 2 or n < 2:
        return None
    ref = d.comparison.series(d.policies[0], m)
    target = PRECISION * abs(float(ref.mean())) or 1.0
    header = ["policy", "sd of paired diff per seed", "95% half-width now (t)",
              f"seeds for half-width {number(target)} ({PRECISION:.0%} of {d.policies[0]})"]
    rows = []
    for p in d.policies[1:]:
        diffs = d.comparison.series(p, m) - ref
        pd = paired_diff(ref, d.comparison.series(p, m))
        rows.append([p, number(float(diffs.std(ddof=1))), number((pd.ci_high - pd.ci_low) / 2),
                     str(seeds_for(diffs, target))])
    return header, rows


def setup_text(d: ReportData) -> str:
    """One paragraph on what ran."""
    x = d.info.data
    seeds = d.info.seeds
    text = (f"Scenario {x['scenario']['name']} (config {x['scenario']['config_hash']}), "
            f"{count(x['customers'], 'customer')}, {count(x['days'], 'day')}, {count(len(seeds), 'seed')} "
            f"({seeds[0]}..{seeds[-1]}), "
            f"policies: {', '.join(d.policies)} (reference {d.policies[0]}); siyu {x['code_version']}.")
    if x.get("overrides"):
        text += " Overrides: " + ", ".join(f"{k} = {v}" for k, v in x["overrides"].items()) + "."
    if d.info.axes:
        point = next(p for p in d.info.points if p.index == d.point)
        values = ", ".join(f"{k} = {v}" for k, v in point.values.items())
        text += (f" Sweep over {count(len(d.info.points), 'grid point')}; tables and figures below the surface show "
                 f"grid point {d.point} ({values}), where the best policy reaches its best {d.info.metric}.")
    return text


METHOD = ("All policies ran on the same seeds (common random numbers: the same customers with the same "
          "luck), so each seed gives one paired difference per policy. Intervals are Student-t intervals "
          "over seeds (paired t); the k policies compared with the reference "
          "form one family, so each interval is a 1 - 5%/k interval (Bonferroni: all k hold together with "
          "probability at least 95%), and a difference is significant (*) exactly when its interval excludes "
          "zero; the p-value is the Bonferroni-adjusted one that inverts the same interval. The best policy's "
          "lead is significant when its intervals against every other policy exclude zero. Simulated coverage "
          "and the skewness of real seed-level differences are in docs/statistics.md. With fewer than "
          f"{UNDERPOWERED_BELOW} seeds a comparison is underpowered; 'seeds to resolve' is the number of "
          "seeds at which a difference's interval would shrink below the difference itself, if its observed "
          "mean and spread held. total_value = net profit over the horizon + residual value of the pool at "
          "the end.")


# --- layout --------------------------------------------------------------------------------------

Block = tuple[Any, ...]
"""("h", text) | ("p", text) | ("table", header, rows) | ("figure", name, title, caption, png bytes)."""


def blocks(d: ReportData) -> list[Block]:
    """The report's content, in order, independent of the output format."""
    out: list[Block] = [("h", "Setup"), ("p", setup_text(d)),
                        ("h", "Headline"), ("p", headline(d.comparison, d.info.metric)),
                        *(("p", w) for w in silence_warnings(d.comparison)),
                        ("h", "KPIs"), ("table", *kpi_table(d)),
                        ("h", "What each policy does"), ("table", *policy_table(d))]
    levers = lever_table(d)
    if levers:
        out += [("h", "Levers"), ("table", *levers)]
    prec = precision_table(d)
    if prec:
        out += [("h", "Precision"), ("table", *prec)]
    for name, title, caption, fig in build_figures(d):
        out += [("h", title), ("figure", name, title, caption, figures.png(fig))]
        if name == SURFACE[0]:
            best = optimum_table(d)
            if best:
                out += [("table", *best)]
            out += [("p", w) for w in sweep_warnings(d.info, d.tables["runs"])]
    out += [("h", "Method"), ("p", METHOD)]
    return out


def render_markdown(title: str, content: list[Block]) -> str:
    """Markdown with figures linked from ``figures/``."""
    lines = [f"# {title}", ""]
    for b in content:
        if b[0] == "h":
            lines += [f"## {b[1]}", ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "table":
            header, rows = b[1], b[2]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows] + [""]
        else:
            lines += [f"![{b[2]}](figures/{b[1]}.png)", "", f"*{b[3]}*", ""]
    return "\n".join(lines)


CSS = ("body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;color:#222;line-height:1.45}"
       "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;"
       "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
       "img{max-width:100%}figcaption{color:#555;font-size:14px}")


def render_html(title: str, content: list[Block]) -> str:
    """One HTML file with every image embedded as base64 PNG."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{e(title)}</h1>"]
    for b in content:
        if b[0] == "h":
            parts.append(f"<h2>{e(b[1])}</h2>")
        elif b[0] == "p":
            parts.append(f"<p>{e(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
        else:
            data = base64.b64encode(b[4]).decode("ascii")
            parts.append(f"<figure><img alt='{e(b[2])}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(b[3])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`."""

    html: Path
    markdown: Path
    figures: list[Path]


def write_report(folder: Path) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into an experiment folder."""
    folder = Path(folder)
    d = load(folder)
    content = blocks(d)
    title = f"{d.info.data['name']}: {d.info.data['scenario']['name']}"
    if d.info.data.get("description"):
        content.insert(0, ("p", d.info.data["description"]))
    pngs = []
    for b in content:
        if b[0] == "figure":
            path = folder / "figures" / f"{b[1]}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b[4])
            pngs.append(path)
    atomic_write_text(folder / "report.md", render_markdown(title, content))
    atomic_write_text(folder / "report.html", render_html(title, content))
    return ReportFiles(folder / "report.html", folder / "report.md", pngs)
