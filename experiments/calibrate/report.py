"""``fit.md``: what was fitted, how well, and (when the log runs past the calibration end) how well it forecasts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from experiments.calibrate import auxiliary
from experiments.calibrate.contact_fit import NOT_FITTED, ContactFit
from experiments.calibrate.contact_fit import UNITS as CONTACT_UNITS
from experiments.calibrate.contact_response import LogResponse, response_lines
from experiments.calibrate.fit import (DROPOUT, JOINERS, MISFIT_P, TENURE, UNITS, Calibration, ScanBox, first_late_gap,
                                      misfit, range_end, scan_range, scenario_value, start, within_limits)
from experiments.calibrate.history import MIDDLE_LABELS, Histories, persistence, still_buying_pace
from experiments.calibrate.holdout import Holdout
from experiments.calibrate.kept_dropout import NONE_PER_YEAR, RATE, kept_rate_suspect, late_gap
from experiments.calibrate.joiners_choice import first_orders_late
from experiments.calibrate.pool_joiners import refit_needed
from experiments.calibrate.quasi import WEIGHING
from experiments.calibrate.region import Z90, interval, projected_intervals
from experiments.calibrate.seeds import KEEP
from experiments.calibrate.plots import FREQ_BINS, frequency_counts, recency_counts, recency_labels
from experiments.calibrate.prior import Anchor
from experiments.logs.rows import day_text
from experiments.response import WINDOW_DAYS
from sim.defaults import SLOTS

LOOSE_LOG_SE = 1.0
"""A matched parameter's log-scale SE above which fit.md and the CLI suggest ``--draws``: its normal draws span a
factor of 27 (90%). On CDNOW's master file the dropout rate's and the need lapse's reach 3 to 11."""
ESS_WARNING = 20
"""Effective sample size of the draws under which fit.md says a few carry the forecast."""


def _g(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.4g}"


def _seed_lines(cal: Calibration) -> list[str]:
    """Every search of ``--seeds``: its seed, estimate, criteria and weight in the forecast's mixture."""
    names = cal.matched.names
    out = ["", f"Searches with {len(cal.seed_fits)} simulation seeds (`--seeds`): each estimate scored on common "
           "simulations none of them used (common J, comparable across them; own J on its own simulation seed's log). "
           "The best is the estimate; the forecast and its band mix every estimate by its weight, exp(-(J - Jmin) / "
           f"2 phi) normalised, phi = {cal.dispersion:.3g} (the best common J over its degrees of freedom, at least "
           f"1: a misfit the engine cannot close makes a difference of J count less). Estimates under {KEEP:g} of "
           "the weight are left out of the mixture.", "",
           "| seed | " + " | ".join(n.split(".")[-1] for n in names) + " | own J | common J | weight |",
           "|---" * (len(names) + 4) + "|"]
    for f in cal.seed_fits:
        out.append(f"| {f.seed} | " + " | ".join(_g(f.values[n]) for n in names)
                   + f" | {f.own_j:.2f} | {f.common_j:.2f} | {f.weight:.3f} |")
    return out


def _basin_lines(cal: Calibration) -> list[str]:
    """The other fits that pass the misfit test (``--basins``) and their weights in the forecast's mixture."""
    if cal.seed_fits and cal.matched is not None:
        return _seed_lines(cal)
    if not cal.basins or cal.matched is None:
        return []
    names = cal.matched.names
    w = cal.mixture_weights()
    rows = [(cal.values, cal.j, w[0], "the estimate")]
    rows += [(b.values(names), b.j, wk, f"basin {k}" + "".join(f", {n.split('.')[-1]} {_g(v)}" for n, v in
                                                                b.sets.items()))
             for k, (wk, b) in enumerate(zip(w[1:], cal.basins), start=1)]
    out = ["", f"Other fits mixed into the forecast ({len(cal.basins)}: searches started across the estimate that "
           "also pass the misfit test, or the fit from another dropout rate where the log shows none): the "
           "calibration period cannot tell them from the estimate, so the forecast and its band mix them, each by its "
           f"weight exp(-J/2 phi), normalised (phi {cal.dispersion:.3g}).", "",
           "| fit | " + " | ".join(n.split(".")[-1] for n in names)
           + " | misfit J | weight |", "|---" * (len(names) + 3) + "|"]
    for values, j, wk, label in rows:
        out.append(f"| {label} | " + " | ".join(_g(values[n]) for n in names) + f" | {j:.2f} | {wk:.2f} |")
    return out


def loose_parameters(cal: Calibration) -> dict[str, float]:
    """Matched parameters whose log-scale SE exceeds :data:`LOOSE_LOG_SE`, with it (none when draws were made)."""
    if cal.draws is not None or cal.matched is None or cal.covariance is None:
        return {}
    sd = np.sqrt(np.maximum(np.diag(np.asarray(cal.covariance)), 0.0))
    return {n: float(v) for n, v in zip(cal.matched.names, sd) if v > LOOSE_LOG_SE}


def draws_hint(cal: Calibration) -> str | None:
    """One line suggesting ``--draws`` where the normal around the estimate spreads a parameter over decades."""
    loose = loose_parameters(cal)
    if not loose:
        return None
    name, se = max(loose.items(), key=lambda kv: kv[1])
    return (f"{name}'s log-scale SE is {se:.2g}: the forecast's normal draws spread it over a factor of "
            f"{math.exp(2 * Z90 * se):.3g} (90%), off the ridge the log pins; --draws 200 weighs draws by how well "
            "they fit the calibration period instead (docs/calibration.md)")


def dropout_hint(cal: Calibration) -> str | None:
    """One line naming a kept dropout rate the log does not show as the first suspect, where no refit was tried.

    That is where the base's rate was kept, the misfit test failed and the log's late repeats outrun the engine's
    (:func:`~experiments.calibrate.kept_dropout.kept_rate_suspect`) and ``--keep-base-dropout`` stopped ``siyu
    calibrate`` from refitting with none; where it refitted, :func:`notes` says how it mixed the two.
    """
    if not kept_rate_suspect(cal):
        return None
    return (f"the log shows no dropout, yet its share of repeats in the last third runs {late_gap(cal):.1f} SE above "
            f"the engine's, which keeps the base scenario's {RATE} = {scenario_value(cal.base, RATE):g}: without "
            "--keep-base-dropout siyu calibrate refits with none and mixes the two (docs/calibration.md, \"A "
            "dropout rate the log does not show\")")


def joiners_hint(cal: Calibration) -> str | None:
    """One line suggesting joiners where ``--no-joiners`` kept the pool closed though its first orders say otherwise.

    Without joiners a customer first seen late in the log is, in the engine, an old customer who buys seldom; in a
    brand's log many are new customers, who buy more (:mod:`~experiments.calibrate.pool_joiners`).
    """
    if not refit_needed(cal):
        return None
    return (f"{first_orders_late(first_late_gap(cal.data, cal.sim.histories))}: its later first orders look like new "
            f"customers, whom {JOINERS} adds to the simulated pool; without --no-joiners siyu calibrate fits it "
            "(docs/calibration.md, \"A pool with joiners\")")


def tenure_hint(cal: Calibration) -> str | None:
    """One line where the tenure fade and its floor are fitted: what they forecast on CDNOW's small logs.

    A calibration period that ends within a year of the first purchases barely tells a pull that fades for good from
    one that settles: fits of nearly the same J forecast far apart (docs/calibration.md, "The scan's box on ten
    small logs"), and a small log's fit is noisier than one on a larger log of like customers ("The fit's own noise
    on small logs"), which a fit with that log's fit as its prior (``--prior``) borrows from ("A prior from the
    master's fit"). A fit that has a prior is told only the first.
    """
    if not all(n in cal.values for n in TENURE):
        return None
    ties = ("the tenure fade and its floor are fitted: on CDNOW, whose calibration period ends 26-39 weeks after the "
            "first purchases, fits of nearly the same J forecast far apart: level with BG/NBD and Pareto/NBD on the "
            "master (23,570 customers), 9-37% short on the sample and nine panels of 2,357 (18-23% on average, the "
            "baselines 14%); check the forecast against a fit without them")
    if cal.matched is not None and cal.matched.prior is not None:
        return f"{ties} (docs/calibration.md, \"The scan's box on ten small logs\")"
    return (f"{ties} and, on a small log, fit again with --prior BIG/scenario.toml, the fit of a larger log of like "
            "customers (with the master's fit as prior the panels' fits forecast 14.4% short on average instead of "
            "18.0%, level with BG/NBD; docs/calibration.md, \"The scan's box on ten small logs\", \"A prior from the "
            "master's fit\")")


def hints(cal: Calibration) -> list[str]:
    """The hints fit.md and the console print: ``--draws``, dropout or joiners the log asks for, a tenure fade."""
    return [h for h in (draws_hint(cal), dropout_hint(cal), joiners_hint(cal), tenure_hint(cal)) if h]


def notes(cal: Calibration) -> list[str]:
    """What the calibration chose by itself that fit.md and the console say: joiners, a rate the log does not show."""
    joiners = [] if cal.joiners_choice is None else [cal.joiners_choice.line()]
    if cal.dropout_choice is None:
        return joiners
    alone = [] if cal.draws is None else [
        "the quasi-posterior draws (--draws) are the estimate's fit's alone, and siyu forecast takes its values from "
        "them: the other dropout rate is not mixed in, and the band is narrower for it"]
    return [*joiners, cal.dropout_choice.line(), *alone]


def sandwich_warning(cal: Calibration) -> str | None:
    """One line where the errors are the sandwich's (``--bootstrap 0``) and dropout is among the matched parameters.

    On 20 engine logs that showed dropout the sandwich's 90% intervals held the truth in 30-55% of them: a third of
    the fits land at the far end of a ridge between the dropout rate and its spread, which no error around one
    estimate reaches (docs/calibration.md, "Refined along a loose direction").
    """
    names = cal.matched.names if cal.matched is not None else ()
    if cal.boot is not None or cal.method == "profile" or not any(n in DROPOUT for n in names):
        return None
    return ("the errors are the sandwich's (--bootstrap 0) and this log shows dropout: on 20 engine logs like it "
            "their 90% intervals held the truth in only 30-55% (fits land at either end of a ridge between the "
            "dropout rate and its spread); the default bootstrap's are the ones to trust (docs/calibration.md)")


def _draws_lines(cal: Calibration) -> list[str]:
    """The quasi-posterior's draws (``--draws``): how many, what they are worth, where they put each parameter."""
    d = cal.draws
    if d is None:
        return []
    out = ["", f"Draws weighed to the quasi-posterior (`--draws`): {d.j.size} draws of the matched parameters, each "
           f"scored by its J on one common simulation and weighed by {WEIGHING} (phi = {d.dispersion:.3g}); "
           f"effective sample size {d.ess():.0f}. The forecast takes each replicate's values from one, picked by "
           "weight (`draws.csv`, ![draws](draws.png)).", "",
           "| parameter | estimate | draws' median | draws' 90% range |", "|---|---:|---:|---|"]
    for name, (mid, lo, hi) in d.summary().items():
        out.append(f"| `{name}` | {_g(cal.values.get(name, math.nan))} | {_g(mid)} | {_g(lo)} to {_g(hi)} |")
    if d.ess() < ESS_WARNING:
        out += ["", f"The draws are worth fewer than {ESS_WARNING} equally weighted ones: a few carry the forecast. "
                "More draws (`--draws`) or searches with more seeds (`--seeds`, whose estimates the draws start "
                "from) spread the weight."]
    return out


def scan_box_line(box: ScanBox) -> str:
    """What ``--scan-box`` changed: the scan of starting points decides which basins the searches reach."""
    ranges = "; ".join(f"`{n}` from {lo:g} to {hi:g} {UNITS[n]} (by default {scan_range(n)[0]:g} to "
                       f"{scan_range(n)[1]:g})" for n, lo, hi in box)
    return f"The scan of starting points looked at {ranges} (`--scan-box`)."


def prior_line(a: Anchor) -> str:
    """What ``--prior`` anchored, to what and how firmly (:mod:`.prior`)."""
    values = ", ".join(f"`{n}` = {math.exp(m):.4g} (prior SD {math.exp(m) * math.sqrt(a.covariance[k, k]):.2g})"
                       for k, (n, m) in enumerate(zip(a.names, a.mean)))
    weight = (" its customers counted once each (`--prior-weight 1`: the SDs are its SEs)" if a.weight == 1 else
              f" each of its customers counted as {a.weight:g} of this log's (`--prior-weight`: the SDs are its SEs "
              f"over {math.sqrt(a.weight):.3g})")
    return (f"Prior (`--prior {a.source}`): the fit there anchors {values},{weight}. Its rows in the matched "
            "statistics (`prior ...`) are log values; the test of the fit checks the prior against this log too. "
            f"Where it fails, fit this log without `--prior` as well: a J here more than {a.conflict(MISFIT_P):.1f} "
            f"above that fit's (chi-squared on {len(a.names)} df at p = {MISFIT_P:g}) says the prior and this log "
            "disagree: its customers are unlike this log's, or a search stopped short (docs/calibration.md, \"A prior "
            "from customers unlike the log's\").")


def fit_markdown(cal: Calibration, source: str, base_name: str, report_lines: list[str],
                 holdout: Holdout | None, seconds: float, responses: list[LogResponse] | None = None,
                 scan_box: ScanBox = ()) -> str:
    """The text of ``fit.md`` (``responses``: the contact log's, when one was given; ``scan_box``: ``--scan-box``)."""
    h = cal.data
    out = [f"# Calibration of `{source}`", "",
           f"Calibration period {day_text(int(h.first.min()))} to {day_text(h.end)}: {h.n:,} customers, "
           f"{int(h.x.sum()):,} repeat transactions (orders of one customer on one day count as one). "
           f"Base scenario: `{base_name}`; fitted in {seconds:.0f} s. Method: docs/calibration.md.", ""]
    if scan_box:
        out += [scan_box_line(scan_box), ""]
    if cal.matched is not None and cal.matched.prior is not None:
        out += [prior_line(cal.matched.prior), ""]
    if report_lines:
        out += ["## Rows not used", ""] + [f"- {line}" for line in report_lines] + [""]
    region = joint_region(cal)
    out += ["## Fitted parameters", "", "| parameter | estimate | SE | 90% interval | 90% joint region, projected "
            "| base value | unit |", "|---|---:|---:|---|---|---:|---|"]
    ends = {name: end for name, v in cal.values.items() if (end := range_end(name, v))}
    for name, v in cal.values.items():
        if name in ends:
            cells = f"n/a | none: at the {ends[name]} end of its range | none"
        else:
            lo, hi = in_range(name, cal.bounds.get(name) or interval(v, cal.ses[name]))
            joint = f"{_g(region[name][0])} to {_g(region[name][1])}" if name in region else ""
            cells = f"{_g(cal.ses[name])} | {_g(lo)} to {_g(hi)} | {joint}"
        out.append(f"| `{name}` | {_g(v)} | {cells} | {_g(scenario_value(cal.base, name))} | {UNITS[name]} |")
    choice = cal.dropout_choice
    for name, why in cal.fixed.items():
        kept = was = _g(scenario_value(cal.base, name))
        how = "kept"
        if name == RATE and choice is not None:
            other, weight = ((choice.kept_rate, 1 - choice.none_weight) if choice.none_kept
                             else (NONE_PER_YEAR, choice.none_weight))
            how = f"{'set' if choice.none_kept else 'kept'}; {_g(other)} mixed in, weight {weight:.2f}"
            was = _g(choice.kept_rate)
        out.append(f"| `{name}` | {kept} ({how}) | | | | {was} | {UNITS[name]} |")
    out += [""] + [f"- `{n}`: {why}." for n, why in cal.fixed.items()]
    out += [f"- `{n}`: at the {end} end of the range the fit keeps to ({_g(cal.values[n])}): the search stopped at "
            "the edge, where the log's statistics barely move, so this is no minimum and no SE or interval "
            "applies; the log does not tell the value (docs/calibration.md)." for n, end in ends.items()]
    out += ["", _how_errors(cal)]
    if region:
        measured = REGION_MEASURED.get(cal.method, "Not measured with these errors (docs/calibration.md).")
        out += ["", f"{REGION_NOTE.format(k=len(region))} {measured}"]
    out += ["", "Every other parameter is the base scenario's; `scenario.toml` holds the estimates with their "
            "standard errors as comments.", "", "## Matched statistics (indirect inference)", "",
            "| statistic | observed | SE | engine at the estimate |", "|---|---:|---:|---:|"]
    for k, name in enumerate(cal.stat_names):
        out.append(f"| {name} | {cal.stat_data[k]:.4f} | {cal.stat_se[k]:.4f} | {cal.stat_sim[k]:.4f} |")
    test = misfit(cal)
    if test is not None:
        out += ["", f"Test of the fit ({test.df} more statistics than parameters): {test.line()}."]
    out += _basin_lines(cal)
    out += _draws_lines(cal)
    for line in notes(cal) + hints(cal):
        out += ["", f"Note: {line}."]
    out.append("")
    used = cal.matched.rows if cal.matched is not None else range(len(auxiliary.NAMES))
    shown = [n for r, n in enumerate(auxiliary.NAMES) if r not in used]
    if shown:
        out.append(f"\nNot matched (no dropout in the log): {', '.join(shown)} = "
                   f"{cal.aux_data.beta[auxiliary.NAMES.index(shown[0])]:.4f}.")
    out += ["", f"Log-likelihood of the auxiliary model at its maximum: {cal.aux_data.loglik:,.1f} "
            f"({cal.aux_data.n:,} customers). Simulated log: {cal.sim.histories.n:,} customers from a pool of "
            f"{cal.design.pool:,}.", "", "Search (distance = squared gap of the matched statistics weighted by their "
            "inverse covariance; near the number of statistics less the fitted parameters is as close as "
            "sampling noise allows; the last row is the estimate, refined on a regression of the statistics over "
            "that many independent simulations around the best search's end, or that end itself where the "
            "refinement did not settle or a simulation at the refined point disowned the regression):", "",
            "| step | " + " | ".join(k.split(".")[-1] for k in cal.iterations[0] if k not in ("iteration", "distance"))
            + " | distance |", "|---" * (len(cal.iterations[0])) + "|"]
    for row in cal.iterations:
        vals = [_g(v) for k, v in row.items() if k not in ("iteration", "distance")]
        step = row["iteration"] if row.get("start") != 0 else (
            f"refined ({row['iteration']:.0f} simulations)" if row["iteration"] else "the search's end (kept)")
        out.append(f"| {step} | " + " | ".join(vals) + f" | {row['distance']:.3g} |")
    scale = h.n / max(cal.sim.histories.n, 1)
    fo, ff = frequency_counts(h), frequency_counts(cal.sim.histories) * scale
    ro, rf = recency_counts(h), recency_counts(cal.sim.histories) * scale
    labels = [str(i) for i in range(FREQ_BINS - 1)] + [f"{FREQ_BINS - 1}+"]
    out += ["", "## Observed against fitted", "", "![fit](fit.png)", "",
            "| repeat transactions | " + " | ".join(labels) + " |", "|---" * (FREQ_BINS + 1) + "|",
            "| observed | " + " | ".join(f"{v:.0f}" for v in fo) + " |",
            "| fitted | " + " | ".join(f"{v:.0f}" for v in ff) + " |", "",
            "| weeks since last | " + " | ".join(recency_labels()) + " |", "|---" * (ro.size + 1) + "|",
            "| observed | " + " | ".join(f"{v:.0f}" for v in ro) + " |",
            "| fitted | " + " | ".join(f"{v:.0f}" for v in rf) + " |"]
    out += persistence_lines(h, cal.sim.histories) + pace_lines(h, cal.sim.histories)
    if responses is not None:
        out += ["", "## Contact responses in the log", "",
                f"Of the contacts whose {WINDOW_DAYS}-day window ends by the calibration end, with the response "
                "card's definitions (the card `siyu scenarios show NAME` prints); the lift against the control rows "
                "(`content = none`) of the same day and channel. These are the statistics the contact-response "
                "parameters are fitted to (next section).", ""] + response_lines(responses)
    if holdout is not None:
        hs, hb, hp = holdout.siyu_error, holdout.bgnbd_error, holdout.paretonbd_error
        pp = holdout.paretonbd_params
        out += ["", f"## Holdout: the {holdout.weeks} weeks after the calibration end", "", "![holdout](holdout.png)",
                "", "| model | forecast total | actual | error of the total | MAPE of the cumulative curve |",
                "|---|---:|---:|---:|---:|",
                f"| siyu (fitted scenario, customers conditioned on their histories) | {holdout.siyu.mean[-1]:,.0f} "
                f"| {holdout.actual[-1]:,.0f} | {100 * hs[0]:.1f}% | {100 * hs[1]:.1f}% |",
                f"| BG/NBD (r={holdout.bgnbd_params[0]:.3g}, alpha={holdout.bgnbd_params[1]:.3g}, "
                f"a={holdout.bgnbd_params[2]:.3g}, b={holdout.bgnbd_params[3]:.3g}; weeks) | {holdout.bgnbd[-1]:,.0f} "
                f"| {holdout.actual[-1]:,.0f} | {100 * hb[0]:.1f}% | {100 * hb[1]:.1f}% |",
                f"| Pareto/NBD (r={pp[0]:.3g}, alpha={pp[1]:.3g}, s={pp[2]:.3g}, beta={pp[3]:.3g}; weeks) "
                f"| {holdout.paretonbd[-1]:,.0f} | {holdout.actual[-1]:,.0f} | {100 * hp[0]:.1f}% "
                f"| {100 * hp[1]:.1f}% |",
                "",
                f"The actual cumulative count lies inside siyu's 90% band in {100 * holdout.inside_band:.0f}% of "
                f"the weeks (the band: simulation noise, the customers' posterior and the fitted parameters' errors).",
                "", f"siyu's total is the mean of {holdout.siyu.replicates.shape[0]} replicates, give or take at most "
                f"{holdout.siyu.total_se():,.0f} ({100 * holdout.siyu.total_se() / holdout.actual[-1]:.1f}% of the "
                "actual) of simulation error; more replicates (`--replicates`) narrow that, not the band."]
        for line in holdout.said():
            out += ["", line]
        if holdout.customers is not None:
            out += holdout.customers.lines()
    return "\n".join(out) + "\n"


REGION_NOTE = ("The joint region, projected: the 90% region of the {k} matched parameters together (chi-square "
               "with {k} degrees of freedom on the covariance of their logs) cast onto each one. It is wider than "
               "the 90% interval, and the one to read for the cycle and its spread, whose errors run along a ridge "
               "between them.")
"""Said under the parameter table when the matched parameters have a covariance; then :data:`REGION_MEASURED`."""
REGION_MEASURED = {
    "bootstrap": "From the quick bootstrap's covariance (as here), on 60 fresh engine logs of 1,000 customers (two "
                 "matched parameters) it held the true cycle median in 58 and its spread in 59, where the 90% "
                 "interval held them in 54 and 55; on 40 logs that showed dropout (four matched; measured before "
                 "the estimate was refined, and on 17 of them re-run since the counts did not change) it held the "
                 "cycle, its spread, the dropout rate and its spread in 40, 39, 33 and 36, the 90% interval in 34, "
                 "34, 27 and 26 (docs/calibration.md).",
    "sandwich": "From the sandwich's covariance (as here: no bootstrap), on 60 fresh engine logs of 1,000 customers "
                "it held the true cycle median and its spread in 55 of 60 each; on 20 logs that showed dropout it "
                "held the cycle, its spread, the dropout rate and its spread in only 15, 15, 9 and 10 of 20 (the "
                "default quick bootstrap's, on 17 of those logs with the tree before: 17, 16, 15 and 15; "
                "docs/calibration.md).",
}
"""How often the projection held the truth, by where the covariance came from (:attr:`Calibration.method`)."""


def persistence_lines(data: Histories, sim: Histories) -> list[str]:
    """fit.md's table of who goes on buying: the share repeating in the last third, by middle-third repeats.

    The frequency and recency tables can match while the engine's active customers stop sooner than the log's
    (CDNOW's master file); the gap in binomial SEs of the observed share says where.
    """
    labels, observed, n = persistence(data)
    fitted = persistence(sim)[1]
    gap = [(o - f) / math.sqrt(o * (1 - o) / k) if k and 0 < o < 1 else math.nan
           for o, f, k in zip(observed, fitted, n)]
    return _middle_third_table("Customers still buying: of the customers with so many repeat transactions in the "
                               "middle third of the span, the share with one in the last third (all groups together: "
                               "the statistic `--persistence` matches); the gap is observed less fitted, in binomial "
                               "SEs of the observed share:", labels, n, observed, fitted, gap)


def pace_lines(data: Histories, sim: Histories) -> list[str]:
    """fit.md's table of how much those still buying buy: last-third repeats over middle-third, by middle-third repeats.

    A fit can lose too many customers and keep the rest buying at their pace where the log keeps more customers, each
    buying less (CDNOW); a holdout forecast then falls too little (docs/calibration.md).
    """
    observed, se, n = still_buying_pace(data)
    fitted = still_buying_pace(sim)[0]
    labels = [*MIDDLE_LABELS, "all"]
    gap = [(o - f) / s if s > 0 else math.nan for o, f, s in zip(observed, fitted, se)]
    return _middle_third_table("How much those still buying buy: of the customers with a repeat in both the middle "
                               "and the last third, their repeats in the last third over those in the middle third; "
                               "the gap is observed less fitted, in SEs of the observed ratio:", labels, n, observed,
                               fitted, gap)


def _middle_third_table(intro: str, labels: list[str], n, observed, fitted, gap) -> list[str]:
    """A fit.md table by middle-third repeats: customers, observed, fitted and the gap, empty where undefined."""
    return ["", intro, "",
            "| repeats in the middle third | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|",
            "| customers | " + " | ".join(f"{k:,}" for k in n) + " |",
            "| observed | " + " | ".join(_share(v) for v in observed) + " |",
            "| fitted | " + " | ".join(_share(v) for v in fitted) + " |",
            "| gap (SEs) | " + " | ".join("" if math.isnan(g) else f"{g:+.1f}" for g in gap) + " |"]


def _share(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.3f}"


def joint_region(cal: Calibration) -> dict[str, tuple[float, float]]:
    """The projected joint 90% region of the matched parameters (:mod:`~experiments.calibrate.region`), if any."""
    if cal.matched is None or cal.covariance is None or not cal.matched.names:
        return {}
    region = projected_intervals(cal.values, cal.matched.names, cal.covariance)
    return {name: in_range(name, bounds) for name, bounds in region.items()}


def in_range(name: str, bounds: tuple[float, float]) -> tuple[float, float]:
    """An interval cut to the range the search keeps to and the forecast clips its draws to (``fit.LIMITS``).

    On the log scale a loose parameter's interval runs past its range (a lapse share to 88 on CDNOW's master file):
    the part outside is no value the fit could take or the forecast draw.
    """
    return within_limits(name, bounds[0]), within_limits(name, bounds[1])


def _how_errors(cal: Calibration) -> str:
    """Where the standard errors of the matched parameters come from, with their correlation."""
    names = cal.matched.names if cal.matched is not None else ()
    listed = ", ".join(f"`{n}`" for n in names)
    if cal.method == "profile" and names:
        return (f"Intervals of {listed} by inverting the misfit criterion (profile; their SEs: the half-widths over "
                "1.645): on engine logs of 1,000 customers they held the truth less often than the bootstrap's "
                "(docs/calibration.md).")
    if cal.boot is None or not names:
        warning = sandwich_warning(cal)
        return (f"Standard errors of {listed} from the sandwich formula (no bootstrap): the cycle's and its "
                "spread's 90% intervals held the truth in 83-85% of 60 engine logs of 1,000 customers without dropout "
                "(docs/calibration.md)."
                + (f" **Warning**: {warning}." if warning else ""))
    how = ("each refitted by Gauss-Newton steps from the estimate on its central-difference slopes"
           if cal.method == "bootstrap" else "each refitted by the fit's own search from its start")
    text = (f"Standard errors of {listed} from a parametric bootstrap: {len(cal.boot)} logs simulated from the fit "
            f"with the data's design and size, {how}; intervals on the log scale; order values from their "
            "likelihood.")
    stuck = int(np.all(cal.boot == start(cal.base, names), axis=1).sum()) if cal.method != "bootstrap" else 0
    if stuck:
        text += (f" {stuck} of the refits never left the search's start (the base scenario's values), as a "
                 "stalled search would on the data: check that the estimate moved from it.")
    if len(names) > 1:
        corr = np.corrcoef(cal.boot, rowvar=False)
        pairs = [f"{names[i].split('.')[-1]} and {names[j].split('.')[-1]} {corr[i, j]:+.2f}"
                 for i in range(len(names)) for j in range(i + 1, len(names))]
        text += " Correlations of the log estimates: " + ", ".join(pairs) + "."
    return text


def _conditioning(fit: ContactFit) -> str:
    """How the replay was conditioned on the log's targeting, in words (empty when it was not)."""
    if not fit.matched:
        return ""
    timing = () if fit.timing is None else fit.timing
    followed = [f"last active in the {SLOTS[a - 1]}: {SLOTS[s]}" for a, s in enumerate(timing) if a > 0 and s >= 0]
    slots = ("; sent at the slot the log's brand picks by the last activity it saw (" + "; ".join(followed) + ")"
             if followed else "; the log shows no timing by the last activity, so each row keeps its slot")
    return ", each matched to their log customer's record of orders when the brand first picked them" + slots


def contact_fit_lines(fit: ContactFit) -> list[str]:
    """The ``fit.md`` section of the contact-response fit: estimates, what is kept and why, matched statistics."""
    out = ["", "## Contact-response parameters (fitted)", "",
           f"Fitted by indirect inference to {fit.contacts:,} messages and {fit.controls:,} control rows of "
           f"{fit.customers:,} customers, the log's rows replayed on {fit.sim_customers:,} simulated customers of the "
           f"scenario fitted above{_conditioning(fit)}, in {fit.seconds:.0f} s (docs/calibration.md). "
           "Standard errors: a bootstrap of the "
           "log's customers gives the statistics' covariance, carried through the slopes of the simulated statistics "
           "(delta method) with the simulation's own noise added; intervals are taken on the log scale.", "",
           "| parameter | estimate | SE | 90% interval | base value | unit |", "|---|---:|---:|---|---:|---|"]
    for i, (name, v) in enumerate(fit.values.items()):
        sd = math.sqrt(max(fit.covariance[i, i], 0.0)) if fit.covariance is not None else float("nan")
        out.append(f"| `{name}` | {_g(v)} | {_g(fit.ses[name])} | {_g(v * math.exp(-Z90 * sd))} to "
                   f"{_g(min(v * math.exp(Z90 * sd), 1.0))} | {_g(fit.base_values[name])} | "
                   f"{CONTACT_UNITS[name.rsplit('.', 1)[1]]} |")
    for name in fit.fixed:
        kept = _g(fit.base_values[name])
        out.append(f"| `{name}` | {kept} (kept) | | | {kept} | {CONTACT_UNITS[name.rsplit('.', 1)[1]]} |")
    out += [""] + [f"- `{n}`: {why}." for n, why in fit.fixed.items()]
    if not fit.lift_identified:
        out += ["", "**The purchase lift is not identified by this log**: no content has enough control rows "
                "(`content = none`) on the days it went out alone, so every content's `conversion` keeps the base "
                "scenario's value. A control group held out for the whole campaign identifies it."]
    out += ["", "Kept at the base scenario's values (the log's shares pin each channel's level, not how it moves "
            "with salience, fatigue or timing): " + ", ".join(f"`{n}`" for n in NOT_FITTED) + "."]
    if fit.stats:
        out += ["", "| matched statistic | log | SE (bootstrap) | engine at the estimate |", "|---|---:|---:|---:|"]
        out += [f"| {s.name} | {a:.4f} | {e:.4f} | {b:.4f} |"
                for s, a, e, b in zip(fit.stats, fit.stat_data, fit.stat_se, fit.stat_sim)]
    return out


def write_fit_markdown(path: Path, text: str) -> None:
    """Write ``fit.md``."""
    path.write_text(text, encoding="utf-8")
