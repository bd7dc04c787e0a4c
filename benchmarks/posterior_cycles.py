"""How much a customer's drawn cycle says about their true one, in a brand pool and in a forecast.

Brand: a beauty pool warmed up 30 days (as ``benchmarks/ope_coverage.py --write`` writes a brand), its CRM
record conditioned by :class:`experiments.ope.brand.BrandPool`; the drawn cycles of the buyers against their
true ones, and the 14-day revenue per customer with no contact and the lift of a wecom coupon to everyone
in the drawn pools against the true pool.
Log: an engine log of an existing beauty pool, 240 days, conditioned as ``siyu forecast`` does; drawn
against true cycles. Correlations are of log cycles, with their z (Fisher) from the number of customers.

    python benchmarks/posterior_cycles.py [--customers 20000] [--draws 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from experiments.calibrate.forecast import conditioned_state
from experiments.calibrate.history import histories
from experiments.calibrate.posterior import Posterior, reference_log, rng_of
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.crm.snapshot import view_of_simulation
from experiments.logs.transactions import read_transactions
from experiments.ope.brand import BrandPool
from experiments.ope.simulate import true_value, warmed_pool
from policies.randomized import ArmPolicy, parse_arms
from sim.config import load_scenario
from sim.state import generate


def corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Correlation of log a and log b and its Fisher z against 0."""
    r = float(np.corrcoef(np.log(a), np.log(b))[0, 1])
    return r, float(np.arctanh(r) * np.sqrt(a.size - 3))


def main() -> None:
    """Print the correlations and revenues."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sc = load_scenario("beauty")
    sim = warmed_pool(sc, args.customers, args.seed, 30)
    view = view_of_simulation(sim)
    t0 = time.process_time()
    pool = BrandPool(sc, view, sim.day)
    print(f"brand: {args.customers:,} customers, {pool.rows.size:,} buyers, posterior built in "
          f"{time.process_time() - t0:.1f} s CPU")
    arms = [ArmPolicy(a) for a in parse_arms("none,wecom:coupon")]
    t_none, t_coupon = (true_value(sim, a, 14) for a in arms)
    for k in range(args.draws):
        t0 = time.process_time()
        drawn = pool.draw(args.seed + 1 + k)
        took = time.process_time() - t0
        r, z = corr(drawn.state.cycle[pool.rows], sim.state.cycle[pool.rows])
        d_none, d_coupon = (true_value(drawn, a, 14) for a in arms)
        print(f"  draw {k}: corr(log drawn, log true cycle) = {r:.3f} (z {z:.1f}); 14-day revenue per customer, "
              f"no contact: {d_none:.2f} (true pool {t_none:.2f}), coupon lift {d_coupon - d_none:.2f} "
              f"(true {t_coupon - t_none:.2f}); draw {took:.1f} s CPU")
    days = 240
    c, d, a = engine_log(sc, 1500, days, 7)
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tx.csv"
        write_log(path, c, d, a)
        end = BASE_DATE.toordinal() + days - 1
        h = histories(read_transactions(path, calibration_end=end), end)
    true = generate(sc, 1500, 7).cycle[np.array([int(str(i)[1:]) for i in h.ids])]
    post = Posterior(reference_log(sc, h, 3))
    for k in range(args.draws):
        cycle, dropout = post.traits(sc, post.draw(h.x, h.t_x, h.T, rng_of(3, k)))
        st = conditioned_state(sc, h, cycle, dropout, k)
        r, z = corr(st.cycle, true)
        print(f"log: {h.n:,} customers, draw {k}: corr(log drawn, log true cycle) = {r:.3f} (z {z:.1f})")
    rep = np.log1p(h.x) - np.log1p(h.T)
    print(f"log: corr(log repeat rate, log true cycle) = {np.corrcoef(rep, np.log(true))[0, 1]:.3f}")


if __name__ == "__main__":
    main()
