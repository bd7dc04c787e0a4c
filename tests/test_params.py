"""Named kernel parameters: kernels get the state fields and parameters they name, and every setting reaches them."""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

import sim.kernels
import sim.state
import sim.world
from sim.config import field_docs, load_scenario
from sim.params import (CUSTOMER, GROUPS, JOINERS, KERNEL_GROUPS, POPULATION, STAFF, TABLE, USED_ELSEWHERE,
                        group_table, pack, source_paths)
from sim.state import State

ROOT = Path(__file__).resolve().parent.parent
STATE_FIELDS = [f.name for f in fields(State)]
KERNEL_MODULES = (sim.kernels, sim.state, sim.world)


def _kernels() -> dict[str, list[str]]:
    """Parameter names of every jitted function in the kernel modules, by function name."""
    out = {}
    for module in KERNEL_MODULES:
        for name, obj in vars(module).items():
            py = getattr(obj, "py_func", None)
            if py is not None and py.__module__ == module.__name__:
                out[name] = list(inspect.signature(py).parameters)
    return out


def _state_run(params: list[str]) -> list[str]:
    """The run of consecutive parameters that starts with the first State field."""
    start = params.index(STATE_FIELDS[0])
    return params[start:start + len(STATE_FIELDS)]


@pytest.mark.parametrize("kernel", ["step_day", "_generate"])
def test_kernels_taking_the_whole_state_list_its_fields_in_state_order(kernel):
    assert _state_run(_kernels()[kernel]) == STATE_FIELDS


def _calls(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            yield name, node


def _kernel_call_sites():
    kernels = _kernels()
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for name, call in _calls(path):
            if name in kernels:
                yield path.relative_to(ROOT), call.lineno, kernels[name], call


def test_every_kernel_call_passes_state_fields_at_the_parameters_of_the_same_name():
    checked = 0
    for where, line, params, call in _kernel_call_sites():
        for pos, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):  # *state.arrays().values(): the State fields in order
                assert params[pos:pos + len(STATE_FIELDS)] == STATE_FIELDS, f"{where}:{line}"
                checked += 1
                break
            if isinstance(arg, ast.Attribute) and arg.attr in STATE_FIELDS and isinstance(arg.value, ast.Name) \
                    and arg.value.id in ("st", "state"):
                assert params[pos] == arg.attr, f"{where}:{line}: {arg.attr} passed as {params[pos]}"
                checked += 1
            if isinstance(arg, ast.Name) and arg.id in STATE_FIELDS:  # a kernel handing on the arrays it was given
                assert params[pos] == arg.id, f"{where}:{line}: {arg.id} passed as {params[pos]}"
                checked += 1
    assert checked > 30  # the calls of step_day, _generate, join_rows, staff_day, residual kernels, ...


def test_a_swapped_state_argument_is_caught():
    params = ["rows", "value", "cycle"]
    call = ast.parse("k(rows, st.cycle, st.value)").body[0].value
    wrong = [(arg.attr, params[pos]) for pos, arg in enumerate(call.args)
             if isinstance(arg, ast.Attribute) and params[pos] != arg.attr]
    assert wrong == [("cycle", "value"), ("value", "cycle")]


def test_every_scenario_field_reaches_a_kernel_or_is_listed_as_used_elsewhere():
    paths = {row["path"] for row in field_docs()}
    kernel = source_paths()
    assert kernel <= paths, f"table names unknown fields: {sorted(kernel - paths)}"
    assert set(USED_ELSEWHERE) <= paths, sorted(set(USED_ELSEWHERE) - paths)
    assert not kernel & set(USED_ELSEWHERE), sorted(kernel & set(USED_ELSEWHERE))
    missing = paths - kernel - set(USED_ELSEWHERE)
    assert not missing, f"fields no kernel or rule reads: {sorted(missing)}"


def test_fields_used_elsewhere_are_read_where_the_list_says():
    for path, use in USED_ELSEWHERE.items():
        module = use.split(":")[0]
        text = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        leaf = path.split(".")[-1]
        assert re.search(rf"\b{leaf}\b", text), f"{path}: not read in {module}"


ACCESSOR = {CUSTOMER: ("sim/kernels.py", "p"), POPULATION: ("sim/state.py", "pp"), GROUPS: ("sim/world.py", "gp"),
            STAFF: ("sim/world.py", "sp"), JOINERS: ("sim/world.py", "jp")}


@pytest.mark.parametrize("group", KERNEL_GROUPS)
def test_every_parameter_of_a_group_is_read_by_its_kernels(group):
    path, var = ACCESSOR[group]
    text = (ROOT / path).read_text()
    unread = [k.name for k in group_table(group) if not re.search(rf"\b{var}\.{k.name}\b", text)]
    assert not unread, f"{group} parameters no kernel reads: {unread}"


def test_parameters_are_named_once_per_group_with_a_unit_and_a_doc():
    for group in KERNEL_GROUPS:
        names = [k.name for k in group_table(group)]
        assert len(names) == len(set(names)), group
    assert all(k.unit and k.doc and k.sources for k in TABLE)


def test_packing_derives_the_documented_values():
    sc = load_scenario("beauty")
    p = pack(sc)
    assert p.customer.salience_decay ** sc.dynamics.salience_half_life_days == pytest.approx(0.5)
    assert p.staff.turnover == pytest.approx(sc.staff.turnover_per_year / 365)
    assert p.population.dropout_per_day == pytest.approx(sc.population.dropout_per_year / 365)
    assert list(p.channels.open_rate) == [sc.channels[c].open_rate for c in sc.channels]
    assert p.customer.tier2 == sc.tiers.thresholds_yuan[1]
