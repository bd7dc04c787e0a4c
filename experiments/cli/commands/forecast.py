"""``siyu forecast``: a log's customers, each conditioned on their own history, simulated to a date."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from experiments.cli.commands.calibrate import add_log_arguments, read_log
from experiments.cli.options import UserError, positive_int, seed_int
from experiments.console import console, out_console


def cmd_forecast(args: argparse.Namespace) -> int:
    """forecast.csv, customers.csv and forecast.png (against the actual counts where the log has them)."""
    import numpy as np

    from experiments.calibrate.forecast import band_warning, contact_draws, forecast, plan_policy
    from experiments.logs.contacts import parse_channel_map, read_contacts
    from experiments.calibrate.customer_check import check
    from experiments.calibrate.history import histories, holdout_by_customer, holdout_weekly
    from experiments.calibrate.holdout import departures, fade_sentence, holdout_weeks, mape, spans
    from experiments.calibrate.plots import forecast_figure
    from experiments.calibrate.scenario_file import fitted_errors
    from experiments.logs.rows import parse_date_argument
    from sim.config import load_scenario
    scenario = load_scenario(args.scenario)
    tx, end = read_log(args.cohort, args)
    until = parse_date_argument(args.until, "--until")
    if until <= end:
        raise UserError(f"--until {args.until}: must be after --calibration-end {args.calibration_end}")
    h = histories(tx, end)
    plan = None
    if args.contacts:
        contacts = read_contacts(args.contacts, h.ids, args.date_format, None, parse_channel_map(args.channel_map),
                                 args.strict, plan_days=(end + 1, until))
        for line in contacts.report.lines():
            console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        plan = plan_policy(contacts, end)
    errors = fitted_errors(Path(args.scenario))
    if errors.draws is not None:
        out_console.print(f"{args.scenario}: each simulation takes its fitted values from one of "
                          f"{errors.draws.j.size} quasi-posterior draws, picked by weight (worth "
                          f"{errors.draws.ess():.0f} equally weighted ones)")
    elif errors.basins:
        weights = ", ".join(f"{c.weight:.2f}" for c in errors.basins)
        out_console.print(f"{args.scenario}: mixing {len(errors.basins)} fits the log cannot tell apart, weights "
                          f"{weights} (the file's own values first)")
    if plan is not None and errors.has_contacts:
        out_console.print(f"{args.scenario}: each simulation redraws the contact-response parameters from their fit's "
                          f"uncertainty ({contact_draws(errors)})")
    warning = band_warning(args.replicates)
    if warning:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    fc = forecast(scenario, h, until - end, args.replicates, args.seed, errors=errors, plan=plan)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "forecast.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["week", "expected_cumulative_repeat", "low", "high"])
        for row in zip(fc.weeks, fc.mean, fc.low, fc.high):
            w.writerow([int(row[0])] + [f"{v:.2f}" for v in row[1:]])
    with (out / "customers.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "expected_transactions", "expected_spend", "p_alive"])
        for row in zip(h.ids, fc.expected_transactions, fc.expected_spend, fc.p_alive):
            w.writerow([row[0], f"{row[1]:.4f}", f"{row[2]:.2f}", f"{row[3]:.3f}"])
    weeks = min(holdout_weeks(tx, end), (until - end) // 7)  # whole weeks only: a last partial one is not a week
    actual = np.cumsum(holdout_weekly(tx, end, weeks)) if weeks else None
    runs = departures(actual, fc.replicates) if actual is not None else ()
    departed = spans(runs)
    forecast_figure(fc.weeks, fc.mean, fc.low, fc.high, actual, out / "forecast.png", departures=departed)
    out_console.print(f"{h.n:,} customers, {fc.weeks.size} weeks: {fc.mean[-1]:,.0f} repeat transactions expected "
                      f"(give or take at most {fc.total_se():,.0f} of simulation error; 90% band {fc.low[-1]:,.0f} to "
                      f"{fc.high[-1]:,.0f})")
    if (part := (until - end) % 7) != 0:
        out_console.print(f"week {fc.weeks.size} ends at --until {args.until}: its row counts {part} day"
                          f"{'s' if part > 1 else ''} of it, not 7")
    if plan is not None:
        out_console.print(f"plan {args.contacts}: {fc.contacts_sent:,.0f} contacts delivered per simulation, "
                          f"{fc.contacts_refused:,.0f} not deliverable (channel lost or cap used up)")
    if actual is not None:
        total, curve = mape(fc.mean[:weeks], actual)
        out_console.print(f"against the {weeks} weeks the log has: {100 * total:.1f}% off the total, "
                          f"curve MAPE {100 * curve:.1f}%")
        for run in runs:
            out_console.print(run.sentence(), highlight=False)
        if fade := fade_sentence(actual, departed, {"siyu": fc.mean}):
            out_console.print(fade, highlight=False)
    if int(tx.day.max()) >= until and (each := holdout_by_customer(tx, end, until - end)).sum() > 0:
        found = check({"siyu": fc.expected_transactions}, each, args.replicates, args.seed).scores["siyu"]
        out_console.print(f"who bought up to --until: the fifth of customers customers.csv expects most of made "
                          f"{found.top_share:.1%} of the {each.sum():,.0f} repeat transactions; AUC {found.auc:.3f} "
                          "(bought again or not; siyu calibrate's fit.md sets both beside BG/NBD's and Pareto/NBD's)",
                          highlight=False)
    if fc.records:
        summed = " sum their daily purchase chances (not the drawn purchases) and" if fc.chances else ""
        out_console.print(f"customers.csv: each customer's expectations{summed} are pooled with those of the customers "
                          f"who share their record ({fc.records:,} records among {h.n:,} customers): the engine "
                          "simulates them alike, so the pool keeps the mean and divides the simulation noise",
                          highlight=False)
    elif fc.chances:
        out_console.print("customers.csv: each customer's expected transactions sum their daily purchase chances, "
                          "and on the days the plan contacts them whether they bought (a contact's response has no "
                          "chance summed); not pooled, the plan treating customers apart", highlight=False)
    out_console.print(f"wrote {out / 'forecast.csv'}, {out / 'customers.csv'} and {out / 'forecast.png'}")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu forecast``."""
    p = sub.add_parser("forecast", help="simulate a log's customers, conditioned on their histories, to a date")
    p.add_argument("scenario", metavar="SCENARIO", help="preset name or TOML file (e.g. from siyu calibrate)")
    p.add_argument("--cohort", required=True, metavar="TRANSACTIONS.csv", help="the customers' orders")
    add_log_arguments(p)
    p.add_argument("--until", required=True, metavar="DATE", help="last day (YYYY-MM-DD) simulated")
    p.add_argument("--contacts", default=None, metavar="PLAN.csv",
                   help="contact plan replayed in the forecast: customer_id, date, channel, content[, slot]")
    p.add_argument("--channel-map", action="append", default=None, metavar="NAME=CHANNEL",
                   help="map a channel of the plan to a scenario channel (repeatable), e.g. email=sms")
    p.add_argument("--replicates", type=positive_int, default=100, metavar="N",
                   help="simulations behind the mean and the 90%% band (default 100; below 19 the band is "
                        "their range and holds the actual with chance (N - 1) / (N + 1) only)")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed (default 0)")
    p.add_argument("--out", default="runs/forecast", metavar="DIR", help="output folder (default runs/forecast)")
    p.set_defaults(func=cmd_forecast)
