"""The siyu command line: outputs, formats, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from experiments.cli.app import main

REQUIRED = ["scenario", "policy", "seed", "customers", "days", "revenue", "incentive_cost", "contact_cost",
            "net_profit", "residual_value", "total_value", "purchases", "contacts", "opens",
            "unsubscribes", "complaints", "reachable_end", "active_end", "code_version", "config_hash"]


def test_run_writes_summary_and_daily(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--policy", "rfm_tiered", "--customers", "2000", "--days", "30", "--seed", "3",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(REQUIRED) <= set(summary)
    assert summary["policy"] == "rfm_tiered" and summary["seed"] == 3 and summary["days"] == 30
    rows = list(csv.DictReader((out / "daily.csv").open()))
    assert len(rows) == 30 and rows[0]["day"] == "0"
    for column in ("groups_alive", "group_heat_mean", "referrals", "acquired", "acquisition_cost",
                   "staff_lost_customers", "banned_accounts", "pool_size", "net_profit"):
        assert column in rows[0], column
    for key in ("groups_alive", "group_heat_mean", "referrals", "acquired", "acquisition_cost",
                "staff_lost_customers", "banned_accounts", "pool_size_end"):
        assert key in summary, key
    assert sum(float(r["revenue"]) for r in rows) == pytest.approx(summary["revenue"], rel=1e-9)


def test_compare_writes_long_form_with_paired_cis(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "--policies", "no_contact,rfm_tiered", "--seeds", "3", "--customers", "2000",
                 "--days", "30", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert list(rows[0])[:6] == ["policy", "metric", "mean", "diff_vs_reference", "ci_low", "ci_high"]
    tv = {r["policy"]: r for r in rows if r["metric"] == "total_value"}
    assert float(tv["no_contact"]["diff_vs_reference"]) == 0.0
    d = float(tv["rfm_tiered"]["diff_vs_reference"])
    assert float(tv["rfm_tiered"]["ci_low"]) <= d <= float(tv["rfm_tiered"]["ci_high"])
    assert d == pytest.approx(float(tv["rfm_tiered"]["mean"]) - float(tv["no_contact"]["mean"]))
    assert len(list((out / "runs").glob("*.json"))) == 6


@pytest.mark.parametrize("args, needle", [
    (["run", "--scenario", "nosuch"], "unknown scenario 'nosuch'"),
    (["run", "--policy", "nosuch"], "unknown policy 'nosuch'"),
    (["run", "--customers", "0"], "must be >= 1"),
    (["run", "--days", "-3"], "must be >= 1"),
    (["run", "--seed", "abc"], "expected a whole number"),
    (["compare", "--seeds", "x"], "expected a whole number"),
    (["run", "--scenario", "missing.toml"], "no such file"),
    (["scenarios", "show", "nosuch"], "unknown scenario preset 'nosuch'"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, needle):
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("first run")]  # cold numba cache
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith(f"siyu {args[0]}")
    assert "Traceback" not in proc.stderr


def test_bad_scenario_file_is_reported_before_running(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[population]\nbuyer_share = 2\n")
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", "--scenario", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "population.buyer_share = 2" in proc.stderr and "Traceback" not in proc.stderr


def test_scenarios_lists_and_shows(capsys):
    assert main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    for name in ("beauty", "mother_baby", "high_ticket", "hair_transplant"):
        assert name in listed
    assert main(["scenarios", "show", "high_ticket"]) == 0
    assert 'name = "high_ticket"' in capsys.readouterr().out


def test_scenarios_fields_documents_every_settable_field(capsys):
    from sim.config import field_docs
    rows = field_docs()
    numeric = [r for r in rows if r["range"]]
    assert len(numeric) > 80 and all(r["unit"] and r["description"] for r in numeric)
    assert main(["scenarios", "fields", "landing"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "landing.wechat_share" in out and "[0, 1]" in out and "dynamics." not in out
    assert main(["scenarios", "fields", "nope"]) == 2
    assert "sections: acquisition" in " ".join(capsys.readouterr().err.split())


def test_bench_json_lists_the_figures_tools_read():
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "bench", "--sizes", "3000", "--threads", "1",
                           "--min-seconds", "0.05", "--json"], capture_output=True, text=True, check=True)
    rows = json.loads(proc.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert {"customers", "threads", "customer_days_per_s", "bytes_per_customer", "peak_mb"} <= set(row)
    assert row["customers"] == 3000 and row["threads"] == 1
    assert row["customer_days_per_s"] > 0 and 0 < row["bytes_per_customer"] < 200


def test_version_prints_the_installed_version():
    from importlib.metadata import version
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"siyu {version('siyu')}"


def test_an_unexpected_failure_is_one_line_when_stderr_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    """A failure no user check foresaw (here a planted bug): one line, exit 1; a damaged folder is exit 2."""
    from experiments.cli.commands import report
    from sim import _cache

    monkeypatch.setattr(_cache, "COLD", False)  # the compile notice is a line of its own
    (tmp_path / "experiment.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2  # a results folder damaged by hand is the user's input
    assert "not an experiment.json" in capsys.readouterr().err

    def bug(args):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(report, "cmd_report", bug)
    assert main(["report", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siyu report: error: RuntimeError: a bug over two lines")


@pytest.mark.parametrize("value, signed, text", [
    (4_712_345.0, False, "4.71M"), (23_612.0, False, "23.6k"), (1234.4, False, "1,234"),
    (8.293, True, "+8"), (-8.293, True, "-8"), (0.1634, False, "0.16"), (0.0, True, "+0"),
    (-0.0001, False, "-0.0001"), (float("nan"), False, "n/a"), (999_999.7, False, "1M"),
])
def test_numbers_read_as_people_write_them(value, signed, text):
    from experiments.console import number
    assert number(value, signed) == text


def test_axis_ticks_keep_their_halves_and_counts_their_plurals():
    from experiments.console import count, number
    assert [number(v, digits=3) for v in (0.5, 1.5, 2.5, 2500)] == ["0.5", "1.5", "2.5", "2,500"]
    assert [count(1, "seed"), count(3, "seed"), count(2, "policy"), count(20_000, "customer")] == \
        ["1 seed", "3 seeds", "2 policies", "20,000 customers"]
    assert count(2, "day") == "2 days"


def test_a_policy_that_never_contacts_is_named_in_one_line_and_in_the_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--policies", "no_contact,rfm_tiered", "--seeds", "2", "--customers", "800",
                 "--days", "20", "--out", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("Warning: no_contact made no contact at all on 2 seeds")
    assert "as a control that is intended" in warnings[0]
    report = (out / "report.md").read_text()
    assert "Warning: no_contact made no contact at all" in report and "Warning: rfm_tiered" not in report


@pytest.mark.parametrize("words, expected", [
    (["siyu", "co"], {"compare"}),
    (["siyu", "compare", "--se"], {"--seeds", "--seed"}),
    (["siyu", "train", "--algo", "ma"], {"maskable_ppo"}),
    (["siyu", "scenarios", "f"], {"fields"}),
])
def test_bash_completion_completes_commands_options_and_choices(words, expected):
    script = subprocess.run([sys.executable, "-m", "experiments.cli", "--completion"], capture_output=True,
                            text=True, check=True).stdout
    words_text = " ".join(f"'{w}'" for w in words)
    probe = f'{script}\nCOMP_WORDS=({words_text}); COMP_CWORD={len(words) - 1}; _siyu; echo "${{COMPREPLY[@]}}"'
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert set(proc.stdout.split()) == expected


def test_calibrate_help_names_every_parameter_the_fit_can_add():
    from experiments.calibrate.fit import OPTIONAL
    from experiments.cli.app import build_parser

    calibrate = build_parser()._subparsers._group_actions[0].choices["calibrate"]
    fit_help = next(a.help for a in calibrate._actions if "--fit" in a.option_strings)
    assert [name for name in OPTIONAL if name not in fit_help] == []
