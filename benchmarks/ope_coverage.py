"""Off-policy estimates on engine campaigns: coverage of the true values, error and interval width per estimator.

For each seed a beauty pool is warmed up 30 days under fatigue_capped, a randomised campaign (uniform
over no contact, WeCom coupon, SMS flash sale, WeCom content) is logged, and three candidates (nobody,
a WeCom coupon to all, a content/coupon mix on WeCom) are valued by IPS, SNIPS and DR against their true
values (the same pool and luck with the candidate deciding). With ``--write DIR`` the last seed's
campaign is also written as a brand's logs (transactions.csv, contacts.csv with propensities, crm.csv),
for ``siyu ope``, ``siyu validate`` and ``siyu plan``.

    python benchmarks/ope_coverage.py [--seeds 100] [--customers 2000] [--write DIR]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from experiments.crm.snapshot import write_snapshot
from experiments.ope.decisions import value
from experiments.ope.simulate import campaign, true_value, warmed_pool, write_logs
from policies.randomized import RandomizedCampaign, parse_arms
from policies.registry import load_policy, make_policy
from sim.config import load_scenario

ARMS = "none,wecom:coupon,sms:flash_sale,wecom:content"
HORIZON = 14


def candidates() -> dict:
    """The candidates of tests/test_ope.py."""
    return {"no_contact": load_policy("no_contact"),
            "wecom_coupon": make_policy("fixed_cadence", {"content_every_days": 1, "offer_every_days": 0,
                                                          "content": "coupon", "channels": ["wecom"]}),
            "mixed": make_policy("fixed_cadence", {"content_every_days": 2, "offer_every_days": 3,
                                                   "content": "content", "offer": "coupon", "channels": ["wecom"]})}


def main() -> None:
    """Run the seeds and print coverage, RMSE and mean half-width per estimator."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--write", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()
    sc = load_scenario("beauty")
    err: dict[str, list[float]] = {"ips": [], "snips": [], "dr": []}
    hit: dict[str, list[bool]] = {k: [] for k in err}
    half: dict[str, list[float]] = {k: [] for k in err}
    started = time.perf_counter()
    for seed in range(args.seeds):
        c = campaign(warmed_pool(sc, args.customers, seed, 30), RandomizedCampaign(parse_arms(ARMS)), HORIZON)
        for policy in candidates().values():
            truth = true_value(c.sim, policy, HORIZON)
            for e in value(policy, c.decisions, sc, c.support, seed=seed).estimates:
                err[e.estimator].append(e.value - truth)
                hit[e.estimator].append(e.low <= truth <= e.high)
                half[e.estimator].append((e.high - e.low) / 2)
    n = len(err["ips"])
    print(f"{args.seeds} seeds x 3 candidates = {n} intervals, {args.customers:,} customers, "
          f"{time.perf_counter() - started:.0f} s; nominal 95%, binomial SE {math.sqrt(0.95 * 0.05 / n):.3f}")
    print("estimator  coverage  RMSE (yuan)  mean half-width  bias")
    for k in err:
        e = np.asarray(err[k])
        print(f"{k:9}  {np.mean(hit[k]):8.3f}  {math.sqrt(np.mean(e * e)):11.2f}  {np.mean(half[k]):15.2f}  "
              f"{e.mean():+.2f}")
    d = np.square(err["ips"]) - np.square(err["dr"])
    print(f"DR against IPS: squared error smaller by {d.mean():.2f} on average, paired z = "
          f"{d.mean() / (d.std(ddof=1) / math.sqrt(d.size)):.1f}")
    if args.write:
        write_logs(c, args.write)
        write_snapshot(c.decisions.view, args.write / "crm.csv")
        print(f"wrote {args.write}/transactions.csv, contacts.csv, crm.csv (campaign day {c.decisions.day})")


if __name__ == "__main__":
    main()
