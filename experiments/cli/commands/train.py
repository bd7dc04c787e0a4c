"""``siyu train``: train an RL agent with SB3 on the batched customer env of a scenario."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.options import (DEFAULT_SCENARIO, UserError, add_backend_arguments, add_jobs_argument,
                                     backend_of, positive_int, seed_int)
from experiments.console import out_console, progress_bar
from experiments.train.trainer import ALGOS, TrainConfig
from experiments.store.outdir import claim
from policies.model_file import MODEL_FILE
from sim.extras import require


def cmd_train(args: argparse.Namespace) -> int:
    """Train, save DIR/model.pt, curve.png and hyperparams.json, and say how to compare it.

    Ctrl-C saves the model as it was and exits 130; ``--resume`` continues it.
    """
    require("rl", "siyu train")
    from experiments.train.trainer import train
    from sim.config import load_scenario
    load_scenario(args.scenario)  # a bad scenario fails here, in one line, before torch loads
    if args.env == "pool":
        return _train_pool(args)
    if args.levers:
        raise UserError("--levers goes with --env pool (the per-customer training env has no lever actions yet)")
    args.timesteps = args.timesteps or 200_000
    try:
        config = TrainConfig(scenario=args.scenario, algo=args.algo, timesteps=args.timesteps, seed=args.seed,
                             customers=args.customers, horizon=args.days, residual_shaping=not args.no_shaping)
        config.check_memory()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out = claim(Path(args.out))  # a folder that cannot be written, or one another command uses, fails now
    if args.seeds > 1 or args.backend != "local":
        if args.resume:
            raise UserError("--resume goes with one seed; with --seeds K, rerunning the command resumes")
        return _train_seeds(args, config, out)
    if args.resume and not (out / MODEL_FILE).is_file():
        raise UserError(f"--resume: no {MODEL_FILE} in {out} to continue from")
    with progress_bar(f"training {args.algo}", "customer-days") as bar:
        task = bar.add_task("train", total=args.timesteps)
        try:
            result = train(config, out, lambda done, total: bar.update(task, completed=done), resume=args.resume)
        except ValueError as exc:  # a resume that does not match the folder
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:  # Ctrl-C outside the learning loop (setting up, saving)
            if not (out / MODEL_FILE).is_file():
                raise
            out_console.print(f"interrupted; the last checkpoint is {out / MODEL_FILE}. {_resume_hint(args, out)}")
            return 130
    if result.interrupted:
        out_console.print(f"interrupted after {result.timesteps_done:,} customer-days; saved the model as it was "
                          f"to {out / MODEL_FILE}. {_resume_hint(args, out)}")
        return 130
    out_console.print(f"trained {args.algo} on {args.scenario} to {result.timesteps_done:,} customer-days "
                      f"in {result.seconds:.0f} s; wrote {out / MODEL_FILE}, {out / 'curve.png'}, "
                      f"{out / 'hyperparams.json'}")
    out_console.print(f"compare it: siyu compare --scenario {args.scenario} "
                      f"--policies rfm_tiered,rl:{out}")
    return 0


def _train_seeds(args: argparse.Namespace, config: TrainConfig, out: Path) -> int:
    """K seeds, each a backend task training into DIR/seed_<s>; then one line per seed and their summary."""
    from dataclasses import replace

    from experiments.console import count, number
    from experiments.train.seeds import SEEDS_FILE, finished_seed, seed_folder, summary, train_seeds
    seeds = list(range(args.seed, args.seed + args.seeds))
    done = [s for s in seeds if finished_seed(replace(config, seed=s), seed_folder(out, s))]
    if done:
        out_console.print(f"resuming {out}: {count(len(done), 'seed')} already trained, "
                          f"{len(seeds) - len(done)} to train")
    with backend_of(args) as backend:
        label = (f"training {args.algo} on {count(len(seeds), 'seed')} "
                 f"({backend.name}, {count(backend.workers, 'worker')})")
        with progress_bar(label, "seeds") as bar:
            task = bar.add_task("train", total=len(seeds), completed=len(done))
            results = train_seeds(config, out, seeds, backend, lambda _, n: bar.update(task, completed=len(done) + n))
    for r in results:
        out_console.print(f"seed {r.seed}: {r.timesteps_done:,} customer-days in {r.seconds:.0f} s, final reward "
                          f"per customer-day {number(r.final_reward)}; {r.folder}", highlight=False)
    s = summary(results)
    out_console.print(f"final reward over {count(len(results), 'seed')}: mean {number(s.mean)} "
                      f"[{number(s.ci_low)}, {number(s.ci_high)}] (95% t interval), sd {number(s.sd)}; "
                      f"wrote {out / SEEDS_FILE}", highlight=False)
    out_console.print(f"compare them: siyu compare --scenario {args.scenario} --policies "
                      f"rfm_tiered,{','.join(f'rl:{seed_folder(out, r.seed)}' for r in results)}")
    return 0


def _train_pool(args: argparse.Namespace) -> int:
    """``--env pool``: train on siyu/Pool-v1 (weekly segment plans), evaluate against fixed plans, say the lead."""
    from experiments.console import number
    from experiments.train.pool import PoolTrainConfig, train_pool
    if args.seeds > 1 or args.backend != "local" or args.resume:
        raise UserError("--env pool trains one seed in this process: drop --seeds, --backend and --resume")
    try:
        config = PoolTrainConfig(scenario=args.scenario, algo=args.algo, timesteps=args.timesteps or 2_080,
                                 seed=args.seed, customers=args.customers, envs=args.pools, weeks=args.weeks,
                                 levers=args.levers, eval_pools=args.eval_pools)
        config.check_memory()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out = claim(Path(args.out))
    with progress_bar(f"training {args.algo} on Pool-v1", "pool-weeks") as bar:
        task = bar.add_task("train", total=config.timesteps)
        result = train_pool(config, out, lambda done, total: bar.update(task, completed=done))
    out_console.print(f"trained {args.algo} on Pool-v1 ({args.scenario}) to {result.timesteps_done:,} pool-weeks "
                      f"in {result.seconds:.0f} s; wrote {out / MODEL_FILE}, {out / 'curve.png'}, "
                      f"{out / 'hyperparams.json'}", highlight=False)
    for name, lead in result.evaluation.get("trained_lead_yuan", {}).items():
        out_console.print(f"net profit over {config.weeks} weeks, trained minus the fixed plan '{name}': "
                          f"{number(lead['mean'])} yuan (se {number(lead['se'])}, {config.eval_pools} pools); "
                          f"{out / 'eval.json'}", highlight=False)
    return 0


def _resume_hint(args: argparse.Namespace, out: Path) -> str:
    return (f"Continue with: siyu train --resume --out {out} --scenario {args.scenario} --algo {args.algo} "
            f"--timesteps {args.timesteps}")


def register(subparsers: Any) -> None:
    """Add ``siyu train`` to the CLI."""
    p = subparsers.add_parser("train", help="train an RL contact policy (stable-baselines3) on a scenario")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME|PATH", help="preset or scenario TOML")
    p.add_argument("--algo", default="ppo", choices=ALGOS, help="algorithm (default ppo)")
    p.add_argument("--env", default="customer", choices=("customer", "pool"),
                   help="customer: one sub-env per customer, daily actions (default); pool: siyu/Pool-v1, "
                        "weekly plans per CRM segment (ppo or a2c)")
    p.add_argument("--timesteps", type=positive_int, default=None, metavar="T",
                   help="customer-days of experience (default 200000); with --env pool, pool-weeks (default 2080)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S",
                   help="seeds the model and the training populations (default 0)")
    p.add_argument("--customers", type=positive_int, default=TrainConfig.customers, metavar="N",
                   help=f"customers stepped together, one sub-env each (default {TrainConfig.customers})")
    p.add_argument("--days", type=positive_int, default=TrainConfig.horizon, metavar="D",
                   help=f"days per training round (default {TrainConfig.horizon})")
    p.add_argument("--pools", type=positive_int, default=4, metavar="P",
                   help="with --env pool: pools stepped together, --customers each (default 4)")
    p.add_argument("--weeks", type=positive_int, default=26, metavar="W",
                   help="with --env pool: weeks per episode (default 26)")
    p.add_argument("--levers", action="store_true",
                   help="with --env pool: each segment's plan also picks an invitation and a referral ask")
    p.add_argument("--eval-pools", type=int, default=4, metavar="E",
                   help="with --env pool: fresh pools the model and the fixed plans are evaluated on (default 4)")
    p.add_argument("--no-shaping", action="store_true",
                   help="reward net profit only, without the daily change of residual value")
    p.add_argument("--out", default="runs/train", metavar="DIR", help="output folder (default runs/train)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                   help="train K independent seeds --seed .. --seed+K-1, each into DIR/seed_<s>, as tasks of "
                        "--backend; writes DIR/seeds.csv; rerunning resumes (default 1: one model in DIR itself, "
                        "unless --backend ray)")
    add_jobs_argument(p)
    add_backend_arguments(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the model in --out (saved every 5 minutes and on Ctrl-C) up to --timesteps")
    p.set_defaults(func=cmd_train)

