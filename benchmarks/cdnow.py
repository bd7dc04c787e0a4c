"""CDNOW's 39-week holdout, fitted by `siyu calibrate` over several seeds: siyu's error against BG/NBD's.

Two routes: ``default`` (the `beauty` base, the four population parameters fitted) and ``lapse`` (the same base
with need at a steady rate, ``dynamics.need_impulse = 1``, and a personal lapse, ``need_lapse_spread = 1``,
with ``--fit dynamics.need_lapse``; docs/calibration.md). Each fit runs as its own ``siyu calibrate`` process
on one numba thread, one after another; their folders stay under ``--out``.

    python benchmarks/cdnow.py --route lapse --seeds 0 1 2 --out /tmp/cdnow
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "cdnow_sample.csv"
END = "1997-09-30"
ROUTES = {"default": ({}, []), "lapse": ({"need_impulse": 1.0, "need_lapse_spread": 1.0},
                                        ["--fit", "dynamics.need_lapse"])}
HOLDOUT = re.compile(r"siyu ([\d.]+)% off the total \(curve MAPE ([\d.]+)%\), "
                     r"BG/NBD ([\d.]+)% \(curve MAPE ([\d.]+)%\)")
MISFIT = re.compile(r"misfit J = ([\d.]+) on (\d+) df \(p = ([^)]+)\)")


def base_file(route: str, out: Path) -> str:
    """The base scenario of ``route``: a preset name, or a file written under ``out``."""
    dynamics = ROUTES[route][0]
    if not dynamics:
        return "beauty"
    text = (ROOT / "sim" / "presets" / "beauty.toml").read_text(encoding="utf-8")
    lines = "".join(f"{k} = {v}\n" for k, v in dynamics.items())
    path = out / f"base_{route}.toml"
    path.write_text(text.replace("[dynamics]\n", "[dynamics]\n" + lines, 1), encoding="utf-8")
    return str(path)


def main() -> None:
    """Fit each seed in turn and print one row of the table per fit."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--route", choices=sorted(ROUTES), default="lapse")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("runs/cdnow"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = base_file(args.route, args.out)
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    print(f"route {args.route}: base {base} {' '.join(ROUTES[args.route][1])}")
    print("| seed | J (df, p) | siyu error of the total | curve MAPE | BG/NBD | minutes |")
    print("|---:|---|---:|---:|---:|---:|")
    for seed in args.seeds:
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "experiments.cli", "calibrate", str(DATA), "--calibration-end", END,
               "--bootstrap", "0", "--seed", str(seed), "--base", base, *ROUTES[args.route][1],
               "--out", str(args.out / f"{args.route}_{seed}")]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        text = " ".join((done.stdout + done.stderr).split())
        hold, fit = HOLDOUT.search(text), MISFIT.search(text)
        if done.returncode != 0 or hold is None:
            print(f"| {seed} | failed (exit {done.returncode}): {text[-300:]} |")
            continue
        j = f"{fit.group(1)} ({fit.group(2)}, {fit.group(3)})" if fit else "-"
        print(f"| {seed} | {j} | {hold.group(1)}% | {hold.group(2)}% | {hold.group(3)}% ({hold.group(4)}%) "
              f"| {(time.perf_counter() - started) / 60:.1f} |", flush=True)


if __name__ == "__main__":
    main()
