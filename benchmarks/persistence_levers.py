"""Can one more lever of the engine close a log's persistence gap? Probes around one fit of CDNOW's master file.

Every master fit fails the misfit test, the persistence (``mid_late``) furthest off (docs/calibration.md, "Who goes
on buying"). Three modes, each on the log's matched statistics (the ``lapse-persist`` route's: need lapse fitted,
``--persistence``) with one simulation seed, the fit's ``scenario.toml`` as the base:

``table``: ``fit.md``'s persistence table at the fit's estimate, with the ``NAME=VALUE`` changes if given.

``single``: the statistics' gaps (observed less fitted, in SEs) and J at the estimate and with each ``NAME=VALUE``
changed alone.

``search``: ``fit.search`` from the fit's end (``--start NAME=VALUE`` moves a fitted parameter's start), with each
``--lever NAME=START`` as a sixth parameter in its own search, or none.

    python benchmarks/cdnow.py --route lapse-persist --seeds 0 --panel 10 --intervals sandwich --out DIR
    python benchmarks/persistence_levers.py table --transactions DIR/panel_10.csv \
        --scenario DIR/lapse-persist_p10_s0/scenario.toml
    python benchmarks/persistence_levers.py single ... population.cycle_sigma=1.1 dynamics.share_floor=0.6
    python benchmarks/persistence_levers.py search ... --lever none --lever dynamics.share_floor=0.4
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.calibrate import fit as F  # noqa: E402
from experiments.calibrate.history import histories  # noqa: E402
from experiments.calibrate.report import persistence_lines  # noqa: E402
from experiments.logs.rows import parse_date_argument  # noqa: E402
from experiments.logs.transactions import read_transactions  # noqa: E402
from sim.config import apply_overrides, load_scenario  # noqa: E402

LEVER_LIMITS = {"dynamics.purchase_salience": (1e-3, 1.0), "dynamics.lost_salience": (1e-3, 1.0),
                "dynamics.share_floor": (1e-3, 1.0), "dynamics.salience_half_life_days": (1.0, 3650.0),
                "dynamics.need_lapse_spread": (1e-3, 3.0), "dynamics.share_floor_spread": (1e-3, 3.0)}
"""Ranges of the levers that :data:`experiments.calibrate.fit.LIMITS` does not name (sim/config.py's, inside)."""


def pairs(items: list[str]) -> dict[str, float]:
    """``NAME=VALUE`` arguments as a dict."""
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        out[name] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one mode (see the module docstring) and print its lines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["table", "single", "search"])
    ap.add_argument("changes", nargs="*", help="single: NAME=VALUE changes, each alone; table: all together")
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--scenario", required=True, help="a fit's scenario.toml (the estimate; the base of the probes)")
    ap.add_argument("--calibration-end", default="1997-09-30")
    ap.add_argument("--seed", type=int, default=0, help="the simulation seed of every probe")
    ap.add_argument("--lever", action="append", default=[], help="search: NAME=START, or none (repeatable)")
    ap.add_argument("--start", action="append", default=[], help="search: NAME=VALUE, a fitted parameter's start")
    args = ap.parse_intermixed_args(argv)
    end = parse_date_argument(args.calibration_end, "--calibration-end")
    h = histories(read_transactions(args.transactions, calibration_end=end), end)
    problem = F._problem(h, "auto", F.MIN_POOL, ("dynamics.need_lapse",), F.EXTRA_NAMES + (F.PERSISTENCE,), ())
    base = load_scenario(args.scenario)
    factor = F.simulation_factor(h.n, problem.design.pool)
    se = np.sqrt(np.diag(problem.sigma))

    def report(label: str, s: np.ndarray, extra: str = "") -> None:
        r = problem.target - s
        print(f"{label}: J {r @ problem.weight @ r / factor:.1f}{extra}; gaps in SEs "
              + ", ".join(f"{n} {z:+.2f}" for n, z in zip(problem.stat_names, r / se)), flush=True)

    if args.mode == "table":
        changed = apply_overrides(base, pairs(args.changes), "probe") if args.changes else base
        log = F.simulate_design(changed, problem.design, args.seed)
        print("\n".join(persistence_lines(h, log.histories)))
    elif args.mode == "single":
        for change in [{}] + [pairs([c]) for c in args.changes]:
            scenario = apply_overrides(base, change, "probe") if change else base
            s = F._binding(scenario, (), problem.rows, problem.design, problem.aux_data.beta, args.seed,
                           np.zeros(0), problem.extra)[0]
            report(", ".join(f"{k}={v:g}" for k, v in change.items()) or "the estimate", s)
    else:
        F.LIMITS.update({k: v for k, v in LEVER_LIMITS.items() if k not in F.LIMITS})
        theta = np.array([math.log(F.scenario_value(base, n)) for n in problem.names])
        for name, value in pairs(args.start).items():
            theta[problem.names.index(name)] = math.log(value)
        for lever in args.lever or ["none"]:
            extra = pairs([lever]) if lever != "none" else {}
            names = problem.names + tuple(extra)
            t0 = np.concatenate([theta, np.log(list(extra.values()))])

            def binding(t: np.ndarray, names: tuple[str, ...] = names):
                return F._binding(base, names, problem.rows, problem.design, problem.aux_data.beta, args.seed, t,
                                  problem.extra)

            started = time.perf_counter()
            found = F.search(binding, t0, problem.target, problem.weight)
            values = ", ".join(f"{n.split('.')[-1]} {F.limited(n, t):.4g}" for n, t in zip(names, found[1]))
            report(lever, found[2], f" ({time.perf_counter() - started:.0f} s; {values})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
