"""Wall time of ``siyu calibrate`` and ``siyu forecast`` on engine-simulated logs of a given size.

A pool of ``--customers`` is simulated from ``beauty`` over 240 + 126 days and written as
``transactions.csv``; calibration uses the first 240 days (with the holdout check), the forecast runs
to the end. Prints the customers in the log and the seconds of each command (one run each; a shared
machine adds noise).

    python benchmarks/calibrate_timing.py [--customers 2000 200000] [--replicates 20] [--bootstrap 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.cli.app import main as siyu
from sim.config import load_scenario

DAYS, HOLDOUT = 240, 126


def main() -> None:
    """Time both commands for each size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, nargs="+", default=[2000, 200_000])
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--bootstrap", type=int, default=20, help="refits of the bootstrap (0: sandwich errors)")
    args = ap.parse_args()
    end = (BASE_DATE + timedelta(days=DAYS - 1)).isoformat()
    until = (BASE_DATE + timedelta(days=DAYS + HOLDOUT - 1)).isoformat()
    for n in args.customers:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "transactions.csv"
            c, d, a = engine_log(load_scenario("beauty"), n, DAYS + HOLDOUT, 1)
            write_log(path, c, d, a)
            t0 = time.perf_counter()
            assert siyu(["calibrate", str(path), "--calibration-end", end, "--replicates", str(args.replicates),
                         "--bootstrap", str(args.bootstrap), "--out", f"{tmp}/cal"]) == 0
            t1 = time.perf_counter()
            assert siyu(["forecast", f"{tmp}/cal/scenario.toml", "--cohort", str(path), "--calibration-end", end,
                         "--until", until, "--replicates", str(args.replicates), "--out", f"{tmp}/fc"]) == 0
            t2 = time.perf_counter()
            print(f"{n:,} customers in the pool ({len(set(c.tolist())):,} in the log, {c.size:,} orders): "
                  f"calibrate {t1 - t0:.0f} s (bootstrap {args.bootstrap}, holdout check), forecast {t2 - t1:.0f} s "
                  f"({args.replicates} replicates)", flush=True)


if __name__ == "__main__":
    main()
