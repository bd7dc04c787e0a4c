"""The bandwidth probe of ``siyu bench`` touches every state array and leaves the state as it was."""

from __future__ import annotations

import multiprocessing

import numpy as np

from experiments.bench.probe import KEY, _words, _xor_pass, bandwidth_rate, neighbours
from sim.engine import Simulation


def test_one_pass_rewrites_every_word_of_every_array_and_two_restore_it(beauty):
    sim = Simulation(beauty, 70_000, 1)
    before = {k: v.copy() for k, v in sim.state.arrays().items()}
    words, chunks = _words(sim.state)
    assert sum(w.nbytes for w in words) >= sum(v.nbytes for v in before.values()) - 8 * len(before)
    saved = [w.copy() for w in words]
    _xor_pass(words, chunks, KEY)
    for w, old in zip(words, saved):
        assert np.array_equal(w, old ^ KEY)  # every word was read and written
    changed = [k for k, v in sim.state.arrays().items() if v.nbytes >= 8 and not np.array_equal(v, before[k])]
    assert len(changed) == sum(1 for v in before.values() if v.nbytes >= 8)
    _xor_pass(words, chunks, KEY)
    for k, v in sim.state.arrays().items():
        assert np.array_equal(v, before[k]), k


def test_the_probe_measures_and_restores_the_state(beauty):
    sim = Simulation(beauty, 5_000, 2)
    before = {k: v.copy() for k, v in sim.state.arrays().items()}
    assert bandwidth_rate(sim.state, 5_000, 0.05) > 0
    for k, v in sim.state.arrays().items():
        assert np.array_equal(v, before[k]), k


def test_neighbours_run_during_the_block_and_are_gone_after():
    with neighbours(2):
        assert len(multiprocessing.active_children()) == 2
    assert multiprocessing.active_children() == []
