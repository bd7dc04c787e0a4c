"""Calibration on engine-simulated logs: parameter recovery, interval coverage and holdout error against BG/NBD.

For each seed an existing pool is simulated from known parameters (beauty with the cycle, its spread and the
order values moved away from the preset), its first ``--days`` days are calibrated from the beauty
preset, and the next ``--holdout`` days are forecast by the fitted scenario (each customer conditioned on
their history, the fitted parameters drawn jointly from the bootstrap's covariance) and by BG/NBD. Prints
one row per seed, then how often the 90% intervals hold the truth (sandwich and bootstrap standard errors),
how often the 90% forecast band holds the actual curve (all weeks, and the last week) and the mean errors.

    python benchmarks/calibrate_recovery.py [--seeds 8] [--customers 1500] [--days 240] [--holdout 182]
                                            [--bootstrap 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.calibrate.bootstrap import bootstrap
from experiments.calibrate.fit import calibrate
from experiments.calibrate.forecast import Uncertainty
from experiments.calibrate.history import histories
from experiments.calibrate.holdout import compare
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.logs.transactions import read_transactions
from sim.config import apply_overrides, load_scenario

TRUTH = {"population.cycle_median_days": 60.0, "population.cycle_sigma": 0.5,
         "population.order_value_median": 120.0, "population.order_value_sigma": 0.6}
Z90 = 1.6449


def main() -> None:
    """Run the seeds and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--holdout", type=int, default=182)
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--bootstrap", type=int, default=20, help="refits of the parametric bootstrap")
    args = ap.parse_args()
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    base = load_scenario("beauty")
    hits = {k: [0, 0] for k in TRUTH}
    errors = []
    print("seed | " + " | ".join(f"{k.split('.')[-1]} (sandwich SE, bootstrap SE)" for k in TRUTH)
          + " | siyu total/curve | BG/NBD total/curve | weeks in band | last week in band | s")
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        c, d, a = engine_log(truth, args.customers, args.days + args.holdout, seed)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tx.csv"
            write_log(path, c, d, a)
            end = BASE_DATE.toordinal() + args.days - 1
            tx = read_transactions(path, calibration_end=end)
        h = histories(tx, end)
        cal = calibrate(h, base, None, seed=1000 + seed)
        boot = bootstrap(cal, args.bootstrap, seed=1000 + seed) if args.bootstrap else cal  # 0: the sandwich
        hold = compare(cal.scenario, h, tx, args.holdout // 7, args.replicates, seed, Uncertainty.of(boot))
        cells = []
        for k, true in TRUTH.items():
            v, se, bse = cal.values[k], cal.ses[k], boot.ses[k]
            hits[k][0] += abs(v - true) <= Z90 * se
            hits[k][1] += abs(v - true) <= Z90 * bse
            cells.append(f"{v:.4g} ({se:.2g}, {bse:.2g})")
        errors.append((*hold.siyu_error, *hold.bgnbd_error, hold.inside_band, hold.last_inside))
        e = errors[-1]
        print(f"{seed} | " + " | ".join(cells) + f" | {100 * e[0]:.1f}% / {100 * e[1]:.1f}% | {100 * e[2]:.1f}% / "
              f"{100 * e[3]:.1f}% | {100 * e[4]:.0f}% | {'yes' if e[5] else 'no'} | "
              f"{time.perf_counter() - started:.0f}",
              flush=True)
    print("truth | " + " | ".join(f"{v:g}" for v in TRUTH.values()))
    print("90% intervals holding the truth (sandwich, bootstrap): "
          + ", ".join(f"{k.split('.')[-1]} {hits[k][0]}/{args.seeds}, {hits[k][1]}/{args.seeds}" for k in TRUTH))
    m = np.mean(errors, axis=0)
    print(f"mean holdout error: siyu total {100 * m[0]:.1f}%, curve MAPE {100 * m[1]:.1f}%; BG/NBD total "
          f"{100 * m[2]:.1f}%, curve MAPE {100 * m[3]:.1f}%; weeks inside siyu's 90% band {100 * m[4]:.0f}%, "
          f"last week inside in {int(round(m[5] * args.seeds))}/{args.seeds} seeds")


if __name__ == "__main__":
    main()
