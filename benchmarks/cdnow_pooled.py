"""CDNOW's panels forecast from parameters fitted on the whole master file, siyu's against BG/NBD's and Pareto/NBD's.

A brand fits its whole customer base once and forecasts any part of it. Here the part is each 1/10 panel of
CDNOW's master file (``benchmarks/cdnow.py``: 0 the standard sample, 1-9 the rest dealt by customer id) and the
parameters come from the master file's calibration period: siyu's from ``siyu calibrate`` on ``--panel 10`` (its
``scenario.toml``), BG/NBD's and Pareto/NBD's fitted here on the same calibration period. Each panel's customers are
conditioned on their own histories; no holdout transaction is used by any fit.

    python benchmarks/cdnow.py --route lapse-persist --seeds 0 --panel 10 --intervals sandwich --out /tmp/cdnow
    python benchmarks/cdnow_pooled.py --scenario /tmp/cdnow/lapse-persist_p10_s0/scenario.toml --out /tmp/cdnow
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdnow import END, MASTER, MODELS, PANELS, panel_file, summary  # noqa: E402

from experiments.calibrate import bgnbd, paretonbd  # noqa: E402
from experiments.calibrate.forecast import Uncertainty, forecast  # noqa: E402
from experiments.calibrate.history import Histories, histories, holdout_weekly  # noqa: E402
from experiments.calibrate.holdout import in_weeks  # noqa: E402
from experiments.logs.rows import parse_date_argument  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import Scenario, load_scenario  # noqa: E402


def main() -> None:
    """Fit the baselines on the master file, then forecast each panel with every model and print a row each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, required=True, help="siyu calibrate's scenario.toml of the master file")
    ap.add_argument("--panel", type=int, nargs="+", default=list(range(PANELS + 1)), choices=range(PANELS + 1))
    ap.add_argument("--replicates", type=int, default=40, help="simulations of each panel's forecast (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/cdnow"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    end = parse_date_argument(END, "END")
    scenario = load_scenario(str(args.scenario))
    master = histories(read_transactions(panel_file(MASTER, args.out), calibration_end=end), end)
    panel_table(scenario, master, args.out, args.panel, args.replicates, args.seed)


def panel_table(scenario: Scenario, master: Histories, out: Path, panels: list[int], replicates: int, seed: int,
                errors: Uncertainty | None = None, params: dict[str, np.ndarray] | None = None) -> None:
    """Forecast each of ``panels`` with ``scenario`` (and ``errors``), BG/NBD and Pareto/NBD; a row each, then means.

    ``params``: the baselines' parameters on the master file's calibration period (fitted here when not given).
    """
    end = master.end
    if params is None:
        params = {"BG/NBD": bgnbd.fit(*in_weeks(master)), "Pareto/NBD": paretonbd.fit(*in_weeks(master))}
    print(f"master file: {master.n:,} customers; BG/NBD {np.round(params['BG/NBD'], 3).tolist()}, "
          f"Pareto/NBD {np.round(params['Pareto/NBD'], 3).tolist()} (weeks)")
    print("| panel | customers | actual | siyu (signed) | BG/NBD | Pareto/NBD | weeks in siyu's 90% band | minutes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    errors_by_panel: list[dict[str, float]] = []
    for panel in panels:
        started = time.perf_counter()
        tx = read_transactions(panel_file(panel, out), calibration_end=end)
        h = histories(tx, end)
        weeks = (int(tx.day.max()) - end) // 7
        actual = np.cumsum(holdout_weekly(tx, end, weeks))
        fc = forecast(scenario, h, 7 * weeks, replicates, seed, errors=errors)
        totals = {"siyu": float(fc.mean[-1])}
        for name, model in (("BG/NBD", bgnbd), ("Pareto/NBD", paretonbd)):
            totals[name] = float(model.expected(params[name], float(weeks), *in_weeks(h)).sum())
        signed = {k: v / actual[-1] - 1.0 for k, v in totals.items()}
        errors_by_panel.append(signed)
        inside = float(np.mean((actual >= fc.low) & (actual <= fc.high)))
        print(f"| {panel} | {h.n:,} | {int(actual[-1]):,} | "
              + " | ".join(f"{abs(signed[k]):.1%}" + (f" ({signed[k]:+.1%})" if k == "siyu" else "") for k in MODELS)
              + f" | {inside:.0%} | {(time.perf_counter() - started) / 60:.1f} |", flush=True)
    for line in summary(errors_by_panel):
        print(line)

if __name__ == "__main__":
    main()
