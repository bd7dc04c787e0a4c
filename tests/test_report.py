"""The report renders for one policy, for many and for a sweep; every figure in it has data."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle, StepPatch

from experiments.cli.app import main
from experiments.reporting.report import build_figures, load, write_report
from experiments.running.runner import run_experiment
from experiments.running.spec import experiment_from_refs, load_experiment

PNG = b"\x89PNG\r\n\x1a\n"


def plotted_values(ax) -> list[np.ndarray]:
    """The data drawn in an axes: line points, bar heights, image cells, filled bands."""
    out = [np.asarray(line.get_ydata(), float) for line in ax.get_lines() if len(line.get_ydata())]
    bars = [p.get_height() for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]
    out += [np.asarray(bars, float)] if bars else []
    out += [np.asarray(p.get_data().values, float) for p in ax.patches if isinstance(p, StepPatch)]
    out += [np.asarray(im.get_array(), float).ravel() for im in ax.get_images()]
    out += [np.asarray(c.get_paths()[0].vertices, float).ravel() for c in ax.collections if c.get_paths()]
    return out


def assert_every_figure_has_data(folder) -> list[str]:
    figs = build_figures(load(folder))
    for name, _title, _caption, fig in figs:
        axes = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
        assert axes, name
        for ax in axes:
            values = plotted_values(ax)
            assert values and all(np.isfinite(v).all() and v.size for v in values), (name, ax.get_title())
        drawn = np.concatenate([np.concatenate(plotted_values(ax)) for ax in axes])
        assert np.any(drawn != 0), name
        for ax in axes:  # every plotted axis says what it shows
            assert ax.get_xlabel() or ax.get_ylabel() or ax.get_title(), name
    return [name for name, *_ in figs]


def assert_report_files(folder, figures: list[str]) -> str:
    page = (folder / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == len(figures)
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "src='http" not in page and "<link" not in page  # self-contained
    md = (folder / "report.md").read_text()
    for name in figures:
        assert f"figures/{name}.png" in md and (folder / "figures" / f"{name}.png").read_bytes().startswith(PNG)
    return md


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    out = tmp_path_factory.mktemp("many") / "out"
    exp = experiment_from_refs("beauty", ["no_contact", "blast", "fixed_cadence", "fatigue_capped"], 3,
                               customers=1500, days=30)
    run_experiment(exp, out)
    return out


def test_report_for_many_policies(many):
    files = write_report(many)
    names = assert_every_figure_has_data(many)
    assert names == ["kpi", "value", "time_series", "funnel", "hidden", "contacts_heatmap", "content_mix"]
    md = assert_report_files(many, names)
    assert files.html.exists() and ("| policy | total_value (yuan) | diff vs no_contact [98.33% (Bonferroni over 3 "
                                    "comparisons) CI] | p (Bonferroni) | seeds to resolve |") in md
    for pol in ("no_contact", "blast", "fixed_cadence", "fatigue_capped"):
        assert f"| {pol}" in md
    assert "Best on total_value:" in md and "Precision" in md
    assert "Underpowered: only 3 seeds (fewer than 5)" in md and "bootstrap" not in md


def test_report_says_what_each_policy_does(many):
    md = write_report(many).markdown.read_text()
    section = md.split("## What each policy does")[1].split("## ")[0]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in section.splitlines()
            if line.startswith("| ")}
    assert rows["no_contact"][2:4] == ["0.00", "none"]
    assert "Daily promotion" in rows["blast"][1]
    assert set(rows["blast"][4].strip(" |").split(", ")) == {"flash_sale 50%", "coupon 50%"}
    assert "content_every_days = 7" in rows["fixed_cadence"][1] and "wecom" in rows["fixed_cadence"][3]
    assert float(rows["blast"][2]) > 5 * float(rows["fixed_cadence"][2]) > 0  # daily vs weekly


def test_value_breakdown_adds_up_to_total_value(many):
    """Earnings right of zero minus costs left of zero land exactly on each policy's total value."""
    fig = {name: fig for name, _t, _c, fig in build_figures(load(many))}["value"]
    ax = fig.axes[0]
    totals = {round(float(y), 6): float(x) for x, y in ax.collections[0].get_offsets()}
    sums: dict[float, float] = {}
    for bar in ax.patches:
        y = round(bar.get_y() + bar.get_height() / 2, 6)
        sums[y] = sums.get(y, 0.0) + bar.get_width()
    assert sorted(sums) == sorted(totals) and len(totals) == 4
    for y, total in totals.items():
        assert sums[y] == pytest.approx(total, rel=1e-9, abs=1e-3)


def test_one_colour_per_policy_across_figures(many):
    figs = {name: fig for name, _t, _c, fig in build_figures(load(many))}
    colours: dict[str, set] = {}
    for name in ("kpi", "time_series", "funnel", "hidden"):
        for ax in figs[name].axes:
            for artist in list(ax.get_lines()) + list(ax.patches):
                label = artist.get_label()
                if label in ("no_contact", "blast", "fixed_cadence", "fatigue_capped"):
                    c = artist.get_color() if isinstance(artist, Line2D) else \
                        artist.get_facecolor() if artist.get_fill() else artist.get_edgecolor()
                    colours.setdefault(label, set()).add(tuple(np.round(to_rgb(c), 3)))
    assert set(colours) == {"no_contact", "blast", "fixed_cadence", "fatigue_capped"}
    assert all(len(c) == 1 for c in colours.values()), colours
    assert len({next(iter(c)) for c in colours.values()}) == 4


def test_report_for_one_policy_via_cli(tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["compare", "--policies", "fixed_cadence", "--seeds", "2", "--customers", "1000", "--days", "20",
                 "--out", str(out)]) == 0
    names = assert_every_figure_has_data(out)
    md = assert_report_files(out, names)
    assert "One policy, fixed_cadence" in md and "Precision" not in md
    assert "report:" in capsys.readouterr().out


def test_report_of_a_sweep_shows_the_surface(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text('scenario = "beauty"\nseeds = 2\ncustomers = 500\ndays = 15\n'
                    'policies = ["no_contact", { name = "cad", kind = "fixed_cadence" }]\n'
                    '[grid.policies.cad]\noffer_every_days = [7, 21]\ncontent_every_days = [0, 7]\n')
    out = tmp_path / "out"
    run_experiment(load_experiment(spec), out)
    write_report(out)
    names = assert_every_figure_has_data(out)
    assert names[0] == "surface"
    md = assert_report_files(out, names)
    assert "Sweep over 4 grid points" in md
    assert ("Warning: the optimum of cad sits on the edge of the grid in cad.offer_every_days, "
            "cad.content_every_days") in md
    assert "| policy | optimum | total_value [95% CI] | runner-up |" in md
    shown = re.search(r"cad\.offer_every_days = (\d+), cad\.content_every_days = (\d+)\)", md)
    cad = next(line for line in md.split("## What each policy does")[1].splitlines() if line.startswith("| cad |"))
    assert f"offer_every_days = {shown[1]}, " in cad and f"content_every_days = {shown[2]}, " in cad


def test_report_of_a_folder_without_results_is_a_user_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no experiment.json" in " ".join(err.split()) and "Traceback" not in err
