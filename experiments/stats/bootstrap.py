"""Former home of the seed statistics, kept so that older imports keep working.

Intervals over seeds are no longer bootstrapped: a percentile bootstrap of 3-5 seeds covers far less
than its nominal 95%. Everything lives in :mod:`experiments.stats.intervals`; import from there.
"""

from experiments.stats.intervals import ALPHA, PairedDiff, paired_diff, seeds_for, seeds_needed, t95

__all__ = ["ALPHA", "PairedDiff", "paired_diff", "seeds_for", "seeds_needed", "t95"]
