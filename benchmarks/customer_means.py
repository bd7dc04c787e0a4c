"""The noise in each customer's expected transactions, and what summing the daily chances costs.

A pool of ``--customers`` is simulated from ``beauty`` over 240 + 126 days, and its customers forecast over the 18
holdout weeks with the scenario that wrote it, twice (forecast seeds 1 and 2), each way of taking a customer's mean:
the drawn purchases, the summed daily chances (``Simulation.expect_purchases``), and those pooled over customers with
one record (``calibrate.exchangeable``). Prints the mean squared gap between the two seeds' means per customer (twice
the noise variance of one) and the forecast's time with the chances summed against without, in one run, interleaved.

    python benchmarks/customer_means.py [--customers 20000] [--replicates 40]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from experiments.calibrate.exchangeable import cells, pooled
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import engine_transactions
from sim.config import load_scenario


def main() -> None:
    """Forecast the log's customers each way and print the gaps and the times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--replicates", type=int, default=40)
    args = ap.parse_args()
    truth = load_scenario("beauty")
    tx, end = engine_transactions(truth, args.customers, 240, 126, 1)
    h = histories(tx, end)
    labels = cells(h, truth)
    means: dict[tuple[bool, int], np.ndarray] = {}
    spent = {True: 0.0, False: 0.0}
    for seed in (1, 2):
        for summed in (False, True):
            started = time.perf_counter()
            fc = forecast(truth, h, 126, args.replicates, seed, pool=False, chances=summed)
            spent[summed] += time.perf_counter() - started
            means[summed, seed] = fc.expected_transactions
    gaps = {"drawn purchases": np.mean((means[False, 1] - means[False, 2]) ** 2),
            "summed chances": np.mean((means[True, 1] - means[True, 2]) ** 2),
            "summed chances, pooled by record": np.mean((pooled(means[True, 1], labels)
                                                         - pooled(means[True, 2], labels)) ** 2)}
    print(f"{h.n:,} customers in the log ({labels.max() + 1:,} records), {args.replicates} replicates; mean squared "
          "gap between two forecast seeds' means per customer:")
    for name, gap in gaps.items():
        print(f"  {name}: {gap:.4f} ({gap / gaps['drawn purchases']:.0%} of the drawn purchases')")
    print(f"forecast time with the chances summed: {spent[True] / spent[False]:.2f} times without (two forecasts each)")


if __name__ == "__main__":
    main()
