import numpy as np

from experiments.calibrate import auxiliary
from experiments.calibrate.history import distinct


def _histories(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.integers(30, 400, n).astype(float)
    x = rng.poisson(2.0, n).astype(float)
    t_x = np.where(x > 0, np.round(rng.uniform(0, 1, n) * T), 0.0)
    t_x[:20] = T[:20]  # bought on the last day: the "left" part's gap is zero
    return {"x": x, "t_x": t_x, "T": T}


def test_the_exact_scores_are_the_central_differences_of_the_log_likelihood():
    data = _histories(2000, 0)
    for beta in (np.array([-4.0, -0.3, -6.0]), np.array([-6.5, 0.4, -3.5])):
        rows, scores = auxiliary.loglik_and_scores(beta, data)
        assert np.array_equal(rows, auxiliary.loglik_rows(beta, data))
        numeric = auxiliary._scores(beta, data)  # central differences, step 1e-5: error ~1e-10 x the scale
        assert np.abs(scores).max() > 1.0
        np.testing.assert_allclose(scores, numeric, rtol=0, atol=1e-7 * np.abs(numeric).max())


def test_the_fit_stops_where_the_exact_gradient_vanishes():
    data = _histories(3000, 1)
    h = type("H", (), data)  # fit reads x, t_x, T as attributes
    aux = auxiliary.fit(h)
    grad = auxiliary.loglik_and_scores(aux.beta, data)[1].mean(axis=0)
    assert np.all(np.abs(grad) < 1e-5), grad
    assert np.all(np.isfinite(aux.cov)) and np.all(np.linalg.eigvalsh(aux.cov) > 0)


def _row_sorted(data: dict[str, np.ndarray]):
    rows = np.stack([data["x"], data["t_x"], data["T"]], axis=1)
    uniq, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return uniq, inverse.ravel(), counts


def test_distinct_histories_come_in_the_rows_order_whether_days_are_whole_or_not():
    """The packed integer key of whole days and the row-wise sort of anything else give the same distinct rows."""
    whole = _histories(3000, 2)
    half = {**whole, "t_x": whole["t_x"] + 0.5 * (whole["t_x"] < whole["T"])}  # not whole days: sorted row-wise
    for data in (whole, half):
        got, weights, inverse = distinct(type("H", (), data))
        uniq, expected_inverse, counts = _row_sorted(data)
        assert 0 < uniq.shape[0] < 3000  # some customers share a history: the test can tell the order apart
        np.testing.assert_array_equal(np.stack([got["x"], got["t_x"], got["T"]], axis=1), uniq)
        np.testing.assert_array_equal(inverse, expected_inverse)
        np.testing.assert_array_equal(weights, counts)
