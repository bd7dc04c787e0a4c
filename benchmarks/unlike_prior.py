"""A prior from customers unlike the log's: what ``siyu calibrate --prior`` does when the prior is wrong.

``--prior`` pools another log's fit with this log's data (``experiments/calibrate/prior.py``). On CDNOW's panels,
dealt from one file, the two logs' customers are alike by construction. A brand that borrows another log's fit
cannot know that. This benchmark makes engine cohorts with CDNOW's design (first orders over the first 84 days of a
273-day calibration period, 39 weeks held out, 2,357 customers) from the prior's own scenario with ``--set`` values
changed, and fits each on the ``lapse-tenure`` route of ``benchmarks/cdnow.py`` without a prior and with it at
each ``--weights``. Each row gives the misfit test (which gains a degree of freedom for each anchored parameter, so
it tests the prior against the data too) and the holdout error against BG/NBD's and Pareto/NBD's on the same log.
With no ``--set`` the cohort's customers are the prior's own: a prior that is right.

    python benchmarks/unlike_prior.py --prior MASTER/scenario.toml --seeds 1 \
        --set population.cycle_median_days=55 dynamics.tenure_fade=0.5 --out /tmp/unlike
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import numpy as np

from benchmarks.cdnow import base_file, fit_row, signed_errors
from benchmarks.cohort_conditioning import cohort
from experiments.calibrate.simulate import write_log
from experiments.logs.export import BASE_DATE
from sim.config import apply_overrides, load_scenario

CUSTOMERS = 2357
"""The standard CDNOW sample's customers, the size of each of its nine other panels."""
DAYS, WINDOW, HOLDOUT = 273, 84, 273


def write_cohort(scenario_path: Path, sets: dict[str, float], seed: int, path: Path) -> str:
    """Simulate a cohort of the scenario with ``sets`` changed, write it as transactions.csv; its calibration end."""
    truth = load_scenario(scenario_path)
    if sets:
        truth = apply_overrides(truth, sets, "--set")
    cust, day, _, _ = cohort(truth, CUSTOMERS, DAYS, WINDOW, HOLDOUT, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA3]))
    p = truth.population
    amount = np.round(p.order_value_median * np.exp(p.order_value_sigma * rng.standard_normal(cust.size)), 2)
    write_log(path, cust, day, amount)
    return (BASE_DATE + timedelta(days=DAYS - 1)).isoformat()


def main() -> None:
    """Simulate each seed's cohort, fit it without and with the prior, print a row a fit and the errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", type=Path, required=True, help="the other fit's scenario.toml (and the truth's base)")
    ap.add_argument("--set", nargs="*", default=[], metavar="PATH=VALUE", help="the truth's values unlike the prior's")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--weights", type=float, nargs="+", default=[1.0, 0.5], help="--prior-weight of each prior fit")
    ap.add_argument("--out", type=Path, default=Path("runs/unlike_prior"))
    args = ap.parse_args()
    sets = {k: float(v) for k, v in (a.split("=", 1) for a in args.set)}
    args.out.mkdir(parents=True, exist_ok=True)
    base = base_file("lapse-tenure", args.out)
    print(f"truth: {args.prior} with {sets or 'nothing changed'}; {CUSTOMERS} customers, CDNOW's design")
    print("| prior weight | customers | seed | J (df, p) | siyu error of the total (signed) | curve MAPE | BG/NBD "
          "| Pareto/NBD | weeks in the 90% band | minutes |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for seed in args.seeds:
        log = args.out / f"cohort_s{seed}.csv"
        end = write_cohort(args.prior, sets, seed, log)
        for w in (None, *args.weights):
            more = () if w is None else ("--prior", str(args.prior), "--prior-weight", str(w))
            out = args.out / f"s{seed}_{'none' if w is None else f'w{w:g}'}"
            fit_row(log, end, "lapse-tenure", 0, base, out, label="none" if w is None else f"{w:g}", more=more)
            if (out / "fit.md").exists():
                e = signed_errors((out / "fit.md").read_text(encoding="utf-8"))
                print("  signed: " + ", ".join(f"{k} {v:+.1%}" for k, v in e.items()), flush=True)


if __name__ == "__main__":
    main()
