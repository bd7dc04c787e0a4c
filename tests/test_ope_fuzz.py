"""Hostile arguments to ``siyu plan``, ``siyu ope`` and ``siyu validate``: exit 0 or 2, never a traceback."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.cli.app import main
from experiments.crm.snapshot import write_snapshot
from experiments.ope.simulate import campaign, warmed_pool, write_logs
from policies.randomized import RandomizedCampaign, parse_arms
from sim.config import load_scenario
from tests.test_hostile_fuzz import FUZZ, TOKENS, _check, _flags

WORDS = TOKENS + ["contacts.csv", "transactions.csv", "crm.csv", "2024-01-31", "uniform", "none,wecom:coupon",
                  "wecom:x", "none", "prop", "customer_id=x"]
BASE = {"plan": ["fatigue_capped", "--crm", "crm.csv", "--date", "2024-01-31"],
        "ope": ["no_contact", "--contacts", "contacts.csv", "--transactions", "transactions.csv"],
        "validate": ["beauty", "--contacts", "contacts.csv", "--transactions", "transactions.csv", "--replicates", "1",
                     "--warmup", "1", "--customers", "50"]}


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    c = campaign(warmed_pool(load_scenario("beauty"), 300, 1, 30), RandomizedCampaign(parse_arms("none,wecom:coupon")),
                 14)
    write_logs(c, out)
    write_snapshot(c.decisions.view, out / "crm.csv")
    return out


@pytest.mark.parametrize("command", ["plan", "ope", "validate"])
def test_random_arguments(tmp_path_factory, capsys, monkeypatch, small_logs, command):
    words = st.lists(st.one_of(st.sampled_from(_flags(command)), st.sampled_from(WORDS)), max_size=6)

    @FUZZ
    @given(extra=words)
    def check(extra: list[str]) -> None:
        root = tmp_path_factory.mktemp("fuzz")
        for f in small_logs.iterdir():
            shutil.copy(f, root / f.name)
        monkeypatch.chdir(root)
        _check(root, capsys, [command, *BASE[command], *extra, "--out", "out/plan.csv" if command == "plan" else "out"])

    check()


@pytest.mark.parametrize("command", ["plan", "ope", "validate"])
def test_the_unfuzzed_commands_succeed_and_write_their_output(tmp_path, capsys, monkeypatch, small_logs, command):
    """The ground the fuzz starts from works: without extra words each command exits 0 and writes its output."""
    for f in small_logs.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    out = "out/plan.csv" if command == "plan" else "out"
    assert main([command, *BASE[command], "--out", out]) == 0, capsys.readouterr().err[-2000:]
    written = [out] if command == "plan" else [p.name for p in (tmp_path / "out").iterdir()]
    assert (tmp_path / out).exists() and written
