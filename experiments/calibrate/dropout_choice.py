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
    """The kept base rate against none, each fit's J on the same common simulations, and which was kept."""

    kept_rate: float
    """The base scenario's rate, per year."""
    kept_j: float
    none_j: float
    df: int
    late_z: float
    """The kept fit's gap in the last third's share of repeats, log minus engine, in SEs."""

    @property
    def none_kept(self) -> bool:
        """Whether the fit with none is the calibration (its J is the lower)."""
        return self.none_j < self.kept_j

    def line(self) -> str:
        """One line for the console and fit.md."""
        kept = (f"none ({NONE_PER_YEAR:g} a year) is kept" if self.none_kept
                else f"the base's {self.kept_rate:g} a year is kept (none fits worse)")
        return (f"the log shows no dropout, and the fit that kept the base scenario's {RATE} = {self.kept_rate:g} "
                f"failed the misfit test with the log's repeats in the last third {self.late_z:.1f} SE above the "
                f"engine's; refitted with none: misfit J {self.kept_j:.1f} kept against {self.none_j:.1f} none, on "
                f"{self.df} df and the same common simulations: {kept} (--keep-base-dropout skips the refit; "
                "docs/calibration.md, \"A dropout rate the log does not show\")")
