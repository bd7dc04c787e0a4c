"""Ctrl-C that waits for the engine's day to end: a compiled call is no place for an exception.

A KeyboardInterrupt raised while numba dispatches or runs a compiled function can leave the interpreter
with an exception set behind a returned result ("SystemError: CPUDispatcher(...) returned a result with an
exception set") or crash it outright (numba issue 2324; seen here as a SIGSEGV on Ctrl-C in CI). With
:func:`install`, Ctrl-C inside :func:`held` (the engine's day, :func:`sim._threads.engine_threads`) only
marks the interrupt, and KeyboardInterrupt is raised as the section ends, a day later at most; a second
Ctrl-C raises at once. Outside such a section Ctrl-C raises as usual. The command line installs it; a
library user's process keeps Python's own handler unless they call :func:`install` themselves.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

_local = threading.local()
"""Per thread: ``depth``, the nesting of :class:`held` sections in progress (the main thread's is what counts:
signals are handled there)."""
_pending = False
"""A Ctrl-C came inside a section and waits for it to end."""


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _pending
    if getattr(_local, "depth", 0) and not _pending:
        _pending = True
        return
    _pending = False
    raise KeyboardInterrupt


def install() -> Any:
    """Hold Ctrl-C to the end of the engine's day from now on; returns the handler it replaced (None: unchanged).

    Leaves a process alone whose Ctrl-C is ignored (a worker, a job started in the background) or handled
    by someone else, and a thread that is not the main one (only it may set handlers).
    """
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        return signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread
        return None


def restore(previous: Any) -> None:
    """Put back the handler :func:`install` replaced (nothing if it replaced none)."""
    global _pending
    if previous is not None:
        try:
            signal.signal(signal.SIGINT, previous)
        except ValueError:
            pass
    _pending = False


class held:
    """A section that a Ctrl-C does not break into: KeyboardInterrupt is raised as it ends (if installed)."""

    __slots__ = ()

    def __enter__(self) -> None:
        """Enter the section (they nest)."""
        _local.depth = getattr(_local, "depth", 0) + 1

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Leave it; the outermost section of the main thread raises a Ctrl-C that came meanwhile."""
        global _pending
        _local.depth -= 1
        if _pending and not _local.depth and threading.current_thread() is threading.main_thread():
            _pending = False
            if kind is None:
                raise KeyboardInterrupt


def interrupted(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was caused by, a Ctrl-C (numba wraps one landing in a dispatch in a SystemError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def reraise_interrupt(exc: BaseException) -> None:
    """Raise KeyboardInterrupt if ``exc`` came from a Ctrl-C: a handler that goes on after failures must not go on."""
    if interrupted(exc):
        raise KeyboardInterrupt from exc
