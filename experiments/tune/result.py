"""The verdict of a search: the tuned rule and every default baseline on fresh seeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiments.console import number
from experiments.running.runner import ExperimentResult
from experiments.stats.comparison import direction
from experiments.tune.search import SearchResult
from experiments.tune.settings import TuneSettings


@dataclass(frozen=True)
class FreshRow:
    """One policy on the fresh seeds: its mean, and the tuned policy's paired lead over it with the 95% interval.

    The lead is ``tuned - policy`` in the metric's better direction (positive: the tuned rule is better),
    from the comparison table of ``siyu compare`` with the sign turned; NaN for the tuned policy itself.
    """

    policy: str
    mean: float
    net_profit: float
    lead: float
    ci_low: float
    ci_high: float
    significant: bool


@dataclass(frozen=True)
class TuneResult:
    """Everything ``siyu tune`` reports."""

    settings: TuneSettings
    search: SearchResult
    policy_file: Path
    fresh: ExperimentResult
    rows: list[FreshRow]
    """Tuned policy first, then every default baseline, in the order of :data:`policies.baselines.BASELINES`."""

    @property
    def best_baseline(self) -> FreshRow:
        """The default baseline with the best mean on the fresh seeds."""
        sign = direction(self.settings.metric)
        return max(self.rows[1:], key=lambda r: sign * r.mean)

    @property
    def own_default(self) -> FreshRow:
        """The tuned rule at its default parameters."""
        return next(r for r in self.rows[1:] if r.policy == self.settings.policy)

    def warnings(self) -> list[str]:
        """What a reader must know before trusting the tuned rule (empty when nothing is wrong)."""
        own = self.own_default
        if own.significant and own.lead < 0:
            return [f"the tuned rule is worse than {own.policy} at its defaults on the fresh seeds "
                    f"({number(own.lead, True)} [{number(own.ci_low, True)}, {number(own.ci_high, True)}]): "
                    "the search fitted the luck of its training seeds; raise --train-seeds or --customers"]
        return []

    @property
    def tuned(self) -> FreshRow:
        """The tuned policy's row."""
        return self.rows[0]
