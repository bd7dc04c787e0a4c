"""Does the contact fit's replay reproduce a log's design? Replay a log on the very pool that wrote it.

For each seed a pool of ``--customers`` of ``beauty`` (nobody joins) plays ``--days`` days of a randomised
campaign (:class:`~experiments.calibrate.contact_fit.RandomCampaign`) with ``--control-share`` of the
customers held out for the whole campaign; the log is written and read back. Its contacts are then replayed
(:func:`~experiments.calibrate.contact_fit.replay`) on the same pool (same seed, each log customer on its own
row: the statistics must come back), and on as many other customers of that pool (another sample: the
statistics move by their noise). Prints the log's statistics, their bootstrap SEs and both replays.

    python benchmarks/contact_replay_check.py [--customers 6000] [--days 90] [--seeds 3] [--control-share 0.3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from experiments.calibrate.contact_fit import (ContactDesign, RandomCampaign, bootstrap_covariance, replay,
                                               select_statistics, statistic_vector)
from experiments.logs.contacts import read_contacts
from experiments.logs.export import BASE_DATE, export_logs
from experiments.logs.transactions import read_transactions
from sim.config import load_scenario
from sim.engine import Simulation


def main() -> None:
    """Export, replay on the same rows and on other rows, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=6000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--control-share", type=float, default=0.3)
    args = ap.parse_args()
    scenario = load_scenario("beauty")
    end = BASE_DATE.toordinal() + args.days - 1
    for seed in range(31, 31 + args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            export_logs(Simulation(scenario, customers=args.customers, seed=seed, inflow=False), RandomCampaign(),
                        args.days, tmp, control_share=args.control_share, seed=seed + 1000, control_scope="customer")
            tx = read_transactions(Path(tmp) / "transactions.csv", calibration_end=end)
            contacts = read_contacts(Path(tmp) / "contacts.csv", tx.ids, calibration_end=end)
        design = ContactDesign.of(contacts, tx, end)
        own = np.array([int(str(i)[1:]) for i in design.ids])  # ids are c<row>
        other = np.random.default_rng(seed).permutation(args.customers)[:design.n]
        stats, _ = select_statistics(design.responses())
        data = statistic_vector(stats, design.responses())
        se = np.sqrt(np.diag(bootstrap_covariance(design, stats, 60, seed)))
        print(f"seed {seed}: {design.n:,} contacted customers of {args.customers:,}")
        print("| statistic | log | SE | replayed on the same customers | on other customers |")
        print("|---|---:|---:|---:|---:|")
        same = statistic_vector(stats, replay(scenario, design, seed, 1, rows=own, customers=args.customers))
        moved = statistic_vector(stats, replay(scenario, design, seed, 1, rows=other, customers=args.customers))
        for k, s in enumerate(stats):
            print(f"| {s.name} | {data[k]:.4f} | {se[k]:.4f} | {same[k]:.4f} | {moved[k]:.4f} |")
        print(flush=True)


if __name__ == "__main__":
    main()
