"""The contact responses a log exported from the engine shows (siyu calibrate --contacts measures these).

A pool of ``--customers`` from ``beauty`` is played for ``--days`` days under ``--policy`` with a randomised
holdout (``--control-share``, drawn per day or per customer with ``--control-scope``), written by
:func:`experiments.logs.export.export_logs`, read back and measured with
:func:`experiments.calibrate.contact_response.log_responses`. Prints one row per channel and content, and the
seconds taken.

    python benchmarks/contact_lift.py [--customers 5000] [--days 120] [--policy fatigue_capped]
                                      [--control-share 0.5] [--control-scope day|customer]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from experiments.calibrate.contact_response import log_responses, response_lines
from experiments.logs.contacts import read_contacts
from experiments.logs.export import BASE_DATE, export_logs
from experiments.logs.transactions import read_transactions
from policies.registry import make_policy
from sim.config import load_scenario
from sim.engine import Simulation


def main() -> None:
    """Export, read back, measure, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--policy", default="fatigue_capped")
    ap.add_argument("--control-share", type=float, default=0.5)
    ap.add_argument("--control-scope", choices=("day", "customer"), default="day",
                    help="hold controls out afresh each day, or for the whole campaign")
    args = ap.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulation(load_scenario("beauty"), customers=args.customers, seed=3)
        export_logs(sim, make_policy(args.policy), args.days, tmp, control_share=args.control_share, seed=7,
                    control_scope=args.control_scope)
        end = BASE_DATE.toordinal() + args.days - 1
        tx = read_transactions(Path(tmp) / "transactions.csv", calibration_end=end)
        contacts = read_contacts(Path(tmp) / "contacts.csv", tx.ids, calibration_end=end)
        for line in contacts.report.lines():
            print(line.replace(tmp, "<tmp>"))
        print("\n".join(response_lines(log_responses(contacts, tx, end))))
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
