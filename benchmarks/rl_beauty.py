"""Does learning pay on ``beauty``? PPO trained within a wall-clock budget against the best rule.

Trains PPO on the batched customer env (``siyu train``'s code path, residual-value shaping on) for at
most ``--minutes``, then plays the greedy, masked policy and every rule baseline on held-out seeds
(``--eval-seeds`` small integers: the training populations used 63-bit ``episode_seed`` hashes) with
the full pool (acquisition inflow on, ``--customers`` at the start, ``--days`` horizon), and prints
``total_value`` (net profit + residual value) per policy and the paired difference of PPO against the
best rule with its 95% CI (``experiments.stats.bootstrap.paired_diff``). The best rule is picked on the same
evaluation seeds, which can only favour it.

    python benchmarks/rl_beauty.py --minutes 10 --out runs/rl_beauty
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from experiments.stats.bootstrap import paired_diff
from experiments.train.trainer import TrainConfig, train
from policies import load_policy
from sim import Simulation, load_scenario

RULES = ("rfm_tiered", "fixed_cadence", "fatigue_capped")


def evaluate(scenario_name: str, refs: list[str], seeds: list[int], customers: int, days: int) -> dict[str, np.ndarray]:
    """``total_value`` of each policy reference on each seed (common random numbers)."""
    scenario = load_scenario(scenario_name)
    out: dict[str, list[float]] = {ref: [] for ref in refs}
    for seed in seeds:
        for ref in refs:
            out[ref].append(Simulation(scenario, customers, seed).run(load_policy(ref), days).summary["total_value"])
    return {ref: np.array(v) for ref, v in out.items()}


def main() -> None:
    """Train, evaluate, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="beauty")
    ap.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    ap.add_argument("--timesteps", type=int, default=10**9,
                    help="upper bound of customer-days (the budget binds first)")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--eval-seeds", type=int, default=10)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--config", default="{}", help="JSON overrides of TrainConfig fields")
    ap.add_argument("--out", default="runs/rl_beauty")
    ap.add_argument("--rules", default=",".join(RULES),
                    help="comma-separated rules to beat: names or policy files (e.g. a `siyu tune` result)")
    ap.add_argument("--skip-training", action="store_true", help="evaluate the model already in --out")
    args = ap.parse_args()
    out = Path(args.out)
    config = TrainConfig(scenario=args.scenario, algo="ppo", timesteps=args.timesteps, seed=args.seed,
                         max_seconds=args.minutes * 60.0, **json.loads(args.config))
    if not args.skip_training:
        result = train(config, out)
        meta = json.loads((out / "hyperparams.json").read_text())
        print(f"trained PPO for {result.seconds:.0f} s ({meta['timesteps_done']:,} customer-days), "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rl = f"rl:{out}"
    seeds = list(range(args.eval_seeds))
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    values = evaluate(args.scenario, [rl, *rules], seeds, args.customers, args.days)
    print(f"\n{args.scenario}: total_value per policy, {len(seeds)} held-out seeds, "
          f"{args.customers:,} customers, {args.days} days")
    for ref, v in values.items():
        print(f"  {ref:40s} {v.mean():14,.0f}  (sd {v.std(ddof=1):,.0f})")
    best = max(rules, key=lambda r: values[r].mean())
    d = paired_diff(values[best], values[rl])
    verdict = "beats" if d.ci_low > 0 else "loses to" if d.ci_high < 0 else "is not distinguishable from"
    print(f"\nPPO - {best}: {d.mean:+,.0f} yuan ({100 * d.mean / values[best].mean():+.2f}%), "
          f"95% CI [{d.ci_low:+,.0f}, {d.ci_high:+,.0f}] over {d.n} paired seeds: PPO {verdict} {best}")
    print(f"reproduce: python benchmarks/rl_beauty.py --minutes {args.minutes:g} --seed {args.seed} "
          f"--eval-seeds {args.eval_seeds} --out {args.out}"
          + (f" --config '{args.config}'" if args.config != "{}" else ""))
    print(f"or: siyu compare --scenario {args.scenario} --policies {best},{rl} --seeds {args.eval_seeds} "
          f"--customers {args.customers} --days {args.days}")


if __name__ == "__main__":
    main()
