"""Contact responses measured from a contact log with a randomised control group: the estimators recover the open
rate and the purchase lift a log was made with, within their standard errors; without controls the lift is not
identified; the calibrate command reports them in fit.md."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import numpy as np

from experiments.calibrate.contact_response import log_responses, window_purchases
from experiments.logs.contacts import read_contacts
from experiments.logs.transactions import read_transactions
from experiments.response import WINDOW_DAYS

START = date(2024, 1, 1)
N, DAYS, P_BUY, LIFT, P_OPEN = 4000, 120, 0.01, 0.2, 0.3
CAMPAIGNS = (10, 40, 70)


def synthetic_logs(tmp_path, seed=0):
    """Every customer buys on day 0 and then with P_BUY a day; on each campaign day half of them get a coupon on
    wecom (the others are controls) and a contacted customer buys 3 days later with probability LIFT more."""
    rng = np.random.default_rng(seed)
    buys = rng.random((N, DAYS)) < P_BUY
    buys[:, 0] = True
    contacts = []
    for d in CAMPAIGNS:
        treated = rng.random(N) < 0.5
        extra = treated & (rng.random(N) < LIFT)
        buys[extra, d + 3] = True
        opened = treated & (rng.random(N) < P_OPEN)
        contacts += [(i, d, "coupon" if treated[i] else "none", int(opened[i])) for i in range(N)]
    for i in range(0, N, 4):  # a content sent without controls: its lift is not identified
        contacts.append((i, 100, "service", 0))
    tx, ct = tmp_path / "tx.csv", tmp_path / "contacts.csv"
    with tx.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "amount"])
        for i, d in zip(*np.nonzero(buys)):
            w.writerow([f"c{i}", (START + timedelta(days=int(d))).isoformat(), "50"])
    with ct.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "channel", "content", "opened", "unsubscribed"])
        for i, d, content, opened in contacts:
            w.writerow([f"c{i}", (START + timedelta(days=d)).isoformat(), "wecom", content, opened, 0])
    return tx, ct


def test_log_responses_recover_the_lift_and_open_rate_of_a_randomised_log(tmp_path):
    tx_path, ct_path = synthetic_logs(tmp_path)
    end = (START + timedelta(days=DAYS - 1)).toordinal()
    tx = read_transactions(tx_path, calibration_end=end)
    contacts = read_contacts(ct_path, tx.ids, calibration_end=end)
    got = {(r.channel, r.content): r for r in log_responses(contacts, tx, end)}
    assert set(got) == {("wecom", "all"), ("wecom", "coupon"), ("wecom", "service")}
    coupon = got[("wecom", "coupon")]
    true_lift = LIFT * (1 - P_BUY)  # the extra purchase falls on a day the customer would not have bought anyway
    assert abs(coupon.incremental_purchase_rate - true_lift) < 4 * coupon.incremental_se, coupon
    # the SE is what the two arms' sizes make it: about sqrt(2 var / (n/2)) / sqrt(3 days)
    assert 0.5 < coupon.incremental_se / np.sqrt(4 * (LIFT * (1 - LIFT) + WINDOW_DAYS * P_BUY) / (3 * N)) < 2
    assert abs(coupon.open_rate - P_OPEN) < 4 * np.sqrt(P_OPEN * (1 - P_OPEN) / coupon.contacted)
    assert coupon.unsubscribe_rate == 0.0 and coupon.controls > 0.4 * 3 * N
    service = got[("wecom", "service")]
    assert service.controls == 0 and np.isnan(service.incremental_purchase_rate)
    assert got[("wecom", "all")].incremental_purchase_rate == coupon.incremental_purchase_rate  # service: no controls


def test_a_content_sent_beside_another_on_a_day_is_not_compared_with_that_days_controls(tmp_path):
    """Controls carry no content: on a day two contents go out, their lift per content is not identified."""
    tx_path, ct_path = synthetic_logs(tmp_path)
    lines = ct_path.read_text().splitlines()
    # on the first campaign day, a quarter of the coupon rows become 'content' rows
    first = (START + timedelta(days=CAMPAIGNS[0])).isoformat()
    for k, line in enumerate(lines):
        if f",{first},wecom,coupon," in line and k % 4 == 0:
            lines[k] = line.replace(",coupon,", ",content,")
    ct_path.write_text("\n".join(lines) + "\n")
    end = (START + timedelta(days=DAYS - 1)).toordinal()
    tx = read_transactions(tx_path, calibration_end=end)
    got = {(r.channel, r.content): r for r in log_responses(read_contacts(ct_path, tx.ids), tx, end)}
    assert got[("wecom", "content")].controls == 0  # only sent on a mixed day
    coupon = got[("wecom", "coupon")]
    assert 0 < coupon.controls < 2.5 * N / 2  # two campaign days of controls, not three
    assert abs(coupon.incremental_purchase_rate - LIFT * (1 - P_BUY)) < 4 * coupon.incremental_se


def test_window_purchases_count_the_days_from_the_contact_on(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\na,2024-01-05,1\na,2024-01-05,2\na,2024-01-15,1\n"
                    "b,2024-01-05,1\n")
    tx = read_transactions(path)
    day = date(2024, 1, 1).toordinal()
    got = window_purchases(tx, np.array([0, 0, 0, 1]), np.array([day, day + 1, day + 5, day]), 14)
    assert got.tolist() == [2, 2, 1, 1]  # same-day orders are one transaction; day + 14 is outside
