"""How far one log's estimate moves with the simulation seed alone: the search's end against the refined estimate.

One engine log (known parameters, as in ``calibrate_recovery.py``) is calibrated with several simulation seeds.
For each, the search's end (the least distance among the search's rows) and the estimate refined on a regression
over independent simulations (:mod:`experiments.calibrate.refine`, the calibration's estimate) are printed, then
the spread of each across the seeds (log scale) beside what the sandwich's simulation factor allows for it:
sqrt(leverage n / n_sim) times the data's share of the sandwich SE (one simulation's worth for the search's end).

    python benchmarks/simulation_seed_spread.py [--log-seed 201] [--sim-seeds 10] [--customers 1000] [--days 180]
        [--min-pool 4000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from calibrate_recovery import TRUTH  # the log's parameters
from experiments.calibrate.fit import calibrate, sandwich_covariance
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import engine_transactions
from sim.config import apply_overrides, load_scenario


def main() -> None:
    """Calibrate the log with each simulation seed and print the two spreads."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log-seed", type=int, default=201)
    ap.add_argument("--sim-seeds", type=int, default=10)
    ap.add_argument("--first-sim-seed", type=int, default=5001)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--min-pool", type=int, default=4000)
    args = ap.parse_args()
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    tx, end = engine_transactions(truth, args.customers, args.days, 84, args.log_seed)
    h = histories(tx, end)
    ends, refined, allowed_end, allowed_refined = [], [], [], []
    names: tuple[str, ...] = ()
    for k in range(args.sim_seeds):
        seed = args.first_sim_seed + k
        t0 = time.process_time()
        cal = calibrate(h, load_scenario("beauty"), None, seed=seed, min_pool=args.min_pool)
        m = cal.matched
        names = m.names
        rows = [r for r in cal.iterations if r.get("start", 1) != 0]
        best = min(rows, key=lambda r: r["distance"])
        ends.append([math.log(best[n]) for n in names])
        refined.append(list(m.theta))
        data_part = np.diag(sandwich_covariance(m.jac, m.weight, np.linalg.pinv(m.weight), 1.0))
        ratio = h.n / cal.sim.histories.n
        leverage = (np.diag(cal.covariance)[0] / data_part[0] - 1.0) / ratio  # the sandwich's factor, 1 + v n/n_sim
        allowed_end.append(np.sqrt(data_part * ratio))
        allowed_refined.append(np.sqrt(data_part * ratio * leverage))
        print(f"simulation seed {seed}: search's end {np.round(ends[-1], 3)}, refined {np.round(refined[-1], 3)}, "
              f"sandwich SE {np.round(np.sqrt(np.diag(cal.covariance)), 3)} ({time.process_time() - t0:.0f} s CPU)",
              flush=True)
    print(f"\n{h.n} customers in the log; log scale; {', '.join(names)}")
    print(f"spread across {args.sim_seeds} simulation seeds, search's end: {np.round(np.std(ends, axis=0, ddof=1), 3)}"
          f" (one simulation's noise allows {np.round(np.mean(allowed_end, axis=0), 3)})")
    print(f"spread across {args.sim_seeds} simulation seeds, refined:      "
          f"{np.round(np.std(refined, axis=0, ddof=1), 3)} (its leverage allows "
          f"{np.round(np.mean(allowed_refined, axis=0), 3)})")


if __name__ == "__main__":
    main()
