"""Does the contact fit's replay reproduce a log's design? Replay a log at the true parameters, several ways.

For each seed a pool of ``--customers`` of ``beauty`` (nobody joins, unless ``--inflow``) plays ``--history``
days without contacts and then ``--days`` days of a campaign (``--policy``: ``random_campaign``,
:class:`~experiments.calibrate.contact_fit.RandomCampaign`, or a registered baseline such as the targeting
``fatigue_capped``) with ``--control-share`` of the customers held out for the whole campaign; the log is
written and read back. Its contacts are then replayed (:func:`~experiments.calibrate.contact_fit.replay`)
with the scenario that wrote it:

- on the same pool (same seed, each log customer on its own row): the statistics must come back;
- on as many other customers of that pool (another sample: the statistics move by their noise);
- on ``--copies`` fresh simulated customers per log customer at the logged slots (the replay before it was
  conditioned on the log's targeting), on customers matched to the log customer's record
  (:func:`~experiments.calibrate.contact_match.matched_rows`) at the logged slots, on fresh customers at the
  brand's timing (:attr:`~experiments.calibrate.contact_fit.ContactDesign.timing`), and on matched customers
  at the brand's timing (the contact fit's replay).

Prints the log's statistics, their bootstrap SEs and each replay's gap in those SEs, and, with more than one
seed, the mean gap of each statistic over the seeds.

    python benchmarks/contact_replay_check.py [--customers 6000] [--days 90] [--history 0] [--seeds 3]
        [--first-seed 31] [--control-share 0.3] [--policy random_campaign] [--copies 4] [--inflow]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from experiments.calibrate.contact_fit import (AfterSilence, ContactDesign, RandomCampaign, bootstrap_covariance,
                                               replay, select_statistics, statistic_vector)
from experiments.calibrate.contact_match import matched_rows
from experiments.logs.contacts import read_contacts
from experiments.logs.export import BASE_DATE, export_logs
from experiments.logs.transactions import read_transactions
from policies.registry import make_policy
from sim.config import load_scenario
from sim.engine import Simulation

WAYS = ("same customers", "other customers", "fresh", "matched", "fresh, timed", "matched, timed")


def main() -> None:
    """Export, replay each way, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=6000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--history", type=int, default=0, help="days of orders without contacts before the campaign")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=31)
    ap.add_argument("--control-share", type=float, default=0.3)
    ap.add_argument("--policy", default="random_campaign")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--inflow", action="store_true", help="customers join the pool that writes the log")
    args = ap.parse_args()
    scenario = load_scenario("beauty")
    end = BASE_DATE.toordinal() + args.history + args.days - 1
    gaps: dict[str, list[np.ndarray]] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        policy = RandomCampaign() if args.policy == "random_campaign" else make_policy(args.policy)
        sim = Simulation(scenario, customers=args.customers, seed=seed, inflow=args.inflow)
        with tempfile.TemporaryDirectory() as tmp:
            export_logs(sim, AfterSilence(policy, args.history), args.history + args.days, tmp,
                        control_share=args.control_share, seed=seed + 1000, control_scope="customer")
            tx = read_transactions(Path(tmp) / "transactions.csv", calibration_end=end)
            contacts = read_contacts(Path(tmp) / "contacts.csv", tx.ids, calibration_end=end)
        design = ContactDesign.of(contacts, tx, end)
        own = np.array([int(str(i)[1:]) for i in design.ids])  # ids are c<row>
        rows = max(args.customers, int(own.max()) + 1)  # joiners' rows are drawn afresh (nobody joins a replay)
        other = np.random.default_rng(seed).permutation(rows)[:design.n]
        stats, _ = select_statistics(design.responses())
        data = statistic_vector(stats, design.responses())
        se = np.sqrt(np.diag(bootstrap_covariance(design, stats, 60, seed)))
        k, rseed = args.copies, seed + 5
        match, pool = matched_rows(scenario, design.opening, design.before, design.last, design.days, k, rseed)
        got = {
            WAYS[0]: replay(scenario, design, seed, 1, rows=own, customers=rows),
            WAYS[1]: replay(scenario, design, seed, 1, rows=other, customers=rows),
            WAYS[2]: replay(scenario, design, rseed, k),
            WAYS[3]: replay(scenario, design, rseed, k, rows=match, customers=pool),
            WAYS[4]: replay(scenario, design, rseed, k, timing=design.timing),
            WAYS[5]: replay(scenario, design, rseed, k, rows=match, customers=pool, timing=design.timing),
        }
        print(f"seed {seed}: {design.n:,} contacted customers of {args.customers:,} ({args.policy}, "
              f"{args.history} days of orders before); the brand's timing {design.timing.tolist()}")
        print("| statistic | log | SE | " + " | ".join(f"{w} (SEs)" for w in WAYS) + " |")
        print("|---|---:|---:|" + "---:|" * len(WAYS))
        z = {w: (statistic_vector(stats, r) - data) / se for w, r in got.items()}
        for j, s in enumerate(stats):
            print(f"| {s.name} | {data[j]:.4f} | {se[j]:.4f} | " + " | ".join(f"{z[w][j]:+.1f}" for w in WAYS) + " |")
            for w in WAYS:
                gaps.setdefault(f"{s.name}|{w}", []).append(z[w][j])
        print(flush=True)
    if args.seeds > 1:
        print(f"mean gap over {args.seeds} seeds (SEs of the log; sd over seeds):")
        names = dict.fromkeys(key.split("|")[0] for key in gaps)
        print("| statistic | " + " | ".join(WAYS) + " |")
        print("|---|" + "---:|" * len(WAYS))
        for n in names:
            cells = [np.array(gaps[f"{n}|{w}"]) for w in WAYS]
            print(f"| {n} ({cells[0].size}) | "
                  + " | ".join(f"{c.mean():+.1f} ({c.std(ddof=1) if c.size > 1 else 0:.1f})" for c in cells) + " |")


if __name__ == "__main__":
    main()
