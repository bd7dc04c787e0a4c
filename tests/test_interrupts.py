"""Ctrl-C waits for the engine's day to end (sim.interrupts): never raised inside a compiled call."""

from __future__ import annotations

import os
import signal

import pytest

from sim import Simulation, interrupts, load_scenario
from sim._threads import engine_threads


@pytest.fixture
def installed():
    """The command line's handler, over Python's own (whatever the test runner set), put back afterwards."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = interrupts.install()
    assert previous is signal.default_int_handler
    yield
    interrupts.restore(previous)
    signal.signal(signal.SIGINT, before)


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode, in this (the main) thread


def test_a_ctrl_c_inside_a_held_section_is_raised_as_it_ends(installed):
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            with interrupts.held():  # nested: only the outermost raises
                _ctrl_c()
                reached = True
            assert reached  # the inner end went by
    assert reached


def test_a_second_ctrl_c_raises_at_once_and_outside_a_section_it_raises_as_usual(installed):
    after_second = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            _ctrl_c()
            _ctrl_c()
            after_second = True
    assert not after_second
    with pytest.raises(KeyboardInterrupt):
        _ctrl_c()
        for _ in range(1000):  # the handler runs at the next bytecode
            pass


def test_the_engine_s_day_is_held(installed):
    """A Ctrl-C during a day ends the day, then interrupts: the day's count moves by one."""
    sim = Simulation(load_scenario("beauty"), 500, 3)
    sim.step()
    with pytest.raises(KeyboardInterrupt):
        with engine_threads(sim.n):
            _ctrl_c()
            sim._step(None, None)
    assert sim.day == 2


def test_without_install_a_held_section_changes_nothing():
    assert signal.getsignal(signal.SIGINT) is not interrupts._on_sigint
    with interrupts.held():
        pass


def test_a_ctrl_c_wrapped_by_numba_is_known_as_one():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("CPUDispatcher(f) returned a result with an exception set") from ki
    except SystemError as exc:
        assert interrupts.interrupted(exc)
        with pytest.raises(KeyboardInterrupt):
            interrupts.reraise_interrupt(exc)
    assert not interrupts.interrupted(ValueError("bad input"))
    interrupts.reraise_interrupt(ValueError("bad input"))  # not a Ctrl-C: nothing raised
