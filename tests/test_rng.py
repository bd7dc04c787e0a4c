"""Random streams: every purpose has a name and a code of its own, and no two streams share a key."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sim.rng import STREAMS, SUBSTREAMS, day_generator, purpose, stream_key

ROOT = Path(__file__).resolve().parent.parent
DAYS = range(-2, 400)
SEEDS = (0, 1, 12345)


def _keys(streams: dict[str, int], substreams: dict[str, tuple[int, int, int]], seed: int) -> dict[int, str]:
    """Every stream key a run of ``seed`` uses, mapped to the stream's name; raises on a shared key."""
    seen: dict[int, str] = {}

    def add(key: int, name: str) -> None:
        assert key not in seen, f"streams {seen.get(key)} and {name} share key {key:#x}"
        seen[key] = name

    for name, code in streams.items():
        for day in DAYS:
            add(int(stream_key(seed, day, code)), f"{name}@{day}")
    for name, (code, day, salt) in substreams.items():
        add(int(stream_key(seed, day, code)) ^ salt, name)
    return seen


@pytest.mark.parametrize("seed", SEEDS)
def test_no_two_streams_share_a_key(seed):
    keys = _keys(STREAMS, SUBSTREAMS, seed)
    assert len(keys) == len(STREAMS) * len(DAYS) + len(SUBSTREAMS)


def test_a_purpose_code_used_twice_is_caught():
    clash = {**STREAMS, "contact_copy": STREAMS["contact"]}
    with pytest.raises(AssertionError, match="share key"):
        _keys(clash, SUBSTREAMS, 0)


def test_a_salt_used_twice_is_caught():
    clash = {**SUBSTREAMS, "habits.copy": SUBSTREAMS["habits.slots"]}
    with pytest.raises(AssertionError, match="share key"):
        _keys(STREAMS, clash, 0)


def test_registering_a_taken_purpose_fails():
    with pytest.raises(ValueError, match="collides"):
        purpose("another", STREAMS["organic"])
    with pytest.raises(ValueError, match="collides"):
        purpose("organic", 4242)
    assert "another" not in STREAMS and 4242 not in STREAMS.values()


def test_engine_draws_come_from_named_purposes_and_salts():
    """No literal purpose code or salt in the engine: each is a registered name."""
    import sim.rng
    registered = {name for name, value in vars(sim.rng).items() if name.startswith(("P_", "SALT_", "DAY_"))}
    uses = 0
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "stream_key" and len(node.args) == 3:
                names = {n.id for n in ast.walk(node.args[2]) if isinstance(n, ast.Name)}
                assert names and names <= registered | {"purpose"}, f"{path.name}:{node.lineno}"
                uses += 1
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor) and isinstance(node.right, ast.Call):
                names = {n.id for n in ast.walk(node.right) if isinstance(n, ast.Name)}
                assert names & registered, f"{path.name}:{node.lineno}: unnamed salt"
                uses += 1
    assert uses >= 15


@pytest.mark.parametrize("seed, day, code", [(0, 0, 0), (1, 37, 11), (12345, 399, 11), (2**32, 2**32 - 1, 2**32),
                                             (2**40 + 5, 3, 9), (2**63 - 1, 100_000, 99)])
def test_day_generator_is_numpy_s_generator_seeded_alike(seed, day, code):
    """Reseeding in place gives the bits of a fresh ``default_rng([seed, day, purpose])``, every draw kind alike."""
    fresh = np.random.default_rng([seed, day, code])
    want = (fresh.random(5), fresh.poisson(3.5, 4), fresh.integers(0, 2**62, 3), fresh.normal(size=3))
    day_generator(seed ^ 1, day, code).random(7)  # an earlier day's draws leave nothing behind
    gen = day_generator(seed, day, code)
    got = (gen.random(5), gen.poisson(3.5, 4), gen.integers(0, 2**62, 3), gen.normal(size=3))
    for a, b in zip(want, got):
        assert np.array_equal(a, b)
    assert day_generator(seed, day, code).random() == np.random.default_rng([seed, day, code]).random()


def test_day_generator_refuses_ints_it_cannot_seed_alike():
    for bad in ((0, -1, 11), (2**63, 0, 11)):
        with pytest.raises(ValueError):
            day_generator(*bad)
