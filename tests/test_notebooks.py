"""The notebooks run top to bottom on small sizes (so they never rot), show their figures as images,
and are stored without outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
PLOTS = re.compile(r"\b(plt|ax\d?|fig)\.\w+\(|\.plot\(|\.hist\(|\bImage\(")
"""Source of a cell that draws or shows a figure (pyplot, an axes or figure method, an embedded image)."""


def plotting_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells that draw or show a figure."""
    return [c for c in nb.cells if c.cell_type == "code" and PLOTS.search(c.source)]


def test_plotting_cells_are_recognised():
    nb = nbformat.read(next(p for p in NOTEBOOKS if "researcher" in p.stem), as_version=4)
    assert len(plotting_cells(nb)) >= 3
    assert not PLOTS.search("print(f'{len(diff)} seeds')\nfigures = 2")


def test_there_is_a_strategist_and_a_researcher_notebook():
    names = " ".join(p.stem for p in NOTEBOOKS)
    assert "strategist" in names and "researcher" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_outputs_cleared(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SIYU_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("SIYU_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # a headless machine's backend: the figures must show all the same
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    blank = [c.source[:80] for c in plotting_cells(nb)
             if not any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert not blank, f"cells that plot but show no image (text like <Figure size ...> instead): {blank}"
    if "strategist" in path.stem:
        assert (tmp_path / "strategist" / "report.html").exists()
