"""CDNOW's master file fitted with several simulation seeds and mixed as ``siyu calibrate --seeds`` does.

``siyu calibrate --seeds K`` on the master file costs K fits of about 15 minutes. This takes fits that are already
made, one ``scenario.toml`` per simulation seed (``benchmarks/cdnow.py --panel 10 --seeds ...``), scores each on
the common simulations, weighs them (``experiments.calibrate.seeds``) and forecasts with the mixture: the master
file's 39-week holdout with each fit's parameter draws (as ``fit.md``), and each 1/10 panel at the estimates (as
``benchmarks/cdnow_pooled.py``), against BG/NBD and Pareto/NBD fitted on the master's calibration period.

    python benchmarks/cdnow.py --route lapse-persist --seeds 0 1 2 --panel 10 --intervals sandwich --out /tmp/cdnow
    python benchmarks/cdnow_seeds.py --persistence --scenario /tmp/cdnow/lapse-persist_p10_s*/scenario.toml
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cdnow import END, MASTER, PANELS, panel_file  # noqa: E402
from cdnow_pooled import panel_table  # noqa: E402
from experiments.calibrate import auxiliary  # noqa: E402
from experiments.calibrate import fit as F  # noqa: E402
from experiments.calibrate.forecast import Component, Uncertainty  # noqa: E402
from experiments.calibrate.history import histories  # noqa: E402
from experiments.calibrate.holdout import compare  # noqa: E402
from experiments.calibrate.quasi import PRIOR_WIDTH, score_quasi  # noqa: E402
from experiments.calibrate.scenario_file import fitted_errors  # noqa: E402
from experiments.calibrate.seeds import common_misfit, seed_weights  # noqa: E402
from experiments.logs.rows import parse_date_argument  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import load_scenario  # noqa: E402


def master_holdout(scenario, master, tx_master, weeks: int, args: argparse.Namespace, drawn: Uncertainty,
                   how: str):
    """Forecast the master's holdout with ``drawn`` and print it against the actual and the baselines."""
    started = time.perf_counter()
    hold = compare(scenario, master, tx_master, weeks, args.replicates, args.seed, drawn)
    actual = float(hold.actual[-1])
    print(f"master holdout, {how}: {hold.siyu.mean[-1]:,.0f} of {actual:,.0f} "
          f"({hold.siyu.mean[-1] / actual - 1:+.1%}, simulation error {hold.siyu.total_se() / actual:.1%}); "
          f"BG/NBD {hold.bgnbd[-1] / actual - 1:+.1%}, Pareto/NBD {hold.paretonbd[-1] / actual - 1:+.1%}; "
          f"weeks in the 90% band {hold.inside_band:.0%} "
          f"({(time.perf_counter() - started) / 60:.1f} min)", flush=True)
    return hold


def main() -> None:
    """Score the fits, print their weights, then the mixture's master holdout and its panels at the estimates."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, nargs="+", required=True,
                    help="scenario.toml of fits of the master file that differ in their simulation seed")
    ap.add_argument("--persistence", action="store_true", help="the fits matched persistence (--persistence)")
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0, help="seed of the common simulations and the forecasts")
    ap.add_argument("--draws", type=int, default=0,
                    help="forecast the master's holdout from this many quasi-posterior draws around the fits (as "
                         "siyu calibrate --draws) instead of each fit's normal draws")
    ap.add_argument("--widths", type=float, nargs="+", default=[PRIOR_WIDTH],
                    help="with --draws: forecast with each of these prior widths (times the fit's variance; inf: flat) "
                         "from the same draws")
    ap.add_argument("--out", type=Path, default=Path("runs/cdnow"))
    ap.add_argument("--master-only", action="store_true", help="skip the panels at the estimates")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    end = parse_date_argument(END, "END")
    tx_master = read_transactions(panel_file(MASTER, args.out), calibration_end=end)
    master = histories(tx_master, end)
    errors = [fitted_errors(p) for p in args.scenario]
    scenarios = [load_scenario(str(p)) for p in args.scenario]
    names = errors[0].names
    extra = F.with_statistics(names, F.EXTRA_NAMES + ((F.PERSISTENCE,) if args.persistence else ()))
    aux = auxiliary.fit(master)
    rows = (0, 1, 2)
    target, sigma = F.observed(master, aux, rows, extra)
    design = F.Design.of(master)
    weight = np.linalg.pinv(sigma)
    thetas = [np.log([F.scenario_value(sc, n) for n in names]) for sc in scenarios]
    matchings = [F.Matching(names, rows, t, weight, np.zeros((0, 0)), aux.beta, 0, extra) for t in thetas]
    js = [common_misfit(sc, m, design, target, master.n, m.theta, args.seed) for sc, m in zip(scenarios, matchings)]
    df = len(target) - len(names)
    w = seed_weights(js, df)
    best = int(np.argmax(w))
    print(f"{len(js)} fits of the master file ({master.n:,} customers), misfit on common simulations ({df} df):")
    for path, j, wk in zip(args.scenario, js, w):
        print(f"  {path}: common J {j:.1f}, weight {wk:.3f}")
    values = [{n: F.scenario_value(sc, n) for n in names} for sc in scenarios]
    parts = [Component(float(w[k]), {} if k == best else values[k], errors[k].log_cov) for k in range(len(js))]
    parts = [parts[best]] + [p for k, p in enumerate(parts) if k != best]
    drawn = Uncertainty(errors[best].ses, names, errors[best].log_cov, tuple(parts))
    weeks = (int(tx_master.day.max()) - end) // 7
    if not args.draws:
        how = "the mixture with each fit's draws"
        hold = master_holdout(scenarios[best], master, tx_master, weeks, args, drawn, how)
    else:
        scored = score_quasi(scenarios[best], matchings[best], design, target, master.n, thetas,
                             [e.log_cov for e in errors], args.draws, args.seed)
        for width in args.widths:
            draws = scored.weigh(None if np.isinf(width) else width)
            drawn = Uncertainty(errors[best].ses, names, errors[best].log_cov, draws=draws)
            for name, (mid, lo, hi) in draws.summary().items():
                print(f"  prior {width:g}: draws' {name}: median {mid:.4g}, 90% range {lo:.4g} to {hi:.4g}")
            how = (f"{args.draws} quasi-posterior draws, prior {width:g} times the fit's variance (effective "
                   f"{draws.ess():.0f}, phi {draws.dispersion:.3g})")
            hold = master_holdout(scenarios[best], master, tx_master, weeks, args, drawn, how)
    if args.master_only:
        return
    none = np.zeros((0, 0))
    at_estimates = Uncertainty(basins=tuple(Component(p.weight, p.values, none) for p in parts))
    params = {"BG/NBD": hold.bgnbd_params, "Pareto/NBD": hold.paretonbd_params}  # fitted on the master by compare
    panel_table(scenarios[best], master, args.out, list(range(PANELS + 1)), args.replicates, args.seed, at_estimates,
                params)

if __name__ == "__main__":
    main()
