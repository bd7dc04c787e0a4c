"""The calibrated scenario as TOML: the base scenario's text with the fitted values put in.

Each value carries its standard error as a comment, so the file stays the readable, commented preset a
strategist edits.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from experiments.calibrate.contact_fit import LIMITS as CONTACT_LIMITS
from experiments.calibrate.contact_fit import UNITS as CONTACT_UNITS
from experiments.calibrate.contact_fit import ContactFit
from experiments.calibrate.draws import FILE as DRAWS_FILE
from experiments.calibrate.draws import Draws, read_draws, write_draws
from experiments.calibrate.fit import DROPOUT, LIMITS, UNITS, Calibration, range_end, scenario_value
from experiments.calibrate.forecast import Component, Uncertainty
from experiments.calibrate.kept_dropout import RATE
from experiments.calibrate.prior import Prior
from experiments.calibrate.quasi import WEIGHING
from sim.config import load_scenario

SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) >= 1e-3 else f"{v:.3e}"


def scenario_text(cal: Calibration, base_text: str, name: str, source: str) -> str:
    """``base_text`` with :attr:`Calibration.values` (and the pool size) in their tables."""
    shown: dict[str, str] = {k: _fmt(v) for k, v in cal.values.items()}
    notes = {k: f"# fitted by siyu calibrate: SE {_fmt(cal.ses[k])} {UNITS[k]}" for k in cal.values}
    for k, (lo, hi) in cal.bounds.items():
        notes[k] += f", 90% interval {_fmt(lo)} to {_fmt(hi)}"
    for k, v in cal.values.items():
        if end := range_end(k, v):
            notes[k] += f", at the {end} end of its range: no interval applies"
    notes.update({k: "# not identified by the log: " + why.split(": ")[-1] for k, why in cal.fixed.items()})
    if cal.dropout_choice is not None and cal.dropout_choice.none_kept:  # set, not the base text's
        shown[RATE] = _fmt(scenario_value(cal.base, RATE))
    shown["population.customers"] = str(cal.data.n)
    notes["population.customers"] = "# customers in the calibration log"
    top = {"name": f'name = "{name}"', "description": f'description = "Calibrated by siyu calibrate on {source}"'}
    return _with_values(base_text, shown, notes, top) + "".join(line + "\n" for line in _covariance_lines(cal))


def _covariance_lines(cal: Calibration) -> list[str]:
    """Comment lines with the joint covariance of the log fitted values, which ``siyu forecast`` draws from."""
    if cal.matched is None or cal.covariance is None:
        return []
    how = (f"{cal.method} of {len(cal.boot)} refits" if cal.boot is not None
           else "profile half-widths, sandwich correlations" if cal.method == "profile" else "sandwich")
    out = ["", f"# Joint covariance of the log of the fitted values ({how}); siyu forecast draws from it."]
    names = cal.matched.names
    out += _matrix_lines("# covariance", names, cal.covariance)
    if cal.basins:
        w = cal.mixture_weights()
        parts = []
        if cal.seed_fits:
            parts.append("the other simulation seeds' estimates (siyu calibrate --seeds; exp(-(J - Jmin) / 2 phi) "
                         f"normalised, phi = {cal.dispersion:.3g}, J on common simulations)")
        elif any(not b.sets for b in cal.basins):
            parts.append("other fits that pass the misfit test (siyu calibrate --basins; exp(-J/2 phi) normalised, "
                         f"phi = {cal.dispersion:.3g})")
        if any(b.sets for b in cal.basins):
            parts.append("the fit from the other dropout rate, which the log does not show (its basins set the "
                         "rate; J on this file's scale)")
        how = ", and ".join(parts)
        out += ["", f"# The forecast's mixture: {how}.", "# siyu forecast mixes them with this file's values, each by "
                "its weight.",
                f"# basin 0 weight = {w[0]:.6e}  (this file's values; misfit J = {cal.j:.2f})"]
        for k, (wk, b) in enumerate(zip(w[1:], cal.basins), start=1):
            out.append(f"# basin {k} weight = {wk:.6e}  (misfit J = {b.j:.2f})")
            out += [f"# basin {k} value {n} = {v:.6e}" for n, v in b.values(names).items()]
            out += _matrix_lines(f"# basin {k} covariance", names, b.covariance)
    if cal.draws is not None:
        d = cal.draws
        out += ["", f"# Draws weighed to the quasi-posterior (siyu calibrate --draws): {d.j.size} draws, each weighed "
                f"by {WEIGHING}, phi = {d.dispersion:.3g}, effective sample size {d.ess():.0f}.",
                "# siyu forecast takes each replicate's fitted values from one, picked "
                "by weight, in place of the covariance and mixture above.", f"# draws file = {DRAWS_FILE}"]
    return out


def _matrix_lines(prefix: str, names: tuple[str, ...], cov: np.ndarray) -> list[str]:
    """The upper triangle of ``cov`` as comment lines, one entry each."""
    return [f"{prefix} {a} {names[j]} = {cov[i, j]:.6e}" for i, a in enumerate(names) for j in range(i, len(names))]


def _with_values(text: str, shown: dict[str, str], notes: dict[str, str], top: dict[str, str] | None = None) -> str:
    """``text`` (a scenario file) with ``shown`` values and ``notes`` comments at their dotted paths.

    A key the text has keeps its place (its value replaced, or only commented when ``shown`` has none); keys and
    tables the text lacks are added; ``top`` replaces whole top-level lines by key (the name, the description).
    """
    top = top or {}
    lines: list[str] = []
    section, done = "", set()
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            lines += _missing(section, shown, notes, done)
            section = m.group(1).strip()
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
        path = _dotted(section, key)
        if not section and key in top:
            line = top[key]
        elif path in notes:
            value = shown.get(path)
            line = (f"{line.split('#', 1)[0].rstrip()}  {notes[path]}" if value is None
                    else f"{key} = {value}  {notes[path]}")
            done.add(path)
        lines.append(line)
    lines += _missing(section, shown, notes, done)
    for table in sorted({p.rsplit(".", 1)[0] for p in shown if p not in done}):
        lines += ["", f"[{table}]"] + _missing(table, shown, notes, done)
    return "\n".join(lines) + "\n"


def _missing(section: str, shown: dict[str, str], notes: dict[str, str], done: set[str]) -> list[str]:
    """Lines for the values of the (possibly nested, ``channels.wecom``) table ``section`` its text did not have."""
    out = []
    for path in shown:
        table, _, key = path.rpartition(".")
        if table == section and path not in done:
            out.append(f"{key} = {shown[path]}  {notes[path]}")
            done.add(path)
    return out


def write_scenario(cal: Calibration, base_text: str, path: Path, name: str, source: str) -> None:
    """Write the calibrated scenario to ``path`` and check that it loads."""
    path.write_text(scenario_text(cal, base_text, name, source), encoding="utf-8")
    if cal.draws is not None:
        write_draws(cal.draws, path.parent / DRAWS_FILE)
    load_scenario(path)


def _fitted_line(note: str) -> re.Pattern[str]:
    """A value line with the comment ``note`` and its SE: groups key, value, SE."""
    return re.compile(r"^\s*(\w+)\s*=\s*([-+0-9.eE]+)\s*" + re.escape(note) + r" ([-+0-9.eE]+)")


def _covariance_line(prefix: str) -> re.Pattern[str]:
    """A :func:`_matrix_lines` entry after ``prefix``: groups the two names and the value."""
    return re.compile(r"^" + re.escape(prefix) + r" ([\w.]+) ([\w.]+) = ([-+0-9.eE]+)\s*$")


FITTED_LINE = _fitted_line("# fitted by siyu calibrate: SE")
COVARIANCE_LINE = _covariance_line("# covariance")
CONTACT_NOTE = "# fitted to the contact log by siyu calibrate: SE"
"""Comment of a contact-response value: not :data:`FITTED_LINE`'s, since ``siyu forecast`` draws these apart from
the population's, under a contact plan only (:attr:`~experiments.calibrate.forecast.Uncertainty.contact_ses`)."""
CONTACT_FITTED_LINE = _fitted_line(CONTACT_NOTE)
CONTACT_COVARIANCE = "# contact covariance"
"""Prefix of the lines with the contact fit's covariance of log values: not :data:`COVARIANCE_LINE`'s, so that
neither reader takes the other's entries (their names and their fits differ)."""
CONTACT_COVARIANCE_LINE = _covariance_line(CONTACT_COVARIANCE)
CONTACT_COVARIANCE_HEADER = ("# Joint covariance of the log of the values fitted to the contact log (delta method); "
                             "siyu forecast draws them from it under a contact plan.")
BASIN_LINE = re.compile(r"^# basin (\d+) (weight|value|covariance) ?([\w.]*) ?([\w.]*) = ([-+0-9.eE]+)")
DRAWS_LINE = re.compile(r"^# draws file = (.*?)\s*$")


def fitted_errors(path: Path) -> Uncertainty:
    """The fitted values' standard errors and joint covariance in a scenario file written by :func:`write_scenario`.

    The contact-response values' too when :func:`write_contact_fit` put them in (their own fields of
    :class:`~experiments.calibrate.forecast.Uncertainty`). Empty for any other file (a preset has none).
    """
    if not path.is_file():
        return Uncertainty()
    ses: dict[str, float] = {}
    cov: dict[tuple[str, str], float] = {}
    contact_ses: dict[str, float] = {}
    contact_cov: dict[tuple[str, str], float] = {}
    basins: dict[int, dict] = {}
    section = ""
    draws = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = SECTION.match(line)
        if m:
            section = m.group(1).strip()
            continue
        f = FITTED_LINE.match(line)
        if f:
            ses[_dotted(section, f.group(1))] = float(f.group(3))
        f = CONTACT_FITTED_LINE.match(line)
        if f:
            contact_ses[_contact_value(path, number, _dotted(section, f.group(1)))] = float(f.group(3))
        c = COVARIANCE_LINE.match(line)
        if c:
            _put(cov, c.group(1), c.group(2), float(c.group(3)))
        if line.startswith(CONTACT_COVARIANCE):
            a, b, v = _contact_entry(path, number, line)
            _put(contact_cov, a, b, v)
        d = DRAWS_LINE.match(line)
        if d:
            draws = _draws(path, d.group(1))
        m = BASIN_LINE.match(line)
        if m:
            part = basins.setdefault(int(m.group(1)), {"weight": None, "value": {}, "covariance": {}})
            kind, a, b, v = m.group(2), m.group(3), m.group(4), float(m.group(5))
            if kind == "weight":
                part["weight"] = v
            elif kind == "value":
                part["value"][a] = v
            else:
                _put(part["covariance"], a, b, v)
    for k, part in basins.items():  # a hand-edited value would fail deep in the forecast, naming no file
        for name, v in part["value"].items():
            lo, hi = LIMITS.get(name, (-math.inf, math.inf))
            if not lo <= v <= hi:
                raise ValueError(f"{path}: basin {k} value {name} = {v:g}: outside {lo:g} to {hi:g}")
    # the joint draw is over the values the file still marks as fitted (a marginal of the fit's covariance)
    contact_names = tuple(dict.fromkeys(a for a, _ in contact_cov if a in contact_ses))
    contact_matrix = _matrix(contact_names, contact_cov)
    if contact_matrix is None:  # an incomplete matrix (hand-edited file): independent draws from the SEs
        contact_names, contact_matrix = (), np.zeros((0, 0))
    return replace(_population_errors(ses, cov, basins, draws), contact_ses=contact_ses, contact_names=contact_names,
                   contact_log_cov=contact_matrix)


def read_prior(path: Path, weight: float = 1.0) -> Prior:
    """The fit in a scenario file :func:`write_scenario` wrote, as a prior (``siyu calibrate --prior``).

    Its estimate (the file's values) and the joint covariance of their logs; ``weight`` in (0, 1]. ValueError, in
    one line, for a file with no such covariance (a preset, a hand-made scenario) or a weight outside that range.
    """
    if not (math.isfinite(weight) and 0 < weight <= 1):
        raise ValueError(f"--prior-weight {weight:g}: must be in (0, 1] (the other log's customers each count as that "
                         "many of this log's)")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--prior {path}: no such file")
    errors = fitted_errors(path)
    if not errors.names:
        raise ValueError(f"--prior {path}: the file has no joint covariance of fitted values (a scenario.toml that "
                         "siyu calibrate wrote has one)")
    scenario = load_scenario(str(path))
    mean = tuple(math.log(scenario_value(scenario, n)) for n in errors.names)
    cov = tuple(tuple(float(v) for v in row) for row in np.asarray(errors.log_cov, np.float64))
    return Prior(tuple(errors.names), mean, cov, float(weight), str(path))


def _population_errors(ses: dict[str, float], cov: dict[tuple[str, str], float], basins: dict[int, dict],
                       draws: Draws | None) -> Uncertainty:
    """The population's part of :func:`fitted_errors`: SEs, covariance, mixture or draws as read from the file."""
    names = tuple(dict.fromkeys(a for a, _ in cov))
    matrix = _matrix(names, cov)
    if draws is not None:
        return Uncertainty(ses, names if matrix is not None else (), matrix if matrix is not None else np.zeros((0, 0)),
                           draws=draws)
    if matrix is None:
        return Uncertainty(ses)  # an incomplete matrix (hand-edited file): independent draws from the SEs
    parts = []
    if basins and 0 not in basins:
        return Uncertainty(ses, names, matrix)
    for k in sorted(basins):
        part = basins[k]
        m_k = matrix if k == 0 else _matrix(names, part["covariance"])
        weight = part["weight"]
        sets = set(part["value"]) - set(names)  # a fit from another base: the dropout rate it sets
        if weight is None or not 0 < weight < math.inf or m_k is None or (k > 0 and (
                not set(names) <= set(part["value"]) or not sets <= set(DROPOUT))):
            return Uncertainty(ses, names, matrix)  # an incomplete basin (hand-edited): this file's values alone
        parts.append(Component(part["weight"], part["value"] if k else {}, m_k))
    return Uncertainty(ses, names, matrix, tuple(parts) if len(parts) > 1 else ())


def _put(cov: dict[tuple[str, str], float], a: str, b: str, v: float) -> None:
    """Entry (a, b) of a symmetric matrix read from its upper triangle (:func:`_matrix_lines`)."""
    cov[(a, b)] = cov[(b, a)] = v


def _dotted(section: str, key: str) -> str:
    """The dotted path of ``key`` in the table ``section`` (the key alone at the top level)."""
    return f"{section}.{key}" if section else key


def _contact_value(path: Path, number: int, name: str) -> str:
    """``name``, checked to be a value the contact fit fits (its :data:`CONTACT_NOTE` is on line ``number``)."""
    parts = name.split(".")
    if len(parts) != 3 or parts[2] not in CONTACT_LIMITS or parts[0] != ("contents" if parts[2] == "conversion"
                                                                           else "channels"):
        raise ValueError(f"{path}, line {number}: {name}: '{CONTACT_NOTE}' marks only a channel's open_rate or "
                         "unsubscribe_rate or a content's conversion")
    return name


def _contact_entry(path: Path, number: int, line: str) -> tuple[str, str, float]:
    """The two names and the value of a :data:`CONTACT_COVARIANCE` line (line ``number`` of ``path``), checked."""
    c = CONTACT_COVARIANCE_LINE.match(line)
    try:
        v = float(c.group(3)) if c else math.nan
    except ValueError:
        v = math.nan
    if c is None or not math.isfinite(v):
        raise ValueError(f"{path}, line {number}: {line.strip()!r}: expected '{CONTACT_COVARIANCE} NAME NAME = "
                         "NUMBER' (delete the contact covariance lines to draw from the SEs alone)")
    return c.group(1), c.group(2), v


def _draws(scenario: Path, name: str) -> Draws:
    """The draws file a scenario names: a file beside it, read and checked (:func:`read_draws`)."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"{scenario}: 'draws file = {name}': a file name beside the scenario is expected")
    target = scenario.parent / name
    if not target.is_file():
        raise ValueError(f"{scenario} takes its draws from {target}, which is missing: copy it beside the scenario, "
                         "or delete the line '# draws file = ...' to draw from the covariance instead")
    return read_draws(target, LIMITS)


def _matrix(names: tuple[str, ...], cov: dict[tuple[str, str], float]) -> np.ndarray | None:
    """The matrix of ``cov`` over ``names`` (None when an entry is missing)."""
    if any((a, b) not in cov for a in names for b in names):
        return None
    return np.array([[cov[(a, b)] for b in names] for a in names])


def contact_scenario_text(text: str, fit: ContactFit) -> str:
    """``text`` (a scenario file) with the contact fit's values and SEs in their ``[channels.X]``/``[contents.X]``.

    Parameters the log had rows for but does not identify get the reason as a comment; a table or key the text
    lacks is added. The fit's covariance of log values goes at the end as :data:`CONTACT_COVARIANCE` lines
    (replacing any a previous fit left).
    """
    notes = {k: f"{CONTACT_NOTE} {_fmt(fit.ses[k])} {CONTACT_UNITS[k.rsplit('.', 1)[1]]}" for k in fit.values}
    shown = {k: _fmt(v) for k, v in fit.values.items()}
    notes.update({k: "# not fitted from the contact log: " + why.split(": ", 1)[-1] for k, why in fit.fixed.items()})
    lines = text.splitlines()
    kept = [line for line in lines if line != CONTACT_COVARIANCE_HEADER and not line.startswith(CONTACT_COVARIANCE)]
    if len(kept) < len(lines):  # a fit written before: its covariance is replaced, not added to
        while kept and not kept[-1].strip():
            kept.pop()
        text = "\n".join(kept) + "\n"
    return _with_values(text, shown, notes) + "".join(line + "\n" for line in _contact_covariance_lines(fit))


def _contact_covariance_lines(fit: ContactFit) -> list[str]:
    """Comment lines with the contact fit's joint covariance of log values, which ``siyu forecast`` draws from."""
    names = tuple(fit.values)
    if fit.covariance is None or not names or np.shape(fit.covariance) != (len(names), len(names)):
        return []
    return ["", CONTACT_COVARIANCE_HEADER] + _matrix_lines(CONTACT_COVARIANCE, names, np.asarray(fit.covariance))


def write_contact_fit(path: Path, fit: ContactFit) -> None:
    """Put the contact fit into the scenario file at ``path`` (written by :func:`write_scenario`) and check it loads."""
    path.write_text(contact_scenario_text(path.read_text(encoding="utf-8"), fit), encoding="utf-8")
    load_scenario(path)
