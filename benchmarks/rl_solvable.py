"""How far from optimal? PPO and the rule baselines against value iteration on the solvable scenario.

Estimates the scenario's MDP with the engine, solves it by value iteration (``sim.envs.solvable``,
whose docstring explains why the comparison is honest), trains PPO on the batched customer env of
the same scenario (plain discounted net profit, the same discount), then measures every policy the
same way: mean discounted net profit per customer over 1,000 days in the engine, on held-out seeds,
and prints each as a fraction of the optimal policy's value, with the paired 95% CI of the gap.

    python benchmarks/rl_solvable.py --minutes 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from experiments.stats.bootstrap import paired_diff
from experiments.train.trainer import TrainConfig, train
from policies import BASELINES, load_policy
from sim.envs.solvable import (GAMMA, SCENARIO_PATH, TablePolicy, discounted_values, estimate_mdp, model_value,
                               solvable_scenario, value_iteration)


def main() -> None:
    """Solve, train, evaluate, print the fractions."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="PPO training wall-clock budget")
    ap.add_argument("--timesteps", type=int, default=10**9,
                    help="upper bound of customer-days (the budget binds first)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-seeds", type=int, default=5)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--config", default="{}", help="JSON overrides of TrainConfig fields")
    ap.add_argument("--out", default="runs/rl_solvable")
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args()
    scenario = solvable_scenario()
    out = Path(args.out)

    start = time.perf_counter()
    mdp = estimate_mdp(scenario)
    V, best = value_iteration(mdp)
    print(f"MDP: {mdp.P.shape[0]} states x {mdp.P.shape[1]} actions, estimated by the engine in "
          f"{time.perf_counter() - start:.0f} s; value iteration at discount {GAMMA}")

    if not args.skip_training:
        config = TrainConfig(scenario=str(SCENARIO_PATH), algo="ppo", timesteps=args.timesteps, seed=args.seed,
                             residual_shaping=False, gamma=GAMMA, max_seconds=args.minutes * 60.0,
                             **json.loads(args.config))
        result = train(config, out)
        done = json.loads((out / "hyperparams.json").read_text())["timesteps_done"]
        print(f"trained PPO for {result.seconds:.0f} s ({done:,} customer-days)")

    seeds = list(range(1000, 1000 + args.eval_seeds))
    policies = {"optimal (value iteration)": TablePolicy(mdp, best), "PPO": load_policy(f"rl:{out}")}
    policies.update({name: load_policy(name) for name in sorted(BASELINES)})
    values = {name: discounted_values(scenario, p, seeds, args.customers) for name, p in policies.items()}
    opt = values["optimal (value iteration)"]
    print(f"\nvalue = mean discounted net profit per customer (yuan), {len(seeds)} held-out seeds x "
          f"{args.customers:,} customers x 1,000 days")
    print(f"optimum predicted by the table: {model_value(mdp, V, scenario, seeds, args.customers).mean():.2f}; "
          f"measured in the engine: {opt.mean():.2f}")
    for name, v in values.items():
        d = paired_diff(opt, v)
        print(f"  {name:28s} {v.mean():8.2f}  = {100 * v.mean() / opt.mean():6.2f}% of optimum"
              f"  (gap {d.mean:+.2f}, 95% CI [{d.ci_low:+.2f}, {d.ci_high:+.2f}])")
    rules = {k: v for k, v in values.items() if k in BASELINES}
    best_rule = max(rules, key=lambda k: rules[k].mean())
    print(f"\nPPO reaches {100 * values['PPO'].mean() / opt.mean():.1f}% of the optimum (target >= 95%); "
          f"the best rule ({best_rule}) {100 * rules[best_rule].mean() / opt.mean():.1f}%")


if __name__ == "__main__":
    main()
