"""How much those still buying buy, and who goes on buying, in a CDNOW panel against fits' own worlds.

For each ``siyu calibrate`` folder, its scenario simulates the panel's observation design (the log's customers and
spans, four times over, the folder's seed) and the script prints, observed against simulated: the pace of those
still buying (of the customers with a repeat in both the middle and the last third, their repeats in the last third
over the middle third's, ``history.still_buying_pace``, with the observed ratio's SE), the share of the customers with
a repeat in the first third who repeat in the middle third (``early_mid``) and in the middle who repeat in the last
(``mid_late``), each with its gap in SEs of the observed value. A fit whose world loses more customers than the log
and keeps the rest at their pace shows a pace above the log's and shares below (docs/calibration.md, "How much those
still buying buy").

    python benchmarks/still_buying.py --panel 10 runs/cdnow/lapse-persist_p10_s0
    for p in 1 2 3 4 5 6 7 8 9; do python benchmarks/still_buying.py --panel $p runs/cdnow/lapse-persist_p10_s0; done
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import cdnow  # noqa: E402
from experiments.calibrate.fit import EARLY_MID, PERSISTENCE, Design, extra_statistics, simulate_design  # noqa: E402
from experiments.calibrate.history import Histories, histories, still_buying_pace  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import load_scenario  # noqa: E402


def statistics(h: Histories) -> tuple[list[float], list[float]]:
    """The pace of those still buying, ``early_mid`` and ``mid_late``, and their SEs."""
    ratio, se, _ = still_buying_pace(h)
    shares, influence = extra_statistics(h, (EARLY_MID, PERSISTENCE))
    return [ratio[-1], *shares], [se[-1], *(math.sqrt(float(c @ c)) for c in influence.T)]


def main() -> None:
    """Simulate each fit's world over the panel's design and print one row per fit."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fits", type=Path, nargs="+", help="siyu calibrate output folders (scenario.toml in each)")
    ap.add_argument("--panel", type=int, default=0, choices=range(cdnow.MASTER + 1), help="CDNOW's panel (cdnow.py)")
    args = ap.parse_args()
    end = date.fromisoformat(cdnow.END).toordinal()
    with tempfile.TemporaryDirectory() as tmp:
        h = histories(read_transactions(cdnow.panel_file(args.panel, Path(tmp)), calibration_end=end), end)
    observed, se = statistics(h)
    names = ("pace of those still buying", EARLY_MID, PERSISTENCE)
    print(f"cdnow panel {args.panel}: {h.n:,} customers; observed " + ", ".join(
        f"{name} {v:.3f} (SE {s:.3f})" for name, v, s in zip(names, observed, se)))
    print("| fit | " + " | ".join(f"{name}: simulated (gap in SEs)" for name in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for folder in args.fits:
        seed = int(m.group(1)) if (m := re.search(r"_s(\d+)$", folder.name)) else 0
        sim = simulate_design(load_scenario(str(folder / "scenario.toml")), Design.of(h), seed).histories
        values = statistics(sim)[0]
        print(f"| {folder.name} | " + " | ".join(f"{v:.3f} ({(o - v) / s:+.1f})" for v, o, s in
                                                  zip(values, observed, se)) + " |", flush=True)


if __name__ == "__main__":
    main()
