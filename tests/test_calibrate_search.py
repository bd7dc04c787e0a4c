"""The search of a fit (experiments.calibrate.fit.search): its end and the Jacobian it hands back on call."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibrate.fit import _jacobian, search

SLOPES = np.array([[1.0, 0.5], [-0.4, 1.2], [0.8, 0.8]])
"""A smooth binding function's slopes at zero: three statistics of two log parameters."""
TRUTH = np.array([0.4, -0.3])


class Counting:
    """A deterministic binding (as common random numbers make one) that counts its simulations."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, None]:
        self.calls += 1
        return SLOPES @ theta + 0.1 * np.sin(theta).sum(), None


def test_the_jacobian_is_simulated_only_when_asked_for_and_only_once():
    binding = Counting()
    target = binding(TRUTH)[0]
    d, theta, b, _, jacobian = search(binding, np.zeros(2), target, np.eye(3), polish=())
    assert theta == pytest.approx(TRUTH, abs=0.01) and d < 1e-3
    searched = binding.calls
    jac = jacobian()
    assert binding.calls == searched + theta.size  # one forward step per parameter
    assert np.array_equal(jacobian(), jac) and binding.calls == searched + theta.size
    assert np.array_equal(jac, _jacobian(binding, theta, b))  # what the search returned before it was deferred
