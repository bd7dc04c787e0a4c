"""The conditioning of a new cohort (CDNOW's design) on engine data: the customers' state at the calibration end.

An engine cohort of ``--customers`` from ``--scenario`` (a fit's scenario.toml, or a base with its fitted values)
makes its first purchase on a day spread over the first ``--window`` days of a ``--days``-day calibration period
(CDNOW: 84 of 273) and is followed for ``--holdout`` more days. Each customer's true state is recorded at the end
of the calibration end's day. The log is then forecast by the scenario that wrote it (`siyu forecast`'s
:func:`~experiments.calibrate.forecast.forecast`, no fitted errors), and one draw of ``conditioned_state`` is
compared with the true state, by group of calibration-period repeats: mean trust, salience, deal memory, need clock,
share still in the pool, the brand share at the end (the chance of winning a need occasion then), and the holdout
repeats forecast and actual. Whatever differs is the conditioning's (the scenario is the truth).

    python benchmarks/cohort_conditioning.py --scenario DIR/scenario.toml [--customers 2400] [--replicates 20]
        [--variant silence] [--set dynamics.need_lapse=0 ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from experiments.calibrate.fit import Design
from experiments.calibrate.forecast import conditioned_state, forecast
from experiments.calibrate.history import summarize
from experiments.calibrate.posterior import Posterior, reference_log
from experiments.logs.export import OrderTracker
from sim.config import Scenario, apply_overrides, load_scenario
from sim.defaults import ACTIVE
from sim.engine import Simulation
from sim.params import pack
from sim.seeding import from_histories
from sim.state import State, generate

GROUPS = (("one-off", 0, 0), ("1 repeat", 1, 1), ("2-3 repeats", 2, 3), ("4+ repeats", 4, 10 ** 9))
SHOWN = ("trust", "salience", "deal", "need_clock", "price_sens")


def cohort(scenario: Scenario, n: int, days: int, window: int, holdout: int, seed: int):
    """A new cohort's orders (customer, log day) over ``days + holdout`` days, and each one's state at day ``days - 1``.

    Customer i buys first on log day ``start[i]`` (uniform over the first ``window + 1`` days), which the engine
    plays as its day -1, so log day = start + sim day + 1; their calibration end, log day ``days - 1``, is sim day
    ``days - 2 - start[i]``, at whose end their state is copied.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC1]))
    start = rng.integers(0, window + 1, n)
    drawn = generate(scenario, n, seed)
    one = np.full(n, -1, np.int64)
    st = from_histories(scenario, seed, drawn.cycle, drawn.dropout, drawn.value, one, one, np.ones(n, np.int64),
                        drawn.value.astype(np.float64), np.ones(n, bool))
    sim = Simulation(scenario, customers=n, seed=seed, state=st, inflow=False)
    tracker = OrderTracker(sim)
    end_day = days - 2 - start  # the sim day whose end is the customer's calibration end
    fields_ = [f for f in State.__dataclass_fields__]
    at_end = {f: np.array(getattr(sim.state, f)[:n]).copy() for f in fields_}
    cust, day = [np.arange(n)], [start.astype(np.int64)]
    for t in range(int(end_day.max()) + 1 + holdout):
        sim.step(None)
        rows, _ = tracker.orders()
        if rows.size:
            cust.append(rows)
            day.append(start[rows] + t + 1)
        now = np.flatnonzero(end_day == t)
        for f in fields_:
            at_end[f][now] = getattr(sim.state, f)[now]
    cust, day = np.concatenate(cust), np.concatenate(day)
    keep = day <= days - 1 + holdout
    return cust[keep], day[keep], State(*(at_end[f] for f in fields_)), start


def share_at(scenario: Scenario, st: State) -> np.ndarray:
    """Each customer's chance of winning a need occasion on the next day (the engine's brand share)."""
    p = pack(scenario).customer
    tf = p.trust_floor
    sal = st.salience * p.salience_decay
    share = p.share_floor + (1.0 - p.share_floor) * sal * (tf + (1.0 - tf) * st.trust)
    wait = 1.0 - np.minimum(p.deal_wait * st.price_sens * np.maximum(st.deal * p.deal_decay, 0.0), 0.9)
    return np.clip(share * wait * (1.0 - p.rival_share), 0.0, 1.0)


def main() -> None:
    """Simulate, forecast, and print the groups."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--customers", type=int, default=2400)
    ap.add_argument("--days", type=int, default=273)
    ap.add_argument("--window", type=int, default=84)
    ap.add_argument("--holdout", type=int, default=273)
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variant", choices=("end", "silence"), default="end",
                    help="the state drawn (the state columns only): the near record's at its span's end (forecast's), "
                         "or the silence since the last purchase played from the population's draw (before 2026-12-04)")
    ap.add_argument("--set", nargs="*", default=[], metavar="PATH=VALUE",
                    help="values that replace the scenario's, in the truth and the forecast alike")
    args = ap.parse_args()
    scenario = load_scenario(args.scenario)
    if args.set:
        scenario = apply_overrides(scenario, {k: float(v) for k, v in (a.split("=", 1) for a in args.set)}, "--set")
    cust, day, true, start = cohort(scenario, args.customers, args.days, args.window, args.holdout, args.seed)
    end = args.days - 1
    cal = day <= end
    order = np.lexsort((day[cal], cust[cal]))
    c, d = cust[cal][order], day[cal][order]
    uniq = np.ones(c.size, bool)
    uniq[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    c, d = c[uniq], d[uniq]
    h = summarize(np.arange(args.customers).astype(object), c, d, np.full(c.size, 30.0), end)
    after = day > end
    hc, hd = np.unique(np.column_stack([cust[after], day[after]]), axis=0).T if after.any() else (cust[:0], day[:0])
    actual = np.bincount(hc, minlength=args.customers)
    weeks = args.holdout // 7
    actual_total = int(np.sum(hd <= end + 7 * weeks))
    fc = forecast(scenario, h, 7 * weeks, args.replicates, args.seed)
    late = int(np.sum((d > end - 91) & (d <= end) & (d > h.first[c])))
    print(f"repeats a customer a week: the calibration's last 13 weeks {late / 13 / args.customers:.4f}, the holdout "
          f"{actual_total / weeks / args.customers:.4f} (ratio {actual_total / weeks / max(late / 13, 1e-9):.2f})")
    print(f"design {Design.of(h).new and 'new cohort' or 'pool'}; {args.customers} customers, {int(h.x.sum())} "
          f"calibration repeats; holdout {weeks} weeks: forecast {fc.mean[-1]:.0f}, actual {actual_total} "
          f"({100 * (fc.mean[-1] / actual_total - 1):+.1f}%), band {fc.low[-1]:.0f}-{fc.high[-1]:.0f}")
    post = Posterior(reference_log(scenario, h, args.seed), seed=args.seed)
    rng = np.random.default_rng(args.seed)
    pick = post.draw(h.x, h.t_x, h.T, rng)
    cyc, drop = post.traits(scenario, pick)
    hidden = post.hidden(pick) if args.variant == "end" else None
    cond = conditioned_state(scenario, h, cyc, drop, args.seed * 100_003, hidden=hidden)
    share_t, share_c = share_at(scenario, true), share_at(scenario, cond)
    alive_t, alive_c = true.status == ACTIVE, cond.status == ACTIVE
    head = " | ".join(f"{n} true / drawn" for n in SHOWN)
    print(f"group | customers | {head} | still in the pool true / drawn | share true / drawn (alive) "
          f"| log cycle true / drawn | holdout repeats forecast / actual")
    for name, lo, hi in GROUPS:
        on = (h.x >= lo) & (h.x <= hi)
        if not on.any():
            continue
        cols = " | ".join(f"{getattr(true, n)[on].mean():.3f} / {getattr(cond, n)[on].mean():.3f}" for n in SHOWN)
        st_ = f"{share_t[on & alive_t].mean():.3f} / {share_c[on & alive_c].mean():.3f}"
        lc = f"{np.log(true.cycle[on]).mean():.3f} / {np.log(cyc[on]).mean():.3f}"
        print(f"{name} | {int(on.sum())} | {cols} | {alive_t[on].mean():.3f} / {alive_c[on].mean():.3f} | {st_} | "
              f"{lc} | {fc.expected_transactions[on].sum():.0f} / {int(actual[on].sum())}")


if __name__ == "__main__":
    main()
