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
import threading
import types
from types import TracebackType
from typing import Any, Callable

from sim.interrupts import held

WAIT_POLICY = "PASSIVE"
"""OpenMP wait policy of the engine's threads unless the environment sets one."""


def configure() -> str:
    """Set the wait policy of numba's OpenMP threads (before they start); returns the policy in force."""
    return os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)


PARALLEL_FROM = 64 * 1024
"""Rows from which the kernels use every numba thread; smaller pools run the serial twins (:class:`Twin`).

Measured with ``siyu bench`` on 2 cores (one run, passive waiting): the engine step at 20,000 and
50,000 customers ran 1.45x and 1.3x faster on one thread than on two (waking the second thread
costs more than it brings), at 100,000 two threads were ahead. Re-measure with
``python benchmarks/parallel_from.py`` (serial twins against the parallel kernels on 2 threads, by
pool size, alternating); at load 11-12 it could not place the threshold (docs/performance.md).
"""


LIGHT_PARALLEL_FROM = 500_000
"""Rows from which a light kernel (little work a call: the group census, validation, segments, slots) runs in parallel.

Every parallel call wakes the other thread and waits for it; beside busy neighbours that wait is long.
``siyu run``'s engine at 200,000 customers, 180 days, beside three spinning neighbours (5 quiet/loaded pairs,
medians): with the group census and validation through their serial twins, 0.45 s quiet against 0.44 s, and
1.14 s loaded against 1.24 s (2.41x against 2.84x its quiet time); at 10^6 customers the serial twins cost
the quiet run 7-13% (3 pairs), so from here on they run in parallel. Timed alone on 2 threads at 200,000
customers (``python benchmarks/twins.py --customers 200000 --threads 2``), the census, the segments and the
slots ran faster serially even on a quiet machine (0.82, 0.78 and 0.33 of their parallel times), validation
at 1.41x its parallel time (docs/performance.md).
"""


_local = threading.local()
"""Per Python thread: ``rows``, the pool size inside :func:`engine_threads` (None outside)."""


def serial_now(light: bool = False) -> bool:
    """Whether :class:`Twin` kernels (``light`` ones if ``light``) called now run their one-thread twin."""
    rows = getattr(_local, "rows", None)
    return rows is not None and rows < (LIGHT_PARALLEL_FROM if light else PARALLEL_FROM)


class engine_threads:
    """Run the :class:`Twin` kernels inside through their one-thread twins below their pool size (``rows``).

    Every parallel kernel of the day's path (the step, the observation's features, the rule policies'
    helpers, validation, the recorder) is a :class:`Twin`, so a small pool enters no parallel region
    at all whatever the thread count; a light kernel runs serially up to :data:`LIGHT_PARALLEL_FROM` rows.
    Only a per-thread value changes: numba's thread count is left as
    it is (setting it to one and back, every day, was the only thing the 2-thread setting did that the
    1-thread one did not; docs/performance.md), so a parallel kernel that is not a twin (a user's own)
    runs on the threads set. From :data:`PARALLEL_FROM` rows the parallel kernels run, on as
    many threads as are set. Results do not depend on it: work is split into fixed blocks whatever
    the thread count.
    """

    __slots__ = ("rows", "before")

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.before: int | None = None

    def __enter__(self) -> None:
        self.before = getattr(_local, "rows", None)
        _local.rows = self.rows
        _held.__enter__()  # Ctrl-C waits for the day's compiled calls to end (sim.interrupts)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _local.rows = self.before
        _held.__exit__(kind, exc, tb)


_held = held()
"""The one :class:`~sim.interrupts.held` section object (it keeps no state of its own)."""


class Twin:
    """A parallel kernel and its one-thread twin, both compiled from the same Python function.

    Calling it runs the twin inside :func:`engine_threads` for a small pool (or on one thread), the
    parallel kernel otherwise. Why: a parallel loop on a small pool costs more to launch and join
    than its work, even with one numba thread set; the twin has no parallel region at all. Both
    compute the same values in the same order (prange is range in the twin; blocks are fixed), so
    results are bit-identical. The parallel kernel runs from :data:`PARALLEL_FROM` rows, a ``light`` one from
    :data:`LIGHT_PARALLEL_FROM`. Attributes (``py_func``, ``signatures``, ...) are the parallel kernel's.
    """

    def __init__(self, parallel: Any, serial: Any, light: bool = False) -> None:
        self.parallel = parallel
        self.serial = serial
        self.light = light
        self.__doc__ = parallel.__doc__
        self.__wrapped__ = parallel.py_func

    def __call__(self, *args: Any) -> Any:
        return (self.serial if serial_now(self.light) else self.parallel)(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parallel, name)


def twin(light: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Twin]:
    """Decorator: ``numba.njit(parallel=True, **options)`` and a serial twin of the same function (a :class:`Twin`).

    The twin is compiled from a copy of the function object named ``<name>_serial`` (so numba's cache
    keeps the two apart); no second definition of any dynamics exists. ``light``: a kernel of little work a
    call, parallel from :data:`LIGHT_PARALLEL_FROM` rows.
    """
    import numba

    def wrap(fn: Callable[..., Any]) -> Twin:
        parallel = numba.njit(parallel=True, **options)(fn)
        copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                                  fn.__closure__)
        copy.__qualname__ = fn.__qualname__ + "_serial"
        copy.__module__ = fn.__module__
        copy.__doc__ = fn.__doc__
        return Twin(parallel, numba.njit(**options)(copy), light)

    return wrap
