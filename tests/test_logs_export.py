"""Logs written by the engine: what the CRM saw, readable by siyu's own log readers, with a randomised
control group of the size asked for, and no effect on the run beyond holding the controls back."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.logs.contacts import read_contacts
from experiments.logs.export import export_logs
from experiments.logs.transactions import read_transactions
from policies.registry import make_policy
from sim.config import load_scenario
from sim.engine import Simulation
from sim.observation import Action, Observation

N, DAYS = 3000, 30


def sim(seed: int = 3) -> Simulation:
    return Simulation(load_scenario("beauty"), customers=N, seed=seed)


def test_logs_hold_every_order_and_read_back_clean(tmp_path):
    s = sim()
    before_freq = int(s.state.frequency[:s.n].astype(np.int64).sum())
    before_spend = float(s.state.monetary[:s.n].astype(np.float64).sum())
    logs = export_logs(s, make_policy("fatigue_capped"), DAYS, tmp_path, control_share=0.25, seed=7)
    assert logs.orders == int(s.state.frequency[:s.n].astype(np.int64).sum()) - before_freq
    tx = read_transactions(logs.transactions)
    assert tx.report.lines() == [] and tx.day.size == logs.orders > 0
    spent = float(s.state.monetary[:s.n].astype(np.float64).sum()) - before_spend
    assert tx.amount.sum() == pytest.approx(spent, rel=1e-5)
    everyone = np.array([f"c{i}" for i in range(s.n)])  # contacted customers need not have bought in the log
    ct = read_contacts(logs.contacts, everyone)
    assert ct.report.lines() == []
    assert (ct.content == -1).sum() == logs.controls and (ct.content >= 0).sum() == logs.contacts_sent


def test_control_group_is_the_share_asked_for(tmp_path):
    logs = export_logs(sim(), make_policy("fatigue_capped"), DAYS, tmp_path, control_share=0.25, seed=7)
    wanted = logs.controls + logs.contacts_sent
    share = logs.controls / wanted
    sd = (0.25 * 0.75 / wanted) ** 0.5
    assert wanted > 2000 and abs(share - 0.25) < 4 * sd


def test_without_controls_the_run_is_the_plain_run(tmp_path):
    logged, plain = sim(), sim()
    export_logs(logged, make_policy("fatigue_capped"), DAYS, tmp_path, control_share=0.0)
    policy = make_policy("fatigue_capped")
    policy.reset(plain.n, plain.seed)
    for _ in range(DAYS):
        plain.step(policy.act(plain.observe()))
    for name in ("frequency", "monetary", "reach", "last_contact", "fatigue"):
        np.testing.assert_array_equal(getattr(logged.state, name), getattr(plain.state, name))


def test_same_seed_same_files_and_another_holdout_seed_other_controls(tmp_path):
    a = export_logs(sim(), make_policy("fatigue_capped"), 10, tmp_path / "a", control_share=0.3, seed=1)
    b = export_logs(sim(), make_policy("fatigue_capped"), 10, tmp_path / "b", control_share=0.3, seed=1)
    c = export_logs(sim(), make_policy("fatigue_capped"), 10, tmp_path / "c", control_share=0.3, seed=2)
    assert a.contacts.read_bytes() == b.contacts.read_bytes()
    assert a.transactions.read_bytes() == b.transactions.read_bytes()
    assert a.contacts.read_bytes() != c.contacts.read_bytes()


class CoinFlip:
    """Contacts each reachable-by-WeCom customer with probability 0.4: a logging policy with known propensity."""

    name = "coin_flip"

    def reset(self, n: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Observation) -> Action:
        a = Action.none(obs.n)
        go = obs.can_use(0) & (self.rng.random(obs.n) < 0.4)
        a.channel[go] = 0
        return a

    def propensity(self, obs: Observation, action: Action) -> np.ndarray:
        return np.where(action.channel >= 0, 0.4, 0.6)


def test_propensity_is_the_chance_of_what_the_row_records(tmp_path):
    logs = export_logs(sim(), CoinFlip(), 5, tmp_path, control_share=0.2, seed=4)
    lines = logs.contacts.read_text().splitlines()
    assert lines[0].endswith(",propensity")
    for line in lines[1:]:
        content, p = line.split(",")[3], float(line.split(",")[-1])
        assert p == pytest.approx(0.4 * (0.2 if content == "none" else 0.8))


def test_bad_control_share_is_refused(tmp_path):
    with pytest.raises(ValueError, match="control_share"):
        export_logs(sim(), make_policy("fatigue_capped"), 1, tmp_path, control_share=1.0)


def test_a_held_back_contact_takes_its_invitation_and_ask_with_it(tmp_path):
    """An invitation or an ask rides on a message: holding the message back holds them back too."""
    s = Simulation(load_scenario("mother_baby"), customers=2000, seed=5)
    policy = make_policy("journeys", {"invite": "group", "ask_after_order_days": 1, "ask_min_orders": 1})
    policy.reset(s.n, s.seed)
    wanted = policy.act(s.observe())
    assert wanted.invite.any() and wanted.ask.any()  # the engine would refuse them without their message
    logs = export_logs(s, policy, 20, tmp_path, control_share=0.5, seed=1)
    assert logs.controls > 0 and logs.contacts_sent > 0


def test_a_whole_campaign_control_group_is_never_contacted(tmp_path):
    logs = export_logs(sim(), make_policy("fatigue_capped"), DAYS, tmp_path, control_share=0.3, seed=7,
                       control_scope="customer")
    rows = [line.split(",") for line in logs.contacts.read_text().splitlines()[1:]]
    held = {r[0] for r in rows if r[3] == "none"}
    sent = {r[0] for r in rows if r[3] != "none"}
    assert held and sent and not held & sent
    per_day = export_logs(sim(), make_policy("fatigue_capped"), DAYS, tmp_path / "d", control_share=0.3, seed=7)
    rows = [line.split(",") for line in per_day.contacts.read_text().splitlines()[1:]]
    assert {r[0] for r in rows if r[3] == "none"} & {r[0] for r in rows if r[3] != "none"}  # drawn afresh daily
    with pytest.raises(ValueError, match="control scope"):
        export_logs(sim(), make_policy("fatigue_capped"), 1, tmp_path / "x", control_share=0.3, control_scope="week")
