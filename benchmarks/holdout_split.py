"""A real log's holdout split into the weeks of a burst no model forecasts and the other weeks, each model on each.

Both real logs' holdouts hold runs of weeks far above any forecast fitted to their calibration periods: Online
Retail's Christmas season (weeks 18-23), CDNOW's Christmas 1997 and a late-winter burst (docs/calibration.md,
"Bursts in the real holdouts"). The error of the holdout total mixes those weeks with the others, and
there a forecast that ran higher before a burst ends less short after it. This script sets apart the bursts, found
as every run of three weeks or more whose actual count exceeds BG/NBD's expectation by more than two Poisson SDs (in
the log itself; for a CDNOW panel in the whole master file, over the same calendar with ten times the counts;
``--weeks`` names them instead), and prints each model's signed error over the burst weeks, over the
other weeks and over all, and how far its other weeks fall from the holdout's first third to its last (the fade,
blind to the level), for siyu's fits (each folder's scenario forecast again with the holdout check's own call:
40 replicates at the fit's seed, the file's fitted errors) and both baselines.

    python benchmarks/online_retail.py --route default --seeds 0 1 2 3 4 5 --out runs/online-retail
    python benchmarks/holdout_split.py --log retail runs/online-retail/default_m1_s*
    python benchmarks/cdnow.py --route lapse --seeds 0 --panel 0 --out runs/cdnow
    python benchmarks/holdout_split.py --log cdnow --panel 0 runs/cdnow/lapse_p0_s0

A folder's seed is read from its name's ``_s<seed>`` ending (the benchmarks' naming); 0 otherwise. With ``--right N``
each fit is forecast again with N replicates, each taken in turn as the actual with the band from the others, and
the script counts those that show a run outside the weekly band (``holdout.departures``): how often a right forecast
would be said to depart. A second table scores who buys in the holdout (``customer_check``: each model's
expectations per customer against each customer's count, and the AUC among customers with as many calibration
repeats: the order by recency and age alone), siyu's from ``--replicates`` replicates (40, as the holdout check's
default). ``--baselines-from-master`` adds, for a CDNOW panel, each baseline fitted on the master file's calibration
period, as a siyu fit of the master forecasts the panel (docs/calibration.md, "The fit's own noise on small logs").
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import cdnow, online_retail  # noqa: E402
from experiments.calibrate import bgnbd, paretonbd  # noqa: E402
from experiments.calibrate.customer_check import CustomerCheck  # noqa: E402
from experiments.calibrate.forecast import forecast  # noqa: E402
from experiments.calibrate.history import histories, holdout_weekly  # noqa: E402
from experiments.calibrate.holdout import (baseline_fit, baseline_forecast, baseline_params, compare,  # noqa: E402
                                           departures, holdout_weeks, mape, other_weeks_fade, split_errors,
                                           week_runs, weekly_counts)
from experiments.calibrate.scenario_file import fitted_errors  # noqa: E402
from experiments.logs.transactions import Transactions, read_transactions  # noqa: E402
from sim.config import load_scenario  # noqa: E402

POISSON_SDS = 2.0
"""How far above BG/NBD's weekly expectation, in Poisson SDs, a week's actual count lies to count as a burst's."""


def bursts(actual: np.ndarray, expected: np.ndarray) -> list[tuple[int, int]]:
    """First and last week (from 1) of every run of three or more weeks far above ``expected``.

    Both arguments are cumulative counts over the holdout weeks; the runs are ``holdout.week_runs``'.
    """
    counts, mean = weekly_counts(actual), weekly_counts(expected)
    return week_runs((counts > mean + POISSON_SDS * np.sqrt(mean)).astype(int))


def split(cumulative: np.ndarray, actual: np.ndarray, runs: list[tuple[int, int]]
          ) -> tuple[float, float, float, float, float]:
    """Signed errors over the burst weeks, the other weeks and all; the MAPE before them; the other weeks' fade.

    The errors are ``holdout.split_errors``', the fade ``holdout.other_weeks_fade``'s.
    """
    before = runs[0][0] - 1
    return (*split_errors(cumulative, actual, runs),
            mape(cumulative[:before], actual[:before])[1] if before else float("nan"),
            other_weeks_fade(cumulative, actual.size, runs)[0])


def row(label: str, figures: tuple[float, float, float, float, float]) -> str:
    """One table row: three signed errors, a MAPE and a fade."""
    return f"| {label} | " + " | ".join(f"{v:+.1%}" for v in figures[:3]) + f" | {figures[3]:.1%} | {figures[4]:.3f} |"


def week_range(text: str) -> tuple[int, int]:
    """``A-B`` as (A, B)."""
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def real_log(log: str, panel: int = 0) -> tuple[Transactions, Transactions, int]:
    """A real log (``retail``, or CDNOW's ``panel``), the log its bursts are found in, and its calibration end.

    A panel's bursts are found in the master file's; the end is an ordinal day.
    """
    end = date.fromisoformat(online_retail.END if log == "retail" else cdnow.END).toordinal()
    with tempfile.TemporaryDirectory() as tmp:
        if log == "retail":
            tx = read_transactions(online_retail.log_file(Path(tmp)), calibration_end=end)
            return tx, tx, end
        return (read_transactions(cdnow.panel_file(panel, Path(tmp)), calibration_end=end),
                read_transactions(cdnow.panel_file(cdnow.MASTER, Path(tmp)), calibration_end=end), end)


def main() -> None:
    """Forecast each fit again and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fits", type=Path, nargs="*", help="siyu calibrate output folders (scenario.toml in each)")
    ap.add_argument("--log", choices=("retail", "cdnow"), default="retail")
    ap.add_argument("--panel", type=int, default=0, choices=range(cdnow.MASTER + 1), help="CDNOW's panel (cdnow.py)")
    ap.add_argument("--weeks", type=week_range, nargs="+", default=None, metavar="A-B",
                    help="the burst weeks (default: found in the log against BG/NBD)")
    ap.add_argument("--replicates", type=int, default=40, help="siyu's replicates (its per-customer means' noise)")
    ap.add_argument("--unpooled", action="store_true",
                    help="siyu's per-customer means from each customer's own replicates, not pooled by record")
    ap.add_argument("--drawn", action="store_true",
                    help="siyu's per-customer means count the drawn purchases, not the summed daily chances")
    ap.add_argument("--baselines-from-master", action="store_true",
                    help="a CDNOW panel's baselines fitted on the master file's calibration period (as a fit of the "
                         "master forecasts the panel), each panel customer's expectation from those parameters")
    ap.add_argument("--right", type=int, default=0, metavar="N",
                    help="also count the runs among N replicates each taken as the actual (0: not)")
    args = ap.parse_args()
    if args.baselines_from_master and args.log != "cdnow":
        sys.exit("--baselines-from-master is for a CDNOW panel")
    tx, reference, end = real_log(args.log, args.panel)
    h, weeks, master = histories(tx, end), holdout_weeks(tx, end), histories(reference, end)
    actual = np.cumsum(holdout_weekly(tx, end, weeks))
    on_master = {m: baseline_params(m, master) for m in (bgnbd, paretonbd)} if args.baselines_from_master else {}
    runs = args.weeks or bursts(np.cumsum(holdout_weekly(reference, end, weeks)),
                                baseline_fit(bgnbd, master, weeks, on_master.get(bgnbd))[1])
    if not runs or any(not 1 <= a <= b <= weeks for a, b in runs):
        sys.exit(f"no burst weeks inside 1-{weeks}: {runs}")
    counts = weekly_counts(actual)
    inside = sum(counts[a - 1:b].sum() for a, b in runs)
    named = ", ".join(f"{a}-{b}" for a, b in runs)
    print(f"{args.log}{'' if args.log == 'retail' else f' panel {args.panel}'}: {h.n:,} customers, {weeks} weeks held "
          f"out; burst weeks {named}: {inside:,.0f} repeat transactions in {sum(b - a + 1 for a, b in runs)} weeks, "
          f"{counts.sum() - inside:,.0f} in the other {weeks - sum(b - a + 1 for a, b in runs)}")
    fade, fade_se = other_weeks_fade(actual, weeks, runs)
    print(f"| model | error over weeks {named} | error over the other weeks | error of the total "
          f"| curve MAPE, weeks 1-{runs[0][0] - 1} | the other weeks' fade, last third over first "
          f"(actual {fade:.3f}, Poisson SE {fade_se:.3f}) |")
    print("|---|---:|---:|---:|---:|---:|")
    checks: list[tuple[str, CustomerCheck | None]] = []
    for folder in args.fits:
        scenario = folder / "scenario.toml"
        if not scenario.is_file():
            sys.exit(f"no scenario.toml in {folder}")
        seed = int(m.group(1)) if (m := re.search(r"_s(\d+)$", folder.name)) else 0
        fitted, errors = load_scenario(str(scenario)), fitted_errors(scenario)
        hold = compare(fitted, h, tx, weeks, args.replicates, seed, errors, not args.unpooled, not args.drawn)
        print(row(f"siyu, {folder.name}", split(hold.siyu.mean, actual, runs)), flush=True)
        checks.append((folder.name, hold.customers))
        if args.right:
            reps = forecast(fitted, h, 7 * weeks, args.right, seed, errors=errors).replicates
            shown = sum(bool(departures(reps[k], np.delete(reps, k, axis=0))) for k in range(reps.shape[0]))
            print(f"  {shown} of {reps.shape[0]} replicates, each taken as the actual, show a run outside the weekly "
                  "band", flush=True)
    for label, model in (("BG/NBD", bgnbd), ("Pareto/NBD", paretonbd)):
        cumulative = baseline_forecast(model, h, weeks)[1]
        print(row(label, split(cumulative, actual, runs)))
        if model in on_master:
            cumulative = baseline_fit(model, h, weeks, on_master[model])[1]
            print(row(f"{label}, the master's fit", split(cumulative, actual, runs)), flush=True)
    print_customers(checks)


def print_customers(checks: list[tuple[str, CustomerCheck | None]]) -> None:
    """Who buys in the holdout: each fit's scores, the baselines' once, and each fit's differences from them."""
    found = [(name, c) for name, c in checks if c is not None]
    if not found:
        return
    first = found[0][1]
    print(f"\n{first.bought:,} of {first.customers:,} customers bought again in the holdout")
    print("\n".join(first.header()))
    for name, c in found:
        print(c.row("siyu", f"siyu, {name}"))
    for label in first.scores:
        if label != "siyu":
            print(first.row(label))
    for name, c in found:
        print(f"siyu, {name}, minus each baseline (90% intervals, customers resampled):")
        for d in c.differences:
            print(f"  {d.metric}, {d.baseline}: {d.text()}")


if __name__ == "__main__":
    main()
