"""BG/NBD's and Pareto/NBD's holdout figures on every log a published figure comes from, without fitting siyu.

The CDNOW sample, its nine other panels and the master file (``benchmarks/cdnow.py``'s ``--panel 0-10``), Online
Retail, and the README's engine logs (``benchmarks/calibrate_recovery.py``'s twenty seeds, and six with 1.0 joiners a
year). Per log: the baselines' parameters, weekly cumulative forecasts, errors of the total and curve MAPE
(``holdout.mape``) and seconds, one JSON line each to ``--jsonl``; a line per log to the console. A change to a
baseline is checked by running this on a copy of the tree before and after it and comparing the records
(docs/calibration.md, "The baselines at a million customers").

    python benchmarks/baseline_figures.py --jsonl /tmp/baselines.jsonl [--logs cdnow retail engine joiners]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import online_retail  # noqa: E402
from benchmarks.calibrate_recovery import CUSTOMERS, DAYS, HOLDOUT, TRUTH  # noqa: E402
from benchmarks.cdnow import END as CDNOW_END, MASTER, panel_file  # noqa: E402
from experiments.calibrate import bgnbd, paretonbd  # noqa: E402
from experiments.calibrate.history import histories, holdout_weekly  # noqa: E402
from experiments.calibrate.holdout import baseline_forecast, holdout_weeks, mape  # noqa: E402
from experiments.calibrate.joiners_choice import JOINERS  # noqa: E402
from experiments.calibrate.simulate import engine_transactions  # noqa: E402
from experiments.logs.transactions import Transactions, read_transactions  # noqa: E402
from sim.config import apply_overrides, load_scenario  # noqa: E402

ENGINE_LOGS = {"engine": ({}, range(1, 21)), "joiners": ({JOINERS: 1.0}, range(1, 7))}
"""The README's engine logs (``calibrate_recovery.py``'s seeds from 1, at its default size): truth's extra values
and seeds."""


def record(name: str, tx: Transactions, end: int) -> dict:
    """Both baselines' holdout figures on one log."""
    h = histories(tx, end)
    weeks = holdout_weeks(tx, end)
    actual = np.cumsum(holdout_weekly(tx, end, weeks))
    rec: dict = {"name": name, "customers": h.n, "weeks": weeks}
    for label, model in (("BG/NBD", bgnbd), ("Pareto/NBD", paretonbd)):
        t0 = time.perf_counter()
        params, cum = baseline_forecast(model, h, weeks)
        rec[label] = {"params": params.tolist(), "cumulative": cum.tolist(), "error": list(mape(cum, actual)),
                      "seconds": time.perf_counter() - t0}
    return rec


def logs(which: list[str], tmp: Path):
    """(name, transactions, calibration end) of each log asked for."""
    if "cdnow" in which:
        end = date.fromisoformat(CDNOW_END).toordinal()
        for panel in range(MASTER + 1):
            yield f"cdnow panel {panel}", read_transactions(panel_file(panel, tmp), calibration_end=end), end
    if "retail" in which:
        end = date.fromisoformat(online_retail.END).toordinal()
        yield "online retail", read_transactions(online_retail.log_file(tmp), calibration_end=end), end
    for kind, (extra, seeds) in ENGINE_LOGS.items():
        if kind in which:
            truth = apply_overrides(load_scenario("beauty"), {**TRUTH, **extra})
            for seed in seeds:
                yield (f"{kind} seed {seed}", *engine_transactions(truth, CUSTOMERS, DAYS, HOLDOUT, seed))


def main() -> None:
    """Write the records and print one line per log."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jsonl", type=Path, required=True, help="append each log's record to this file")
    ap.add_argument("--logs", nargs="+", default=["cdnow", "retail", *ENGINE_LOGS],
                    choices=["cdnow", "retail", *ENGINE_LOGS])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, tx, end in logs(args.logs, Path(tmp)):
            rec = record(name, tx, end)
            with args.jsonl.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"{name} ({rec['customers']:,} customers, {rec['weeks']} weeks): " + "; ".join(
                f"{m} {100 * rec[m]['error'][0]:.1f}% (curve MAPE {100 * rec[m]['error'][1]:.1f}%, "
                f"{rec[m]['seconds']:.1f} s)" for m in ("BG/NBD", "Pareto/NBD")), flush=True)


if __name__ == "__main__":
    main()
