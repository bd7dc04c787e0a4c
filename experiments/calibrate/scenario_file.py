"""The calibrated scenario as TOML: the base scenario's text with the fitted values put in.

Each value carries its standard error as a comment, so the file stays the readable, commented preset a
strategist edits.
"""

from __future__ import annotations

import re
from pathlib import Path

from experiments.calibrate.fit import UNITS, Calibration
from sim.config import load_scenario

SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) >= 1e-3 else f"{v:.3e}"


def scenario_text(cal: Calibration, base_text: str, name: str, source: str) -> str:
    """``base_text`` with :attr:`Calibration.values` (and the pool size) in its [population] table."""
    values = {k.split(".", 1)[1]: v for k, v in cal.values.items()}
    notes = {k.split(".", 1)[1]: f"# fitted by siyu calibrate: SE {_fmt(cal.ses[k])} {UNITS[k]}" for k in cal.values}
    notes.update({k.split(".", 1)[1]: "# not identified by the log: " + why.split(": ")[-1]
                  for k, why in cal.fixed.items()})
    values["customers"] = cal.data.n
    notes["customers"] = "# customers in the calibration log"
    lines, section, done = [], "", set()
    for line in base_text.splitlines():
        m = SECTION.match(line)
        if m:
            if section == "population":
                lines += _missing(values, notes, done)
            section = m.group(1).strip()
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
        if section == "" and key == "name":
            line = f'name = "{name}"'
        elif section == "" and key == "description":
            line = f'description = "Calibrated by siyu calibrate on {source}"'
        elif section == "population" and key in notes:
            shown = f"{int(values[key])}" if key == "customers" else _fmt(values[key]) if key in values else None
            if shown is None:
                line = f"{line.split('#', 1)[0].rstrip()}  {notes[key]}"
            else:
                line = f"{key} = {shown}  {notes[key]}"
            done.add(key)
        lines.append(line)
    if section == "population":
        lines += _missing(values, notes, done)
    if not any(SECTION.match(x) and SECTION.match(x).group(1).strip() == "population" for x in lines):
        lines += ["", "[population]"] + _missing(values, notes, done)
    return "\n".join(lines) + "\n"


def _missing(values: dict[str, float], notes: dict[str, str], done: set[str]) -> list[str]:
    out = []
    for key, v in values.items():
        if key not in done:
            out.append(f"{key} = {int(v) if key == 'customers' else _fmt(v)}  {notes[key]}")
            done.add(key)
    return out


def write_scenario(cal: Calibration, base_text: str, path: Path, name: str, source: str) -> None:
    """Write the calibrated scenario to ``path`` and check that it loads."""
    path.write_text(scenario_text(cal, base_text, name, source), encoding="utf-8")
    load_scenario(path)
