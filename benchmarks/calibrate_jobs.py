"""How much ``siyu calibrate --jobs`` saves, and what a rerun that takes its searches back costs.

Runs one calibration three times on the same log: with ``--jobs 1``, with ``--jobs N`` (the searches of
``--seeds``, the bootstrap's refits and the draws in N worker processes), and the ``--jobs N`` command again in
its own folder (its searches taken back from ``OUT/searches``; the bootstrap and the draws run again). Prints
the wall time of each, their ratios, and whether ``scenario.toml`` and ``draws.csv`` are the same bytes with 1
and N processes. One run each: on a shared machine the ratios carry its load.

    python benchmarks/calibrate_jobs.py [--log tests/data/cdnow_sample.csv --calibration-end 1997-09-30]
        [--seeds 2] [--bootstrap 20] [--draws 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from experiments.cli.app import main as siyu


def main() -> None:
    """Time the three runs and compare their files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", default="tests/data/cdnow_sample.csv")
    ap.add_argument("--calibration-end", default="1997-09-30")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--bootstrap", type=int, default=20)
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        def run(jobs: int, out: str) -> float:
            t0 = time.perf_counter()
            assert siyu(["calibrate", args.log, "--calibration-end", args.calibration_end, "--seeds", str(args.seeds),
                         "--bootstrap", str(args.bootstrap), "--draws", str(args.draws), "--no-holdout",
                         "--jobs", str(jobs), "--out", f"{tmp}/{out}"]) == 0
            return time.perf_counter() - t0

        one = run(1, "one")
        many = run(args.jobs, "many")
        again = run(args.jobs, "many")
        same = all((Path(tmp, "one", f).read_bytes() == Path(tmp, "many", f).read_bytes())
                   for f in ("scenario.toml", "draws.csv") if Path(tmp, "one", f).exists())
    print(f"{args.log}, --seeds {args.seeds} --bootstrap {args.bootstrap} --draws {args.draws}:")
    print(f"  --jobs 1: {one:.0f} s; --jobs {args.jobs}: {many:.0f} s ({many / one:.2f} of it); "
          f"the --jobs {args.jobs} command again, its searches taken back: {again:.0f} s ({again / many:.2f})")
    print(f"  scenario.toml and draws.csv the same bytes with 1 and {args.jobs} processes: {same}")


if __name__ == "__main__":
    main()
