"""Why the forecast band under-covers on engine logs: the holdout curve against many replicates, per seed.

For each seed the log, fit, quick bootstrap and forecast are those of ``calibrate_recovery.py`` (same seeds,
same streams: the forecast's first replicates are the benchmark's), but the forecast runs ``--replicates``
times (default 100) and the parameters are also held at the estimate (``--fixed``) and at the truth
(``--oracle``) so that their share of the band shows. ``--continuations K`` replays the holdout of the true
pool K times from its state at the calibration end (the truth's own realisation noise, its hidden states
known). Writes every seed's curves to ``--out`` (npz), then prints, per seed and over the seeds: where the
actual lies among the replicates (its rank, a PIT), the signed error of the last week in units of the band's
half-width, and how often bands built from 20 or from all replicates, with each quantile rule, hold it.

    python benchmarks/band_coverage.py --first 101 --seeds 19 --replicates 100 --out /tmp/band.npz
    python benchmarks/band_coverage.py --summarize /tmp/band.npz [/tmp/band2.npz ...]
    python benchmarks/band_coverage.py --first 101 --seeds 19 --replays 20

``--replays K`` alone checks the replays: the true pool at the calibration end continued K times with fresh random
numbers (a copy of the running simulation, its day and world kept) against K restarts from its state at day 0 with
a fresh seed (what the forecast and ``--continuations`` do), and the actual holdout total against both.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np

from benchmarks.calibrate_recovery import TRUTH
from experiments.calibrate.bootstrap import bootstrap
from experiments.calibrate.fit import calibrate
from experiments.calibrate.forecast import Uncertainty, band, forecast
from experiments.calibrate.history import histories, holdout_weekly
from experiments.calibrate.profile import binding_of, central_jacobian
from experiments.calibrate.simulate import engine_transactions, purchases
from sim.config import apply_overrides, load_scenario
from sim.engine import Simulation


def continuations(scenario_seed: int, customers: int, days: int, holdout: int, k: int) -> np.ndarray:
    """(k, weeks) cumulative holdout transactions of the true pool, replayed k times from its calibration-end state.

    The pool is the one :func:`~experiments.calibrate.simulate.engine_transactions` simulates; only customers who
    ordered by the calibration end count, and a customer's orders on one day count once (as in the holdout).
    """
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    sim = Simulation(truth, customers=customers, seed=scenario_seed, inflow=False)
    cust, _, _ = purchases(sim, days)
    known = np.zeros(sim.state.n, bool)
    known[cust] = True
    weeks = holdout // 7
    out = np.zeros((k, weeks))
    for j in range(k):
        replay = Simulation(truth, customers=customers, seed=10_000_019 * (j + 1) + scenario_seed,
                            state=sim.state.copy(), inflow=False)
        c, d, _ = purchases(replay, 7 * weeks)
        keep = known[c]
        pairs = np.unique(np.stack([c[keep], d[keep]]), axis=1)
        out[j] = np.cumsum(np.bincount(pairs[1] // 7, minlength=weeks)[:weeks])
    return out


def holdout_total(sim: Simulation, known: np.ndarray, weeks: int) -> float:
    """Transactions of the ``known`` customers over the next ``weeks`` weeks of ``sim`` (same-day orders once)."""
    c, d, _ = purchases(sim, 7 * weeks)
    keep = known[c]
    return float(np.unique(np.stack([c[keep], d[keep]]), axis=1).shape[1])


def replays(args: argparse.Namespace) -> None:
    """Per seed: the actual total, the continued copies' and the restarts' mean and sd; z of the actual against each."""
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    weeks, k = args.holdout // 7, args.replays
    z = {"continued": [], "restarted": []}
    means = {"continued": [], "restarted": []}
    for seed in range(args.first, args.first + args.seeds):
        sim = Simulation(truth, customers=args.customers, seed=seed, inflow=False)
        cust, _, _ = purchases(sim, args.days)
        known = np.zeros(sim.state.n, bool)
        known[cust] = True
        actual = holdout_total(copy.deepcopy(sim), known, weeks)  # the log's own holdout, same seed
        got: dict[str, list[float]] = {"continued": [], "restarted": []}
        for j in range(k):
            fresh = 10_000_019 * (j + 1) + seed
            fork = copy.deepcopy(sim)
            fork.seed = fork.world.seed = fresh
            got["continued"].append(holdout_total(fork, known, weeks))
            restart = Simulation(truth, customers=args.customers, seed=fresh, state=sim.state.copy(), inflow=False)
            got["restarted"].append(holdout_total(restart, known, weeks))
        cells = []
        for name, v in got.items():
            a = np.array(v)
            z[name].append((actual - a.mean()) / a.std(ddof=1))
            means[name].append(a.mean())
            cells.append(f"{name} {a.mean():.1f} (sd {a.std(ddof=1):.1f})")
        print(f"{seed}: actual {actual:.0f}, " + ", ".join(cells), flush=True)
    for name, v in z.items():
        print(f"z of the actual against the {name}: mean {np.mean(v):+.2f}, sd {np.std(v, ddof=1):.2f}")
    diff = np.subtract(means["continued"], means["restarted"])
    print(f"continued minus restarted mean: {diff.mean():+.2f} (sd over seeds {diff.std(ddof=1):.2f})")


def run(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Every seed's actual curve and its forecasts' replicate curves."""
    truth = apply_overrides(load_scenario("beauty"), TRUTH)
    base = load_scenario("beauty")
    weeks = args.holdout // 7
    rows: dict[str, list[np.ndarray]] = {"seed": [], "actual": [], "boot": [], "fixed": [], "oracle": [], "cont": []}
    for seed in range(args.first, args.first + args.seeds):
        t0 = time.time()
        tx, end = engine_transactions(truth, args.customers, args.days, args.holdout, seed)
        h = histories(tx, end)
        cal = calibrate(h, base, None, seed=1000 + seed, min_pool=args.min_pool)
        jac = central_jacobian(binding_of(cal), cal.matched.theta)
        boot = bootstrap(cal, args.bootstrap, seed=1000 + seed, jac=jac)
        actual = np.cumsum(holdout_weekly(tx, h.end, weeks))
        fc = forecast(cal.scenario, h, 7 * weeks, args.replicates, seed, errors=Uncertainty.of(boot))
        rows["seed"].append(np.array(seed))
        rows["actual"].append(actual)
        rows["boot"].append(fc.replicates)
        nan = np.full((args.others, weeks), np.nan)
        rows["fixed"].append(forecast(cal.scenario, h, 7 * weeks, args.others, seed).replicates if args.fixed else nan)
        rows["oracle"].append(forecast(truth, h, 7 * weeks, args.others, seed).replicates if args.oracle else nan)
        rows["cont"].append(continuations(seed, args.customers, args.days, args.holdout, args.continuations)
                            if args.continuations else np.full((1, weeks), np.nan))
        print(f"seed {seed}: actual {actual[-1]:.0f}, forecast mean {fc.replicates[:, -1].mean():.0f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    return {k: np.stack(v) for k, v in rows.items()}


def pooled(runs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several runs' seeds as one; a forecast kind some run did not make (or made at another size) is left out."""
    out = {}
    for k in runs[0]:
        parts = [r[k] for r in runs]
        if all(p.shape[1:] == parts[0].shape[1:] for p in parts):
            out[k] = np.concatenate(parts)
        if k in out and k not in ("seed", "actual", "boot") and not np.isfinite(out[k]).all():
            del out[k]
    return out


def summarize(d: dict[str, np.ndarray]) -> None:
    """Per seed and overall: rank of the actual, signed error in half-widths, coverage by band rule."""
    actual, boot = d["actual"], d["boot"]
    n, r, weeks = boot.shape
    print(f"{n} seeds, {r} replicates, {weeks} weeks")
    print("seed | actual | mean | 90% band (20 reps, linear) | z = (actual - median) / half-width | rank of the actual"
          " among all replicates | mean/sd of the last week: boot, fixed, oracle, truth's continuations")
    for i in range(n):
        lo, hi = band(boot[i, :20], "linear")
        med = np.median(boot[i, :20, -1])
        half = (hi[-1] - lo[-1]) / 2
        rank = (boot[i, :, -1] < actual[i, -1]).mean()
        sds = [f"{np.mean(d[k][i, :, -1]):.0f}/{np.std(d[k][i, :, -1], ddof=1):.1f}"
               for k in ("boot", "fixed", "oracle", "cont") if k in d and np.isfinite(d[k][i]).all()]
        print(f"{int(d['seed'][i])} | {actual[i, -1]:.0f} | {boot[i, :, -1].mean():.0f} | {lo[-1]:.0f}-{hi[-1]:.0f} | "
              f"{(actual[i, -1] - med) / half:+.2f} | {rank:.2f} | " + ", ".join(sds))
    for k in ("boot", "fixed", "oracle"):
        if k not in d or not np.isfinite(d[k]).all():
            continue
        c = d[k]
        r = c.shape[1]
        for reps in sorted({20, r}):
            for method in ("linear", "weibull"):
                inside = []
                for i in range(n):
                    # every disjoint block of ``reps`` replicates gives an independent band of that size
                    for b in range(r // reps):
                        lo, hi = band(c[i, b * reps:(b + 1) * reps], method)
                        inside.append((actual[i] >= lo) & (actual[i] <= hi))
                inside = np.array(inside)
                print(f"{k}: {reps} replicates, {method}: weeks inside {100 * inside.mean():.0f}%, last week "
                      f"{100 * inside[:, -1].mean():.0f}% ({len(inside)} bands)")
    z = []
    for i in range(n):
        mean, sd = boot[i, :, -1].mean(), boot[i, :, -1].std(ddof=1)
        z.append((actual[i, -1] - mean) / sd)
    z = np.array(z)
    print(f"last week, (actual - mean) / sd over all replicates: mean {z.mean():+.2f} "
          f"(SE {z.std(ddof=1) / np.sqrt(n):.2f}), "
          f"sd {z.std(ddof=1):.2f}, |z| > 1.645 in {(np.abs(z) > 1.645).sum()}/{n}")
    cont = d.get("cont")
    if cont is not None and np.isfinite(cont).all():
        sd_c = cont[:, :, -1].std(axis=1, ddof=1)
        sd_b = boot[:, :, -1].std(axis=1, ddof=1)
        print(f"sd of the last week: truth's own continuations {sd_c.mean():.1f}, forecast replicates {sd_b.mean():.1f}"
              f" (mean over seeds); Poisson sd sqrt(mean) {np.sqrt(boot[:, :, -1].mean(axis=1)).mean():.1f}")


def main() -> None:
    """Run the seeds (or read them back) and summarize."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=101)
    ap.add_argument("--seeds", type=int, default=19)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--holdout", type=int, default=84)
    ap.add_argument("--bootstrap", type=int, default=20)
    ap.add_argument("--min-pool", type=int, default=4000)
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--others", type=int, default=40, help="replicates of the --fixed and --oracle forecasts")
    ap.add_argument("--fixed", action="store_true", help="also forecast with the parameters held at the estimate")
    ap.add_argument("--oracle", action="store_true", help="also forecast with the true parameters")
    ap.add_argument("--continuations", type=int, default=0, help="replays of the true pool's holdout")
    ap.add_argument("--replays", type=int, default=0, help="only compare continued and restarted replays")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summarize", type=Path, nargs="+", help="runs written with --out, pooled over their seeds")
    args = ap.parse_args()
    if args.summarize:
        summarize(pooled([dict(np.load(f)) for f in args.summarize]))
        return
    if args.replays:
        replays(args)
        return
    d = run(args)
    if args.out:
        np.savez(args.out, **d)
    summarize(d)


if __name__ == "__main__":
    main()
