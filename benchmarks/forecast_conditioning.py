"""The conditioning alone: holdout forecasts of engine logs by the scenario that wrote them (no fit).

For each seed an existing pool of ``--customers`` is simulated from beauty with the cycle, its spread and the
order values of ``benchmarks/calibrate_recovery.py``'s truth; the first ``--days`` days are the history and
the next ``--holdout`` days are forecast by that same scenario, each customer conditioned on their history.
Whatever error is left is the conditioning's (and simulation noise): prints the signed error of the total,
the cumulative curve's MAPE and the weeks inside the 90% band per seed, then their means; BG/NBD beside. With
``--order`` each seed's "who buys in the holdout" section follows its row (``customer_check``): how well the
scenario that wrote the log orders its customers against the baselines, in its own world.

    python benchmarks/forecast_conditioning.py [--seeds 4] [--customers 1500] [--days 240] [--holdout 182]
        [--replicates 40] [--order]
        [--scenario FILE]   (the truth: a scenario file, e.g. a fit's scenario.toml, instead of the one above)
"""

from __future__ import annotations

import argparse

import numpy as np

from experiments.calibrate.history import histories
from experiments.calibrate.holdout import compare
from experiments.calibrate.simulate import engine_transactions
from sim.config import apply_overrides, load_scenario

TRUTH = {"population.cycle_median_days": 60.0, "population.cycle_sigma": 0.5,
         "population.order_value_median": 120.0, "population.order_value_sigma": 0.6}


def main() -> None:
    """Run the seeds and print one row each, then the means."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--holdout", type=int, default=182)
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--order", action="store_true", help="also score each seed's order of the customers")
    ap.add_argument("--unpooled", action="store_true",
                    help="siyu's per-customer means from each customer's own replicates, not pooled by record")
    ap.add_argument("--drawn", action="store_true",
                    help="siyu's per-customer means count the drawn purchases, not the summed daily chances")
    ap.add_argument("--scenario", default=None, help="the truth: a scenario file or preset (default: beauty + TRUTH)")
    args = ap.parse_args()
    truth = load_scenario(args.scenario) if args.scenario else apply_overrides(load_scenario("beauty"), TRUTH, "truth")
    rows = []
    print("seed | siyu signed total error | siyu curve MAPE | BG/NBD total | BG/NBD curve MAPE | weeks in band")
    for seed in range(1, args.seeds + 1):
        tx, end = engine_transactions(truth, args.customers, args.days, args.holdout, seed)
        hold = compare(truth, histories(tx, end), tx, args.holdout // 7, args.replicates, seed,
                       pool=not args.unpooled, chances=not args.drawn)
        signed = hold.siyu.mean[-1] / hold.actual[-1] - 1.0
        rows.append((signed, hold.siyu_error[1], *hold.bgnbd_error, hold.inside_band))
        r = rows[-1]
        print(f"{seed} | {100 * r[0]:+.1f}% | {100 * r[1]:.1f}% | {100 * r[2]:.1f}% | {100 * r[3]:.1f}% | "
              f"{100 * r[4]:.0f}%", flush=True)
        if args.order and hold.customers is not None:
            print("\n".join(hold.customers.lines()[1:]) + "\n", flush=True)
    m = np.mean(rows, axis=0)
    sd = np.std([r[0] for r in rows], ddof=1) if len(rows) > 1 else float("nan")
    print(f"mean: siyu signed total {100 * m[0]:+.1f}% (sd over seeds {100 * sd:.1f}%), curve MAPE {100 * m[1]:.1f}%; "
          f"BG/NBD total {100 * m[2]:.1f}%, curve MAPE {100 * m[3]:.1f}%; weeks in band {100 * m[4]:.0f}%")


if __name__ == "__main__":
    main()
