"""Where a sale lands (docs/model.md): WeChat or the marketplace store, its fee, what the CRM sees, and
the e-commerce team's cooperation with order-based inflow."""

from __future__ import annotations

import math

import numpy as np

from policies import make_policy
from sim import Simulation
from sim.config import apply_overrides
from tests.conftest import Z


def _run(scenario, overrides, policy="rfm_tiered", n=4000, days=90, seed=3):
    sim = Simulation(apply_overrides(scenario, overrides), n, seed)
    start = {k: v.copy() for k, v in sim.state.arrays().items()}
    return sim, start, sim.run(make_policy(policy), days)


def test_marketplace_fee_is_its_share_of_revenue_and_changes_nothing_else(beauty):
    _, _, wechat = _run(beauty, {})
    _, _, market = _run(beauty, {"landing.wechat_share": 0.0, "landing.marketplace_visibility": 1.0,
                                 "landing.marketplace_commission": 0.05})
    a, b = wechat.summary, market.summary
    for key in ("purchases", "revenue", "contacts", "opens", "acquired", "reachable_end"):
        assert a[key] == b[key], key  # the CRM sees every order, so every decision is the same
    assert a["platform_fees"] == 0 and a["marketplace_revenue"] == 0
    assert b["marketplace_revenue"] == b["revenue"]
    assert math.isclose(b["platform_fees"], 0.05 * b["revenue"], rel_tol=1e-9)
    assert math.isclose(a["net_profit"] - b["net_profit"], b["platform_fees"], rel_tol=1e-9)
    assert b["residual_value"] < a["residual_value"]  # the continuation pays the fee too


def test_marketplace_orders_the_crm_cannot_match_leave_no_trace_in_it(beauty):
    n = 4000
    sim, start, blind = _run(beauty, {"landing.wechat_share": 0.0, "landing.marketplace_visibility": 0.0}, n=n)
    s = blind.summary
    assert s["purchases"] > 1000 and s["unseen_purchases"] == s["purchases"]
    for field in ("frequency", "monetary", "last_purchase", "first_purchase", "tier"):
        assert np.array_equal(sim.state.arrays()[field][:n], start[field][:n]), field
    _, _, half = _run(beauty, {"landing.wechat_share": 0.0, "landing.marketplace_visibility": 0.5}, n=n)
    k, m = half.summary["unseen_purchases"], half.summary["purchases"]
    assert abs(k / m - 0.5) < Z * math.sqrt(0.25 / m)  # each marketplace order is matched with chance 0.5


def test_selling_inside_wechat_costs_order_inflow_when_the_ecommerce_team_stops_helping(beauty):
    def orders_added(overrides):
        return _run(beauty, overrides, policy="no_contact", days=180)[2].daily["acquired_orders"].sum()

    base = orders_added({})
    cut = orders_added({"landing.conflict": 0.6})
    assert base > 400
    # the same order backlog and draws: each buyer who would have added still adds with chance 0.4
    assert abs(cut - 0.4 * base) < Z * math.sqrt(base * 0.4 * 0.6)
    assert orders_added({"landing.conflict": 0.6, "landing.wechat_share": 0.0}) == base  # no sales taken
