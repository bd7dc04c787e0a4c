"""Calibration on engine-simulated logs: parameter recovery, interval coverage and holdout error against BG/NBD.

For each seed an existing pool is simulated from known parameters (beauty with the cycle, its spread and the
order values moved away from the preset), its first ``--days`` days are calibrated from the beauty
preset, and the next ``--holdout`` days are forecast by the fitted scenario (each customer conditioned on
their history, the fitted parameters drawn jointly from the bootstrap's covariance) and by BG/NBD. Prints
one row per seed, then how often each kind of 90% interval holds the truth, with its binomial standard error,
how often the 90% forecast band holds the actual curve (all weeks, and the last week) and the mean errors.

Intervals compared (the matched parameters; order values have only their likelihood's): ``sandwich`` and
``boot`` (estimate +- 1.645 SE, the SE from the sandwich or from the bootstrap's spread), ``sandwich-log`` and
``boot-log`` (the same on the log scale, which fit.md reports), ``percentile`` (the 5% and 95% of the refits)
and ``basic`` (the percentile interval reflected about the estimate). With ``--intervals newton`` the bootstrap's
refits are the quick ones (Gauss-Newton from the estimate on central slopes, ``siyu calibrate``'s default) and
``central-log`` (the sandwich at those slopes) is added; ``--profile`` adds the profile intervals
(:mod:`experiments.calibrate.profile`) of the cycle and its spread. ``--draws N`` forecasts from N quasi-posterior
draws (``siyu calibrate --draws``) and adds ``quasi`` (the draws' weighted 5% to 95%) and, from the same draws
weighed with other priors, ``quasi-w1`` and ``quasi-w16`` (the fit's normal 1 and 16 times as wide) and
``quasi-flat`` (flat over the box). The summary also gives, for each matched parameter, the projection of the
joint 90% region (:mod:`experiments.calibrate.region`, fit.md's "90% joint region, projected") from the sandwich's
and the bootstrap's covariances beside the marginal +-1.645 SE, from the covariances each record keeps.

    python benchmarks/calibrate_recovery.py [--seeds 8] [--first 1] [--customers 1500] [--days 240]
        [--holdout 182] [--bootstrap 20] [--min-pool 10000] [--intervals sandwich|newton|profile] [--profile]
        [--draws 200] [--jsonl rows.jsonl]
    python benchmarks/calibrate_recovery.py --summarize rows.jsonl [rows2.jsonl ...]

With ``--lapse L`` the need keeps no schedule (``dynamics.need_impulse`` 1, in the truth and the base) and a
share L of need occasions ends the customer (``dynamics.need_lapse``), which the fit adds (``--fit``).
With ``--dropout RATE`` and ``--dropout-sigma S`` the truth's ``population.dropout_per_year`` and
``population.dropout_sigma`` are these (else beauty's, 0.15 a year, which a log of a few hundred days seldom
shows): their intervals are then counted like the cycle's, over the seeds whose log showed dropout (the fit kept
it at the base's value otherwise). With ``--joiners RATE`` the truth's pool has joiners
(``population.joiners_per_year``), which ``--fit-joiners`` fits from the start; without it, as ``siyu calibrate``,
they are fitted where a closed pool fails the misfit test and the log's first orders come late (``--no-joiners``
keeps the pool closed). Each record keeps its truth, which ``--summarize``
takes from it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from dataclasses import replace

import numpy as np

from experiments.calibrate.bootstrap import bootstrap
from experiments.calibrate.fit import DROPOUT, JOINERS, MIN_POOL, MISFIT_P, calibrate, misfit
from experiments.calibrate.forecast import Uncertainty
from experiments.calibrate.history import histories
from experiments.calibrate.holdout import compare
from experiments.calibrate.kept_dropout import with_choice
from experiments.calibrate.pool_joiners import with_joiners
from experiments.calibrate.quasi import PRIOR_WIDTH, calibration_scores
from experiments.calibrate.region import projected_interval
from experiments.calibrate.profile import binding_of, central_jacobian, profile, sandwich, with_profile
from experiments.calibrate.simulate import engine_transactions
from sim.config import apply_overrides, load_scenario

TRUTH = {"population.cycle_median_days": 60.0, "population.cycle_sigma": 0.5,
         "population.order_value_median": 120.0, "population.order_value_sigma": 0.6}
IMPULSE = {"dynamics.need_impulse": 1.0}
"""The truth's and the base's need timing under ``--lapse``."""
CUSTOMERS, DAYS, HOLDOUT = 1500, 240, 182
"""The engine log's default size: customers, calibration days and held-out days (the README's figures)."""
Z90 = 1.6449
KINDS = ("sandwich", "boot", "boot-log", "percentile", "basic")
PROFILED = ("population.cycle_median_days", "population.cycle_sigma")
"""Parameters whose profile intervals ``--intervals profile`` measures (the truth's matched ones)."""
WIDTH_NAMES = {1.0: "w1", 16.0: "w16", None: "flat"}
"""Other prior widths the draws' ranges are measured with besides the default (``quasi``, :data:`PRIOR_WIDTH`)."""
WIDTHS = tuple(w for w in WIDTH_NAMES if w != PRIOR_WIDTH)


def intervals(value: float, se: float, boot_se: float, refits: np.ndarray | None) -> dict[str, tuple[float, float]]:
    """The 90% intervals of :data:`KINDS` for one parameter (``refits``: its bootstrap log values, if matched)."""
    out = {"sandwich": (value - Z90 * se, value + Z90 * se), "boot": (value - Z90 * boot_se, value + Z90 * boot_se)}
    if refits is None:
        for k in KINDS[2:]:
            out[k] = out["boot"]
        return out
    t, sd = math.log(value), float(np.std(refits, ddof=1))
    lo, hi = np.quantile(refits, [0.05, 0.95])
    out["boot-log"] = (math.exp(t - Z90 * sd), math.exp(t + Z90 * sd))
    out["percentile"] = (math.exp(lo), math.exp(hi))
    out["basic"] = (math.exp(2 * t - hi), math.exp(2 * t - lo))
    return out


def run_seed(seed: int, args: argparse.Namespace) -> dict:
    """Simulate, calibrate, bootstrap and forecast one seed; its record."""
    timing = IMPULSE if args.lapse else {}  # TRUTH has the options' values (main)
    truth = apply_overrides(load_scenario("beauty"), {**TRUTH, **timing})
    base = apply_overrides(load_scenario("beauty"), timing)
    started = time.process_time()
    tx, end = engine_transactions(truth, args.customers, args.days, args.holdout, seed)
    h = histories(tx, end)
    also = ("dynamics.need_lapse",) * bool(args.lapse) + (JOINERS,) * args.fit_joiners

    def fit(scenario, joined=(), follow=False, hopeless_above=None):
        return calibrate(h, scenario, None, seed=1000 + seed, min_pool=args.min_pool, also=also + joined,
                         joiners_follow=follow, hopeless_above=hopeless_above)

    follow = not args.no_joiners and JOINERS not in also
    cal = fit(base, follow=follow)
    joined = ()
    if follow:  # as siyu calibrate: joiners where a closed pool fails and first orders come late
        cal = with_joiners(cal, lambda closed_base: fit(closed_base, (JOINERS,)), lambda: fit(base))
        joined = (JOINERS,) if cal.joiners_choice is not None else ()
    if not args.keep_base_dropout:  # as siyu calibrate: a kept rate mixed with none
        cal = with_choice(cal, lambda scenario, hopeless: fit(scenario, joined, hopeless_above=hopeless), 1000 + seed)
    fit_cpu = time.process_time() - started
    jac = None
    if args.intervals in ("profile", "newton"):
        jac = central_jacobian(binding_of(cal), cal.matched.theta)
        rec_central = np.sqrt(np.diag(sandwich(cal, jac)))
    boot = (bootstrap(cal, args.bootstrap, seed=1000 + seed, jac=jac if args.intervals == "newton" else None)
            if args.bootstrap else cal)
    boot_cpu = time.process_time() - started - fit_cpu
    names = boot.matched.names
    rec = {"seed": seed, "truth": dict(TRUTH), "customers": h.n, "values": {}, "ses": {}, "boot_ses": {}, "hits": {},
           "fit_cpu": fit_cpu, "boot_cpu": boot_cpu}
    rec["matched"] = {k: cal.values[k] for k in names}  # the jointly fitted ones, for the projected region
    test = misfit(cal)
    rec["misfit"] = None if test is None else [test.j, test.df, test.p]
    c = cal.dropout_choice
    rec["dropout_choice"] = None if c is None else [c.kept_j, c.none_j, c.none_kept, c.none_weight]
    jc = cal.joiners_choice
    rec["joiners_choice"] = None if jc is None else [jc.gap, jc.closed_j, jc.closed_df]
    rec["refined"] = int(cal.iterations[-1]["iteration"]) if cal.iterations else None  # 0: the search's end kept
    rec["cov_sandwich"] = np.asarray(cal.covariance).tolist()
    if boot.boot is not None:
        rec["cov_boot"] = np.asarray(boot.covariance).tolist()
    if jac is not None:
        rec["central_sd"] = {k: float(rec_central[i]) for i, k in enumerate(names)}
    if boot.boot is not None:
        rec["boot"] = boot.boot.tolist()
    prof = None
    if args.intervals == "profile" or args.profile:
        t0 = time.process_time()
        prof = profile(cal, tuple(k for k in PROFILED if k in names))
        rec["profile"] = {k: [prof.low[k], prof.high[k]] for k in prof.names}
        rec["central_sd"] = {k: float(np.sqrt(prof.sandwich[i, i])) for i, k in enumerate(names)}
        rec["profile_points"] = {k: v for k, v in prof.points.items()}
        rec["profile_cpu"] = time.process_time() - t0
        rec["profile_evaluations"] = prof.evaluations
        rec["profile_d"] = [prof.fit_distance, prof.least, prof.threshold]
    drawn = None
    if args.draws:
        t0 = time.process_time()
        scored = calibration_scores(boot, args.draws, seed=1000 + seed)
        drawn = scored.weigh()
        others = {f"quasi-{WIDTH_NAMES[w]}": scored.weigh(w) for w in WIDTHS}  # the same draws, other priors
        boot = replace(boot, draws=drawn)
        rec["draws"] = [drawn.ess(), drawn.dispersion, time.process_time() - t0]
        rec["draws_ess"] = {kind: d.ess() for kind, d in others.items()}
    errors = Uncertainty.of(with_profile(boot, prof) if prof is not None and boot.boot is None else boot)
    hold = compare(cal.scenario, h, tx, args.holdout // 7, args.replicates, seed, errors)
    for k, true in TRUTH.items():
        if k not in cal.values:  # dropout the log did not show: kept at the base's value, no interval
            continue
        refits = boot.boot[:, names.index(k)] if k in names and boot.boot is not None else None
        ivs = intervals(cal.values[k], cal.ses[k], boot.ses[k], refits)
        rec["values"][k], rec["ses"][k], rec["boot_ses"][k] = cal.values[k], cal.ses[k], boot.ses[k]
        if "central_sd" in rec and k in rec["central_sd"]:
            sd = rec["central_sd"][k]
            ivs["central-log"] = (cal.values[k] * math.exp(-Z90 * sd), cal.values[k] * math.exp(Z90 * sd))
        if prof is not None and k in prof.names:
            ivs["profile"] = (prof.low[k], prof.high[k])
        if drawn is not None and k in drawn.names:
            ivs["quasi"] = drawn.summary()[k][1:]
            for kind, d in others.items():
                ivs[kind] = d.summary()[k][1:]
        rec["hits"][k] = {kind: bool(lo <= true <= hi) for kind, (lo, hi) in ivs.items()}
    rec["dropout"] = {k: [cal.values[k], cal.ses[k]] for k in DROPOUT if k in cal.values}  # truth: TRUTH's or beauty's
    rec["holdout"] = [*hold.siyu_error, *hold.bgnbd_error, hold.inside_band, bool(hold.last_inside),
                      *hold.paretonbd_error]
    rec["cpu"] = time.process_time() - started
    return rec


def mean_error(recs: list[dict], name: str, at: int) -> str:
    """``name``'s mean (total, curve MAPE) errors, at ``rec["holdout"][at:at + 2]``, over the seeds it forecast.

    A failed forecast (nan) is counted and left out rather than turning the mean into nan.
    """
    errors = np.array([r["holdout"][at:at + 2] for r in recs if len(r["holdout"]) >= at + 2], dtype=float)
    if not errors.size:
        return f"{name} not recorded"
    ok = np.isfinite(errors).all(axis=1)
    if not ok.any():
        return f"{name} failed on all {ok.size} seeds"
    failed = f" (failed on {int((~ok).sum())} of {ok.size} seeds, mean of the others)" if not ok.all() else ""
    m = errors[ok].mean(axis=0)
    return f"{name} total {100 * m[0]:.1f}%, curve MAPE {100 * m[1]:.1f}%{failed}"


def true_value(name: str) -> float | None:
    """The truth of a matched parameter: :data:`TRUTH`'s, else beauty's (dropout); None if neither has it."""
    if name in TRUTH:
        return TRUTH[name]
    section, _, attr = name.partition(".")
    return getattr(getattr(load_scenario("beauty"), section, None), attr, None)


def projection_lines(recs: list[dict]) -> list[str]:
    """How often the marginal and the projected joint-region 90% intervals of each matched parameter hold the truth.

    Both on the log scale, from the sandwich's and the bootstrap's covariances, with their mean half-widths.
    Records without the covariances (written before they were kept) are skipped.
    """
    out = []
    names = list(dict.fromkeys(k for r in recs for k in r.get("matched", {})))
    for name in names:
        true = true_value(name)
        if true is None:
            continue
        cells = []
        for source, label in (("cov_sandwich", "sandwich"), ("cov_boot", "bootstrap")):
            got = [r for r in recs if name in r.get("matched", {}) and source in r]
            if not got:
                continue
            margin, proj = [], []
            for r in got:
                i, k, v = list(r["matched"]).index(name), len(r["matched"]), r["matched"][name]
                var = r[source][i][i]
                lo, hi = projected_interval(v, var, k)
                margin.append((abs(math.log(true / v)) <= Z90 * math.sqrt(var), Z90 * math.sqrt(var)))
                proj.append((lo <= true <= hi, math.log(hi / v)))
            n = len(got)
            ks = sorted({len(r["matched"]) for r in got})
            cells.append(f"{label} (k {'/'.join(map(str, ks))}, binomial SE {math.sqrt(0.09 / n):.2f}) marginal "
                         f"{sum(h for h, _ in margin)}/{n} "
                         f"(half-width {np.mean([w for _, w in margin]):.3f}), projected {sum(h for h, _ in proj)}/{n} "
                         f"({np.mean([w for _, w in proj]):.3f})")
        if cells:
            out.append(f"  {name.split('.')[-1]} (truth {true:g}; mean half-widths on the log scale): "
                       + "; ".join(cells))
    if out:
        out.insert(0, "90% joint region projected (log estimate +- sqrt(chi2_k(0.90) var), k jointly fitted) "
                   "against the marginal +-1.645 SE:")
    return out


def add_truth(truth: dict[str, float]) -> None:
    """Add ``truth`` (the options' values, or those a record kept) to :data:`TRUTH`; a different value fails."""
    for k, v in truth.items():
        if TRUTH.setdefault(k, v) != v:
            raise ValueError(f"{k}: truth {v:g} besides {TRUTH[k]:g} (records of different truths)")


def summarize(recs: list[dict]) -> None:
    """Coverage of each kind of interval (with its binomial SE) and the mean holdout errors.

    A parameter of :data:`TRUTH` is counted over the records that fitted it (dropout only where the log showed it).
    """
    n = len(recs)
    print(f"90% intervals holding the truth over {n} seeds (binomial SE at 90%: {math.sqrt(0.09 / n):.2f}):")
    for k in TRUTH:
        fitted = [r for r in recs if k in r["values"]]
        if len(fitted) < n:
            print(f"  {k.split('.')[-1]} fitted in {len(fitted)}/{n} seeds (binomial SE at 90%: "
                  f"{math.sqrt(0.09 / max(len(fitted), 1)):.2f}); counted over those")
        cells = []
        for kind in KINDS + ("central-log", "profile", "quasi") + tuple(f"quasi-{WIDTH_NAMES[w]}" for w in WIDTHS):
            got = [r["hits"][k][kind] for r in fitted if kind in r["hits"][k]]
            if got:
                cells.append(f"{kind} {sum(got)}/{len(got)}")
        f = [math.exp(Z90 * r["ses"][k] / r["values"][k]) for r in fitted]  # the sandwich on the log scale
        hit = sum(r["values"][k] / g <= TRUTH[k] <= r["values"][k] * g for r, g in zip(fitted, f))
        cells.append(f"sandwich-log {hit}/{len(fitted)}")
        print(f"  {k.split('.')[-1]}: " + ", ".join(cells))
    for k in TRUTH:
        fitted = [r for r in recs if k in r["values"]]
        if len(fitted) < 2:
            continue
        logs = np.log([r["values"][k] for r in fitted])
        print(f"  {k.split('.')[-1]}: mean {np.exp(logs.mean()):.4g}, sd of log estimates {logs.std(ddof=1):.3f}; "
              f"mean sd of log from sandwich {np.mean([r['ses'][k] / r['values'][k] for r in fitted]):.3f}, "
              f"bootstrap {np.mean([r['boot_ses'][k] / r['values'][k] for r in fitted]):.3f}")
    for k in (k for k in DROPOUT if k not in TRUTH):
        got = [r["dropout"][k] for r in recs if k in r.get("dropout", {})]
        if got:
            true = true_value(k)
            z = [(v - true) / se for v, se in got if se > 0]
            print(f"  {k.split('.')[-1]} (truth {true:g}, not in the table above): fitted in {len(got)}/{n} seeds, "
                  f"mean {np.mean([v for v, _ in got]):.4g}, mean SE {np.mean([se for _, se in got]):.3g}, "
                  f"z from {min(z):.1f} to {max(z):.1f}")
    for line in projection_lines(recs):
        print(line)
    tests = [r["misfit"] for r in recs if r.get("misfit")]
    if tests:
        print(f"  misfit test: rejected (p < {MISFIT_P}) in {sum(p < MISFIT_P for _, _, p in tests)}/{len(tests)} "
              f"seeds; mean J {np.mean([j for j, _, _ in tests]):.2f} on {tests[0][1]} df")
    choices = [r["dropout_choice"] for r in recs if r.get("dropout_choice")]
    if choices:
        print(f"  refit without dropout: {len(choices)}/{n} seeds, none the estimate in {sum(c[2] for c in choices)}"
              + (f", none's mean weight in the mixture {np.mean([c[3] for c in choices]):.2f}"
                 if all(len(c) > 3 for c in choices) else ""))
    joined = [r["joiners_choice"] for r in recs if r.get("joiners_choice")]
    if joined:
        print(f"  refit with joiners: {len(joined)}/{n} seeds (first orders {min(c[0] for c in joined):.1f}-"
              f"{max(c[0] for c in joined):.1f} SE late, closed pool's J {min(c[1] for c in joined):.1f}-"
              f"{max(c[1] for c in joined):.1f} on {joined[0][2]} df)")
    refined = [r["refined"] for r in recs if r.get("refined") is not None]
    if refined:
        print(f"  refinement: kept the search's end in {sum(v == 0 for v in refined)}/{len(refined)} seeds; "
              f"{np.mean([v for v in refined if v]):.0f} simulations on average where it refined"
              if any(refined) else f"  refinement: kept the search's end in every seed ({len(refined)})")
    for k in PROFILED:
        got = [r for r in recs if k in r.get("central_sd", {})]
        if got:
            print(f"  {k.split('.')[-1]}: mean central-difference sandwich SE of the log "
                  f"{np.mean([r['central_sd'][k] for r in got]):.3f}")
        got = [r for r in recs if k in r.get("profile", {})]
        if got:
            half = [0.5 * math.log(r["profile"][k][1] / r["profile"][k][0]) / Z90 for r in got]
            print(f"  {k.split('.')[-1]}: profile half-width / 1.645 {np.mean(half):.3f}; profile CPU "
                  f"{np.mean([r['profile_cpu'] for r in got]):.0f} s, "
                  f"{np.mean([r['profile_evaluations'] for r in got]):.0f} simulations a seed")
    drawn = [r["draws"] for r in recs if "draws" in r]
    if drawn:
        print(f"  quasi-posterior draws: effective sample size {min(d[0] for d in drawn):.0f} to "
              f"{max(d[0] for d in drawn):.0f}, phi {min(d[1] for d in drawn):.2g} to {max(d[1] for d in drawn):.2g}, "
              f"CPU {np.mean([d[2] for d in drawn]):.0f} s a seed (prior {PRIOR_WIDTH:g} times the fit's variance)")
        for kind in recs[0].get("draws_ess", {}):
            ess = [r["draws_ess"][kind] for r in recs if kind in r.get("draws_ess", {})]
            print(f"  {kind}: effective sample size {min(ess):.0f} to {max(ess):.0f}")
    if recs and "boot_cpu" in recs[0]:
        print(f"  CPU a seed: fit {np.mean([r['fit_cpu'] for r in recs]):.0f} s, bootstrap (and slopes) "
              f"{np.mean([r['boot_cpu'] for r in recs]):.0f} s")
    band = np.mean([r["holdout"][4] for r in recs])
    last = sum(r["holdout"][5] for r in recs)
    print(f"mean holdout error: {mean_error(recs, 'siyu', 0)}; {mean_error(recs, 'BG/NBD', 2)}; "
          f"{mean_error(recs, 'Pareto/NBD', 6)}; weeks inside siyu's 90% band {100 * band:.0f}%, "
          f"last week inside in {last}/{n} seeds; CPU {np.mean([r['cpu'] for r in recs]):.0f} s a seed")


def main() -> None:
    """Run the seeds and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first", type=int, default=1, help="first seed")
    ap.add_argument("--customers", type=int, default=CUSTOMERS)
    ap.add_argument("--days", type=int, default=DAYS)
    ap.add_argument("--holdout", type=int, default=HOLDOUT)
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--bootstrap", type=int, default=20, help="refits of the parametric bootstrap (0: sandwich only)")
    ap.add_argument("--min-pool", type=int, default=MIN_POOL, help="smallest simulated pool of the fit")
    ap.add_argument("--lapse", type=float, default=None, help="truth with need at a steady rate and this lapse")
    ap.add_argument("--dropout", type=float, default=None, help="truth's dropout_per_year (default beauty's)")
    ap.add_argument("--dropout-sigma", type=float, default=None, help="truth's dropout_sigma (default beauty's)")
    ap.add_argument("--joiners", type=float, default=None, help="truth's joiners_per_year (default none)")
    ap.add_argument("--fit-joiners", action="store_true", help="fit population.joiners_per_year too (--fit)")
    ap.add_argument("--no-joiners", action="store_true",
                    help="as siyu calibrate's: no refit with joiners where a closed pool fails, first orders late")
    ap.add_argument("--intervals", choices=("sandwich", "profile", "newton"), default="sandwich",
                    help="profile: also the central-difference sandwich and the profile intervals (the band from "
                    "them); newton: the bootstrap's refits by Gauss-Newton from the estimate on central slopes")
    ap.add_argument("--profile", action="store_true", help="measure the profile intervals as well")
    ap.add_argument("--draws", type=int, default=0, help="forecast from this many quasi-posterior draws (--draws)")
    ap.add_argument("--keep-base-dropout", action="store_true",
                    help="as siyu calibrate's: the base's rate alone where the log shows no dropout")
    ap.add_argument("--jsonl", type=Path, help="append each seed's record to this file")
    ap.add_argument("--summarize", type=Path, nargs="+", help="only summarize records written with --jsonl")
    args = ap.parse_args()
    if args.lapse:
        TRUTH["dynamics.need_lapse"] = args.lapse
    options = {"population.dropout_per_year": args.dropout, "population.dropout_sigma": args.dropout_sigma,
               JOINERS: args.joiners}
    add_truth({k: v for k, v in options.items() if v is not None})
    if args.summarize:
        recs = [json.loads(line) for p in args.summarize for line in p.read_text().splitlines() if line]
        for r in recs:
            add_truth(r.get("truth", {}))
        summarize(recs)
        return
    print("seed | " + " | ".join(f"{k.split('.')[-1]} (sandwich SE, bootstrap SE)" for k in TRUTH)
          + " | dropout, its spread (SE) | siyu total/curve | BG/NBD total/curve | weeks in band | last week in band"
          " | CPU s")
    recs = []
    for seed in range(args.first, args.first + args.seeds):
        rec = run_seed(seed, args)
        recs.append(rec)
        if args.jsonl:
            with args.jsonl.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
        e = rec["holdout"]
        cells = [f"{rec['values'][k]:.4g} ({rec['ses'][k]:.2g}, {rec['boot_ses'][k]:.2g})" if k in rec["values"]
                 else "kept" for k in TRUTH]
        choice = rec.get("dropout_choice")
        kept = ("kept (no dropout seen)" if choice is None else f"no dropout seen, refitted: J {choice[0]:.1f} kept, "
                f"{choice[1]:.1f} none, {'none' if choice[2] else 'kept'} the estimate"
                + (f", none weighing {choice[3]:.2f}" if len(choice) > 3 else ""))
        cells.append(", ".join(f"{v:.3g} ({se:.2g})" for v, se in rec["dropout"].values()) or kept)
        print(f"{seed} | " + " | ".join(cells) + f" | {100 * e[0]:.1f}% / {100 * e[1]:.1f}% | {100 * e[2]:.1f}% / "
              f"{100 * e[3]:.1f}% | {100 * e[4]:.0f}% | {'yes' if e[5] else 'no'} | {rec['cpu']:.0f}", flush=True)
    print("truth | " + " | ".join(f"{v:g}" for v in TRUTH.values()))
    summarize(recs)


if __name__ == "__main__":
    main()
