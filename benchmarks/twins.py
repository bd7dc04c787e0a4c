"""Each day-path twin's serial kernel against its parallel kernel on one thread, on the same pool.

A small pool runs the serial twins (:class:`sim._threads.Twin`); they are compiled from the same
function as the parallel kernels, but numba compiles a loop differently inside and outside a parallel
region (a helper inlined with the pool's arrays and an index, or Python's error model on a division,
cost a serial twin 4-20x). This prints, for every twin a run, the recorder or an RL env calls each
day, microseconds per call of each on one numba thread (wall time, medians of 7 timings of 30 calls),
so a slow twin shows up.

    python benchmarks/twins.py [--customers 10000] [--threads 1]

With ``--threads 2`` the parallel kernel runs on two threads: whether a kernel is worth a parallel region
at a pool size (each call wakes the other thread; beside busy neighbours it may wait for it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable

import numba
import numpy as np

import experiments.recording as recording
import policies.base as base
import policies.baselines as baselines
import sim.kernels as kernels
import sim.observation as observation
import sim.segments as segments
import sim.world as world
from policies import load_policy
from policies.base import cadence, channel_codes, content_code, slot_code
from sim import Simulation, load_scenario
from sim.defaults import CONTENTS, N_SLOTS, NIGHT
from sim.params import shill_heat


def _us(fn: Callable[..., Any], args: tuple) -> float:
    """Median wall microseconds per call of ``fn(*args)`` (7 timings of 30 calls, after one untimed)."""
    fn(*args)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(30):
            fn(*args)
        times.append((time.perf_counter() - t) / 30 * 1e6)
    return statistics.median(times)


def cases(customers: int) -> dict[str, tuple[Any, tuple]]:
    """(twin, arguments) of each day-path twin on a pool played 20 days with ``fatigue_capped``."""
    s = Simulation(load_scenario("beauty"), customers, seed=2)
    rule = load_policy("fatigue_capped")
    rule.reset(s.n, 2)
    for _ in range(20):
        s.step(rule.act(s.observe()))
    obs, st, g = s.observe(), s.state, s.world.groups
    action = rule.act(obs)
    p = rule.params
    lo, hi = p.offer_window
    phases, turn = cadence(obs, p.content_every_days)
    typical = np.float32(segments.typical_interval(obs))
    out = (np.empty(obs.n, np.int8), np.empty(obs.n, np.int8), np.empty(obs.n, np.int8))
    ns, nc = len(segments.SEGMENTS), len(CONTENTS)
    return {
        "check_actions": (kernels.check_actions, (action.channel, action.content, action.slot, st.reach,
                                                  st.month_count, st.status, s.params.caps, nc, N_SLOTS)),
        "_fatigue_capped": (baselines._fatigue_capped, (
            obs.crm_record(), typical, obs.last_flags, obs.active_slot, phases, turn, p.min_gap_days,
            p.cool_down_days, lo, hi, content_code(p.offer), content_code(p.content),
            np.asarray(channel_codes(p.channels), np.int64), slot_code(p.default_slot), 1 << NIGHT, *out)),
        "_crm_features": (observation._crm_features, (*obs.crm_record(), *s._feature_buffers)),
        "_pick": (base._pick, (np.ones(obs.n, np.bool_), *obs.crm_record()[1:4],
                               base.first_usable_table(np.array([0, 1, 2], np.int64)))),
        "_slot_for": (base._slot_for, (obs.active_slot, np.int8(2), np.int64(1 << NIGHT))),
        "_segment_rows": (segments._segment_rows, (obs.recency, obs.interval, typical, obs.frequency, obs.tier,
                                                   np.empty(obs.n, np.int64))),
        "_count_contacts": (recording._count_contacts, (obs.crm_record(), typical, obs.tier, action.channel,
                                                        action.content, nc, np.zeros(ns * nc, np.int64),
                                                        np.zeros(ns, np.int64))),
        "potential_rows": (kernels.potential_rows, (s.params.records.customer, st.value, st.price_sens, st.cycle,
                                                    st.dropout, st.salience, st.trust, st.deal, st.status, st.reach,
                                                    np.zeros(s.n))),
        "groups_day": (world.groups_day, (s.params.records.groups, shill_heat(s.scenario, s.day), g.size, st.status,
                                          st.reach, st.events, g.heat, g.damage, g.alive, g.formed, g.members,
                                          g.open_factor, g.conv_factor, g.trust_hit, g.tally, np.zeros(3))),
    }


def main() -> None:
    """Print each twin's serial and parallel microseconds (the parallel kernel on ``--threads`` threads)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=1, help="numba threads of the parallel kernel (default 1)")
    args = ap.parse_args()
    load = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"
    print(f"{args.customers:,} customers, parallel kernels on {args.threads} numba thread(s), wall time, "
          f"medians of 7; load {load}")
    for name, (twin, call) in cases(args.customers).items():
        numba.set_num_threads(args.threads)
        parallel = _us(twin.parallel, call)
        numba.set_num_threads(1)
        serial = _us(twin.serial, call)
        print(f"{name:16s} parallel kernel {parallel:9.1f} us  serial twin {serial:9.1f} us  "
              f"serial/parallel {serial / parallel:5.2f}")


if __name__ == "__main__":
    main()
