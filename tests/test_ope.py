"""Off-policy evaluation: the estimators' formulas, their coverage on engine campaigns, DR against IPS, ``siyu ope``."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from experiments.cli.app import main
from experiments.crm.snapshot import write_snapshot
from experiments.ope.decisions import value
from experiments.ope.simulate import campaign, true_value, warmed_pool, write_logs
from experiments.stats.ope import evaluate, outcome_model
from policies.randomized import RandomizedCampaign, parse_arms
from policies.registry import load_policy, make_policy
from sim.config import load_scenario

ARMS = "none,wecom:coupon,sms:flash_sale,wecom:content"
HORIZON = 14


def candidates():
    """Candidates within the arms: nobody, a WeCom coupon to all, and a content/coupon mix on WeCom."""
    return {"no_contact": load_policy("no_contact"),
            "wecom_coupon": make_policy("fixed_cadence", {"content_every_days": 1, "offer_every_days": 0,
                                                          "content": "coupon", "channels": ["wecom"]}),
            "mixed": make_policy("fixed_cadence", {"content_every_days": 2, "offer_every_days": 3,
                                                   "content": "content", "offer": "coupon", "channels": ["wecom"]})}


def test_formulas_on_a_hand_computed_example():
    r = np.array([1.0, 2.0, 3.0])
    logged, target = np.array([0, 1, 0]), np.array([0, 0, 0])
    p = np.array([0.5, 0.5, 0.25])
    q = np.array([[1.5, 0.0], [1.0, 2.0], [2.0, 0.0]])
    est = evaluate(r, logged, p, target, q, draws=10)
    # w = (2, 0, 4): IPS = (2*1 + 4*3) / 3, SNIPS = 14 / 6, DR = mean(q_t + w (r - q_a)), ESS = 36 / 20
    assert est.get("ips").value == pytest.approx(14 / 3)
    assert est.get("snips").value == pytest.approx(14 / 6)
    assert est.get("dr").value == pytest.approx(((1.5 + 2 * -0.5) + 1.0 + (2.0 + 4 * 1.0)) / 3)
    assert est.ess == pytest.approx(1.8) and est.matched == 2
    assert est.warning and "effective sample size 2 < 100" in est.warning


def synthetic(rng, n, right_model=True):
    """Logged bandit data: two features, three arms, softmax logging, linear outcomes with noise."""
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([0.5 * x[:, 0], -0.5 * x[:, 1], np.zeros(n)])
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    mean = np.column_stack([2 + 3 * x[:, 0], 1 + 2 * x[:, 1], 2.5 - x[:, 0] + x[:, 1]])
    r = mean[np.arange(n), a] + rng.normal(size=n)
    target = np.argmax(mean * np.array([1.0, 0.9, 1.1]), axis=1)  # a good but imperfect candidate
    truth = mean[np.arange(n), target].mean()
    feats = x if right_model else np.column_stack([np.sign(x[:, 0])])
    return r, a, prob[np.arange(n), a], target, outcome_model(feats, a, r, 3), truth


def test_dr_beats_ips_where_the_outcome_model_is_right():
    rng = np.random.default_rng(12)
    err = {"ips": [], "snips": [], "dr": []}
    for _ in range(200):
        r, a, p, t, q, truth = synthetic(rng, 1000)
        est = evaluate(r, a, p, t, q, draws=2)
        for k in err:
            err[k].append(est.get(k).value - truth)
    sq = {k: np.square(v) for k, v in err.items()}
    d = sq["ips"] - sq["dr"]
    z = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert z > 3, (z, {k: float(np.sqrt(v.mean())) for k, v in sq.items()})
    # unbiased all three: the mean error within 3 standard errors of zero
    for k, v in err.items():
        v = np.asarray(v)
        assert abs(v.mean()) < 3 * v.std(ddof=1) / math.sqrt(v.size), k


def test_dr_stays_unbiased_with_a_wrong_model():
    rng = np.random.default_rng(13)
    errs = []
    for _ in range(200):
        r, a, p, t, q, truth = synthetic(rng, 1000, right_model=False)
        errs.append(evaluate(r, a, p, t, q, draws=2).get("dr").value - truth)
    e = np.asarray(errs)
    assert abs(e.mean()) < 3 * e.std(ddof=1) / math.sqrt(e.size)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("beauty")


def test_intervals_cover_the_true_simulated_values(scenario):
    """20 engine campaigns x 3 candidates: each estimator's 95% intervals cover the true value at least
    at the nominal rate less 3 binomial standard errors (52 of 60)."""
    arms = parse_arms(ARMS)
    covered = {"ips": 0, "snips": 0, "dr": 0}
    total = 0
    for seed in range(20):
        c = campaign(warmed_pool(scenario, 2000, seed, 30), RandomizedCampaign(arms), HORIZON)
        for policy in candidates().values():
            truth = true_value(c.sim, policy, HORIZON)
            est = value(policy, c.decisions, scenario, c.support, seed=seed)
            assert est.unsupported == 0 and est.ess > 300
            for e in est.estimates:
                covered[e.estimator] += e.low <= truth <= e.high
            total += 1
    floor = total * 0.95 - 3 * math.sqrt(total * 0.95 * 0.05)
    assert all(k >= floor for k in covered.values()), (covered, total)


def test_unsupported_actions_are_counted_and_warned(scenario):
    c = campaign(warmed_pool(scenario, 1000, 3, 10), RandomizedCampaign(parse_arms("none,wecom:coupon")), HORIZON)
    est = value(load_policy("blast"), c.decisions, scenario, c.support)
    assert est.unsupported > 0 and "never gave them" in est.warning


@pytest.fixture(scope="module")
def logged(scenario, tmp_path_factory):
    """An engine campaign written as a brand's logs, with the CRM snapshot of the campaign day."""
    out = tmp_path_factory.mktemp("campaign")
    c = campaign(warmed_pool(scenario, 2000, 7, 30), RandomizedCampaign(parse_arms(ARMS)), HORIZON)
    write_logs(c, out)
    write_snapshot(c.decisions.view, out / "crm.csv")
    return c, out


def test_cli_matches_the_library_on_written_logs(scenario, logged, tmp_path):
    c, out = logged
    args = ["ope", "no_contact", "blast", "--contacts", str(out / "contacts.csv"), "--transactions",
            str(out / "transactions.csv"), "--crm", str(out / "crm.csv"), "--out", str(tmp_path), "--seed", "7"]
    assert main(args) == 0
    with (tmp_path / "ope.csv").open() as fh:
        rows = {(r["policy"], r["estimator"]): r for r in csv.DictReader(fh)}
    want = value(load_policy("no_contact"), c.decisions, scenario, seed=7)
    for e in want.estimates:
        got = rows[("no_contact", e.estimator)]
        # the same estimate, up to the logged amounts' rounding to 0.01 yuan
        assert float(got["value"]) == pytest.approx(e.value, rel=1e-4)
        assert float(got["low"]) == pytest.approx(e.low, rel=1e-4)
    assert int(rows[("blast", "ips")]["unsupported"]) > 0 and rows[("blast", "ips")]["warning"]


def test_cli_bad_propensities_are_reported(logged, tmp_path, capsys):
    _, out = logged
    text = (out / "contacts.csv").read_text().splitlines()
    bad = text[:3] + [text[3].rsplit(",", 1)[0] + ",1.5"] + text[4:]
    (tmp_path / "contacts.csv").write_text("\n".join(bad) + "\n")
    args = ["ope", "no_contact", "--contacts", str(tmp_path / "contacts.csv"), "--transactions",
            str(out / "transactions.csv"), "--crm", str(out / "crm.csv"), "--out", str(tmp_path)]
    assert main(args) == 0
    said = " ".join("".join(capsys.readouterr()).split())
    assert "1 row (line 4) with a propensity that is not a probability in (0, 1]: dropped" in said
    assert "1,999 logged decisions" in said
    assert main(args + ["--propensity", "prob"]) == 2
    assert "no column 'prob'" in " ".join("".join(capsys.readouterr()).split())


def test_cli_without_snapshot_builds_the_record_from_the_logs(logged, tmp_path):
    """No --crm: the campaign day's record comes from the logs; a no-contact candidate's IPS does not need it."""
    c, out = logged
    args = ["ope", "no_contact", "--contacts", str(out / "contacts.csv"), "--transactions",
            str(out / "transactions.csv"), "--out", str(tmp_path), "--propensity", "uniform"]
    assert main(args) == 0
    with (tmp_path / "ope.csv").open() as fh:
        ips = next(r for r in csv.DictReader(fh) if r["estimator"] == "ips")
    # the campaign was uniform over 4 arms, but arms a customer cannot be reached on fold into no contact:
    # 'uniform' (1/4) understates those customers' odds of no contact, so IPS overweights them
    exact = value(load_policy("no_contact"), c.decisions, load_scenario("beauty"), seed=0).get("ips").value
    assert int(ips["decisions"]) == 2000 and float(ips["value"]) > exact + 3


def test_cli_an_arm_outside_the_arms_names_its_line(logged, tmp_path, capsys):
    _, out = logged
    args = ["ope", "no_contact", "--contacts", str(out / "contacts.csv"), "--transactions",
            str(out / "transactions.csv"), "--crm", str(out / "crm.csv"), "--arms", "none,wecom:coupon",
            "--out", str(tmp_path)]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "contacts.csv: line " in err and "an arm not in --arms (none, wecom:coupon)" in err


def test_cli_reads_a_rule_with_a_control_group_as_export_logs_writes_it(scenario, tmp_path, capsys):
    """export_logs with a 50% control group: on the first day, IPS of no contact is the controls' revenue / 0.5
    and IPS of the rule itself the contacted customers' revenue / 0.5, both per targeted customer."""
    from experiments.logs.export import day_date, export_logs
    from experiments.crm.snapshot import view_of_simulation
    sim = warmed_pool(scenario, 2000, 4, 30)
    day = sim.day
    write_snapshot(view_of_simulation(sim), tmp_path / "crm.csv")
    export_logs(sim, load_policy("fatigue_capped"), HORIZON, tmp_path, control_share=0.5, seed=4)
    args = ["ope", "no_contact", "fatigue_capped", "--contacts", str(tmp_path / "contacts.csv"), "--transactions",
            str(tmp_path / "transactions.csv"), "--crm", str(tmp_path / "crm.csv"), "--propensity", "control:0.5",
            "--campaign-date", day_date(day), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    with (tmp_path / "contacts.csv").open() as fh:
        first = [r for r in csv.DictReader(fh) if r["date"] == day_date(day)]
    revenue: dict[str, float] = {}
    with (tmp_path / "transactions.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["date"] < day_date(day + HORIZON):
                revenue[r["customer_id"]] = revenue.get(r["customer_id"], 0.0) + float(r["amount"])
    control = sum(revenue.get(r["customer_id"], 0.0) for r in first if r["content"] == "none")
    sent = sum(revenue.get(r["customer_id"], 0.0) for r in first if r["content"] != "none")
    with (tmp_path / "out" / "ope.csv").open() as fh:
        ips = {r["policy"]: r for r in csv.DictReader(fh) if r["estimator"] == "ips"}
    assert int(ips["no_contact"]["decisions"]) == len(first) > 100
    assert float(ips["no_contact"]["value"]) == pytest.approx(control / 0.5 / len(first))
    assert float(ips["fatigue_capped"]["value"]) == pytest.approx(sent / 0.5 / len(first))
    # the rule is supported wherever the arm it wants was sent to someone that day: a control row on a channel no
    # contact went out on that day (official_account here) is an arm the logs never gave
    sent_channels = {r["channel"] for r in first if r["content"] != "none"}
    alone = sum(r["content"] == "none" and r["channel"] not in sent_channels for r in first)
    assert int(ips["fatigue_capped"]["unsupported"]) == alone
    assert main(args + ["--propensity", "control:1.5"]) == 2
    assert "control:SHARE needs a share in (0, 1)" in " ".join(capsys.readouterr().err.split())


CANDIDATE_FILES = {
    "wecom_coupon": 'policy = "fixed_cadence"\nname = "wecom_coupon"\nparams = { content_every_days = 1, '
                    'offer_every_days = 0, content = "coupon", channels = ["wecom"] }\n',
    "mixed": 'policy = "fixed_cadence"\nname = "mixed"\nparams = { content_every_days = 2, offer_every_days = 3, '
             'content = "content", offer = "coupon", channels = ["wecom"] }\n'}
"""The candidates of :func:`candidates` other than no_contact, as the policy files ``siyu ope`` takes."""


def test_cli_on_export_logs_of_a_randomised_campaign_covers_the_true_values(scenario, tmp_path):
    """export_logs(log_no_contact=True) of a RandomizedCampaign, read by ``siyu ope``: one decision per customer,
    and over 10 pools x 3 candidates the DR intervals cover the engine's true values at least at the nominal
    rate less 3 binomial standard errors (25 of 30). Without the option the no-contact draws are missing."""
    import copy

    from experiments.crm.snapshot import view_of_simulation
    from experiments.logs.export import day_date, export_logs
    arms = parse_arms(ARMS)
    covered = total = 0
    for seed in range(10):
        sim = warmed_pool(scenario, 1000, 200 + seed, 20)
        day, out = sim.day, tmp_path / str(seed)
        refs = ["no_contact"]
        for name, text in CANDIDATE_FILES.items():
            out.mkdir(exist_ok=True)
            (out / f"{name}.toml").write_text(text)
            refs.append(str(out / f"{name}.toml"))
        truth = {ref: true_value(sim, load_policy(ref), HORIZON) for ref in refs}
        write_snapshot(view_of_simulation(sim), out / "crm.csv")
        if seed == 0:
            export_logs(copy.deepcopy(sim), RandomizedCampaign(arms, days=(day,)), HORIZON, out / "without")
            with (out / "without" / "contacts.csv").open() as fh:
                nones = sum(r["content"] == "none" for r in csv.DictReader(fh))
            assert nones == 0
        export_logs(sim, RandomizedCampaign(arms, days=(day,)), HORIZON, out, log_no_contact=True, seed=seed)
        args = ["ope", *refs, "--contacts", str(out / "contacts.csv"), "--transactions",
                str(out / "transactions.csv"), "--crm", str(out / "crm.csv"), "--campaign-date", day_date(day),
                "--arms", ARMS, "--out", str(out / "ope"), "--seed", str(seed)]
        assert main(args) == 0
        with (out / "ope" / "ope.csv").open() as fh:
            dr = {r["policy"]: r for r in csv.DictReader(fh) if r["estimator"] == "dr"}
        for ref, true in truth.items():
            row = dr[load_policy(ref).name]
            assert int(row["decisions"]) == 1000 and row["unsupported"] == "0"
            covered += float(row["low"]) <= true <= float(row["high"])
            total += 1
    floor = total * 0.95 - 3 * math.sqrt(total * 0.95 * 0.05)
    assert covered >= floor, (covered, total)
