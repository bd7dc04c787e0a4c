"""``siyu calibrate --scan-box``: where the scan of starting points looks, which decides the basins a search reaches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate import fit
from experiments.calibrate.fit import LIMITS, START_BOX, START_POINTS, scan_box, scan_points
from experiments.calibrate.history import histories
from experiments.calibrate.report import scan_box_line
from experiments.cli.app import main
from experiments.cli.commands import calibrate as calibrate_command
from experiments.logs.rows import parse_date_argument
from experiments.logs.transactions import read_transactions
from sim.config import load_scenario

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.csv"
NAMES = ("population.cycle_median_days", "population.cycle_sigma", "dynamics.tenure_fade", "dynamics.tenure_floor")
FADE = "dynamics.tenure_fade"


def test_a_range_moves_only_its_own_coordinate_of_the_scan_and_covers_it_evenly():
    default = np.array(scan_points(NAMES, seed=7))
    wide = np.array(scan_points(NAMES, seed=7, box=((FADE, 0.02, 5.0),)))
    k = NAMES.index(FADE)
    others = [j for j in range(len(NAMES)) if j != k]
    assert np.array_equal(wide[:, others], default[:, others])  # the same design: only the fade's range changes
    lo, hi = np.log(START_BOX[FADE])
    assert np.allclose((default[:, k] - lo) / (hi - lo), (wide[:, k] - np.log(0.02)) / (np.log(5.0) - np.log(0.02)))
    unit = np.sort((wide[:, k] - np.log(0.02)) / (np.log(5.0) - np.log(0.02)))
    strata = np.arange(START_POINTS) / START_POINTS  # a scrambled Sobol design puts one point in each 1/16th
    assert np.all((unit >= strata) & (unit < strata + 1 / START_POINTS))
    # giving the default range changes nothing, to the bit
    assert np.array_equal(np.array(scan_points(NAMES, 7, box=((FADE, *START_BOX[FADE]),))), default)


def test_the_box_is_parsed_and_every_mistake_is_one_line():
    assert scan_box(["dynamics.tenure_fade=0.02,5", "population.cycle_sigma = 0.2,1"], NAMES) == (
        (FADE, 0.02, 5.0), ("population.cycle_sigma", 0.2, 1.0))
    assert scan_box([], NAMES) == ()
    for text, said in [("dynamics.tenure_fade=0.02", "expected NAME=LOW,HIGH"),
                       ("dynamics.tenure_fade=a,b", "expected NAME=LOW,HIGH"),
                       ("dynamics.need_lapse=0.1,0.5", "dynamics.need_lapse is not fitted here"),
                       ("=0.1,0.5", "(no name) is not fitted here"),
                       ("dynamics.tenure_fade=5,0.02", "need 0 < LOW < HIGH"),
                       ("dynamics.tenure_fade=0.02,50", f"range {LIMITS[FADE][0]:g} to {LIMITS[FADE][1]:g}"),
                       ("population.cycle_sigma=0,1", "need 0 < LOW < HIGH")]:
        with pytest.raises(ValueError, match="^--scan-box") as e:
            scan_box([text], NAMES)
        assert said in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="given twice"):
        scan_box(["dynamics.tenure_fade=0.1,1", "dynamics.tenure_fade=0.2,2"], NAMES)


def test_fit_md_says_what_the_box_changed():
    line = scan_box_line(((FADE, 0.02, 5.0),))
    assert "`dynamics.tenure_fade` from 0.02 to 5 1/year (by default 0.02 to 2)" in line


class _Stop(Exception):
    pass


def test_the_cli_hands_the_box_to_the_searches_and_refuses_a_parameter_it_does_not_fit(monkeypatch, capsys):
    seen: list[dict] = []

    def stop(h, base, weekly, args, out, options, tag=""):
        seen.append(options)
        raise _Stop

    monkeypatch.setattr(calibrate_command, "searched_fits", stop)
    command = ["calibrate", str(CDNOW), "--calibration-end", "1997-09-30", "--out", "unused"]
    tenure = ["--fit", "dynamics.tenure_fade", "--fit", "dynamics.tenure_floor"]
    for extra in ([], ["--scan-box", "dynamics.tenure_fade=0.02,5", "--min-pool", "3000"]):
        assert main(command + tenure + extra) != 0 and "_Stop" in capsys.readouterr().err  # stopped at the searches
    assert "scan_box" not in seen[0] and "min_pool" not in seen[0]  # a default run's saved searches keep their keys
    assert seen[1]["scan_box"] == ((FADE, 0.02, 5.0),) and seen[1]["min_pool"] == 3000
    assert main(command + ["--scan-box", "dynamics.tenure_fade=0.02,5"]) == 2  # the fade is not fitted
    assert "dynamics.tenure_fade is not fitted here" in capsys.readouterr().err
    assert main(command + ["--hold", "population.dropout_sigma", "--scan-box", "population.dropout_sigma=0.1,3"]) == 2
    assert "population.dropout_sigma is not fitted here" in capsys.readouterr().err
    for pool, why in (("0", "must be >= 1, got 0"), ("400001", "must be <= 400,000 (the simulated pool's cap)")):
        with pytest.raises(SystemExit) as stopped:  # argparse's own exit, before any work
            main(command + ["--min-pool", pool])
        assert stopped.value.code == 2 and why in capsys.readouterr().err


def test_the_search_scans_the_box_it_is_given(monkeypatch):
    end = parse_date_argument("1997-09-30", "end")
    h = histories(read_transactions(CDNOW, calibration_end=end), end)
    boxes: list = []

    def scanned(*args, box=(), **kwargs):
        boxes.append(box)
        raise _Stop

    monkeypatch.setattr(fit, "scan_starts", scanned)
    with pytest.raises(_Stop):
        fit.search_log(h, load_scenario("beauty"), scan_box=((FADE, 0.02, 5.0),), also=(FADE, "dynamics.tenure_floor"))
    assert boxes == [((FADE, 0.02, 5.0),)]
