"""An early or a steady leaving: statistics of the calibration period that tell a wide dropout spread from a narrow one.

Two modes.

``refit``: the fit of a panel's log with ``population.dropout_spread`` held at ``--spread`` (the other fitted
parameters searched from a fit's scenario.toml), so that two scenarios match the existing statistics about
equally but differ in the spread; prints the values and the misfit criterion J of both (same simulation seed).

    python benchmarks/early_leaving.py refit --transactions DIR/panel_5.csv
        --scenario DIR/lapse-steady_p5_s0/scenario.toml --spread 1.5

``check``: engine cohorts with CDNOW's design (first orders over the first 84 days of a 273-day calibration
period, then 39 holdout weeks; ``benchmarks/cohort_conditioning.py``'s ``cohort``) from each scenario, several
seeds at ``--customers``; prints each candidate statistic's mean and seed-to-seed sd, and the holdout's repeat
rate over the calibration's last 13 weeks (the quantity the forecast inherits). ``--transactions`` adds the real
panels' values.

``age``: the repeat rate by weeks since the first order (bands of 13 weeks to 78), through the holdout, of real logs
(their mean) and of engine cohorts from each scenario (``--customers``, ``--seeds``).

    python benchmarks/early_leaving.py age --transactions DIR/panel_1.csv ... --scenario A.toml --seeds 0 1 2 3

``log``: one such engine cohort written as transactions.csv (CDNOW's calendar), to calibrate with known truth.

    python benchmarks/early_leaving.py log --scenario A.toml --seed 1 --out DIR/engine.csv

    python benchmarks/early_leaving.py check --scenario A.toml --scenario B.toml:population.dropout_sigma=1.5,...
        --seeds 0 1 2 3 4 5 --customers 2400 [--transactions DIR/panel_1.csv ...]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments.calibrate import fit as F  # noqa: E402
from experiments.calibrate.history import daily, histories  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import apply_overrides, load_scenario  # noqa: E402

END = date(1997, 9, 30).toordinal()
DAYS, WINDOW, HOLDOUT = 273, 84, 273


def candidates(cust: np.ndarray, day: np.ndarray, end: int) -> dict[str, float]:
    """Candidate statistics of the calibration period (days <= ``end``) of one transaction per (customer, day)."""
    cal = day <= end
    cust, day = cust[cal], day[cal]
    n = int(cust.max()) + 1
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, day)
    start = int(first.min())
    third = (end - start) // 3
    rep = day > first[cust]
    early = np.bincount(cust, weights=rep & (day <= start + third), minlength=n)
    mid = np.bincount(cust, weights=rep & (day > end - 2 * third) & (day <= end - third), minlength=n)
    late = np.bincount(cust, weights=rep & (day > end - third), minlength=n)
    x = np.bincount(cust, weights=rep, minlength=n)
    out = {}
    e = early > 0
    m = mid > 0
    out["P(late|mid)"] = float(np.mean(late[m] > 0))
    out["P(mid|early)"] = float(np.mean(mid[e] > 0))
    out["P(late|early,mid)"] = float(np.mean(late[e & m] > 0))
    out["P(late|early,~mid)"] = float(np.mean(late[e & ~m] > 0))
    out["early: late/mid"] = float(late[e].sum() / max(mid[e].sum(), 1))
    out["all: late/mid"] = float(late.sum() / max(mid.sum(), 1))
    before = early + mid
    two = before >= 2
    out["P(late|2+ before)"] = float(np.mean(late[two] > 0))
    out["P(late|1 before)"] = float(np.mean(late[before == 1] > 0))
    out["2+ before: late/before"] = float(late[two].sum() / max(before[two].sum(), 1))
    out["early: P(late)/P(mid)"] = float(np.mean(late[e] > 0) / max(np.mean(mid[e] > 0), 1e-9))
    # the weekly repeat curve over the calibration's last 26 weeks, in four bins: second difference of logs
    w = (end - day[rep]) // 7
    b = [np.sum((w >= lo) & (w < hi)) for lo, hi in ((20, 26), (13, 20), (7, 13), (0, 7))]
    b = [bb / (hi - lo) for bb, (lo, hi) in zip(b, ((20, 26), (13, 20), (7, 13), (0, 7)))]
    out["curvature"] = float(math.log(b[3] / b[2]) - math.log(b[1] / b[0]))
    # the repeat rate by age (weeks since the customer's first order), per customer-week observed in the band
    age = (day - first[cust]) // 7
    r = []
    for lo, hi in ((0, 13), (13, 26), (26, 39)):
        seen = np.clip(np.minimum(hi, (end - first + 1) / 7) - lo, 0, None).sum()
        r.append(np.sum(rep & (age >= lo) & (age < hi)) / seen)
    out["age: r(13-26)/r(0-13)"] = float(r[1] / r[0])
    out["age: r(26-39)/r(13-26)"] = float(r[2] / r[1])
    out["age curvature"] = float(math.log(r[2] / r[1]) - math.log(r[1] / r[0]))
    # lapsed repeaters: share of customers with a repeat whose last purchase is over 13 weeks before the end
    last = np.zeros(n, np.int64)
    np.maximum.at(last, cust, day)
    r1 = x > 0
    out["repeaters silent 13w+"] = float(np.mean(end - last[r1] > 91))
    out["2+ repeats silent 13w+"] = float(np.mean(end - last[x >= 2] > 91))
    return out


def holdout_ratio(cust: np.ndarray, day: np.ndarray, end: int, weeks: int = 39) -> float:
    """Repeat rate in the ``weeks`` after ``end`` over that in the calibration's last 13 weeks."""
    n = int(cust.max()) + 1
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, day)
    rep = day > first[cust]
    late = np.sum(rep & (day > end - 91) & (day <= end))
    after = np.sum((day > end) & (day <= end + 7 * weeks))
    return float(after / weeks / (late / 13))


def scenario_of(spec: str):
    """``PATH[:name=value,...]``: a scenario.toml with overrides."""
    path, _, sets = spec.partition(":")
    sc = load_scenario(path)
    if sets:
        sc = apply_overrides(sc, {k: float(v) for k, v in (s.split("=") for s in sets.split(","))}, "early_leaving")
    return sc


def check(args: argparse.Namespace) -> None:
    """Each scenario's candidate statistics over the seeds (mean, sd), and the real logs' values."""
    from cohort_conditioning import cohort

    table: dict[str, dict[str, list[float]]] = {}
    for spec in args.scenario:
        sc = scenario_of(spec)
        rows: dict[str, list[float]] = {}
        started = time.perf_counter()
        for seed in args.seeds:
            cust, day, _, _ = cohort(sc, args.customers, DAYS, WINDOW, HOLDOUT, seed)
            order = np.lexsort((day, cust))
            cust, day = cust[order], day[order]
            key = np.unique(cust * 10_000 + day)  # one transaction per customer and day
            cust, day = key // 10_000, key % 10_000
            stats = candidates(cust, day, DAYS - 1)
            stats["holdout / last 13 weeks"] = holdout_ratio(cust, day, DAYS - 1)
            for k, v in stats.items():
                rows.setdefault(k, []).append(v)
        pop = sc.population
        label = (f"{Path(spec.partition(':')[0]).parent.name} spread {pop.dropout_sigma:.3g} dropout "
                 f"{pop.dropout_per_year:.3g} cycle {pop.cycle_median_days:.3g} ({pop.cycle_sigma:.3g}) lapse "
                 f"{sc.dynamics.need_lapse:.3g}")
        table[label] = rows
        print(f"# {label}: {len(args.seeds)} seeds in {time.perf_counter() - started:.0f} s", flush=True)
    for path in args.transactions:
        tx = read_transactions(path, calibration_end=END)
        cust, day, _ = daily(tx)
        stats = candidates(cust, day, END)
        stats["holdout / last 13 weeks"] = holdout_ratio(cust, day, END)
        table[f"real {path.stem}"] = {k: [v] for k, v in stats.items()}
    names = list(next(iter(table.values())))
    if args.pair:  # scenario k is the fit of transactions k: (real - fitted world) / the world's seed-to-seed sd
        worlds, reals = list(table.values())[:len(args.scenario)], list(table.values())[len(args.scenario):]
        print("| statistic | " + " | ".join(p.stem for p in args.transactions) + " | mean z |")
        print("|---|" + "---:|" * (len(reals) + 1))
        for k in names:
            z = [(r[k][0] - np.mean(w[k])) / np.std(w[k], ddof=1) for w, r in zip(worlds, reals)]
            print(f"| {k} | " + " | ".join(f"{np.mean(w[k]):.3f}/{r[k][0]:.3f} ({v:+.1f})"
                                           for w, r, v in zip(worlds, reals, z)) + f" | {np.mean(z):+.2f} |")
        return
    print("| statistic | " + " | ".join(table) + " |")
    print("|---|" + "---:|" * len(table))
    for k in names:
        cells = []
        for rows in table.values():
            v = np.asarray(rows[k])
            cells.append(f"{v.mean():.4f} (sd {v.std(ddof=1):.4f})" if v.size > 1 else f"{v[0]:.4f}")
        print(f"| {k} | " + " | ".join(cells) + " |")


def refit(args: argparse.Namespace) -> None:
    """The fit's search with the dropout spread held at ``--spread``, from the fit's values; J of both."""
    tx = read_transactions(args.transactions, calibration_end=END)
    h = histories(tx, END)
    fitted = load_scenario(args.scenario)
    names = tuple(n for n in F.FITTED if n != "population.dropout_sigma") + ("dynamics.need_lapse",)
    all_names = F.FITTED + ("dynamics.need_lapse",)
    design = F.Design.of(h)
    from experiments.calibrate import auxiliary
    aux = auxiliary.fit(h)
    rows = (0, 1, 2)
    target, sigma = F.observed(h, aux, rows)
    weight = np.linalg.pinv(sigma)
    theta0 = np.log([F.scenario_value(fitted, n) for n in all_names])
    b0, log0 = F._binding(fitted, all_names, rows, design, aux.beta, args.seed, theta0)
    d0 = F._distance(target - b0, weight) / F.simulation_factor(h.n, log0.histories.n)
    print(f"the fit as it stands: J {d0:.2f}; " + ", ".join(f"{n} {F.scenario_value(fitted, n):.4g}"
                                                          for n in all_names), flush=True)
    base = apply_overrides(fitted, {"population.dropout_sigma": args.spread}, "early_leaving")

    def binding(t):
        return F._binding(base, names, rows, design, aux.beta, args.seed, t)

    started = time.perf_counter()
    d, theta, b, log, _ = F.search(binding, np.log([F.scenario_value(base, n) for n in names]), target, weight,
                                   names=names)
    j = d / F.simulation_factor(h.n, log.histories.n)
    print(f"spread held at {args.spread}: J {j:.2f} ({time.perf_counter() - started:.0f} s); "
          + ", ".join(f"{n}={math.exp(t):.4g}" for n, t in zip(names, theta)))
    print("statistics: data " + " ".join(f"{v:.4f}" for v in target))
    print("   as fitted " + " ".join(f"{v:.4f}" for v in b0))
    print(f"   spread {args.spread} " + " ".join(f"{v:.4f}" for v in b))
    print("   data SE  " + " ".join(f"{v:.4f}" for v in np.sqrt(np.diag(sigma))))
    print("override: " + ",".join(f"{n}={math.exp(t):.6g}" for n, t in zip(names, theta))
          + f",population.dropout_sigma={args.spread}")


def write_log(args: argparse.Namespace) -> None:
    """An engine cohort with CDNOW's design and calendar written as transactions.csv for ``siyu calibrate``.

    Day 0 is 1997-01-01, the calibration end 1997-09-30, then 39 more weeks; each customer's usual amount is
    lognormal with the scenario's order-value median and spread, each order that times a lognormal noise of log-sd
    0.3 (drawn here with numpy, not by the engine; with no noise within customers the order-value fit's Hessian is
    singular and ``siyu calibrate`` stops).
    """
    from cohort_conditioning import cohort

    sc = scenario_of(args.scenario)
    cust, day, _, _ = cohort(sc, args.customers, DAYS, WINDOW, HOLDOUT, args.seed)
    key = np.unique(cust * 10_000 + day)
    cust, day = key // 10_000, key % 10_000
    rng = np.random.default_rng(args.seed)  # each customer's usual order, then noise within a customer (0.3)
    usual = rng.lognormal(math.log(sc.population.order_value_median), sc.population.order_value_sigma,
                          int(cust.max()) + 1)
    amount = usual[cust] * rng.lognormal(0.0, 0.3, cust.size)
    start = END - (DAYS - 1)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("customer_id,date,amount\n")
        for c, d, a in zip(cust, day, amount):
            f.write(f"c{c},{date.fromordinal(int(start + d)).isoformat()},{a:.2f}\n")
    print(f"{args.out}: {np.unique(cust).size} customers, {cust.size} transactions, holdout / last 13 weeks "
          f"{holdout_ratio(cust, day, DAYS - 1):.3f}")


AGES = ((1, 13), (13, 26), (26, 39), (39, 52), (52, 65), (65, 78))
"""Bands of weeks since a customer's first order (``age``)."""


def by_age(cust: np.ndarray, day: np.ndarray, last_day: int) -> np.ndarray:
    """Repeat transactions a customer-week in each band of :data:`AGES`, over the weeks each customer is seen."""
    n = int(cust.max()) + 1
    first = np.full(n, 10 ** 9)
    np.minimum.at(first, cust, day)
    rep = day > first[cust]
    age = (day - first[cust]) // 7
    out = []
    for lo, hi in AGES:
        seen = np.clip(np.minimum(hi, (last_day - first + 1) / 7) - lo, 0, None).sum()
        out.append(np.sum(rep & (age >= lo) & (age < hi)) / seen if seen > 0 else np.nan)
    return np.array(out)


def age(args: argparse.Namespace) -> None:
    """The repeat rate by weeks since the first order through the holdout: the real panels' mean, each scenario's."""
    from cohort_conditioning import cohort

    if args.transactions:
        rows = []
        for path in args.transactions:
            cust, day, _ = daily(read_transactions(path, calibration_end=END))
            keep = day <= END + HOLDOUT
            rows.append(by_age(cust[keep], day[keep], END + HOLDOUT))
        print(f"real ({len(rows)} logs) mean: " + " ".join(f"{v:.4f}" for v in np.mean(rows, 0))
              + "; sd across logs: " + " ".join(f"{v:.4f}" for v in np.std(rows, 0)))
    for spec in args.scenario:
        rates = []
        for seed in args.seeds:
            cust, day, _, _ = cohort(scenario_of(spec), args.customers, DAYS, WINDOW, HOLDOUT, seed)
            key = np.unique(cust * 10_000 + day)
            rates.append(by_age(key // 10_000, key % 10_000, DAYS - 1 + HOLDOUT))
        print(f"{spec}: " + " ".join(f"{v:.4f}" for v in np.mean(rates, 0)))


def main() -> None:
    """``check`` or ``refit``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check")
    c.add_argument("--scenario", action="append", required=True)
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    c.add_argument("--customers", type=int, default=2400)
    c.add_argument("--transactions", type=Path, nargs="*", default=[])
    c.add_argument("--pair", action="store_true", help="scenario k is the fit of transactions k: print z-scores")
    r = sub.add_parser("refit")
    r.add_argument("--transactions", type=Path, required=True)
    r.add_argument("--scenario", required=True)
    r.add_argument("--spread", type=float, default=1.5)
    r.add_argument("--seed", type=int, default=0)
    w = sub.add_parser("log")
    w.add_argument("--scenario", required=True)
    w.add_argument("--customers", type=int, default=2357)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--out", type=Path, required=True)
    a = sub.add_parser("age")
    a.add_argument("--scenario", action="append", default=[])
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    a.add_argument("--customers", type=int, default=6000)
    a.add_argument("--transactions", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    {"check": check, "refit": refit, "log": write_log, "age": age}[args.mode](args)


if __name__ == "__main__":
    main()
