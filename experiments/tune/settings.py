"""What a search is: the rule, the scenario and sizes, the seeds, the metric and the budget.

Training seeds start at :data:`TRAIN_FIRST_SEED` (10000, 10001, ...); fresh seeds are 0, 1, ... the
seeds ``siyu compare`` uses by default, so the fresh-seed table can be reproduced with ``siyu compare``.
The two ranges never meet: at most :data:`MAX_TEST_SEEDS` fresh seeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from experiments.running.runner import code_fingerprint
from experiments.stats.comparison import COMPARE_METRICS, direction
from policies.base import search_space
from policies.baselines import BASELINES
from sim.config import ConfigError, Scenario

TRAIN_FIRST_SEED = 10_000
"""First training seed; the search scores every trial on TRAIN_FIRST_SEED, TRAIN_FIRST_SEED + 1, ..."""
MAX_TEST_SEEDS = TRAIN_FIRST_SEED
"""Fresh seeds are 0 .. test_seeds - 1, so at most this many (they would reach the training seeds)."""
FRESH_DIR = "fresh"
"""Folder (inside the output folder) of the fresh-seed comparison's run files and tables."""
TUNE_METRICS = tuple(m for m in COMPARE_METRICS if direction(m) != 0)
"""Metrics a search can optimise: those of the comparison table with a better direction."""


def tunable_policies() -> list[str]:
    """Baselines that declare at least one searchable parameter."""
    return sorted(k for k, cls in BASELINES.items() if search_space(cls.Params))


@dataclass(frozen=True)
class TuneSettings:
    """One search: which rule, where, how big, on which seeds, optimising what, for how many trials."""

    policy: str
    scenario_ref: str
    """Preset name or scenario file, as given (the fresh-seed comparison resolves it again)."""
    scenario: Scenario
    customers: int
    days: int
    trials: int = 60
    train_seeds: int = 5
    test_seeds: int = 10
    metric: str = "total_value"
    sampler_seed: int = 0
    jobs: int = 1
    batch: int = 1
    """Trials asked together and evaluated at once (in parallel on the workers), then told in order.

    The trials drawn depend on it (a trial of a batch does not see the others' values), never on the
    backend or the worker count: the same batch gives the same search everywhere."""

    def __post_init__(self) -> None:
        """Reject what cannot be searched, naming the argument and what is allowed."""
        if self.policy not in tunable_policies():
            raise ConfigError(f"policy '{self.policy}' has no parameters to tune; "
                              f"tunable: {', '.join(tunable_policies())}")
        if self.metric not in TUNE_METRICS:
            raise ConfigError(f"metric '{self.metric}' cannot be optimised; allowed: {', '.join(TUNE_METRICS)}")
        for name in ("customers", "days", "trials", "train_seeds", "test_seeds", "jobs", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.test_seeds > MAX_TEST_SEEDS:
            raise ConfigError(f"test_seeds must be <= {MAX_TEST_SEEDS} (fresh seeds 0..{MAX_TEST_SEEDS - 1} stay "
                              f"below the training seeds), got {self.test_seeds}")

    @property
    def train_seed_list(self) -> list[int]:
        """Seeds every trial is scored on (common random numbers)."""
        return list(range(TRAIN_FIRST_SEED, TRAIN_FIRST_SEED + self.train_seeds))

    @property
    def test_seed_list(self) -> list[int]:
        """Fresh seeds of the final comparison, disjoint from the training seeds."""
        return list(range(self.test_seeds))

    @property
    def maximize(self) -> bool:
        """Whether more of the metric is better."""
        return direction(self.metric) > 0

    def identity(self) -> dict[str, Any]:
        """What fixes the trials' values and their order: a study may only be resumed with the same identity.

        The budget (trials), the fresh seeds and the worker count are left out: raising ``trials``
        continues the same search, and the fresh comparison is keyed run by run.
        """
        content = json.dumps(self.scenario.model_dump(mode="json"), sort_keys=True).encode()
        return {"policy": self.policy, "scenario": self.scenario.name,
                "scenario_content": hashlib.sha256(content).hexdigest()[:16], "customers": self.customers,
                "days": self.days, "train_seeds": self.train_seeds, "metric": self.metric,
                "sampler_seed": self.sampler_seed, "search_space": search_space(BASELINES[self.policy].Params),
                "code_fingerprint": code_fingerprint(), **({"batch": self.batch} if self.batch != 1 else {})}
