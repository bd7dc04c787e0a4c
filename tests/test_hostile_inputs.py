"""Bad input of every kind ends in one line naming it, exit code 2, no traceback, nothing simulated.

Each case is (kind, name, files to write, arguments, what the line must say). ``{d}`` in a file or
argument is the test's folder. The kinds match issue 13: output folders, sizes, TOML, grids,
numbers, messages and files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli.app import main

SMALL = ["--customers", "60", "--days", "3"]
SPEC = 'name = "x"\npolicies = ["no_contact"]\nseeds = 1\ncustomers = 60\ndays = 3\n'
LONG = "k" * 100_000


def _values(n: int, step: float) -> str:
    return ", ".join(f"{step * (i + 1):.4f}" for i in range(n))


CASES = [
    # output folders: checked before anything runs
    ("output", "--out is a file", {"f": "x"}, ["run", *SMALL, "--out", "{d}/f"], "exists and is not a folder"),
    ("output", "compare --out is a file", {"f": "x"},
     ["compare", "--policies", "no_contact", "--seeds", "1", *SMALL, "--out", "{d}/f"], "not a folder"),
    ("output", "--out under a file", {"f": "x"}, ["run", *SMALL, "--out", "{d}/f/sub"], "cannot write there"),
    ("output", "--out name too long", {}, ["run", *SMALL, "--out", "{d}/" + "n" * 300], "folder name is 300 bytes"),
    ("output", "--out not writable", {}, ["run", *SMALL, "--out", "/proc/siyu-out"], "cannot write there"),
    ("output", "train --out name too long", {}, ["train", "--out", "{d}/" + "n" * 300], "folder name"),
    ("output", "spec named ..", {"s.toml": SPEC.replace('"x"', '".."')}, ["experiment", "{d}/s.toml"], "name"),
    ("output", "report of a folder without results", {}, ["report", "{d}"], "no experiment.json"),
    # sizes: refused with the memory they need, before allocating
    ("size", "customers 1e12", {}, ["run", "--customers", "1000000000000", "--out", "{d}/o"], "customers"),
    ("size", "days 1e9", {}, ["run", "--customers", "60", "--days", "1000000000", "--out", "{d}/o"], "days"),
    ("size", "joiner reserve in TiB", {"s.toml": SPEC + '[overrides]\n"acquisition.ad_adds_per_day" = 1e7\n'
                                                      '"acquisition.reserve_days" = 36500\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "needs about"),
    ("size", "joiners over a long horizon", {"s.toml": SPEC.replace("days = 3", "days = 3650")
                                             + '[overrides]\n"acquisition.ad_adds_per_day" = 1e7\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "joiners"),
    ("size", "joiners in siyu run", {"s.toml": "[acquisition]\nad_adds_per_day = 1e7\nreserve_days = 36500\n"},
     ["run", "--scenario", "{d}/s.toml", *SMALL, "--out", "{d}/o"], "needs about"),
    ("size", "train --customers 1e9", {}, ["train", "--customers", "1000000000", "--out", "{d}/o"], "needs about"),
    ("size", "bench --sizes 1e12", {}, ["bench", "--sizes", "1000000000000", "--threads", "1"], "customers"),
    ("size", "bench --sizes abc", {}, ["bench", "--sizes", "abc"], "--sizes"),
    ("size", "bench --threads 0", {}, ["bench", "--sizes", "100", "--threads", "0"], "--threads"),
    ("size", "bench --threads 999", {}, ["bench", "--sizes", "100", "--threads", "999"], "--threads"),
    ("size", "bench --min-seconds nan", {}, ["bench", "--sizes", "100", "--min-seconds", "nan"], "--min-seconds"),
    ("size", "compare --jobs 100000", {}, ["compare", "--jobs", "100000", *SMALL, "--out", "{d}/o"], "--jobs"),
    ("size", "compare --seeds 1e9", {}, ["compare", "--seeds", "1000000000", *SMALL, "--out", "{d}/o"], "seeds"),
    # TOML: nesting, size, shapes that used to divide by zero
    ("toml", "nested array in a scenario", {"s.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n"},
     ["run", "--scenario", "{d}/s.toml", "--out", "{d}/o"], "nested deeper"),
    ("toml", "nested array in a policy", {"p.toml": "policy = " + "[" * 5000 + "]" * 5000 + "\n"},
     ["run", "--policy", "{d}/p.toml", "--out", "{d}/o"], "nested deeper"),
    ("toml", "nested tables within the parser's reach", {"s.toml": "x = " + "[" * 40 + "]" * 40 + "\n"},
     ["run", "--scenario", "{d}/s.toml", "--out", "{d}/o"], "nested deeper"),
    ("toml", "a 2 MB file", {"s.toml": "# " + "x" * 2_000_000 + "\n"},
     ["run", "--scenario", "{d}/s.toml", "--out", "{d}/o"], "at most"),
    ("toml", "blast with no channels", {"p.toml": 'policy = "blast"\n[params]\nchannels = []\n'},
     ["run", "--policy", "{d}/p.toml", *SMALL, "--out", "{d}/o"], "channels"),
    ("toml", "not TOML", {"s.toml": "[population\n"}, ["run", "--scenario", "{d}/s.toml", "--out", "{d}/o"],
     "not valid TOML"),
    # grids: the plan is counted before it is built
    ("grid", "100 x 100 x 100 scenario grid", {"s.toml": SPEC + "[grid.scenario]\n" + "".join(
        f'"{p}" = [{_values(100, 0.001)}]\n' for p in ("dynamics.lure", "contents.coupon.discount",
                                                        "population.buyer_share"))},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "1,000,000 points"),
    ("grid", "366 x 366 policy grid", {"s.toml": SPEC.replace('["no_contact"]', '["no_contact", {name = "c", '
                                                              'kind = "fixed_cadence"}]')
                                       + "[grid.policies.c]\n"
                                       + f"offer_every_days = [{', '.join(str(i) for i in range(366))}]\n"
                                       + f"content_every_days = [{', '.join(str(i) for i in range(366))}]\n"},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "133,956 points"),
    ("grid", "too many runs", {"s.toml": SPEC.replace("seeds = 1", "seeds = 1000") + "[grid.scenario]\n"
                               + f'"dynamics.lure" = [{_values(200, 0.01)}]\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "200,000 runs"),
    # numbers: NaN, infinity and booleans are not numbers
    ("number", "nan override", {"s.toml": SPEC + '[overrides]\n"dynamics.lure" = nan\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "finite"),
    ("number", "nan scenario field", {"s.toml": "[acquisition]\nad_adds_per_day = nan\n"},
     ["run", "--scenario", "{d}/s.toml", *SMALL, "--out", "{d}/o"], "finite"),
    ("number", "inf scenario field", {"s.toml": "[acquisition]\nreserve_days = inf\n"},
     ["run", "--scenario", "{d}/s.toml", *SMALL, "--out", "{d}/o"], "finite"),
    ("number", "nan tier threshold", {"s.toml": "[tiers]\nthresholds_yuan = [0.01, nan, 3000.0]\n"},
     ["run", "--scenario", "{d}/s.toml", *SMALL, "--out", "{d}/o"], "thresholds_yuan"),
    ("number", "seeds = true", {"s.toml": SPEC.replace("seeds = 1", "seeds = true")},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "seeds"),
    ("number", "customers as text", {"s.toml": SPEC.replace("customers = 60", 'customers = "60"')},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "customers"),
    ("number", "override = true", {"s.toml": SPEC + '[overrides]\n"dynamics.lure" = true\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "dynamics.lure"),
    ("number", "policy parameter = true", {"p.toml": 'policy = "fatigue_capped"\n[params]\nmin_gap_days = true\n'},
     ["run", "--policy", "{d}/p.toml", *SMALL, "--out", "{d}/o"], "min_gap_days"),
    ("number", "policy parameter = nan", {"p.toml": 'policy = "fatigue_capped"\n[params]\noffer_window = [nan, 1]\n'},
     ["run", "--policy", "{d}/p.toml", *SMALL, "--out", "{d}/o"], "offer_window"),
    ("number", "grid value nan", {"s.toml": SPEC + '[grid.scenario]\n"dynamics.lure" = [1.0, nan]\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "finite"),
    ("number", "regress --rtol nan", {}, ["regress", "--rtol", "nan"], "--rtol"),
    ("number", "regress --rtol -1", {}, ["regress", "--rtol", "-1"], "--rtol"),
    ("number", "--seed -1", {}, ["run", "--seed", "-1", "--out", "{d}/o"], "--seed"),
    # messages name the input and shorten it
    ("message", "--scenario ''", {}, ["run", "--scenario", "", "--out", "{d}/o"], "scenario"),
    ("message", "100,000-character key", {"s.toml": SPEC + LONG + " = 1\n"},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "kkk…"),
    ("message", "100,000-character scenario name", {}, ["run", "--scenario", LONG, "--out", "{d}/o"], "kkk…"),
    ("message", "100,000-character policy", {}, ["compare", "--policies", LONG, *SMALL, "--out", "{d}/o"], "kkk…"),
    ("message", "200,000-character description", {"s.toml": SPEC + f'description = "{LONG}{LONG}"\n'},
     ["experiment", "{d}/s.toml", "--out", "{d}/o"], "description"),
    ("message", "100,000-character preset name", {}, ["scenarios", "show", LONG], "kkk…"),
    ("message", "unknown policy", {}, ["run", "--policy", "nope", "--out", "{d}/o"], "unknown policy 'nope'"),
    # files siyu wrote, damaged
    ("file", "experiment.json lacking keys", {"r/experiment.json": "{}"}, ["report", "{d}/r"], "experiment.json"),
    ("file", "corrupt experiment.json", {"r/experiment.json": "{not json"}, ["report", "{d}/r"], "experiment.json"),
    ("file", "experiment.json without tables", {"r/experiment.json": json.dumps(
        {"axes": [], "points": [{"index": 0, "values": {}}], "policies": [{"name": "a"}], "seeds": [0],
         "metric": "total_value"})}, ["report", "{d}/r"], "runs"),
    ("file", "golden file not JSON", {"g.json": "{bad"}, ["regress", "--golden", "{d}/g.json"], "not a golden file"),
    ("file", "golden file of another shape", {"g.json": '{"runs": 3, "suite": {}}'},
     ["regress", "--golden", "{d}/g.json"], "not a golden file"),
    ("file", "golden runs not numbers", {"g.json": '{"runs": {"a": {"m": "x"}}, "suite": {}, "tolerance": 3}'},
     ["regress", "--golden", "{d}/g.json"], "not a golden file"),
    ("file", "train --resume over a damaged record", {"t/model.pt": "x", "t/hyperparams.json": "{bad"},
     ["train", "--resume", "--out", "{d}/t", "--timesteps", "64", "--customers", "16"], "hyperparams.json"),
    ("file", "train --resume without weights", {"t/hyperparams.json": "{}"},
     ["train", "--resume", "--out", "{d}/t", "--timesteps", "64", "--customers", "16"], "model.pt"),
]


def _prepare(tmp_path: Path, files: dict[str, str], args: list[str]) -> list[str]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return [a.replace("{d}", str(tmp_path)) for a in args]


@pytest.mark.parametrize("kind,name,files,args,fragment", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_ends_in_one_clean_line(tmp_path, capsys, monkeypatch, kind, name, files, args, fragment):
    monkeypatch.chdir(tmp_path)
    argv = _prepare(tmp_path, files, args)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a bad flag value itself
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "compiling the numba" not in line]
    assert code == 2, err[:500]
    assert len(lines) == 1 and "Traceback" not in err, err[:2000]
    assert fragment in lines[0] and len(lines[0]) < 700, lines[0][:1000]
    assert not (tmp_path / "o" / "summary.json").exists() and not (tmp_path / "o" / "runs").exists()
    assert not (tmp_path / "runs").exists(), "a spec wrote into the working folder"


def test_errors_stay_one_line_in_a_narrow_pipe(tmp_path):
    """Not a terminal, 40 columns: the long line is not wrapped (a log or CI reads it whole)."""
    env = {"COLUMNS": "40", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", "--scenario", "x" * 300,
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "compiling" not in line]
    assert proc.returncode == 2 and len(lines) == 1 and len(lines[0]) > 40, proc.stderr
    assert "x" * 100 not in lines[0] and "…" in lines[0]


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(ValueError, match="customers"):
        main(["run", "--debug", "--customers", "1000000000000", "--out", str(tmp_path / "o")])


def test_case_count_by_kind():
    """The closing note quotes these counts; every kind of issue 13 has cases."""
    kinds = {c[0] for c in CASES}
    assert kinds == {"output", "size", "toml", "grid", "number", "message", "file"}
    assert len(CASES) >= 50
