"""Fuzz: random TOML documents and random arguments to every command end in exit 0 or 2, never a traceback.

Also checked: nothing is written outside ``--out`` (the command runs in an empty working folder).
Sizes stay small (values are drawn from hostile tokens, not from large valid sizes), so a command
that accepts its input finishes in a second or two.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.cli.app import build_parser, main
from policies.model_file import trust_models

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
"""Few examples per target: the suite stays fast; derandomized (conftest), so every run draws the same."""

KEYS = ["name", "policy", "policies", "scenario", "seeds", "customers", "days", "params", "grid", "overrides",
        "population", "dynamics", "acquisition", "tiers", "channels", "contents", "kind", "ref", "metric",
        "buyer_share", "lure", "ad_adds_per_day", "reserve_days", "thresholds_yuan", "channels.sms", "x" * 300]
HOSTILE_NUMBERS = [math.nan, math.inf, -math.inf, -1, 0, 1e30, 10**12, 2**63, 0.5, 3, True, False]
TOKENS = ["", "nan", "inf", "-1", "0", "1e12", "abc", "x" * 300, "true", "rl:nowhere", "rl:", "../..", "-", "2",
          "3", "no_contact", "blast", "beauty", "1,2", ",", "total_value", "∞", "a:b", "rfm_tiered,rl:x.zip"]
SAFE = {"run": ["--customers", "40", "--days", "2"],
        "compare": ["--customers", "40", "--days", "2", "--seeds", "2", "--no-report"],
        "experiment": ["--no-report"],
        "train": ["--timesteps", "32", "--customers", "8", "--days", "4"],
        "bench": ["--sizes", "100", "--threads", "1", "--min-seconds", "0.01"],
        "regress": ["--golden", "missing.json"]}
"""Arguments given first, so an accepted input stays small (a drawn flag may still override them)."""
UNFUZZED = {"--out", "--golden", "--update", "--help", "-h", "--version", "--completion", "--debug", "--min-seconds"}
"""Flags not drawn: where files go is fixed, --update rewrites a golden file after the full suite."""


def _values() -> st.SearchStrategy:
    leaves = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.integers(-10, 10),
                       st.text(max_size=12), st.sampled_from(TOKENS))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


documents = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), _values(), max_size=6).map(
        lambda d: "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in d.items())),
    st.text(max_size=200))
"""TOML documents of known and unknown keys with hostile values, and text that is mostly not TOML."""


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _check(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str]) -> None:
    """Run ``argv``: exit 0 or 2, no traceback, nothing written outside ``out``."""
    before = _files(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a bad argument (2) or --help (0)
        code = exc.code
    finally:
        trust_models(False)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    stray = {p for p in _files(tmp_path) - before if p.parts[0] != "out"}
    assert not stray, f"{argv} wrote outside --out: {sorted(stray)[:5]}"


@pytest.mark.parametrize("target", ["scenario", "policy", "spec"])
def test_random_toml_documents(tmp_path_factory, capsys, monkeypatch, target):
    @FUZZ
    @given(text=documents)
    def check(text: str) -> None:
        root = tmp_path_factory.mktemp("fuzz")
        monkeypatch.chdir(root)
        (root / "in.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
        argv = {"scenario": ["run", "--scenario", "in.toml", *SAFE["run"], "--out", "out"],
                "policy": ["run", "--policy", "in.toml", *SAFE["run"], "--out", "out"],
                "spec": ["experiment", "in.toml", *SAFE["experiment"], "--out", "out"]}[target]
        _check(root, capsys, argv)

    check()


def _flags(command: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted({o for a in sub.choices[command]._actions for o in a.option_strings} - UNFUZZED)


@pytest.mark.parametrize("command", ["run", "compare", "experiment", "report", "regress", "train", "scenarios",
                                     "bench"])
def test_random_arguments(tmp_path_factory, capsys, monkeypatch, command):
    words = st.lists(st.one_of(st.sampled_from(_flags(command) or ["-x"]), st.sampled_from(TOKENS)), max_size=6)

    @FUZZ
    @given(extra=words)
    def check(extra: list[str]) -> None:
        root = tmp_path_factory.mktemp("fuzz")
        monkeypatch.chdir(root)
        out = [] if command in ("report", "scenarios", "bench", "regress") else ["--out", "out"]
        _check(root, capsys, [command, *SAFE.get(command, []), *extra, *out])

    check()
