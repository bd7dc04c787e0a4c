"""What ``siyu calibrate`` chose where the log shows no dropout and the base's rate, kept, failed the misfit test.

Apart from :mod:`~experiments.calibrate.kept_dropout`, which makes the choice, so that
:class:`~experiments.calibrate.fit.Calibration` can carry it without importing its maker.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE = "population.dropout_per_year"
"""The base value a refit replaces (:data:`experiments.calibrate.fit.DROPOUT`'s first)."""
NONE_PER_YEAR = 1e-3
"""The rate standing for none: a customer leaves once in a thousand years (three times as often when they have
forgotten the brand). Not 0, so that the lapse's and the share floor's references to the mean and median dropout
hazard stay finite (docs/model.md)."""


@dataclass(frozen=True)
class DropoutChoice:
    """The kept base rate against none: each fit's J on the same common simulations, and their mixture."""

    kept_rate: float
    """The base scenario's rate, per year."""
    kept_j: float
    none_j: float
    df: int
    late_z: float
    """The kept fit's gap in the last third's share of repeats, log minus engine, in SEs."""
    none_weight: float
    """The fit with none's weight in the forecast's mixture: exp(-J/2 phi) of the two, normalised."""

    @property
    def none_kept(self) -> bool:
        """Whether the fit with none is the estimate (its J is the lower): ``scenario.toml``'s values are its."""
        return self.none_j < self.kept_j

    def line(self) -> str:
        """One line for the console and fit.md."""
        first = "none's" if self.none_kept else "the base rate's"
        return (f"the log shows no dropout, so {RATE} is not identified: fitted with the base scenario's "
                f"{self.kept_rate:g} a year kept and again with none ({NONE_PER_YEAR:g}); misfit J {self.kept_j:.1f} "
                f"against {self.none_j:.1f} on {self.df} df and the same common simulations. The estimate is "
                f"{first}; the forecast mixes both, none weighing {self.none_weight:.2f} (the last third's share of "
                f"repeats {self.late_z:+.1f} SE, log minus engine, at the base's rate; --keep-base-dropout keeps it "
                "alone; docs/calibration.md, \"A dropout rate the log does not show\")")
