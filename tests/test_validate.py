"""``siyu validate``: the scenario that wrote the logs agrees with them; a wrong response parameter does not."""

from __future__ import annotations

import csv

import pytest

from experiments.cli.app import main
from experiments.crm.snapshot import write_snapshot
from experiments.ope.simulate import campaign, warmed_pool, write_logs
from policies.randomized import RandomizedCampaign, parse_arms
from sim.config import load_scenario, preset_text

MIXED = """policy = "fixed_cadence"
name = "mixed"
params = { content_every_days = 2, offer_every_days = 3, content = "content", offer = "coupon", channels = ["wecom"] }
"""


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A randomised campaign on 10,000 beauty customers, logged, with the campaign day's CRM snapshot."""
    out = tmp_path_factory.mktemp("validate")
    sc = load_scenario("beauty")
    c = campaign(warmed_pool(sc, 10_000, 100, 30),
                 RandomizedCampaign(parse_arms("none,wecom:coupon,sms:flash_sale,wecom:content")), 14)
    write_logs(c, out)
    write_snapshot(c.decisions.view, out / "crm.csv")
    (out / "mixed.toml").write_text(MIXED)
    text = preset_text("beauty")
    assert "[contents.coupon]\nconversion = 0.5\n" in text
    (out / "wrong.toml").write_text(text.replace("[contents.coupon]\nconversion = 0.5\n",
                                                 "[contents.coupon]\nconversion = 0.1\n"))
    return out


def run(scenario, logs, out):
    args = ["validate", scenario, "--contacts", str(logs / "contacts.csv"), "--transactions",
            str(logs / "transactions.csv"), "--crm", str(logs / "crm.csv"), "--policy", str(logs / "mixed.toml"),
            "--replicates", "5", "--out", str(out)]
    assert main(args) == 0
    with (out / "validate.csv").open() as fh:
        return {r["policy"]: r for r in csv.DictReader(fh)}


def test_the_engine_that_wrote_the_logs_agrees(logs, tmp_path):
    rows = run("beauty", logs, tmp_path)
    assert list(rows) == ["none", "wecom:content", "wecom:coupon", "sms:flash_sale", "mixed"]
    assert {r["verdict"] for r in rows.values()} == {"agrees"}
    assert (tmp_path / "validate.md").read_text().count("| agrees |") == 5


def test_a_wrong_coupon_response_disagrees(logs, tmp_path):
    rows = run(str(logs / "wrong.toml"), logs, tmp_path)
    coupon = rows["wecom:coupon"]
    assert coupon["verdict"] == "disagrees" and float(coupon["simulated"]) < float(coupon["log_low"])
    assert rows["none"]["verdict"] == "agrees"  # the organic arm does not depend on the coupon


def test_the_brand_pool_holds_each_customer_with_their_own_record():
    """--pool brand: every customer of the record is in the pool with their record, alive iff reachable, on the
    campaign day; a policy's action in the pool is its action on the record, customer for customer."""
    import numpy as np

    from experiments.crm.plan import decide
    from experiments.crm.snapshot import view_of_simulation
    from experiments.ope.brand import RECORD, BrandPool
    from policies.registry import load_policy
    from sim.defaults import ACTIVE
    sc = load_scenario("beauty")
    sim = warmed_pool(sc, 2000, 8, 30)  # the first day of a cap window
    view = view_of_simulation(sim)
    pool = BrandPool(sc, view, sim.day)
    assert 0 < pool.rows.size < view.n  # buyers and fans, each matched with their own kind
    drawn = pool.draw(3)
    assert drawn.day == sim.day and drawn.n == view.n
    for name in RECORD:
        assert np.array_equal(getattr(drawn.state, name), getattr(view, name)), name
    assert np.array_equal(drawn.state.status == ACTIVE, view.reach != 0)
    assert not np.array_equal(drawn.state.cycle[pool.rows], pool.draw(4).state.cycle[pool.rows])
    policy = load_policy("fatigue_capped")
    policy.reset(drawn.n, drawn.seed)
    inside = drawn.validate(policy.act(drawn.observe()))
    outside = decide(load_policy("fatigue_capped"), view, sc, sim.day, drawn.seed).wanted
    assert (inside.channel >= 0).sum() > 100
    assert np.array_equal(inside.channel, outside.channel) and np.array_equal(inside.content, outside.content)


def test_cli_brand_pool_runs_on_the_logs(logs, tmp_path):
    args = ["validate", "beauty", "--contacts", str(logs / "contacts.csv"), "--transactions",
            str(logs / "transactions.csv"), "--crm", str(logs / "crm.csv"), "--replicates", "2", "--pool", "brand",
            "--out", str(tmp_path)]
    assert main(args) == 0
    with (tmp_path / "validate.csv").open() as fh:
        rows = {r["policy"]: r for r in csv.DictReader(fh)}
    assert list(rows) == ["none", "wecom:content", "wecom:coupon", "sms:flash_sale"]
    # the coupon arm is worth more than no contact in the simulated brand too
    assert float(rows["wecom:coupon"]["simulated"]) > float(rows["none"]["simulated"])
