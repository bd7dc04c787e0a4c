"""What the memory system allows, and what a busy machine costs: the yardsticks of ``siyu bench``.

The bandwidth probe is one compiled, parallel pass that reads and writes every state array of a pool
once (each word XOR-ed with a key, so nothing can be optimised away; a second pass restores the state).
A day of the engine touches at least that much memory, so the probe's customer-days per second is the
ceiling the engine step is measured against. The neighbours are CPU-bound processes that run beside a
measurement to show how it holds on a shared machine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from numba import njit, prange

from sim.state import State

KEY = np.uint64(0x9E3779B97F4A7C15)


CHUNK = 1 << 15
"""Words per parallel work item."""


@njit(cache=True, parallel=True)
def _xor_pass(words, chunks, key):  # pragma: no cover - jitted
    """Read and write every word of every array once; ``chunks`` rows are (array, start, stop).

    Why chunks: a ``prange`` nested in a loop over a tuple of arrays compiles to a loop that writes
    nothing (numba 0.6x), so the parallel loop runs over chunks of all arrays at once.
    """
    for c in prange(chunks.shape[0]):
        a = words[chunks[c, 0]]
        for i in range(chunks[c, 1], chunks[c, 2]):
            a[i] ^= key


def _words(state: State) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Every state array as 64-bit words (a tail of fewer than 8 bytes is left out), and their chunks."""
    words, chunks = [], []
    for k, arr in enumerate(state.arrays().values()):
        raw = arr.reshape(-1).view(np.uint8)
        words.append(raw[: raw.size - raw.size % 8].view(np.uint64))
        for start in range(0, words[-1].size, CHUNK):
            chunks.append((k, start, min(start + CHUNK, words[-1].size)))
    return tuple(words), np.array(chunks, np.int64).reshape(-1, 3)


def bandwidth_rate(state: State, customers: int, min_seconds: float = 0.5) -> float:
    """Customer-days per second of the probe: passes over the whole state per second times ``customers``."""
    words, chunks = _words(state)
    _xor_pass(words, chunks, KEY)  # compile or load, and restore below
    _xor_pass(words, chunks, KEY)
    passes, t0 = 0, time.perf_counter()
    while True:
        _xor_pass(words, chunks, KEY)
        passes += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds and passes % 2 == 0:  # an even number of passes leaves the state as it was
            return customers * passes / dt


def load_average() -> str:
    """The 1-minute load average (the machine is shared: every figure is stated with it); "?" where unknown."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def _spin(stop: float) -> None:
    x = 0
    while time.time() < stop:
        x += 1


@contextmanager
def neighbours(k: int, seconds: float = 3600.0) -> Iterator[None]:
    """``k`` CPU-bound processes running while the block runs (none when ``k`` is 0)."""
    procs = [mp.get_context("spawn").Process(target=_spin, args=(time.time() + seconds,), daemon=True)
             for _ in range(k)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join()


__all__ = ["bandwidth_rate", "neighbours"]
