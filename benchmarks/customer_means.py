"""The noise in each customer's expected transactions, and what summing the daily chances costs.

A pool of ``--customers`` is simulated from ``beauty`` over 240 + 126 days, and its customers forecast over the 18
holdout weeks with the scenario that wrote it, twice (forecast seeds 1 and 2), each way of taking a customer's mean:
the drawn purchases, the summed daily chances (``Simulation.expect_purchases``), and those pooled over customers with
one record (``calibrate.exchangeable``). Prints the mean squared gap between the two seeds' means per customer (twice
the noise variance of one) and the forecast's time with the chances summed against without, in one run, interleaved.
``--plan SHARE`` forecasts under a contact plan instead: a WeCom coupon to a random SHARE of the customers on the
first day of each week (a contacted customer's day counts whether they bought; nobody is pooled).

    python benchmarks/customer_means.py [--customers 20000] [--replicates 40] [--plan 0.2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from experiments.calibrate.exchangeable import cells, pooled
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import engine_transactions
from policies.replay import Replay
from sim.config import load_scenario
from sim.defaults import CHANNELS, CONTENTS, EVENING

WEEKS = 18


def weekly_plan(customers: int, share: float) -> Replay:
    """A WeCom coupon in the evening to a random ``share`` of ``customers`` on each week's first day (seed 0)."""
    chosen = np.random.default_rng(0).random((WEEKS, customers)) < share
    week, customer = np.nonzero(chosen)
    n = customer.size
    return Replay(customer, 7 * week, np.full(n, CHANNELS.index("wecom")), np.full(n, CONTENTS.index("coupon")),
                  np.full(n, EVENING))


def main() -> None:
    """Forecast the log's customers each way and print the gaps and the times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--plan", type=float, default=0.0, metavar="SHARE",
                    help="forecast under a weekly plan contacting this share of the customers (0: no plan)")
    args = ap.parse_args()
    truth = load_scenario("beauty")
    tx, end = engine_transactions(truth, args.customers, 240, 7 * WEEKS, 1)
    h = histories(tx, end)
    plan = weekly_plan(h.n, args.plan) if args.plan > 0 else None
    labels = cells(h, truth)
    means: dict[tuple[bool, int], np.ndarray] = {}
    spent = {True: 0.0, False: 0.0}
    for seed in (1, 2):
        for summed in (False, True):
            started = time.perf_counter()
            fc = forecast(truth, h, 7 * WEEKS, args.replicates, seed, pool=False, chances=summed, plan=plan)
            spent[summed] += time.perf_counter() - started
            means[summed, seed] = fc.expected_transactions
    gaps = {"drawn purchases": np.mean((means[False, 1] - means[False, 2]) ** 2),
            "summed chances": np.mean((means[True, 1] - means[True, 2]) ** 2)}
    if plan is None:
        gaps["summed chances, pooled by record"] = np.mean((pooled(means[True, 1], labels)
                                                            - pooled(means[True, 2], labels)) ** 2)
    under = f"; a plan of {plan.customer.size:,} contacts" if plan is not None else ""
    print(f"{h.n:,} customers in the log ({labels.max() + 1:,} records), {args.replicates} replicates{under}; mean "
          "squared gap between two forecast seeds' means per customer:")
    for name, gap in gaps.items():
        print(f"  {name}: {gap:.4f} ({gap / gaps['drawn purchases']:.0%} of the drawn purchases')")
    print(f"forecast time with the chances summed: {spent[True] / spent[False]:.2f} times without (two forecasts each)")


if __name__ == "__main__":
    main()
