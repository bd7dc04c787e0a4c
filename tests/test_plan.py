"""``siyu plan``: the CRM snapshot round trip, the contact list equal to the in-simulator action, and bad rows."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from experiments.cli.app import main
from experiments.crm.plan import decide, summarize, write_plan
from experiments.crm.from_logs import view_from_logs
from experiments.crm.snapshot import ROLES, parse_columns, read_snapshot, view_of_simulation, write_snapshot
from experiments.logs.contacts import read_contacts
from experiments.logs.export import day_date
from experiments.logs.rows import LogError
from experiments.logs.transactions import read_transactions
from policies.registry import load_policy, make_policy
from sim.config import load_scenario
from sim.defaults import CHANNELS, CONTENTS, SLOTS
from sim.engine import Simulation
from sim.params import pack
from sim.observation import Action, InvalidActionError

N, WARMUP = 3000, 37


@pytest.fixture(scope="module")
def warmed():
    """A pool stepped 37 days under fatigue_capped: varied recency, contacts, flags, caps partly used."""
    scenario = load_scenario("beauty")
    sim = Simulation(scenario, customers=N, seed=5, inflow=False)
    policy = load_policy("fatigue_capped")
    policy.reset(sim.n, sim.seed)
    for _ in range(WARMUP):
        sim.step(policy.act(sim.observe()))
    return scenario, sim


def test_snapshot_round_trip_is_exact(warmed, tmp_path):
    scenario, sim = warmed
    view = view_of_simulation(sim)
    write_snapshot(view, tmp_path / "crm.csv")
    back = read_snapshot(tmp_path / "crm.csv", scenario)
    assert back.report.lines() == []
    for name in ("reach", "last_purchase", "first_purchase", "frequency", "monetary", "last_contact", "last_flags",
                 "active_slot", "month_count", "tier"):
        got, want = getattr(back, name), getattr(view, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    assert (view.month_count > 0).any() and (view.last_flags > 0).any() and (view.frequency > 1).any()


@pytest.mark.parametrize("ref", ["fatigue_capped", "fixed_cadence", "blast"])
def test_plan_equals_the_in_simulator_action(warmed, tmp_path, ref):
    scenario, sim = warmed
    policy = load_policy(ref)
    policy.reset(sim.n, sim.seed)
    inside = sim.validate(policy.act(sim.observe()))
    write_snapshot(view_of_simulation(sim), tmp_path / "crm.csv")
    out = tmp_path / "plan.csv"
    assert main(["plan", ref, "--crm", str(tmp_path / "crm.csv"), "--date", day_date(sim.day), "--seed",
                 str(sim.seed), "--out", str(out)]) == 0
    with out.open() as fh:
        rows = {r["customer_id"]: r for r in csv.DictReader(fh)}
    want = {f"c{i}": (CHANNELS[inside.channel[i]], CONTENTS[inside.content[i]], SLOTS[inside.slot[i]])
            for i in np.flatnonzero(inside.channel >= 0)}
    assert len(want) > 50
    assert {k: (r["channel"], r["content"], r["slot"]) for k, r in rows.items()} == want


def test_plan_logged_comes_back_as_contacts(warmed, tmp_path):
    scenario, sim = warmed
    view = view_of_simulation(sim)
    plan = decide(load_policy("fatigue_capped"), view, scenario, sim.day, sim.seed)
    n = write_plan(plan, view, tmp_path / "plan.csv")
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,amount\n" + "".join(f"c{i},{day_date(0)},1\n" for i in range(view.n)))
    with (tmp_path / "plan.csv").open() as fh:  # what the sender logs: the plan plus an outcome column
        logged = [dict(r, opened=str(k % 2)) for k, r in enumerate(csv.DictReader(fh))]
    with (tmp_path / "contacts.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(logged[0]))
        w.writeheader()
        w.writerows(logged)
    txs = read_transactions(tx)
    back = read_contacts(tmp_path / "contacts.csv", txs.ids)
    assert back.report.lines() == [] and back.day.size == n
    sent = np.flatnonzero(plan.action.channel >= 0)
    assert np.array_equal(back.customer, sent)
    assert np.array_equal(back.channel, plan.action.channel[sent])
    assert np.array_equal(back.content, plan.action.content[sent])
    assert set(back.day.tolist()) == {plan.day + 738886}  # ordinal of 2024-01-01
    # and the next CRM record built from those logs counts the plan's contacts in the cap window
    nxt = view_from_logs(txs, back, plan.day + 1, scenario)
    assert np.array_equal(nxt.month_count.sum(axis=1)[sent], np.ones(sent.size))
    assert np.array_equal(nxt.last_contact[sent], np.full(sent.size, plan.day))


def test_summary_counts_and_cost(warmed):
    scenario, sim = warmed
    plan = decide(load_policy("blast"), view_of_simulation(sim), scenario, sim.day, sim.seed)
    s = summarize(plan, scenario)
    assert s.contacts == plan.action.contacts() == sum(s.by_channel.values()) == sum(s.by_content.values())
    costs = {c: scenario.channels[c].cost for c in CHANNELS}
    expected = sum(costs[c] * k for c, k in s.by_channel.items()) + sum(
        scenario.contents[c].cost * k for c, k in s.by_content.items())
    assert s.send_cost == pytest.approx(expected)


def test_staff_capacity_is_respected_and_counted(warmed):
    scenario, sim = warmed
    small = scenario.model_copy(update={"staff": scenario.staff.model_copy(
        update={"customers_per_guide": 500, "chat_capacity_per_day": 3})})
    daily = make_policy("fixed_cadence", {"content_every_days": 1, "channels": ["wecom", "sms"]})
    plan = decide(daily, view_of_simulation(sim), small, sim.day, sim.seed)
    wecom = plan.action.channel == 0
    per_guide = np.bincount(np.flatnonzero(wecom) // 500, minlength=N // 500)
    assert per_guide.max() <= 3
    assert plan.over_capacity == int((plan.wanted.channel == 0).sum() - wecom.sum()) > 0


@pytest.mark.parametrize("cells, message", [
    ({"last_purchase": "2024/01/05"}, "with a last_purchase that is not a date in the format YYYY-MM-DD"),
    ({"purchases": "-1"}, "with a purchases that is not a whole number in 0..30000"),
    ({"channels": "wecom|fax"}, "with a channels that is not names joined by '|'"),
    ({"active_slot": "dawn"}, "with a active_slot that is not one of morning"),
    ({"customer_id": "c0"}, "with a customer_id repeated from an earlier row"),
    ({"gender": "m"}, "with a gender that is not one of female, male"),
    ({"account": "qq"}, "with a account that is not one of wecom, personal"),
    ({"fan_tier": "4"}, "with a fan_tier that is not a whole number in 0..3"),
])
def test_bad_snapshot_rows_name_line_and_column(tmp_path, cells, message):
    rows = [dict.fromkeys(ROLES, "") | {"customer_id": f"c{i}", "channels": "wecom"} for i in range(10)]
    rows.append(rows[0] | {"customer_id": "x"} | cells)
    path = tmp_path / "crm.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=ROLES)
        w.writeheader()
        w.writerows(rows)
    view = read_snapshot(path, load_scenario("beauty"))
    assert view.n == 10
    assert len(view.report.lines()) == 1 and "1 row (line 12) " + message in view.report.lines()[0]
    with pytest.raises(LogError, match=r"line 12"):
        read_snapshot(path, load_scenario("beauty"), strict=True)


def test_plan_from_logs_respects_opt_outs_and_caps(tmp_path):
    """Built from transactions and contacts: an unsubscribed channel is not used, a capped one neither."""
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2024-03-01,100\nb,2024-03-02,50\nc,2024-02-01,80\n")
    contacts = ["customer_id,date,channel,content,opened,unsubscribed", "a,2024-03-05,wecom,coupon,1,1"]
    contacts += [f"b,2024-03-{d:02d},wecom,content,0,0" for d in range(1, 9)]  # beauty caps wecom at 8 a month
    (tmp_path / "contacts.csv").write_text("\n".join(contacts) + "\n")
    out = tmp_path / "plan.csv"
    args = ["plan", str(tmp_path / "daily.toml"), "--transactions", str(tmp_path / "tx.csv"), "--contacts",
            str(tmp_path / "contacts.csv"), "--reachable", "wecom,sms", "--date", "2024-03-10", "--out", str(out)]
    (tmp_path / "daily.toml").write_text('policy = "fixed_cadence"\n'
                                         'params = { content_every_days = 1, channels = ["wecom", "sms"] }\n')
    assert load_scenario("beauty").channels["wecom"].cap_per_month == 8
    assert main(args) == 0
    with out.open() as fh:
        rows = {r["customer_id"]: (r["channel"], r["date"]) for r in csv.DictReader(fh)}
    assert rows == {"a": ("sms", "2024-03-10"), "b": ("sms", "2024-03-10"), "c": ("wecom", "2024-03-10")}


@pytest.mark.parametrize("extra, needle", [
    ([], "give the CRM record: --crm CRM.csv, or --transactions"),
    (["--crm", "missing.csv"], "missing.csv: no such file"),
    (["--crm", "x.csv", "--date", "2024-13-01"], "--date: expected a date as YYYY-MM-DD"),
])
def test_plan_bad_input_is_one_line(extra, needle, capsys, warm_cache):
    args = ["plan", "fatigue_capped", "--date", "2024-03-01"] + extra
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_an_invalid_action_names_the_customer(warmed):
    scenario, sim = warmed
    view = view_of_simulation(sim)

    class Spammer:
        name = "spammer"

        def reset(self, n, seed):
            pass

        def act(self, obs):
            return Action(np.zeros(obs.n, np.int8), np.zeros(obs.n, np.int8), np.zeros(obs.n, np.int8))

    first = int(np.argmax((view.reach & 1) == 0))
    with pytest.raises(InvalidActionError, match=rf"customer c{first}: channel no longer reaches this customer"):
        decide(Spammer(), view, scenario, sim.day)


def test_snapshot_columns_are_configurable(tmp_path):
    (tmp_path / "crm.csv").write_text("cust,gmv,reach\nx,900,wecom\ny,,sms|wecom\n")
    view = read_snapshot(tmp_path / "crm.csv", load_scenario("beauty"),
                         parse_columns("customer_id=cust,spend=gmv,channels=reach"))
    assert list(view.ids) == ["x", "y"] and view.monetary.tolist() == [900.0, 0.0]
    assert view.tier.tolist() == [2, 0] and view.reach.tolist() == [1, 1 | 16]
    with pytest.raises(LogError, match="--crm-columns: expected ROLE=NAME pairs"):
        parse_columns("cust")


@pytest.mark.parametrize("ref", ["rfm_tiered", "journeys"])
def test_plan_of_a_rule_with_memory_equals_the_in_simulator_action(tmp_path, ref):
    """A rule that remembers (last offers, join dates) runs 37 days on a growing pool with its contacts logged;
    ``siyu plan`` on the snapshot and the contacts log rebuilds its memory and plans what it does next inside
    the simulator, customer for customer. Without the log the plan differs."""
    from experiments.logs.export import export_logs
    scenario = load_scenario("beauty")
    sim = Simulation(scenario, customers=N, seed=6)
    policy = load_policy(ref)
    export_logs(sim, policy, WARMUP, tmp_path)
    view = view_of_simulation(sim)
    inside = sim.validate(policy.act(sim.observe()))
    write_snapshot(view, tmp_path / "crm.csv")
    want = {f"c{i}": (CHANNELS[inside.channel[i]], CONTENTS[inside.content[i]], SLOTS[inside.slot[i]])
            for i in np.flatnonzero(inside.channel[: view.n] >= 0)}
    assert view.n > N and len(want) > 50

    def plan(*extra):
        out = tmp_path / f"plan{len(extra)}.csv"
        assert main(["plan", ref, "--crm", str(tmp_path / "crm.csv"), "--date", day_date(sim.day), "--seed",
                     str(sim.seed), "--out", str(out), *extra]) == 0
        with out.open() as fh:
            return {r["customer_id"]: (r["channel"], r["content"], r["slot"]) for r in csv.DictReader(fh)}

    assert plan("--contacts", str(tmp_path / "contacts.csv")) == want
    assert plan() != want


def test_plan_on_the_first_day_of_a_cap_window_equals_the_in_simulator_action(tmp_path):
    """Day 30 opens a new 30-day cap window: the engine empties the counts before the policy looks, and so does
    the plan, though the snapshot (written before the engine looked) still holds the old window's counts."""
    scenario = load_scenario("beauty")
    sim = Simulation(scenario, customers=N, seed=9, inflow=False)
    policy = load_policy("blast")
    policy.reset(sim.n, sim.seed)
    for _ in range(30):
        sim.step(policy.act(sim.observe()))
    view = view_of_simulation(sim)
    assert sim.day == 30 and (view.month_count >= pack(scenario).caps).any()  # some caps used up
    inside = sim.validate(policy.act(sim.observe()))
    plan = decide(load_policy("blast"), view, scenario, sim.day, sim.seed)
    assert np.array_equal(plan.wanted.channel, inside.channel) and np.array_equal(plan.wanted.content, inside.content)


def test_profile_columns_round_trip_and_reach_the_plan(tmp_path):
    """hair_transplant (men, fan tiers, personal-WeChat chats): crm.csv keeps account, gender and fan_tier, and
    plan.csv repeats them for every contact."""
    scenario = load_scenario("hair_transplant")
    sim = Simulation(scenario, 2000, 3, inflow=False)
    policy = make_policy("journeys", {"welcome": [], "fan_every_days": 1, "fan_until_tier": 3})
    policy.reset(sim.n, sim.seed)
    for _ in range(12):
        sim.step(policy.act(sim.observe()))
    view = view_of_simulation(sim)
    assert view.gender.any() and view.account.any() and view.fan_tier.any()
    write_snapshot(view, tmp_path / "crm.csv")
    back = read_snapshot(tmp_path / "crm.csv", scenario)
    for name in ("account", "gender", "fan_tier"):
        assert np.array_equal(getattr(back, name), getattr(view, name)), name
    obs = sim.observe()
    assert np.array_equal(view.fan_tier, obs.fan_tier)
    plan = decide(make_policy("journeys", {"welcome": [], "fan_every_days": 1, "fan_until_tier": 3}), back,
                  scenario, sim.day)
    write_plan(plan, back, tmp_path / "plan.csv")
    with (tmp_path / "plan.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["customer_id", "date", "channel", "content", "offer", "slot", "ask", "invite", "account",
                             "gender", "fan_tier"]
    at = {cid: i for i, cid in enumerate(back.ids)}
    assert {r["gender"] for r in rows} == {"female", "male"} and {r["invite"] for r in rows} == {"none"}
    for r in rows:
        i = at[r["customer_id"]]
        assert (r["account"], r["gender"], int(r["fan_tier"])) == (
            ("wecom", "personal")[back.account[i]], ("female", "male")[back.gender[i]], int(back.fan_tier[i]))


def test_plan_carries_the_policys_invitations(tmp_path):
    """mother_baby runs invitations: the plan keeps each one the policy makes, as the engine would send it."""
    scenario = load_scenario("mother_baby")
    sim = Simulation(scenario, 3000, 5, inflow=False)
    params = {"welcome": [], "invite": "wecom", "invite_within_days": 9999}
    policy = make_policy("journeys", params)
    policy.reset(sim.n, sim.seed)
    for _ in range(3):
        sim.step(policy.act(sim.observe()))
    inside = make_policy("journeys", params)
    inside.reset(sim.n, sim.seed)
    want = sim.validate(inside.act(sim.observe()))
    view = view_of_simulation(sim)
    plan = decide(make_policy("journeys", params), view, scenario, sim.day, sim.seed)
    assert want.invite is not None and (want.invite > 0).sum() > 100
    assert np.array_equal(plan.wanted.invite, want.invite)
    kept = plan.action.invite
    assert np.array_equal(kept, want.invite * (plan.action.channel >= 0))  # minus WeCom contacts over capacity
    assert summarize(plan, scenario).invitations == (kept > 0).sum() > 100
    write_plan(plan, view, tmp_path / "plan.csv")
    with (tmp_path / "plan.csv").open() as fh:
        invited = {r["customer_id"] for r in csv.DictReader(fh) if r["invite"] == "wecom"}
    assert invited == {f"c{i}" for i in np.flatnonzero(kept)}
