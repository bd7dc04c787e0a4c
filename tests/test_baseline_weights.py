"""The holdout check fits BG/NBD and Pareto/NBD on distinct histories weighted by their customers (a million
customers' log has about 69,000): the same estimates and forecasts as over every customer."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate import bgnbd, paretonbd
from experiments.calibrate.history import distinct, histories
from experiments.calibrate.holdout import baseline_forecast, in_weeks
from experiments.logs.transactions import read_transactions

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.csv"


@pytest.mark.parametrize("model", [bgnbd, paretonbd])
def test_distinct_weighted_histories_fit_and_forecast_as_every_customer(model):
    end = date(1997, 9, 30).toordinal()
    h = histories(read_transactions(CDNOW, calibration_end=end), end)
    data, counts, _ = distinct(h)
    assert counts.size < h.n / 2  # 2,357 customers, far fewer histories: the weights matter
    every = model.fit(*in_weeks(h))
    params, cumulative = baseline_forecast(model, h, 39)
    np.testing.assert_allclose(params, every, rtol=1e-4)  # the searches' own tolerance, not the model's
    assert model.loglik(params, *in_weeks(h)).sum() == pytest.approx(model.loglik(every, *in_weeks(h)).sum(), abs=1e-6)
    per_customer = [model.expected(every, float(w), *in_weeks(h)).sum() for w in (1, 13, 39)]
    np.testing.assert_allclose(cumulative[[0, 12, 38]], per_customer, rtol=1e-6)
