"""The holdout check fits BG/NBD and Pareto/NBD on distinct histories weighted by their customers (a million
customers' log has about 69,000): the same estimates and forecasts as over every customer."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from experiments.calibrate import bgnbd, paretonbd
from experiments.calibrate.history import distinct, histories
from experiments.calibrate.holdout import baseline_fit, baseline_forecast, in_weeks
from experiments.logs.transactions import Transactions, read_transactions

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



def _half(tx: Transactions, parity: int) -> Transactions:
    """The customers of ``tx`` with an index of this parity, and their orders."""
    keep = tx.customer % 2 == parity
    used, customer = np.unique(tx.customer[keep], return_inverse=True)
    return Transactions(tx.ids[used], customer.astype(np.int64), tx.day[keep], tx.amount[keep], tx.report)


def test_parameters_fitted_elsewhere_forecast_this_log_s_customers():
    """``baseline_fit(..., params)``: another log's fit (half the sample's) forecasts the other half's customers."""
    end = date(1997, 9, 30).toordinal()
    tx = read_transactions(CDNOW, calibration_end=end)
    first, rest = histories(_half(tx, 0), end), histories(_half(tx, 1), end)
    assert first.n + rest.n == histories(tx, end).n
    elsewhere = bgnbd.fit(*in_weeks(first))
    params, cumulative, each = baseline_fit(bgnbd, rest, 13, elsewhere)
    assert params is elsewhere and not np.allclose(elsewhere, bgnbd.fit(*in_weeks(rest)), rtol=1e-3)
    np.testing.assert_allclose(each, bgnbd.expected(elsewhere, 13.0, *in_weeks(rest)), rtol=1e-9)
    assert cumulative[-1] == pytest.approx(each.sum(), rel=1e-9)
