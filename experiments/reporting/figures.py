"""The report's figures (matplotlib's Agg canvas, no pyplot): one function per figure, one colour per policy.

Every function takes plain arrays already aggregated by :mod:`experiments.reporting.report` and returns a
:class:`~matplotlib.figure.Figure` with labelled axes and units.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from experiments.console import number
from sim.defaults import CHANNELS, CONTENTS

FUNNEL = ("delivered", "opened", "purchased", "unsubscribed")
CONTENT_COLORS = dict(zip(CONTENTS, ("#4c78a8", "#72b7b2", "#54a24b", "#e45756", "#b279a2")))


def policy_colors(policies: Sequence[str]) -> dict[str, Any]:
    """A fixed colour per policy, in policy order (kept across all figures of a report)."""
    cmap = matplotlib.colormaps["tab10" if len(policies) <= 10 else "tab20"]
    return {p: cmap(i % cmap.N) for i, p in enumerate(policies)}


def _tick(v: float, _pos: Any = None) -> str:
    """An axis label: the report's number format, with three significant digits for small ticks."""
    return number(v, digits=3)


SI = FuncFormatter(_tick)


def _figure(rows: int, cols: int, width: float = 12.0, height: float = 3.2,
            **kw: Any) -> tuple[Figure, np.ndarray]:
    """A figure on the Agg canvas, outside pyplot's global state (nothing to close, nothing leaks)."""
    fig = Figure(figsize=(width, height * rows))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False, **kw)


def kpi(metric: str, unit: str, policies: list[str], means: np.ndarray, mean_ci: np.ndarray,
        diffs: np.ndarray, diff_ci: np.ndarray, colors: dict[str, Any]) -> Figure:
    """Headline KPI per policy with its 95% CI, and (several policies) the paired difference vs the reference."""
    several = len(policies) > 1
    fig, axes = _figure(1, 2 if several else 1, height=0.55 * len(policies) + 1.6)
    y = np.arange(len(policies))[::-1]
    c = [colors[p] for p in policies]

    def bars(ax: Any, values: np.ndarray, ci: np.ndarray, title: str) -> None:
        err = np.abs(np.nan_to_num(ci - values[:, None]).T)
        ax.barh(y, values, xerr=err, color=c, capsize=4)
        ax.set_yticks(y, policies)
        ax.xaxis.set_major_formatter(SI)
        ax.set_xlabel(f"{metric} ({unit})")
        ax.set_title(title)
        ax.axvline(0, color="black", lw=0.8)
        ax.grid(axis="x", alpha=0.3)

    bars(axes[0, 0], means, mean_ci, f"{metric}: mean over seeds, 95% CI")
    if several:
        bars(axes[0, 1], diffs, diff_ci, f"difference vs {policies[0]} (paired), 95% CI")
        axes[0, 1].set_xlabel(f"difference in {metric} ({unit})")
    fig.tight_layout()
    return fig


VALUE_PARTS: tuple[tuple[str, str, int], ...] = (
    ("gross_margin", "gross margin", 1), ("residual_value", "residual value of the pool", 1),
    ("incentive_cost", "incentives", -1), ("contact_cost", "contact and content", -1),
    ("acquisition_cost", "acquisition", -1), ("running_cost", "running cost", -1),
    ("platform_fees", "marketplace fees", -1),
)
"""Components of total value: (run column, label, sign)."""


def value_breakdown(policies: list[str], parts: dict[str, np.ndarray], total: np.ndarray) -> Figure:
    """Where each policy's total value comes from: earnings right of zero, costs left, total marked."""
    fig, axes = _figure(1, 1, width=10.0, height=0.55 * len(policies) + 1.8)
    ax = axes[0, 0]
    y = np.arange(len(policies))[::-1]
    right, left = np.zeros(len(policies)), np.zeros(len(policies))
    palette = matplotlib.colormaps["tab10"]
    for k, (column, label, sign) in enumerate(VALUE_PARTS):
        v = sign * parts.get(column, np.zeros(len(policies)))  # signed: a negative residual is a cost
        if not v.any():
            continue
        ax.barh(y, v, left=np.where(v >= 0, right, -left), color=palette(k), label=label, height=0.6)
        right += np.maximum(v, 0.0)
        left += np.maximum(-v, 0.0)
    ax.scatter(total, y, marker="D", color="black", zorder=3, label="total value")
    ax.set_yticks(y, policies)
    ax.xaxis.set_major_formatter(SI)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("yuan, mean over seeds")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def time_series(panels: list[tuple[str, str, dict[str, np.ndarray]]], days: np.ndarray,
                colors: dict[str, Any]) -> Figure:
    """Panels of (title, y label, policy -> (seeds, days) array): mean line and min-max band over seeds."""
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = _figure(rows, cols, height=3.4)
    flat = axes.ravel()
    for ax, (title, ylabel, by_policy) in zip(flat, panels):
        for pol, arr in by_policy.items():
            ax.plot(days, arr.mean(axis=0), color=colors[pol], label=pol, lw=1.6)
            ax.fill_between(days, arr.min(axis=0), arr.max(axis=0), color=colors[pol], alpha=0.2, lw=0)
        ax.set_title(title)
        ax.set_xlabel("day")
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(SI)
        ax.grid(alpha=0.3)
    for ax in flat[len(panels):]:
        ax.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", title="policy (line: mean; band: min-max over seeds)",
               fontsize=9, bbox_to_anchor=(0.98, 0.05))
    fig.tight_layout()
    return fig


def funnel(totals: dict[str, np.ndarray], colors: dict[str, Any]) -> Figure:
    """Contacts delivered, opened, purchased and unsubscribed per channel; totals (channels, 4) per policy."""
    fig, axes = _figure(1, len(CHANNELS), height=3.8)
    pols = list(totals)
    width = 0.8 / max(len(pols), 1)
    x = np.arange(len(FUNNEL))
    top = max((float(t.max()) for t in totals.values()), default=0.0)
    for c, (ax, ch) in enumerate(zip(axes[0], CHANNELS)):
        for k, pol in enumerate(pols):
            ax.bar(x + (k - (len(pols) - 1) / 2) * width, totals[pol][c], width, color=colors[pol], label=pol)
        ax.set_xticks(x, FUNNEL, rotation=35, ha="right")
        ax.set_title(ch)
        if top > 0:
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(0, top * 3)
        ax.yaxis.set_major_formatter(SI)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("contacts over the horizon\n(mean per run, log scale)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(pols), 6), fontsize=9,
               bbox_to_anchor=(0.5, 1.02))
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def hidden(hists: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], colors: dict[str, Any]) -> Figure:
    """End-of-run distribution of hidden variables: variable -> policy -> (edges, share per bin)."""
    units = {"fatigue": "fatigue (accumulated annoyance, last bin: and above)",
             "salience": "salience (0 forgotten .. 1 top of mind)"}
    fig, axes = _figure(1, len(hists), height=3.6)
    for ax, (var, by_policy) in zip(axes[0], hists.items()):
        for pol, (edges, share) in by_policy.items():
            ax.stairs(100 * share, edges, color=colors[pol], label=pol, lw=1.8)
        ax.set_xlabel(units.get(var, var))
        ax.set_ylabel("% of customers still in the pool")
        ax.set_title(f"{var} at the end (hidden from the CRM)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def contact_heatmap(rates: dict[str, np.ndarray], segments: Sequence[str], days: np.ndarray,
                    colors: dict[str, Any]) -> Figure:
    """Contacts per 100 reachable customers of each segment and day, one panel per policy.

    One colour scale for all panels (square-root, so light and heavy contact both read).
    """
    pols = list(rates)
    fig, axes = _figure(len(pols), 1, height=1.9)
    vmax = max(max((float(r.max()) for r in rates.values()), default=0.0), 1e-9)
    image = None
    for ax, pol in zip(axes[:, 0], pols):
        image = ax.imshow(rates[pol], aspect="auto", cmap="viridis", norm=PowerNorm(0.5, 0, vmax),
                          interpolation="nearest",
                          extent=(days[0] - 0.5, days[-1] + 0.5, len(segments) - 0.5, -0.5))
        ax.set_yticks(range(len(segments)), segments)
        ax.set_title(pol, loc="left", fontsize=10, color=colors[pol], fontweight="bold")
        ax.set_ylabel("segment")
    axes[-1, 0].set_xlabel("day")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.91, 0.15, 0.015, 0.7))
    fig.colorbar(image, cax=cax, label="contacts per 100 reachable\ncustomers in the segment")
    return fig


def content_mix(mix: dict[str, np.ndarray], segments: Sequence[str], colors: dict[str, Any]) -> Figure:
    """What each segment received over the horizon: contacts per reachable customer, stacked by content."""
    pols = list(mix)
    cols = min(len(pols), 3)
    rows = (len(pols) + cols - 1) // cols
    fig, axes = _figure(rows, cols, sharey=True)
    x = np.arange(len(segments))
    for ax, pol in zip(axes.ravel(), pols):
        bottom = np.zeros(len(segments))
        for j, ct in enumerate(CONTENTS):
            ax.bar(x, mix[pol][:, j], bottom=bottom, color=CONTENT_COLORS[ct], label=ct)
            bottom += mix[pol][:, j]
        ax.set_xticks(x, segments)
        ax.set_title(pol, loc="left", fontsize=10, color=colors[pol], fontweight="bold")
        ax.set_xlabel("segment")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("contacts per reachable\ncustomer over the horizon")
    for ax in axes.ravel()[len(pols):]:
        ax.axis("off")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(CONTENTS), fontsize=9, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def surface(panels: dict[str, dict[str, Any]], metric: str, unit: str, colors: dict[str, Any]) -> Figure:
    """Response surface per policy: a line over one axis (optimum starred), or a heatmap over two (optimum framed).

    Each panel: ``axes`` (1 or 2 axis labels), ``ticks`` (values per axis), ``mean`` (array shaped
    like the ticks), ``low``/``high`` (95% CI, 1-axis only), ``best`` (index tuple of the optimum) and
    optionally ``second`` (index tuple of the runner-up: a ring, or a dashed frame).
    """
    pols = list(panels)
    cols = min(len(pols), 2)
    rows = (len(pols) + cols - 1) // cols
    fig, axes = _figure(rows, cols, width=6.0 * cols, height=4.2)
    for ax, pol in zip(axes.ravel(), pols):
        p = panels[pol]
        if len(p["axes"]) == 1:
            x = np.arange(len(p["ticks"][0]))
            ax.plot(x, p["mean"], marker="o", color=colors[pol], label="mean over seeds")
            ax.fill_between(x, p["low"], p["high"], alpha=0.25, color=colors[pol], lw=0, label="95% CI")
            b = p["best"][0]
            ax.plot([x[b]], [p["mean"][b]], marker="*", ms=18, color="#e45756", label="optimum", ls="none")
            if p.get("second") is not None:
                r = p["second"][0]
                ax.plot([x[r]], [p["mean"][r]], marker="o", ms=14, mfc="none", mec="#e45756", mew=2,
                        label="runner-up", ls="none")
            ax.set_xticks(x, [str(v) for v in p["ticks"][0]])
            ax.set_xlabel(p["axes"][0])
            ax.set_ylabel(f"{metric} ({unit})")
            ax.yaxis.set_major_formatter(SI)
            ax.legend(fontsize=9)
        else:
            grid = p["mean"]
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
            bi, bj = p["best"]
            for (i, j), v in np.ndenumerate(grid):
                best = (i, j) == (bi, bj)
                ax.text(j, i, ("optimum\n" if best else "") + _tick(v), ha="center", va="center", fontsize=8,
                        color="black" if image.norm(v) > 0.6 else "white", fontweight="bold" if best else "normal")
            ax.add_patch(Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, ec="#e45756", lw=3))
            if p.get("second") is not None:
                ri, rj = p["second"]
                ax.add_patch(Rectangle((rj - 0.5, ri - 0.5), 1, 1, fill=False, ec="#e45756", lw=2, ls="--"))
            ax.set_xticks(range(len(p["ticks"][1])), [str(v) for v in p["ticks"][1]])
            ax.set_yticks(range(len(p["ticks"][0])), [str(v) for v in p["ticks"][0]])
            ax.set_xlabel(p["axes"][1])
            ax.set_ylabel(p["axes"][0])
            fig.colorbar(image, ax=ax, label=f"{metric} ({unit}), mean over seeds", format=SI)
        ax.set_title(f"{pol}" + (f" ({p['note']})" if p.get("note") else ""), loc="left", fontsize=10,
                     color=colors[pol], fontweight="bold")
    for ax in axes.ravel()[len(pols):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()
