"""How far a fitted forecast's total moves with the forecast's seed: stratified parameter draws against independent.

Each folder's scenario (a ``siyu calibrate`` output) forecasts a real log's holdout with seeds 0 to ``--seeds`` - 1,
``--replicates`` replicates each, as the holdout check does, twice: the replicates' parameters drawn from a Latin
hypercube (the forecast's own, :func:`experiments.calibrate.forecast.stratified_normals`) and drawn independently
(the forecast until the forty-first session). Prints each forecast's error of the total and, per way, the totals' SD
over the seeds in percent of the actual (the forecast's own simulation noise; the fit is the same) and the bound the
forecast states (``Forecast.total_se``, the mean over the seeds).

    python benchmarks/cdnow.py --route lapse-tenure --seeds 0 --panel 3 --out /tmp/cdnow
    python benchmarks/forecast_seed_noise.py --log cdnow --panel 3 --seeds 16 /tmp/cdnow/lapse-tenure_p3_s0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import cdnow  # noqa: E402
from benchmarks.holdout_split import real_log  # noqa: E402
from experiments.calibrate import forecast as forecasting  # noqa: E402
from experiments.calibrate.history import histories, holdout_weekly  # noqa: E402
from experiments.calibrate.holdout import holdout_weeks  # noqa: E402
from experiments.calibrate.scenario_file import fitted_errors  # noqa: E402
from sim.config import load_scenario  # noqa: E402


def independent_normals(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Independent standard normals in the shape of :func:`~experiments.calibrate.forecast.stratified_normals`."""
    return rng.standard_normal((n, d))


def main() -> None:
    """Forecast each folder with each seed both ways and print the spreads."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fits", type=Path, nargs="+", help="siyu calibrate output folders (scenario.toml in each)")
    ap.add_argument("--log", choices=("retail", "cdnow"), default="cdnow")
    ap.add_argument("--panel", type=int, default=0, choices=range(cdnow.MASTER + 1), help="CDNOW's panel (cdnow.py)")
    ap.add_argument("--seeds", type=int, default=8, help="forecast seeds 0 to N - 1 (default 8)")
    ap.add_argument("--replicates", type=int, default=40, help="replicates of each forecast (default 40)")
    args = ap.parse_args()
    if args.seeds < 2:
        sys.exit("--seeds must be at least 2: the spread is over seeds")
    tx, _, end = real_log(args.log, args.panel)
    h, weeks = histories(tx, end), holdout_weeks(tx, end)
    actual = float(np.sum(holdout_weekly(tx, end, weeks)))
    stratified = forecasting.stratified_normals
    print(f"{h.n:,} customers, {weeks} weeks held out, {actual:,.0f} repeat transactions; {args.seeds} seeds of "
          f"{args.replicates} replicates")
    print("| fit | parameter draws | mean error of the total | SD over the seeds (of the actual) | stated bound |")
    print("|---|---|---:|---:|---:|")
    for folder in args.fits:
        scenario, errors = load_scenario(str(folder / "scenario.toml")), fitted_errors(folder / "scenario.toml")
        for way, normals in (("stratified", stratified), ("independent", independent_normals)):
            forecasting.stratified_normals = normals
            totals, bounds = [], []
            for seed in range(args.seeds):
                fc = forecasting.forecast(scenario, h, 7 * weeks, args.replicates, seed, errors=errors)
                totals.append(fc.mean[-1])
                bounds.append(fc.total_se())
                print(f"{folder.name}, {way}, seed {seed}: {100 * (fc.mean[-1] / actual - 1):+.1f}%", flush=True)
            forecasting.stratified_normals = stratified
            t = np.asarray(totals)
            print(f"| {folder.name} | {way} | {100 * (t.mean() / actual - 1):+.1f}% | "
                  f"{100 * t.std(ddof=1) / actual:.2f}% | {100 * np.mean(bounds) / actual:.2f}% |", flush=True)


if __name__ == "__main__":
    main()
