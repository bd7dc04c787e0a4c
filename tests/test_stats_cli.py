"""What `siyu compare` prints: the table with its Bonferroni level, what each policy does, verdicts that follow."""

from __future__ import annotations

import csv
import re

from experiments.cli.app import main


def test_compare_with_three_seeds_says_underpowered_and_what_each_policy_does(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--policies", "no_contact,fixed_cadence,blast", "--seeds", "3", "--customers", "600",
                 "--days", "10", "--out", str(out), "--no-report"]) == 0
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "97.5% (Bonferroni over 2 comparisons)" in text and "underpowered: fewer than 5 seeds" in text
    assert "what each policy does" in text and "Daily promotion" in text and "flash_sale 50%" in text
    assert "Underpowered: only 3 seeds (fewer than 5)" in text
    lead = re.search(r"Best on total_value: (\w+) .*?CI ([-+\d,.k]+) to ([-+\d,.k]+)\)\. "
                     r"The lead is (not )?significant", text)
    assert lead, text
    rows = [r for r in csv.DictReader((out / "comparison.csv").open()) if r["metric"] == "total_value"]
    assert {r["ci_level"] for r in rows} == {"0.975"}
    for r in rows[1:]:
        low, high = float(r["ci_low"]), float(r["ci_high"])
        assert (r["significant"] == "True") == (low > 0 or high < 0) == (float(r["p_adjusted"]) < 0.05)
    best = next(r for r in rows if r["best"] == "True")
    assert best["policy"] == lead[1] and (best["lead_significant"] == "True") == (lead[4] is None)
