"""How numba's parallel kernels wait: passively, so a busy machine does not make them spin.

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

WAIT_POLICY = "PASSIVE"
"""OpenMP wait policy of the engine's threads unless the environment sets one."""


def configure() -> str:
    """Set the wait policy of numba's OpenMP threads (before they start); returns the policy in force."""
    return os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
