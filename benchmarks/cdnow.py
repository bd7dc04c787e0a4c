"""CDNOW's 39-week holdout, fitted by `siyu calibrate` over several seeds: siyu's error against BG/NBD's.

Two routes: ``default`` (the `beauty` base, the four population parameters fitted) and ``lapse`` (the same base
with need at a steady rate, ``dynamics.need_impulse = 1``, and a personal lapse, ``need_lapse_spread = 1``,
with ``--fit dynamics.need_lapse``; docs/calibration.md). Each fit runs as its own ``siyu calibrate`` process
on one numba thread, one after another; their folders stay under ``--out``.

``--panel 0`` (the default) is the standard 1/10 sample the routes were chosen on. Panels 1-9 are the other
21,213 customers of CDNOW's master file (``benchmarks/data/cdnow_rest.csv.gz``: the master file without the
sample's customers, from the MIT-licensed `lifetimes` package), dealt by customer id in turn into nine panels of
about the sample's size: customers the routes' choices never saw, over the same calendar.

    python benchmarks/cdnow.py --route lapse --seeds 0 1 2 --out /tmp/cdnow
    python benchmarks/cdnow.py --route lapse --seeds 0 --panel 1 2 3 --out /tmp/cdnow
    python benchmarks/cdnow.py --route lapse --seeds 0 --panel 1 3 5 7 9 --intervals bootstrap --out /tmp/cdnow-b
    python benchmarks/cdnow.py --route lapse-tenure --seeds 0 --panel 1 2 3 --prior MASTER/scenario.toml --out /tmp/p
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from experiments.calibrate.dropout_choice import NONE_PER_YEAR, RATE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "cdnow_sample.csv"
REST = ROOT / "benchmarks" / "data" / "cdnow_rest.csv.gz"
PANELS = 9
MASTER = 10
"""``--panel`` of the whole master file: the sample's customers and the rest's, 23,570."""
END = "1997-09-30"
LAPSE = {"need_impulse": 1.0, "need_lapse_spread": 1.0}
STEADY = {**LAPSE, "dropout_salience": 0.0}
ROUTES = {"default": ({}, []), "lapse": (LAPSE, ["--fit", "dynamics.need_lapse"]),
          "lapse-steady": (STEADY, ["--fit", "dynamics.need_lapse"]),
          "lapse-stationary": ({**STEADY, "share_floor": 1.0}, ["--fit", "dynamics.need_lapse"]),
          "lapse-persist": (STEADY, ["--fit", "dynamics.need_lapse", "--persistence"]),
          "lapse-loyal": ({**STEADY, "share_floor_spread": 0.02},
                          ["--fit", "dynamics.need_lapse", "--fit", "dynamics.share_floor_spread", "--persistence"]),
          "lapse-core": ({**STEADY, "population.dropout_sigma": 2.5},
                         ["--fit", "dynamics.need_lapse", "--persistence", "--hold", "population.dropout_sigma"]),
          "no-dropout": ({RATE: NONE_PER_YEAR}, []),
          "joiners": ({}, ["--fit", "population.joiners_per_year"]),
          "lapse-joiners": (STEADY, ["--fit", "dynamics.need_lapse", "--persistence",
                                     "--fit", "population.joiners_per_year"]),
          "lapse-tenure": (STEADY, ["--fit", "dynamics.need_lapse", "--persistence",
                                    "--fit", "dynamics.tenure_fade", "--fit", "dynamics.tenure_floor"])}
"""Base scenario values (``[dynamics]``) and extra ``siyu calibrate`` arguments of each route. ``lapse-steady``: a
dropout that does not grow as the brand is forgotten (a log of transactions cannot tell salience, and through a
long holdout ``beauty``'s factor 2 makes a forgotten customer leave three times as fast); ``lapse-stationary``:
also a brand share that does not fall with salience (``share_floor`` 1), so no rate fades through a holdout
without contacts; ``lapse-persist``: ``lapse-steady`` matching also the share of customers active in the middle third
of the calibration period who repeat in the last third (``siyu calibrate --persistence``), which the
``lapse-steady`` fits' own worlds put below the real panels' (``benchmarks/early_leaving.py``); ``lapse-core``: the
same with the dropout spread held at 2.5 (an early leaving: the leavers go in the first months, a loyal core stays),
not fitted; ``lapse-loyal``: ``lapse-persist`` with a loyal core's share floor fitted too (``share_floor_spread``, from
0.02, where searches around a master fit of ``lapse-persist`` went); ``no-dropout``: ``default`` with a base dropout
rate of none (0.001 a year), which a log that shows no dropout keeps: what ``siyu calibrate`` refits from wherever
a log shows no dropout, to mix with the base's rate (UCI's Online Retail; ``--keep-base-dropout`` turns that off);
``joiners``: ``default`` with the pool's joiners fitted (``population.joiners_per_year``; a log seen through a window,
not a cohort: Online Retail, not CDNOW); ``lapse-joiners``: ``lapse-persist`` with the pool's joiners fitted too;
``lapse-tenure``: ``lapse-persist`` with the tenure fade fitted too (``dynamics.tenure_fade`` and its floor, matching
also how much those still buying buy and who goes on buying a third earlier; a cohort only: CDNOW, not Online
Retail).
A ``population.`` key is set in ``[population]``."""
HOLDOUT = re.compile(r"siyu ([\d.]+)% off the total \(curve MAPE ([\d.]+)%\), "
                     r"BG/NBD ([\d.]+)% \(curve MAPE ([\d.]+)%\), Pareto/NBD ([\d.]+)% \(curve MAPE ([\d.]+)%\)")
BAND = re.compile(r"90% band in (\d+)% of the weeks")
TOTALS = re.compile(r"^\| (siyu|BG/NBD|Pareto/NBD)[^|\n]*\| ([\d,]+) \| ([\d,]+) \|", re.M)
MODELS = ("siyu", "BG/NBD", "Pareto/NBD")


def signed_errors(fit_md: str) -> dict[str, float]:
    """Each model's signed error of the holdout total (forecast over actual, less 1) from ``fit.md``'s holdout table."""
    return {m.group(1): int(m.group(2).replace(",", "")) / int(m.group(3).replace(",", "")) - 1.0
            for m in TOTALS.finditer(fit_md)}


def summary(errors: list[dict[str, float]]) -> list[str]:
    """Lines under the table: each model's mean absolute and mean signed error, siyu's paired differences."""
    if not errors:
        return []
    absolute = {k: np.array([abs(e[k]) for e in errors]) for k in MODELS}
    lines = [f"{k}: mean absolute {absolute[k].mean():.1%} (median {np.median(absolute[k]):.1%}), mean signed "
             f"{np.mean([e[k] for e in errors]):+.1%}" for k in MODELS]
    for k in MODELS[1:]:
        d = absolute["siyu"] - absolute[k]
        se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else float("nan")
        lines.append(f"siyu against {k}: {100 * d.mean():+.1f} points of absolute error (SE {100 * se:.1f}), "
                     f"siyu better on {int((d < 0).sum())} of {d.size}")
    return lines
MISFIT = re.compile(r"misfit J = ([\d.]+) on (\d+) df \(p = ([^)]+)\)")


def base_file(route: str, out: Path) -> str:
    """The base scenario of ``route``: a preset name, or a file written under ``out``."""
    values = ROUTES[route][0]
    if not values:
        return "beauty"
    text = (ROOT / "sim" / "presets" / "beauty.toml").read_text(encoding="utf-8")
    for key, v in values.items():  # a value the preset sets is replaced, others are added
        part, k = key.split(".", 1) if "." in key else ("dynamics", key)
        head, section = text.split(f"[{part}]\n", 1)
        section, tail = (section.split("\n[", 1) + [""])[:2]
        section, found = re.subn(rf"^{k} = .*$", f"{k} = {v}", section, count=1, flags=re.M)
        section = section if found else f"{k} = {v}\n{section}"
        text = f"{head}[{part}]\n{section}" + (f"\n[{tail}" if tail else "")
    path = out / f"base_{route}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def panel_file(panel: int, out: Path) -> Path:
    """The transactions of ``panel``: the sample (0), every ninth customer of the rest by id (1-9), or all.

    ``MASTER`` (10) is the whole master file: the sample's customers and the rest's.
    """
    if panel == 0:
        return DATA
    with gzip.open(REST, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if panel == MASTER:
        with DATA.open(encoding="utf-8", newline="") as f:
            rows += list(csv.reader(f))[1:]
    else:
        keep = set(sorted({row[0] for row in rows[1:]})[panel - 1::PANELS])
        rows = [rows[0], *(row for row in rows[1:] if row[0] in keep)]
    path = out / f"panel_{panel}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def fit_row(data: Path, end: str, route: str, seed: int, base: str, out: Path, intervals: str = "sandwich",
            basins: int = 1, label: str = "", more: tuple[str, ...] = ()) -> dict[str, float] | None:
    """Fit ``data`` to ``end`` on ``route`` as its own ``siyu calibrate`` process; print one table row.

    Returns each model's signed error of the holdout total, or None when the fit failed or showed no holdout.
    """
    with data.open(encoding="utf-8") as f:
        customers = len({line.split(",")[0] for line in f}) - 1
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    quick = [] if intervals == "bootstrap" else ["--bootstrap", "0"]
    cmd = [sys.executable, "-m", "experiments.cli", "calibrate", str(data), "--calibration-end", end, *quick,
           "--seed", str(seed), "--base", base, *ROUTES[route][1], "--basins", str(basins), *more, "--out", str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    text = " ".join((done.stdout + done.stderr).split())
    hold, fit = HOLDOUT.search(text), MISFIT.search(text)
    if done.returncode != 0 or hold is None:
        print(f"| {label} | {customers} | {seed} | failed (exit {done.returncode}): {text[-300:]} |")
        return None
    j = f"{fit.group(1)} ({fit.group(2)}, {fit.group(3)})" if fit else "-"
    fit_md = (out / "fit.md").read_text(encoding="utf-8")
    band, signed = BAND.search(fit_md), signed_errors(fit_md)
    print(f"| {label} | {customers} | {seed} | {j} | {hold.group(1)}% ({signed.get('siyu', float('nan')):+.1%}) "
          f"| {hold.group(2)}% "
          f"| {hold.group(3)}% ({hold.group(4)}%) | {hold.group(5)}% ({hold.group(6)}%) "
          f"| {band.group(1) + '%' if band else '-'} | {(time.perf_counter() - started) / 60:.1f} |", flush=True)
    return signed if set(signed) == set(MODELS) else None


def main() -> None:
    """Fit each seed in turn and print one row of the table per fit."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--route", choices=sorted(ROUTES), default="lapse")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--panel", type=int, nargs="+", default=[0], choices=range(MASTER + 1),
                    help="0: the standard sample; 1-9: panels of the master file's other customers; 10: the whole "
                         "master file")
    ap.add_argument("--out", type=Path, default=Path("runs/cdnow"))
    ap.add_argument("--intervals", choices=("sandwich", "bootstrap"), default="sandwich",
                    help="the parameter intervals behind the forecast band: the sandwich (fast) or siyu calibrate's "
                         "default, the quick bootstrap (about two more fits)")
    ap.add_argument("--basins", type=int, default=1, help="siyu calibrate --basins K (default 1)")
    ap.add_argument("--scan-box", action="append", default=[], metavar="NAME=LOW,HIGH",
                    help="siyu calibrate --scan-box (repeatable): where the scan of starting points looks")
    ap.add_argument("--prior", type=Path, default=None, metavar="SCENARIO",
                    help="siyu calibrate --prior: another fit (e.g. the master's, --panel 10) anchoring each fit")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = base_file(args.route, args.out)
    print(f"route {args.route}: base {base} {' '.join(ROUTES[args.route][1])}")
    print("| panel | customers | seed | J (df, p) | siyu error of the total (signed) | curve MAPE | BG/NBD "
          "| Pareto/NBD | weeks in the 90% band | minutes |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    errors: list[dict[str, float]] = []
    for panel, seed in ((p, s) for p in args.panel for s in args.seeds):
        data = panel_file(panel, args.out)
        signed = fit_row(data, END, args.route, seed, base, args.out / f"{args.route}_p{panel}_s{seed}",
                         args.intervals, args.basins, label=str(panel),
                         more=tuple(x for box in args.scan_box for x in ("--scan-box", box))
                         + (("--prior", str(args.prior.resolve())) if args.prior else ()))
        if signed is not None:
            errors.append(signed)
    for line in summary(errors):
        print(line)


if __name__ == "__main__":
    main()
