import numpy as np

from experiments.calibrate import auxiliary


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
