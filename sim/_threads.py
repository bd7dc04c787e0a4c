"""How many threads the engine's kernels use, and how they wait: passively, so a busy machine does not make them spin.

numba's OpenMP threads spin while they wait for each other at the end of every parallel loop. On a
quiet machine that saves microseconds; on a shared one (CI runners, a notebook beside a training
run, several ``--jobs`` processes) the spinning threads steal the cores the working ones need and a
run slows several-fold. Passive waiting costs little when quiet and keeps the slowdown near a fair
share of the cores when loaded. Results do not depend on it: work is split into fixed blocks.
Set before numba's threading layer starts (at ``import sim``); an explicit ``OMP_WAIT_POLICY`` in
the environment wins.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

WAIT_POLICY = "PASSIVE"
"""OpenMP wait policy of the engine's threads unless the environment sets one."""


def configure() -> str:
    """Set the wait policy of numba's OpenMP threads (before they start); returns the policy in force."""
    return os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)


PARALLEL_FROM = 64 * 1024
"""Rows from which the kernels use every numba thread; smaller pools run on one.

Measured with ``siyu bench`` on 2 cores (one run, passive waiting): the engine step at 20,000 and
50,000 customers ran 1.45x and 1.3x faster on one thread than on two (waking the second thread
costs more than it brings), at 100,000 two threads were ahead.
"""


@contextmanager
def engine_threads(rows: int) -> Iterator[None]:
    """Run the kernels inside on one thread when the pool has fewer than :data:`PARALLEL_FROM` rows.

    Results do not depend on it: work is split into fixed blocks whatever the thread count.
    """
    if rows >= PARALLEL_FROM:
        yield
        return
    import numba
    before = numba.get_num_threads()
    if before == 1:  # already one thread: nothing to set or restore
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
