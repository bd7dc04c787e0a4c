"""``siyu calibrate``: fit a scenario to a brand's transaction log (scenario.toml, fit.md, fit.png)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

from experiments.cli.options import DEFAULT_SCENARIO, UserError, jobs_int, positive_int, positive_number, seed_int
from experiments.console import console, count, out_console, with_progress

FITTED_NAMES = ("population.cycle_median_days", "population.cycle_sigma", "population.dropout_per_year",
                "population.dropout_sigma")
"""``experiments.calibrate.fit.FITTED`` (not imported here: the CLI loads the engine only when a command runs)."""
SIM_RATIO, MIN_POOL, MAX_POOL = 4, 10_000, 400_000
"""``experiments.calibrate.fit``'s, for ``--min-pool`` (not imported here, as above)."""


def add_log_arguments(p: argparse.ArgumentParser) -> None:
    """``--calibration-end``, ``--columns``, ``--date-format`` and ``--strict``: how a log is read."""
    p.add_argument("--calibration-end", required=True, metavar="DATE",
                   help="last day (YYYY-MM-DD) of the period the fit or the conditioning uses")
    p.add_argument("--columns", default=None, metavar="ROLE=NAME,...",
                   help="header names if not customer_id, date, amount (e.g. customer_id=cust,date=order_date)")
    p.add_argument("--date-format", default="iso", metavar="FMT",
                   help="strptime format of the dates, e.g. %%Y%%m%%d or %%d/%%m/%%Y (default: ISO, YYYY-MM-DD)")
    p.add_argument("--strict", action="store_true",
                   help="fail on the first kind of bad row instead of leaving them out")


def read_log(path: str, args: argparse.Namespace) -> tuple[Any, int]:
    """The transactions and the calibration end's day number; each kind of bad row printed as one warning line."""
    from experiments.logs.transactions import Columns, read_transactions
    from experiments.logs.rows import parse_date_argument
    end = parse_date_argument(args.calibration_end, "--calibration-end")
    tx = read_transactions(path, Columns.parse(args.columns), args.date_format, end, args.strict)
    for line in tx.report.lines():
        console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
    return tx, end


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit, write scenario.toml, fit.md and the figures, and compare the holdout when the log has one."""
    from experiments.calibrate.bootstrap import bootstrap
    from experiments.calibrate.contact_response import log_responses
    from experiments.calibrate.fit import (EXTRA_NAMES, JOINERS, PERSISTENCE, Design, fitted_names, misfit, optional,
                                          range_end, refuse_joiners, scan_box)
    from experiments.calibrate.forecast import Uncertainty, band_warning
    from experiments.calibrate.history import histories, weekly_repeats, daily
    from experiments.calibrate.holdout import compare, holdout_weeks
    from experiments.calibrate.plots import fit_figure, forecast_figure
    from experiments.calibrate.prior import anchor
    from experiments.calibrate.draws import FILE as DRAWS_FILE
    from experiments.calibrate.report import ESS_WARNING, fit_markdown, hints, notes, sandwich_warning
    from experiments.calibrate.scenario_file import read_prior, write_scenario
    from experiments.logs.contacts import parse_channel_map, read_contacts
    from sim.config import load_scenario, preset_names, preset_text
    also = optional(args.fit)
    box = scan_box(args.scan_box, fitted_names(also, args.hold))
    if args.seed + args.seeds > 2**63:
        raise UserError(f"--seed {args.seed} --seeds {args.seeds}: the searches' seeds (S to S+K-1) must stay "
                        "below 2**63")
    if args.seeds > 1 and args.basins > 1:
        raise UserError("--seeds and --basins cannot be combined (their mixtures weigh fits by criteria of different "
                        "simulations)")
    tx, end = read_log(args.transactions, args)
    if args.contacts:
        contacts = read_contacts(args.contacts, tx.ids, args.date_format, end, parse_channel_map(args.channel_map),
                                 args.strict)
        for line in contacts.report.lines():
            console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        console.print(f"{args.contacts}: {count(contacts.day.size, 'valid contact row')}; the contact-response "
                      "parameters they identify are fitted (fit.md)")
    base = load_scenario(args.base)
    base_text = preset_text(args.base) if args.base in preset_names() else Path(args.base).read_text(encoding="utf-8")
    h = histories(tx, end)
    if JOINERS in also:  # before any search: a worker's error would not be one line
        if args.no_joiners:
            raise UserError(f"--fit {JOINERS} and --no-joiners contradict each other: keep one")
        refuse_joiners(Design.of(h))
    cust, day, _ = daily(tx.before(end))
    started = time.perf_counter()
    weekly = weekly_repeats(cust, day, int(h.first.min()), end)
    extra = EXTRA_NAMES + ((PERSISTENCE,) if args.persistence else ())
    out = Path(args.out)
    options = dict(starts=args.starts, also=also, basins=args.basins, extra=extra, hold=tuple(args.hold))
    if box:  # only then in the saved searches' keys: a default run keeps its files
        options["scan_box"] = box
    if args.min_pool is not None:  # likewise
        options["min_pool"] = args.min_pool
    if args.prior is not None:  # likewise; it must anchor a fitted value, checked before any search
        options["prior"] = read_prior(Path(args.prior), args.prior_weight)
        anchor(options["prior"], fitted_names(also, args.hold), 1.0)
    elif args.prior_weight != 1.0:
        raise UserError("--prior-weight weighs a --prior: give the scenario file of the other fit too")
    follow = not args.no_joiners and JOINERS not in also
    cal = fitted(h, base, weekly, args, out, {**options, "joiners_follow": True} if follow else options)
    tag = ""
    if follow:
        cal, options, tag = with_joiners_choice(cal, h, weekly, args, out, options)
    if not args.keep_base_dropout:
        cal = with_dropout_choice(cal, h, weekly, args, out, options, tag)
    method = "sandwich" if args.bootstrap == 0 else args.intervals
    if method == "profile":
        from experiments.calibrate.profile import profile, with_profile
        cal = with_profile(cal, profile(cal))
    elif method in ("bootstrap", "bootstrap-search"):
        jac = None
        if method == "bootstrap":
            from experiments.calibrate.profile import binding_of, central_jacobian
            jac = central_jacobian(binding_of(cal), cal.matched.theta)
        cal = with_progress(args.bootstrap, "bootstrap", lambda tick: bootstrap(
            cal, args.bootstrap, args.seed, tick=tick, jac=jac, jobs=args.jobs), unit="refits")
    if args.draws:
        cal = with_draws(cal, args.draws, args.seed, args.jobs)
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    write_scenario(cal, base_text, out / "scenario.toml", f"calibrated_{Path(args.transactions).stem}",
                   Path(args.transactions).name)
    fit_figure(h, cal.sim.histories, cal.data_weekly, cal.sim.weekly, out / "fit.png")
    if cal.draws is not None:
        from experiments.calibrate.plots import draws_figure
        d = cal.draws
        draws_figure(d.names, d.values, d.j, d.weight, cal.values, out / "draws.png", d.dispersion)
    weeks = holdout_weeks(tx, end)
    hold = None
    if weeks >= 1 and not args.no_holdout:
        warning = band_warning(args.replicates)
        if warning:
            console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
        hold = compare(cal.scenario, h, tx, weeks, args.replicates, args.seed, Uncertainty.of(cal))
        forecast_figure(hold.siyu.weeks, hold.siyu.mean, hold.siyu.low, hold.siyu.high, hold.actual,
                        out / "holdout.png", hold.bgnbd, hold.paretonbd, hold.departed)
    responses = log_responses(contacts, tx, end) if args.contacts else None
    text = fit_markdown(cal, Path(args.transactions).name, args.base, tx.report.lines(), hold, seconds, responses,
                        box)
    if args.contacts:
        from experiments.calibrate.contact_fit import fit_contacts
        from experiments.calibrate.report import contact_fit_lines
        from experiments.calibrate.scenario_file import write_contact_fit
        contact = fit_contacts(contacts, tx, end, cal.scenario, seed=args.seed)
        write_contact_fit(out / "scenario.toml", contact)
        text += "\n".join(contact_fit_lines(contact)) + "\n"
    (out / "fit.md").write_text(text, encoding="utf-8")
    for name, v in cal.values.items():
        end = range_end(name, v)
        out_console.print(f"{name} = {v:.4g} " + (f"(at the {end} end of its range: no SE)" if end
                                                   else f"(SE {cal.ses[name]:.2g})"))
    for name in cal.fixed:
        out_console.print(f"{name}: not identified by this log, kept at the base value")
    test = misfit(cal)
    if test is not None:
        out_console.print(("[yellow]warning:[/yellow] " if test.rejected else "") + test.line(), highlight=False)
    warning = sandwich_warning(cal)
    if warning:
        out_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for line in notes(cal):
        out_console.print(f"note: {line}", highlight=False)
    for hint in hints(cal):
        out_console.print(f"hint: {hint}", highlight=False)
    if cal.seed_fits:
        out_console.print(f"{len(cal.seed_fits)} simulation seeds: the estimate is seed {cal.matched.seed}'s; the "
                          "forecast mixes the seeds' estimates, weights "
                          + ", ".join(f"{f.seed}: {f.weight:.2f}" for f in cal.seed_fits) + " (fit.md)")
    elif cal.basins:
        out_console.print(f"other fits that pass the misfit test too (--basins): {len(cal.basins)}; the forecast "
                          f"mixes them with the estimate, weights "
                          + ", ".join(f"{w:.2f}" for w in cal.mixture_weights()) + " (fit.md)")
    if cal.draws is not None:
        d = cal.draws
        warn = "[yellow]warning:[/yellow] " if d.ess() < ESS_WARNING else ""
        few = f", fewer than {ESS_WARNING}: a few carry the forecast" if warn else ""
        out_console.print(f"{warn}{d.j.size} quasi-posterior draws, worth {d.ess():.0f} equally weighted ones{few}; "
                          f"siyu forecast takes its values from them ({out / DRAWS_FILE}, fit.md)", highlight=False)
    if args.contacts:
        for name, v in contact.values.items():
            out_console.print(f"{name} = {v:.4g} (SE {contact.ses[name]:.2g})")
        if not contact.lift_identified:
            out_console.print("purchase lift not identified (no control rows where contents went out alone): "
                              "conversions kept at the base values")
    if hold is not None:
        out_console.print(f"holdout, {hold.weeks} weeks: siyu {100 * hold.siyu_error[0]:.1f}% off the total "
                          f"(curve MAPE {100 * hold.siyu_error[1]:.1f}%), BG/NBD {100 * hold.bgnbd_error[0]:.1f}% "
                          f"(curve MAPE {100 * hold.bgnbd_error[1]:.1f}%), Pareto/NBD "
                          f"{100 * hold.paretonbd_error[0]:.1f}% (curve MAPE {100 * hold.paretonbd_error[1]:.1f}%)")
        for line in hold.said():
            out_console.print(line, highlight=False)
        if hold.customers is not None:
            out_console.print(hold.customers.summary(), highlight=False)
    out_console.print(f"wrote {out / 'scenario.toml'}, {out / 'fit.md'} and figures")
    return 0


def fitted(h: Any, base: Any, weekly: Any, args: argparse.Namespace, out: Path, options: dict[str, Any],
           tag: str = "") -> Any:
    """The calibration from ``base``: one search, or ``--seeds`` searches mixed on common simulations."""
    fits = searched_fits(h, base, weekly, args, out, options, tag)
    if len(fits) == 1:
        return fits[0]
    from experiments.calibrate.seeds import across_seeds
    cal = with_progress(len(fits), "common simulations", lambda tick: across_seeds(fits, args.seed, tick=tick),
                        unit="estimates")
    if len(cal.seed_fits) < len(fits):
        console.print(f"[yellow]warning:[/yellow] interrupted: mixing the {count(len(cal.seed_fits), 'estimate')} "
                      "scored on the common simulations", highlight=False)
    return cal


def with_joiners_choice(cal: Any, h: Any, weekly: Any, args: argparse.Namespace, out: Path,
                        options: dict[str, Any]) -> tuple[Any, dict[str, Any], str]:
    """``cal``, or where a closed pool failed and the log's first orders come late, a refit with the pool's joiners.

    ``cal`` was searched with ``joiners_follow`` (its searches stop where the refit follows), ``options`` without.
    Returns the calibration, the options it was searched with and the tag of its saved searches
    (``seed-S-joiners.json``), for the dropout choice that follows; interrupted (Ctrl-C) before the refit's
    searches finish, ``cal`` as it is.
    """
    from experiments.calibrate.fit import JOINERS, first_late_gap
    from experiments.calibrate.joiners_choice import first_orders_late
    from experiments.calibrate.pool_joiners import with_joiners

    joined = {**options, "also": (*options["also"], JOINERS)}

    def refit(base: Any) -> Any:
        console.print(f"{first_orders_late(first_late_gap(cal.data, cal.sim.histories))} and the fit fails the "
                      f"misfit test: its later first orders look like new customers, so fitting again with {JOINERS} "
                      "(about as long as a fit; --no-joiners skips this)", highlight=False)
        return fitted(h, base, weekly, args, out, joined, JOINERS_TAG)

    def search_on() -> Any:
        console.print("the fit without joiners stopped after a search that asked for them, but its refined estimate "
                      "does not: searching its other starts", highlight=False)
        return fitted(h, cal.base, weekly, args, out, options, CLOSED_TAG)

    try:
        chosen = with_joiners(cal, refit, search_on, options["starts"])
    except KeyboardInterrupt:
        console.print("[yellow]warning:[/yellow] interrupted before the refit with joiners finished: the first fit "
                      "alone, without joiners", highlight=False)
        return cal, options, ""
    return (chosen, joined, JOINERS_TAG) if chosen.joiners_choice is not None else (chosen, options, "")


JOINERS_TAG = "-joiners"
"""Added to the names of the saved searches of the refit with joiners (:func:`with_joiners_choice`)."""
CLOSED_TAG = "-closed"
"""Added to the names of the saved searches of a closed pool searched again from all its starts
(:func:`with_joiners_choice`)."""


def with_dropout_choice(cal: Any, h: Any, weekly: Any, args: argparse.Namespace, out: Path,
                        options: dict[str, Any], tag: str = "") -> Any:
    """``cal``, or where it kept a dropout rate the log does not show, it and a refit with none, mixed.

    The refit's searches are kept beside the first fit's (``seed-S-no-dropout.json``, after ``tag``: a refit with
    joiners' ``seed-S-joiners-no-dropout.json``); interrupted (Ctrl-C) before any finishes, ``cal`` as it is.
    """
    from experiments.calibrate.fit import scenario_value
    from experiments.calibrate.kept_dropout import RATE, TAG, with_choice

    def refit(base: Any, hopeless_above: float) -> Any:
        console.print(f"the log shows no dropout, so the fit kept the base scenario's {RATE} = "
                      f"{scenario_value(cal.base, RATE):g}: fitting again from a base with none, to mix the two by "
                      "how well each fits the calibration period (about as long again; --keep-base-dropout skips "
                      "this)", highlight=False)
        return fitted(h, base, weekly, args, out, {**options, "hopeless_above": hopeless_above}, tag + TAG)

    try:
        return with_choice(cal, refit, args.seed)
    except KeyboardInterrupt:
        console.print("[yellow]warning:[/yellow] interrupted before the refit without dropout finished: the "
                      "first fit alone, its base's dropout rate kept", highlight=False)
        return cal


def searched_fits(h: Any, base: Any, weekly: Any, args: argparse.Namespace, out: Path,
                  options: dict[str, Any], tag: str = "") -> list[Any]:
    """One calibration per simulation seed of ``--seeds``, in seed order, each search kept as it finishes.

    Searched in ``--jobs`` processes, or taken back from ``OUT/searches`` where a run with the same inputs kept
    it; interrupted (Ctrl-C) after one or more searches, those done.
    """
    from experiments.calibrate.fit import calibrate
    from experiments.calibrate.searches import FOLDER, SearchJob, searches

    jobs = [SearchJob(h, base, args.seed + k, options, tag) for k in range(args.seeds)]
    of = {job.seed: k + 1 for k, job in enumerate(jobs)}
    total = f" of {args.seeds}" if args.seeds > 1 else ""

    def resumed(job: Any, path: Path) -> None:
        console.print(f"search{' ' + str(of[job.seed]) if total else ''}{total} (simulation seed {job.seed}): "
                      f"taken from {path} (same log, base scenario, options and code)", highlight=False)

    def ignored(path: Path, why: str) -> None:
        console.print(f"[yellow]warning:[/yellow] {path}: not used, {why}; searching again", highlight=False)

    workers = min(args.jobs, args.seeds)
    if args.seeds > 1:
        console.print(f"{args.seeds} searches (simulation seeds {args.seed} to {args.seed + args.seeds - 1}), "
                      f"{workers} at a time; each is kept in {out / FOLDER} as it finishes",
                      highlight=False)
    done: dict[int, Any] = {}
    try:
        for job, found in searches(jobs, out, workers, resumed, ignored):
            done[job.seed] = found
            if args.seeds > 1:
                console.print(f"search {of[job.seed]}{total} (simulation seed {job.seed}) done "
                              f"({len(done)} of {args.seeds})", highlight=False)
    except KeyboardInterrupt:
        if not done:
            raise
        console.print(f"[yellow]warning:[/yellow] interrupted: going on with the "
                      f"{count(len(done), 'search', 'searches')} done (kept in {out / FOLDER})", highlight=False)
    return [calibrate(h, base, weekly, seed=s, searched=done[s], **options) for s in sorted(done)]


def with_draws(cal: Any, n: int, seed: int, jobs: int = 1) -> Any:
    """``cal`` with ``n`` quasi-posterior draws (fewer when interrupted: those scored are kept, with a warning)."""
    from dataclasses import replace

    from experiments.calibrate.quasi import quasi_posterior
    draws = with_progress(n, "quasi-posterior draws", lambda tick: quasi_posterior(cal, n, seed, tick=tick, jobs=jobs),
                          unit="draws")
    if draws.j.size < n:
        console.print(f"[yellow]warning:[/yellow] interrupted: going on with the {draws.j.size} draws scored",
                      highlight=False)
    return replace(cal, draws=draws)


INTERVALS = ("bootstrap", "bootstrap-search", "profile", "sandwich")
"""Choices of ``--intervals`` (:attr:`experiments.calibrate.fit.Calibration.method`)."""


MOST_REFITS = 100_000
"""Most ``--bootstrap`` refits or ``--draws`` draws: each costs a simulation or more (a second or more), and the
draws are laid out before they are scored, so a typo of a few more digits would fill the memory instead."""


def least_pool(text: str) -> int:
    """``--min-pool``: a whole number from 1 to :data:`MAX_POOL` (the pool's cap: a larger least pool is never used)."""
    n = positive_int(text)
    if n > MAX_POOL:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_POOL:,} (the simulated pool's cap), got {n:,}")
    return n


def zero_or_from_two(noun: str) -> Callable[[str], int]:
    """An argparse type: 0 (none) or 2 to :data:`MOST_REFITS` ``noun`` (one refit or draw has no spread)."""
    def parse(text: str) -> int:
        n = int(text) if text.strip().isdigit() else -1
        if n == 1 or n < 0 or n > MOST_REFITS:
            raise argparse.ArgumentTypeError(f"{text!r}: 0 or a whole number of {noun} from 2 to {MOST_REFITS:,}")
        return n
    return parse


bootstrap_count = zero_or_from_two("refits")
"""``--bootstrap``: 0 (no bootstrap) or 2 to :data:`MOST_REFITS` refits."""
draws_count = zero_or_from_two("draws")
"""``--draws``: 0 (the normal around the estimate) or 2 to :data:`MOST_REFITS` draws."""


def register(sub: Any) -> None:
    """Add ``siyu calibrate``."""
    p = sub.add_parser("calibrate", help="fit a scenario to a brand's transaction log")
    p.add_argument("transactions", metavar="TRANSACTIONS.csv", help="orders: customer_id, date, amount")
    add_log_arguments(p)
    p.add_argument("--contacts", default=None, metavar="CONTACTS.csv",
                   help="contacts: customer_id, date, channel, content[, opened, clicked, unsubscribed] (the open, "
                        "unsubscribe and, with control rows, conversion parameters it identifies are fitted)")
    p.add_argument("--channel-map", action="append", default=None, metavar="NAME=CHANNEL",
                   help="map a channel of the contacts file to a scenario channel (repeatable), e.g. email=sms")
    p.add_argument("--base", default=DEFAULT_SCENARIO, metavar="NAME|PATH",
                   help=f"scenario whose other parameters the calibrated one keeps (default {DEFAULT_SCENARIO})")
    p.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed of the simulations (default 0)")
    p.add_argument("--starts", type=positive_int, default=4, metavar="K",
                   help="searches at most, from the nearest scanned starts in turn, while the fit fails the misfit "
                        "test (default 4; 1: one search, K times faster on a log the engine cannot reproduce)")
    p.add_argument("--basins", type=positive_int, default=1, metavar="K",
                   help="searches in all once the fit passes the misfit test, the others started from it with one "
                        "parameter, the least identified first, moved across its range; every one that passes too "
                        "is mixed into the forecast and its band by its weight (default 1; each more costs about a "
                        "fit: on short logs the dropout's spread can land in basins that fit equally and forecast "
                        "40%% apart)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                   help="searches with K simulation seeds (S to S+K-1), each estimate scored on simulations none "
                        "of them used: the best is the estimate and the forecast mixes all by weight (default 1; "
                        "each more costs about a fit: where the log barely pins a ridge, one search's estimate and "
                        "forecast move with its seed)")
    p.add_argument("--jobs", type=jobs_int, default=1, metavar="N",
                   help="worker processes for the searches of --seeds, the bootstrap's refits and the --draws "
                        "(same results whatever N; default 1; the engine's kernels already use every core, so on 2 "
                        "cores --jobs 2 saved 5%%)")
    p.add_argument("--fit", action="append", default=[], metavar="NAME",
                   help="also fit this parameter (repeatable): dynamics.need_impulse (need that keeps no "
                        "schedule), dynamics.need_lapse (leaving at a need occasion), dynamics.share_floor_spread "
                        "(a loyal core that buys without reminders), population.joiners_per_year (new customers "
                        "among the later first orders of a log that is not a cohort; matches the share first seen "
                        "in the later half too) or, on a cohort's log, dynamics.tenure_fade with "
                        "dynamics.tenure_floor (a pull that wears off with the years since the first purchase; "
                        "matches how much those still buying buy and who goes on buying a third earlier too); the "
                        "first three each cost the misfit test a degree of freedom, the others bring statistics of "
                        "their own")
    p.add_argument("--keep-base-dropout", action="store_true",
                   help="where the log shows no dropout, keep the base scenario's rate alone (by default siyu "
                        "calibrate then fits again from a base with none and mixes the two fits in the forecast by "
                        "how well each fits the calibration period)")
    p.add_argument("--no-joiners", action="store_true",
                   help="keep the simulated pool closed (by default, where the fit fails the misfit test and the log's "
                        "share of customers first seen in the later half runs 3 SE or more above the engine's, siyu "
                        "calibrate stops searching the closed pool there and fits again with "
                        "population.joiners_per_year: new customers joining the pool)")
    p.add_argument("--persistence", action="store_true",
                   help="also match the share of customers with a repeat in the middle third of the calibration "
                        "period who repeat in the last third (how many of the customers still buying go on buying; "
                        "costs no parameter, adds a degree of freedom to the misfit test)")
    p.add_argument("--scan-box", action="append", default=[], metavar="NAME=LOW,HIGH",
                   help="where the scan of starting points looks for a fitted parameter (repeatable), instead of "
                        "its default range, e.g. dynamics.tenure_fade=0.02,5: the scan decides which basins the "
                        "searches reach (docs/calibration.md)")
    p.add_argument("--min-pool", type=least_pool, default=None, metavar="N",
                   help=f"the smallest simulated pool the searches use (default {MIN_POOL:,}; the pool is "
                        f"{SIM_RATIO} times the log's customers, at least N and at most {MAX_POOL:,}): smaller is "
                        "faster and noisier, for a first look at a small log")
    p.add_argument("--prior", default=None, metavar="SCENARIO",
                   help="another fit's scenario.toml (siyu calibrate on a larger log of like customers) whose "
                        "estimates, weighted by its covariance, anchor this fit's: a small log borrows what the "
                        "larger one pins (a normal prior on the log values; the misfit test then checks the prior "
                        "against this log too)")
    p.add_argument("--prior-weight", type=positive_number, default=1.0, metavar="A",
                   help="what each customer of the prior's log counts as, in customers of this log: in (0, 1] (default "
                        "1: the two logs pooled; smaller where their customers differ)")
    p.add_argument("--hold", action="append", default=[], metavar="NAME", choices=FITTED_NAMES,
                   help="keep this population parameter at the base scenario's value instead of fitting it "
                        "(repeatable; e.g. population.dropout_sigma, which short logs leave between basins)")
    p.add_argument("--replicates", type=positive_int, default=40, metavar="N",
                   help="simulations of the holdout forecast and its 90%% band (default 40; at least 19 for a "
                        "90%% band)")
    p.add_argument("--bootstrap", type=bootstrap_count, default=20, metavar="B",
                   help="refits on logs simulated from the fit, for the standard errors (default 20; 0: the "
                        "sandwich formula, faster but about 0.6 times as wide as the estimates' real spread)")
    p.add_argument("--intervals", choices=INTERVALS, default="bootstrap",
                   help="errors of the matched parameters: bootstrap (B refits by Gauss-Newton from the estimate, "
                        "about 2 fits' CPU; the default), bootstrap-search (each refit the fit's full search, about B "
                        "fits' CPU), profile (inverting the misfit criterion; measured too narrow) or sandwich; "
                        "coverage of each on engine logs: docs/calibration.md")
    p.add_argument("--draws", type=draws_count, default=0, metavar="N",
                   help="draws of the fitted parameters, each scored by its misfit on a common simulation and "
                        "weighed to the quasi-posterior; the forecast takes its values from them instead of a normal "
                        "around the estimate (default 0: the normal; each draw costs a simulation of the calibration "
                        "period: where the log pins a curved ridge, the normal's draws leave it)")
    p.add_argument("--no-holdout", action="store_true", help="skip the holdout comparison even if the log has one")
    p.add_argument("--out", default="runs/calibration", metavar="DIR",
                   help="output folder (default runs/calibration); each finished search is kept in DIR/searches and "
                        "taken back by the same command run again")
    p.set_defaults(func=cmd_calibrate)
