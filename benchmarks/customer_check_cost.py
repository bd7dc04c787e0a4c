"""What the holdout check's "who buys" scores cost on a large log: their share of the check's time, and peak memory.

A pool of ``--customers`` is simulated from ``beauty`` over 240 + 126 days and the holdout check (``holdout.compare``,
40 replicates) run on it with the scenario that wrote it; prints the seconds of the customer check
(``customer_check.check``, the resampling of the customers mostly) against the whole holdout check's, in one run,
and the process's peak resident memory. ``--unbatched`` draws every resample at once, as before the resamples were
batched above ``customer_check.RESAMPLED_VALUES``.

    python benchmarks/customer_check_cost.py [--customers 200000] [--unbatched]
"""

from __future__ import annotations

import argparse
import resource
import time

import experiments.calibrate.customer_check as customer_check
import experiments.calibrate.holdout as holdout
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import engine_transactions
from sim.config import load_scenario


def main() -> None:
    """Simulate the log, time the holdout check and its customer check, print both and the peak memory."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--unbatched", action="store_true", help="draw all resamples at once (the memory before)")
    args = ap.parse_args()
    if args.unbatched:
        customer_check.RESAMPLED_VALUES = 10 ** 15
    truth = load_scenario("beauty")
    tx, end = engine_transactions(truth, args.customers, 240, 126, 1)
    h = histories(tx, end)
    spent: list[float] = []
    check = holdout.check

    def timed(*a, **k):  # the holdout module's own reference, timed
        started = time.perf_counter()
        out = check(*a, **k)
        spent.append(time.perf_counter() - started)
        return out

    holdout.check = timed
    started = time.perf_counter()
    holdout.compare(truth, h, tx, 126 // 7, 40, 1)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"{h.n:,} customers in the log: the customer check took {spent[0]:.1f} s of the holdout check's "
          f"{total:.1f} s ({spent[0] / total:.0%}); peak resident memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
