"""Forecasts under a contact plan: the Replay policy sends exactly the plan's contacts on their days; an empty
plan is no plan, bit for bit; a plan moves the forecast as the engine's own response to a message says."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from experiments.calibrate.fit import Design, simulate_design
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import histories
from experiments.calibrate.simulate import BASE_DATE, engine_log, write_log
from experiments.cli.app import main
from experiments.logs.transactions import read_transactions
from experiments.response import response_card
from policies.replay import Replay
from sim.config import load_scenario
from sim.defaults import CHANNELS, CONTENTS, EVENING
from sim.engine import Simulation

WECOM, COUPON = CHANNELS.index("wecom"), CONTENTS.index("coupon")
REPLICATES = 10


@pytest.fixture(scope="module")
def cohort():
    return simulate_design(load_scenario("beauty"), Design(180, 179, 1500, False, np.zeros(1, np.int64)), 7).histories


def everyone_on(day: int, n: int) -> Replay:
    return Replay(np.arange(n), np.full(n, day), np.full(n, WECOM), np.full(n, COUPON), np.full(n, EVENING))


def test_replay_sends_the_plan_rows_of_each_day_and_skips_undeliverable_ones():
    sim = Simulation(load_scenario("beauty"), customers=300, seed=2, inflow=False)
    plan = Replay(np.array([5, 7, 5]), np.array([0, 0, 1]), np.array([WECOM, CHANNELS.index("sms"), WECOM]),
                  np.array([COUPON, 0, 1]), np.array([0, 1, 2]))
    plan.reset(300, 2)
    obs = sim.observe()
    act = plan.act(obs)
    usable = [bool((obs.usable[5] >> WECOM) & 1), bool((obs.usable[7] >> CHANNELS.index("sms")) & 1)]
    assert act.contacts() == sum(usable) and plan.sent + plan.refused == 2
    others = np.setdiff1d(np.arange(300), [5, 7])
    assert np.all(act.channel[others] == -1)
    if usable[0]:
        assert (act.channel[5], act.content[5], act.slot[5]) == (WECOM, COUPON, 0)
    with pytest.raises(ValueError, match="two contacts on day 0"):
        Replay(np.array([1, 1]), np.array([0, 0]), np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="customer row 7 but the run has 4"):
        plan.reset(4, 0)


def test_an_empty_plan_is_no_plan_and_a_plan_acts_on_its_days(cohort):
    h = cohort
    none = forecast(load_scenario("beauty"), h, 28, REPLICATES, seed=3)
    empty = forecast(load_scenario("beauty"), h, 28, REPLICATES, seed=3, plan=Replay(*(np.zeros(0, np.int64),) * 5))
    np.testing.assert_array_equal(none.replicates, empty.replicates)
    np.testing.assert_array_equal(none.expected_spend, empty.expected_spend)
    np.testing.assert_array_equal(none.expected_transactions, empty.expected_transactions)
    assert empty.chances and empty.records > 0  # nobody contacted: chances summed, records pooled
    late = forecast(load_scenario("beauty"), h, 28, REPLICATES, seed=3, plan=everyone_on(15, h.n))
    np.testing.assert_array_equal(late.replicates[:, :2], none.replicates[:, :2])  # nothing changes before day 15
    assert late.contacts_sent > 0.5 * h.n
    assert late.chances and late.records == 0  # contacts: chances summed but on contact days, nobody pooled
    drawn = forecast(load_scenario("beauty"), h, 28, REPLICATES, seed=3, plan=everyone_on(15, h.n), chances=False)
    np.testing.assert_array_equal(late.replicates, drawn.replicates)  # summing draws nothing: the same paths
    # the same paths: drawn minus summed is a sum of (bought - chance) over the uncontacted days, variance at most
    # the chances' sum, over REPLICATES replicates
    total = REPLICATES * late.expected_transactions.sum()
    assert abs(REPLICATES * drawn.expected_transactions.sum() - total) < 3 * np.sqrt(total)
    assert not np.array_equal(late.expected_transactions, drawn.expected_transactions)


def test_a_plan_changes_the_forecast_by_the_engines_response_to_a_message(cohort):
    h = cohort
    sc = load_scenario("beauty")
    none = forecast(sc, h, 14, REPLICATES, seed=3)
    sent = forecast(sc, h, 14, REPLICATES, seed=3, plan=everyone_on(1, h.n))
    lift = sent.replicates[:, -1] - none.replicates[:, -1]  # paired: same customers, same random numbers
    z = lift.mean() / (lift.std(ddof=1) / np.sqrt(REPLICATES))
    assert z > 3, (lift, z)
    card = next(r for r in response_card(sc, customers=4000, seed=1) if r.channel == "wecom" and r.content == "coupon")
    implied = card.incremental_purchase_rate * sent.contacts_sent
    # the card measures a warmed pool, not this cohort (some of whom have left): same size, not the same number
    assert 0.5 * implied < lift.mean() < 1.5 * implied, (lift.mean(), implied)


def test_cli_forecast_replays_a_plan_and_reports_its_bad_rows(tmp_path, capsys):
    c, d, a = engine_log(load_scenario("beauty"), 600, 150, 4)
    path = tmp_path / "tx.csv"
    write_log(path, c, d, a)
    end = BASE_DATE.toordinal() + 119
    ids = list(histories(read_transactions(path, calibration_end=end), end).ids[:40])
    plan = tmp_path / "plan.csv"
    with plan.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "channel", "content", "slot"])
        w.writerows([[i, "2024-05-02", "wecom", "coupon", "evening"] for i in ids])
        w.writerows([["nobody", "2024-05-02", "wecom", "coupon", ""], [ids[0], "2024-05-02", "sms", "coupon", ""],
                     [ids[1], "2024-04-01", "wecom", "coupon", ""], [ids[2], "2024-05-03", "wecom", "none", ""]])
    args = ["forecast", "beauty", "--cohort", str(path), "--calibration-end", "2024-04-29", "--until", "2024-05-27",
            "--replicates", "3", "--out", str(tmp_path / "f")]
    assert main(args + ["--contacts", str(plan)]) == 0
    err = capsys.readouterr()
    text = err.out + err.err
    for part in ("a customer_id not in the transactions", "a second contact of a customer on one day",
                 "a date outside the forecast", "contacts delivered per simulation"):
        assert part in text, part
    assert "line 42" in text  # the header is line 1: 'nobody' is the 42nd line
    said = " ".join(err.out.split())
    assert "each customer's expected transactions sum their daily purchase chances, and on the days the plan " \
           "contacts them whether they bought" in said and "are pooled" not in said
    with (tmp_path / "f" / "customers.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = np.array([float(row["expected_transactions"]) for row in rows])
    # chances, not whole purchases over 3 replicates (thirds, written to 4 decimals)
    assert np.any(np.abs(expected * 3 - np.round(expected * 3)) > 1e-2)
