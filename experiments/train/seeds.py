"""Train the same agent on K seeds (``siyu train --seeds K``), one backend task per seed, and summarise them.

Seed ``s`` trains into ``out/seed_<s>`` exactly as ``siyu train --seed s --out out/seed_<s>`` would;
the seeds run as tasks of a backend (:mod:`experiments.running.backends`: local processes or Ray), so
a research group spreads them over a cluster. A seed whose folder already holds a complete model
with the same settings is not trained again, so an interrupted command resumes by rerunning it;
a seed that raises is reported with its error while the others finish. ``seeds.csv`` holds one row
per seed (customer-days learned, seconds, the last point of the learning curve).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.running.backends import Backend
from experiments.stats.intervals import PairedDiff, interval
from experiments.store.io import write_csv
from experiments.train.trainer import TrainConfig

SEEDS_FILE = "seeds.csv"
RUNTIME_FIELDS = ("threads", "max_seconds", "checkpoint_seconds")
"""Settings that change how fast a seed trains, not what it learns (ignored when matching a finished seed)."""


@dataclass(frozen=True)
class SeedResult:
    """One trained seed: where its model is, how much it learned, and its learning curve's last point."""

    seed: int
    folder: str
    timesteps_done: int
    seconds: float
    final_reward: float
    """Mean reward per customer-day over the last window of the learning curve (NaN without a curve)."""


class SeedsFailed(ValueError):
    """Some seeds raised; the others finished and are saved, so a rerun trains only the failed ones."""


def seed_folder(out: Path, seed: int) -> Path:
    """Folder of seed ``seed``: ``out/seed_<seed>``."""
    return out / f"seed_{seed}"


def _identity(config: TrainConfig | dict[str, Any]) -> dict[str, Any]:
    data = asdict(config) if isinstance(config, TrainConfig) else config
    return {k: data.get(k) for k in asdict(TrainConfig()) if k not in RUNTIME_FIELDS}


def finished_seed(config: TrainConfig, folder: Path) -> SeedResult | None:
    """The result stored in ``folder`` if it holds a complete model trained with ``config``; else None."""
    try:
        meta = json.loads((folder / "hyperparams.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("complete") is not True or _identity(meta) != _identity(config):
        return None
    return SeedResult(config.seed, str(folder), int(meta.get("timesteps_done", 0)),
                      float(meta.get("train_seconds", math.nan)), _final_reward(folder))


def _final_reward(folder: Path) -> float:
    try:
        last = (folder / "curve.csv").read_text(encoding="utf-8").strip().splitlines()[-1]
        return float(last.split(",")[1])
    except (OSError, IndexError, ValueError):
        return math.nan


def train_seed(item: tuple[TrainConfig, str]) -> SeedResult:
    """Train one seed into its folder (a backend task: top level, so workers can import it)."""
    from experiments.train.trainer import train
    config, folder = item
    result = train(config, Path(folder))
    if result.interrupted:
        raise RuntimeError("training was interrupted")
    return SeedResult(config.seed, folder, result.timesteps_done, round(result.seconds, 2),
                      result.curve[-1][1] if result.curve else math.nan)


def train_seeds(config: TrainConfig, out: Path, seeds: list[int], backend: Backend,
                on_seed: Callable[[SeedResult | None, int], None] | None = None) -> list[SeedResult]:
    """Train ``config`` on every seed not already finished in ``out``; write ``seeds.csv``; results by seed.

    ``on_seed(result, done)`` follows the progress (``result`` is None for a seed that failed). Each
    task gets its share of the CPUs for torch. Raises :class:`SeedsFailed` after the others finish
    if a seed raised.
    """
    results = {s: r for s in seeds if (r := finished_seed(replace(config, seed=s), seed_folder(out, s)))}
    todo = [s for s in seeds if s not in results]
    threads = max(1, config.threads // min(backend.workers, max(len(todo), 1)))
    items = [(replace(config, seed=s, threads=threads), str(seed_folder(out, s))) for s in todo]
    failures = []
    for f in backend.map_unordered(train_seed, items):
        seed = todo[f.index]
        if f.error is None:
            results[seed] = f.value
        else:
            failures.append(f"seed {seed}: {f.error}")
        if on_seed is not None:
            on_seed(f.value, len(results) + len(failures))
    rows = [asdict(results[s]) for s in seeds if s in results]
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / SEEDS_FILE, rows, [f for f in SeedResult.__dataclass_fields__])
    if failures:
        raise SeedsFailed(f"{len(failures)} of {len(todo)} seeds failed (the others finished and are saved; a rerun "
                          f"trains only the failed ones): {'; '.join(failures[:3])}")
    return [results[s] for s in seeds]


def summary(results: list[SeedResult]) -> PairedDiff:
    """Mean of the seeds' final rewards with its 95% Student-t interval and standard deviation (NaN for one seed)."""
    return interval(np.array([r.final_reward for r in results]))
