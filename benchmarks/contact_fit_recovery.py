"""Recovery of the contact-response parameters from engine logs: estimates, SEs and coverage over seeds.

For each seed a pool of ``--customers`` of ``beauty`` with known contact responses (``--truth``, default: wecom
open rate 0.45 and coupon conversion 0.12 instead of 0.6 and 0.5) is played for ``--days`` days under a
campaign (``--policy``: ``random_campaign``, :class:`~experiments.calibrate.contact_fit.RandomCampaign`, or a
registered baseline such as the targeting ``fatigue_capped``) with a control group (``--control-share``, held
out per customer for the whole campaign or per day with ``--control-scope``), after ``--history`` days without
contacts whose orders are in the log too (a brand's transactions go back before its campaign), exported as CSV
by :func:`experiments.logs.export.export_logs`, read back and fitted by
:func:`experiments.calibrate.contact_fit.fit_contacts` from ``beauty`` (the transaction parameters are the
truth's, so the table isolates the contact fit); ``--no-match`` fits without conditioning the replay on the
log's targeting (fresh simulated customers at the logged slots); ``--no-inflow``: nobody joins the pool that
writes the log (the replay's pool has no joiners either). Prints, per fitted parameter: the truth, the
mean and spread of the estimates, the mean reported SE, the mean bias of the estimates' logs in units of their
reported SEs (with its standard error over seeds), the share of seeds whose 90% interval (log scale) holds the
truth, how many seeds found it weakly identified (base value kept, not counted in the coverage), and the CPU
seconds per fit.

    python benchmarks/contact_fit_recovery.py [--customers 5000] [--days 90] [--history 0] [--seeds 6]
        [--first-seed 1] [--control-share 0.3] [--control-scope customer|day] [--policy random_campaign]
        [--no-match] [--no-inflow] [--truth contents.coupon.conversion=0.35 ...]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.calibrate.contact_fit import AfterSilence, RandomCampaign, fit_contacts, parameter_value
from experiments.logs.contacts import read_contacts
from experiments.logs.export import BASE_DATE, export_logs
from experiments.logs.transactions import read_transactions
from policies.registry import make_policy
from sim.config import apply_overrides, load_scenario
from sim.engine import Simulation

TRUTH = {"channels.wecom.open_rate": 0.45, "contents.coupon.conversion": 0.12}
Z90 = 1.6449


def one_seed(seed: int, args: argparse.Namespace) -> tuple[dict[str, tuple[float, float]], list[str], float, bool]:
    """{parameter: (estimate, SE of its log)}, those found weakly identified, CPU seconds, whether a lift was."""
    base = load_scenario("beauty")
    truth = apply_overrides(base, TRUTH, "truth")
    policy = AfterSilence(RandomCampaign() if args.policy == "random_campaign" else make_policy(args.policy),
                          args.history)
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulation(truth, customers=args.customers, seed=seed, inflow=not args.no_inflow)
        export_logs(sim, policy, args.history + args.days, tmp, control_share=args.control_share, seed=seed + 1000,
                    control_scope=args.control_scope)
        end = BASE_DATE.toordinal() + args.history + args.days - 1
        tx = read_transactions(Path(tmp) / "transactions.csv", calibration_end=end)
        contacts = read_contacts(Path(tmp) / "contacts.csv", tx.ids, calibration_end=end)
        started = time.process_time()
        fit = fit_contacts(contacts, tx, end, base, seed=seed + 2000, match=not args.no_match)
        cpu = time.process_time() - started
    names = list(fit.values)
    out = {n: (fit.values[n], math.sqrt(fit.covariance[i, i])) for i, n in enumerate(names)}
    weak = [n for n in fit.searched if n not in fit.values]
    return out, weak, cpu, fit.lift_identified


def main() -> None:
    """Fit each seed's log, print the recovery table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--history", type=int, default=0, help="days of orders without contacts before the campaign")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--no-match", action="store_true", help="replay on fresh customers at the logged slots")
    ap.add_argument("--no-inflow", action="store_true", help="nobody joins the pool that writes the log")
    ap.add_argument("--control-share", type=float, default=0.3)
    ap.add_argument("--control-scope", choices=("day", "customer"), default="customer")
    ap.add_argument("--policy", default="random_campaign")
    ap.add_argument("--truth", action="append", default=[], metavar="PARAM=VALUE",
                    help="a contact parameter of the truth (repeatable), e.g. contents.coupon.conversion=0.35")
    args = ap.parse_args()
    TRUTH.update({k: float(v) for k, _, v in (t.partition("=") for t in args.truth)})
    truth = apply_overrides(load_scenario("beauty"), TRUTH, "truth")
    rows: dict[str, list[tuple[float, float]]] = {}
    weak: dict[str, int] = {}
    cpu, lifts = [], 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        got, kept, sec, lift = one_seed(seed, args)
        for n in kept:
            weak[n] = weak.get(n, 0) + 1
            rows.setdefault(n, [])
        cpu.append(sec)
        lifts += lift
        for n, v in got.items():
            rows.setdefault(n, []).append(v)
        print(f"seed {seed}: " + ", ".join(f"{n.split('.', 1)[1]} {v:.4g}" for n, (v, _) in got.items())
              + "".join(f", {n.split('.', 1)[1]} weak (kept)" for n in kept), flush=True)
    joins = " (nobody joins)" if args.no_inflow else ""
    replayed = "fresh customers at the logged slots" if args.no_match else "matched replay"
    print(f"\ntruth {TRUTH}; {args.customers:,} customers{joins}, {args.history} days of orders then "
          f"{args.days} days of {args.policy}, {replayed}, "
          f"control share {args.control_share} ({args.control_scope}); {args.seeds} seeds; "
          f"lift identified in {lifts}; {np.mean(cpu):.0f} s CPU per fit\n")
    print("| parameter | truth | mean estimate | sd of estimates | mean SE | mean bias (SEs) | 90% coverage | "
          "seeds fitted | weakly identified (base kept) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, vals in rows.items():
        if not vals:
            print(f"| `{n}` | {parameter_value(truth, n):.4g} | | | | | | 0 | {weak.get(n, 0)} |")
            continue
        est = np.array([v for v, _ in vals])
        sd_log = np.array([s for _, s in vals])
        t = parameter_value(truth, n)
        z = (np.log(est) - math.log(t)) / sd_log
        bias = f"{z.mean():+.1f}" + (f" ± {z.std(ddof=1) / math.sqrt(z.size):.1f}" if z.size > 1 else "")
        print(f"| `{n}` | {t:.4g} | {est.mean():.4g} | {est.std(ddof=1) if est.size > 1 else float('nan'):.3g} | "
              f"{np.mean(est * sd_log):.3g} | {bias} | {np.mean(np.abs(z) <= Z90):.0%} | {est.size} | "
              f"{weak.get(n, 0)} |")


if __name__ == "__main__":
    main()
