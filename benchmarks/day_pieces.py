"""What a simulated day costs, piece by piece: CPU time per day of each part of a run, on one thread.

A run of ``siyu compare`` plays, each day: the observation and the CRM's typical interval, the policy's
decision, the report's contact recorder (``siyu run`` has no recorder), validation of the action, and the step
(delivery, the customers' day, the world's rules, joiners). This times each with ``time.process_time`` (CPU time, so
a busy machine's neighbours count less than in wall time) on one numba thread (so the pieces add up),
then the engine step without contacts on a second pool drawn alike: the yardstick of ``siyu bench``.
Prints microseconds per day and each piece as a share of that engine step.

    python benchmarks/day_pieces.py [--customers 10000] [--days 300] [--policy fatigue_capped]
"""

from __future__ import annotations

import argparse
import time

import numba

from experiments.recording import ContactRecorder
from policies import load_policy
from sim import Simulation, load_scenario
from sim._threads import engine_threads


def day_pieces(customers: int, days: int, policy: str) -> dict[str, float]:
    """CPU seconds per day of each piece of a run, and of the engine step without contacts."""
    numba.set_num_threads(1)
    clock = time.process_time
    sc = load_scenario("beauty")
    sim = Simulation(sc, customers, seed=1)
    rule, recorder = load_policy(policy), ContactRecorder(load_policy(policy))
    rule.reset(sim.n, 1)
    recorder.reset(sim.n, 1)
    for _ in range(3):  # compile or load every kernel outside the timing
        with engine_threads(sim.n):
            obs = sim.observe()
            recorder.act(obs)
            sim.step(sim.validate(rule.act(obs)))
    cost = dict.fromkeys(("observe and typical interval", "policy", "recorder", "validation", "rest of the step"), 0.0)
    for _ in range(days):
        with engine_threads(sim.n):  # as a run does: a small pool's kernels through their serial twins
            t = clock()
            obs = sim.observe()
            obs.typical_interval
            t1 = clock()
            action = rule.act(obs)
            t2 = clock()
            recorder.act(obs)  # decides again, then counts
            t3 = clock()
            checked = sim.validate(action)
            t4 = clock()
            sim.step(checked)  # validates again
            t5 = clock()
        cost["observe and typical interval"] += t1 - t
        cost["policy"] += t2 - t1
        cost["recorder"] += (t3 - t2) - (t2 - t1)
        cost["validation"] += t4 - t3
        cost["rest of the step"] += (t5 - t4) - (t4 - t3)
    engine = Simulation(sc, customers, seed=1)
    for _ in range(3):
        engine.step()
    t = clock()
    for _ in range(days):
        engine.step()
    cost["engine step without contacts"] = clock() - t
    return {k: v / days for k, v in cost.items()}


def main() -> None:
    """Print the pieces of a day."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--policy", default="fatigue_capped")
    args = ap.parse_args()
    cost = day_pieces(args.customers, args.days, args.policy)
    engine = cost["engine step without contacts"]
    for name, seconds in cost.items():
        print(f"{name:32s} {seconds * 1e6:10.0f} us/day  {seconds / engine:6.0%} of the engine step")
    run = sum(v for k, v in cost.items() if k != "engine step without contacts")
    print(f"{'the whole day':32s} {run * 1e6:10.0f} us/day  {run / engine:6.0%} of the engine step")


if __name__ == "__main__":
    main()
