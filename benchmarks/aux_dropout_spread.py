"""Would an auxiliary model with a free dropout spread pin the engine's? CDNOW's panels, and one fit's own logs.

The auxiliary model of ``siyu calibrate`` (:mod:`experiments.calibrate.auxiliary`) holds the log-sd of the
personal dropout rate at 0.5. Freed as a fourth parameter, is it identified on CDNOW's panels (its estimate and
SE, and the gain in log-likelihood)? And given a fitted scenario (``--scenario``, e.g. a ``siyu calibrate``
output), does the engine at that fit write logs whose score in that direction, at the data's estimate, differs
from the data's (zero at the maximum)? Moving the engine's ``dropout_sigma`` with the rest fixed shows how much
the statistic would move. A diagnostic, not part of the fit.

    python benchmarks/aux_dropout_spread.py
    python benchmarks/cdnow.py --route lapse --seeds 0 --panel 5 --out /tmp/cd
    python benchmarks/aux_dropout_spread.py --panel 5 --scenario /tmp/cd/lapse_p5_s0/scenario.toml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cdnow import END, PANELS, panel_file  # noqa: E402
from experiments.calibrate import auxiliary  # noqa: E402
from experiments.calibrate.fit import Design, simulate_design  # noqa: E402
from experiments.calibrate.history import Histories, distinct, histories  # noqa: E402
from experiments.logs.rows import parse_date_argument  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import apply_overrides, load_scenario  # noqa: E402

_Z1, _W1 = np.polynomial.hermite_e.hermegauss(16)
_Z2, _W2 = np.polynomial.hermite_e.hermegauss(9)
LOG_W = (np.log(_W1 / _W1.sum())[:, None] + np.log(_W2 / _W2.sum())[None, :]).ravel()
Z1, Z2 = np.repeat(_Z1, _Z2.size), np.tile(_Z2, _Z1.size)
BOUNDS = auxiliary.BOUNDS + [(-3.0, 1.2)]
"""The auxiliary box and the log of the dropout's log-sd (0.05 to 3.3)."""


def loglik_rows(beta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
    """The auxiliary log-likelihood of each distinct history with the dropout's log-sd ``exp(beta[3])`` free."""
    mu, log_sigma, log_delta, log_spread = beta
    spread = np.exp(log_spread)
    lam = np.exp(mu + np.exp(log_sigma) * Z1)
    delta = np.exp(log_delta + spread * Z2 - 0.5 * spread * spread)
    out = np.empty(data["x"].size)
    auxiliary._loglik(*(np.asarray(data[k], np.float64) for k in ("x", "t_x", "T")), lam, delta, LOG_W, out)
    return out


def fit4(h: Histories) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Estimates, robust SEs and log-likelihood of the four-parameter model; the three-parameter log-likelihood."""
    data, w, _ = distinct(h)
    n = float(w.sum())

    def nll(b: np.ndarray) -> float:
        return -float(w @ loglik_rows(b, data)) / n

    three = auxiliary.fit(h, covariance=False)
    best = min((minimize(nll, np.r_[three.beta, s], method="L-BFGS-B", bounds=BOUNDS,
                         options={"ftol": 1e-12, "gtol": 1e-8}) for s in np.log([0.3, 1.0, 2.0])),
               key=lambda r: r.fun)
    beta = best.x
    scores = auxiliary._scores(beta, data, rows=loglik_rows)
    meat = (scores * w[:, None]).T @ scores
    inv = np.linalg.inv(auxiliary._hessian(lambda b: n * nll(b), beta))
    return beta, np.sqrt(np.abs(np.diag(inv @ meat @ inv))), -n * float(best.fun), three.loglik


def spread_score(beta: np.ndarray, h: Histories) -> np.ndarray:
    """Each customer's score in the dropout spread's direction at ``beta``."""
    data, _, inverse = distinct(h)
    return auxiliary._scores(beta, data, rows=loglik_rows)[:, 3][inverse]


def panel_histories(panel: int, out: Path) -> Histories:
    """The calibration-period histories of a CDNOW panel (0: the standard sample)."""
    end = parse_date_argument(END, "--calibration-end")
    return histories(read_transactions(panel_file(panel, out), calibration_end=end), end)


def main() -> None:
    """The table of the panels' fits, then (with ``--scenario``) the engine's logs at a fit."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", type=int, nargs="+", default=list(range(PANELS + 1)), choices=range(PANELS + 1))
    ap.add_argument("--scenario", type=Path, help="a fitted scenario: the engine's logs at it, for the first panel")
    ap.add_argument("--out", type=Path, default=Path("runs/aux_spread"), help="where the panels' files go")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| panel | dropout spread (log-sd) | SE of its log | log-likelihood gain over spread 0.5 |")
    print("|---:|---:|---:|---:|")
    fits = {}
    for panel in args.panel:
        h = panel_histories(panel, args.out)
        beta, se, ll4, ll3 = fit4(h)
        fits[panel] = (h, beta)
        print(f"| {panel} | {np.exp(beta[3]):.2f} | {se[3]:.3f} | {ll4 - ll3:.1f} |", flush=True)
    if args.scenario is None:
        return
    h, beta = fits[args.panel[0]]
    data_score = spread_score(beta, h)
    se = data_score.std() / np.sqrt(h.n)
    fitted = load_scenario(args.scenario)
    print(f"\npanel {args.panel[0]}, the engine at {args.scenario} (seed 0): mean score in the spread's direction at "
          "the data's estimate, in SEs of the data's")
    print("| engine dropout_sigma | z | repeats a customer (data %.3f) |" % h.x.mean())
    print("|---|---:|---:|")
    for spread in (None, 0.03, 0.5, 1.0, 1.5, 2.0, 2.5):
        sc = fitted if spread is None else apply_overrides(fitted, {"population.dropout_sigma": spread}, "probe")
        sim = simulate_design(sc, Design.of(h), 0).histories
        label = f"{sc.population.dropout_sigma:.2f}" + (" (the fit)" if spread is None else "")
        print(f"| {label} | {spread_score(beta, sim).mean() / se:+.2f} | {sim.x.mean():.3f} |", flush=True)


if __name__ == "__main__":
    main()
