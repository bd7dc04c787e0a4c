"""The documentation in docs/ stands alone and stays true to the code it describes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parameters_page_is_up_to_date_with_the_scenario_schema():
    gen = _generator()
    assert gen.PAGE.read_text(encoding="utf-8") == gen.render(), f"docs/parameters.md is stale: run `{gen.COMMAND}`"


def test_parameters_page_lists_every_scenario_field():
    from sim.config import field_docs
    page = (DOCS / "parameters.md").read_text(encoding="utf-8")
    missing = [r["path"] for r in field_docs() if f"`{r['path']}`" not in page]
    assert not missing


def _anchors(markdown: str) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown page, and its explicit ``<a id>`` anchors."""
    heads = re.findall(r"^#+ (.+)$", markdown, flags=re.M)
    return ({re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}
            | set(re.findall(r'<a id="([^"]+)"', markdown)))


def test_links_between_pages_resolve():
    pages = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    assert {"model.md", "parameters.md", "glossary.md"} <= set(pages)
    broken = []
    for name, text in pages.items():
        for target in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            page, anchor = target
            if page.startswith("http"):
                continue
            path = (DOCS / page) if page else (DOCS / name)
            if not path.resolve().is_relative_to(ROOT.resolve()) or not path.exists():
                broken.append(f"{name}: {page}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path.read_text(encoding="utf-8")):
                broken.append(f"{name}: {page}#{anchor}")
    assert not broken


def test_tests_named_in_the_model_page_exist():
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    named = re.findall(r"(tests/test_\w+\.py)::(\w+)", text)
    assert len(named) >= 12
    missing = [f"{f}::{t}" for f, t in named
               if not (ROOT / f).exists() or not re.search(rf"^def {t}\(", (ROOT / f).read_text(), flags=re.M)]
    assert not missing


def test_the_project_does_not_point_outside_itself():
    suffixes = {".py", ".toml", ".md", ".ipynb"}
    pattern = re.compile(r"\.\./shared|DOMAIN\.md|DESIGN\.md|\bseeds? 00\d")
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}"
            for p in ROOT.rglob("*") if p.suffix in suffixes and ".venv" not in p.parts and p.is_file()
            for m in [pattern.search(p.read_text(encoding="utf-8", errors="replace"))] if m]
    assert not hits
