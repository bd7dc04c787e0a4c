"""Online Retail's holdout before and from the gift trade's season: siyu's fits and both baselines on each part.

The 23 held-out weeks (2011-07-01 to 2011-12-08) end in the shop's Christmas season: from week 18 (2011-10-28) a
week's repeat orders run about half again above the weeks before. The 30 calibration weeks (December 2010 to June
2011) show no season a model could carry forward, and none of siyu, BG/NBD and Pareto/NBD has one, so the error of
the total at week 23 mostly measures the season, and rewards a forecast that ran high before it. This script
forecasts each fitted scenario again with the holdout check's own call (``holdout.compare``: 40 replicates, the fit's
seed, the file's fitted errors) and prints every model's error at the last week before the season, its curve MAPE up
to that week, and both at the end (docs/calibration.md, "Online Retail's holdout and the season").

    python benchmarks/online_retail.py --route default --seeds 0 1 2 3 4 5 --out runs/online-retail
    python benchmarks/online_retail_season.py runs/online-retail/default_m1_s* [--season-week 18]

A folder's seed is read from its name's ``_s<seed>`` ending (``online_retail.py``'s naming); 0 otherwise. With
``--right N`` each fit is forecast again with N replicates, each taken in turn as the actual with the band from the
others, and the script counts those that show a run outside the weekly band (``holdout.departures``): how often a right
forecast would be said to depart.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import online_retail  # noqa: E402
from experiments.calibrate.history import histories  # noqa: E402
from experiments.calibrate.forecast import forecast  # noqa: E402
from experiments.calibrate.holdout import compare, departures, holdout_weeks, mape, weekly_counts  # noqa: E402
from experiments.calibrate.scenario_file import fitted_errors  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import load_scenario  # noqa: E402

SEASON_WEEK = 18
"""The holdout week (1 = the first seven days after the calibration end) the season starts in: 2011-10-28."""


def split(cumulative: np.ndarray, actual: np.ndarray, season: int) -> tuple[float, float, float, float]:
    """Signed error at the last week before ``season``, curve MAPE up to it, signed error and curve MAPE at the end."""
    before = season - 1
    return (cumulative[before - 1] / actual[before - 1] - 1, mape(cumulative[:before], actual[:before])[1],
            cumulative[-1] / actual[-1] - 1, mape(cumulative, actual)[1])


def row(label: str, figures: tuple[float, float, float, float]) -> str:
    """One table row."""
    return f"| {label} | " + " | ".join(f"{v:+.1%}" if k % 2 == 0 else f"{v:.1%}" for k, v in enumerate(figures)) + " |"


def main() -> None:
    """Forecast each fit again and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fits", type=Path, nargs="+", help="siyu calibrate output folders (scenario.toml in each)")
    ap.add_argument("--season-week", type=int, default=SEASON_WEEK)
    ap.add_argument("--right", type=int, default=0, metavar="N",
                    help="also count the runs among N replicates each taken as the actual (0: not)")
    args = ap.parse_args()
    end = date.fromisoformat(online_retail.END).toordinal()
    with tempfile.TemporaryDirectory() as tmp:
        tx = read_transactions(online_retail.log_file(Path(tmp)), calibration_end=end)
    h, weeks = histories(tx, end), holdout_weeks(tx, end)
    if not 2 <= args.season_week <= weeks:
        sys.exit(f"--season-week must lie in 2-{weeks}")
    before = args.season_week - 1
    print(f"| model | error at week {before} | curve MAPE, weeks 1-{before} | error at week {weeks} "
          f"| curve MAPE, weeks 1-{weeks} |")
    print("|---|---:|---:|---:|---:|")
    hold = None
    for folder in args.fits:
        path = folder / "scenario.toml"
        if not path.is_file():
            sys.exit(f"no scenario.toml in {folder}")
        seed = int(m.group(1)) if (m := re.search(r"_s(\d+)$", folder.name)) else 0
        hold = compare(load_scenario(str(path)), h, tx, weeks, 40, seed, fitted_errors(path))
        print(row(f"siyu, {folder.name} (seed {seed})", split(hold.siyu.mean, hold.actual, args.season_week)),
              flush=True)
        if args.right:
            reps = forecast(load_scenario(str(path)), h, 7 * weeks, args.right, seed, errors=fitted_errors(path)
                            ).replicates
            runs = sum(bool(departures(reps[k], np.delete(reps, k, axis=0))) for k in range(reps.shape[0]))
            print(f"  {runs} of {reps.shape[0]} replicates, each taken as the actual, show a run outside the weekly "
                  "band", flush=True)
    for label, cumulative in (("BG/NBD", hold.bgnbd), ("Pareto/NBD", hold.paretonbd)):
        print(row(label, split(cumulative, hold.actual, args.season_week)))
    weekly = weekly_counts(hold.actual)
    print(f"actual repeat orders a week: {weekly[:before].mean():.0f} in weeks 1-{before}, "
          f"{weekly[before:].mean():.0f} in weeks {args.season_week}-{weeks}")


if __name__ == "__main__":
    main()
