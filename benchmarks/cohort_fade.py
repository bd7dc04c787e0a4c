"""Where the CDNOW holdout forecast falls short: forecast against actual repeat transactions by customer group.

The CDNOW sample (``tests/data/cdnow_sample.csv``, calibration to 1997-09-30, 39 holdout weeks) is calibrated from
``beauty`` (sandwich errors, as ``siyu calibrate --bootstrap 0``) unless ``--scenario`` gives a scenario file
written by ``siyu calibrate``; its customers are then forecast, each conditioned on their history, and split by
their repeat transactions in the calibration period (one-off buyers, 1-2 repeats, 3 or more). Prints, per group,
the customers, siyu's forecast of their holdout repeat transactions, BG/NBD's, the actual count and the share of
replicates in which siyu has them still in the pool at the calibration end beside BG/NBD's P(alive); then the same by
weeks since the last purchase, and the scenario's dropout and cycle. ``--transactions`` another log with the same
calendar (a panel of ``benchmarks/cdnow.py``, written under its ``--out``).

    python benchmarks/cohort_fade.py [--scenario DIR/scenario.toml] [--transactions FILE] [--replicates 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np

from experiments.calibrate import bgnbd
from experiments.calibrate.fit import calibrate
from experiments.calibrate.forecast import Uncertainty, forecast
from experiments.calibrate.history import daily, histories, weekly_repeats
from experiments.calibrate.holdout import in_weeks
from experiments.calibrate.scenario_file import fitted_errors
from experiments.logs.transactions import read_transactions
from sim.config import load_scenario

CDNOW = Path(__file__).parent.parent / "tests" / "data" / "cdnow_sample.csv"
END = date(1997, 9, 30).toordinal()
WEEKS = 39
GROUPS = (("one-off", 0, 0), ("1 repeat", 1, 1), ("2 repeats", 2, 2), ("3-4 repeats", 3, 4), ("5-9 repeats", 5, 9),
          ("10+ repeats", 10, 10 ** 9))
"""Customer groups by repeat transactions in the calibration period: name, fewest, most."""
RECENCY = (("repeat, last <= 4 weeks ago", 0, 4), ("repeat, 4-13 weeks", 4, 13), ("repeat, 13-26 weeks", 13, 26),
           ("repeat, > 26 weeks", 26, 10 ** 9))
"""Customers with a repeat, by weeks from their last purchase to the calibration end: name, above, at most."""


def main() -> None:
    """Calibrate (or load) the scenario, forecast, and print the groups."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=None, help="a scenario.toml from siyu calibrate (default: calibrate now)")
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--transactions", type=Path, default=CDNOW, help="the log (default: the CDNOW sample)")
    args = ap.parse_args()
    tx = read_transactions(args.transactions, calibration_end=END)
    h = histories(tx, END)
    started = time.perf_counter()
    if args.scenario:
        scenario, errors = load_scenario(args.scenario), fitted_errors(Path(args.scenario))
    else:
        cust, day, _ = daily(tx.before(END))
        cal = calibrate(h, load_scenario("beauty"), weekly_repeats(cust, day, int(h.first.min()), END), seed=args.seed)
        scenario, errors = cal.scenario, Uncertainty.of(cal)
        print(f"calibrated in {time.perf_counter() - started:.0f} s")
    fc = forecast(scenario, h, 7 * WEEKS, args.replicates, args.seed, errors=errors)
    cust, day, _ = daily(tx)
    after = (day > END) & (day <= END + 7 * WEEKS)
    first = np.full(tx.n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, day)
    late = int(np.sum((day > END - 91) & (day <= END) & (day > first[cust])))
    print(f"repeats a customer a week: the calibration's last 13 weeks {late / 13 / h.n:.4f}, the holdout actual "
          f"{after.sum() / WEEKS / h.n:.4f} (ratio {after.sum() / WEEKS / (late / 13):.2f}), siyu "
          f"{fc.mean[-1] / WEEKS / h.n:.4f} (ratio {fc.mean[-1] / WEEKS / (late / 13):.2f})")
    per_row = np.bincount(cust[after], minlength=tx.n_customers)
    row_of = {cid: k for k, cid in enumerate(tx.ids)}
    actual = per_row[[row_of[c] for c in h.ids]]
    x, t_x, T = in_weeks(h)
    params = bgnbd.fit(x, t_x, T)
    bg = bgnbd.expected(params, float(WEEKS), x, t_x, T)
    r, alpha, a, b = params
    bg_alive = 1.0 / (1.0 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    print("group | customers | siyu | BG/NBD | actual | siyu share still in the pool | BG/NBD P(alive)")
    since = (h.end - h.last) / 7.0
    rows = [(name, (h.x >= lo) & (h.x <= hi)) for name, lo, hi in GROUPS]
    rows += [(name, (h.x > 0) & (since > lo) & (since <= hi) if lo else (h.x > 0) & (since <= hi))
             for name, lo, hi in RECENCY]
    for name, on in rows + [("all", np.ones(h.n, bool))]:
        print(f"{name} | {int(on.sum()):,} | {fc.expected_transactions[on].sum():,.0f} | {bg[on].sum():,.0f} | "
              f"{int(actual[on].sum()):,} | {fc.p_alive[on].mean():.2f} | {bg_alive[on].mean():.2f}")
    pop = scenario.population
    print(f"scenario: dropout {pop.dropout_per_year:.3g}/year, spread {pop.dropout_sigma:.3g}; cycle "
          f"{pop.cycle_median_days:.3g} days, spread {pop.cycle_sigma:.3g}; dropout_salience "
          f"{scenario.dynamics.dropout_salience:.3g}; {args.replicates} replicates")


if __name__ == "__main__":
    main()
