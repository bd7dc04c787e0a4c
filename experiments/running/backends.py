"""Where runs execute: this process, local worker processes, or a Ray cluster; results stream back as they finish.

A :class:`Backend` takes a picklable top-level function and a list of items and yields one
:class:`Finished` per item, in the order they finish. Everything else (saving, resuming, progress,
tables) is shared, so a backend changes where the numbers are computed, never what they are: every
run is a pure function of its item (seeding is per run, not per worker).

Faults: a worker process that dies mid-item has the item run again (``retries`` times, then the item
is reported as failed); an item whose function raises is reported with its error and the others go
on. Only a bounded number of items is in flight at once, so the driver holds little in memory
whatever the number of items.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from sim.extras import require
from sim.interrupts import reraise_interrupt

BACKENDS = ("local", "ray")
"""Names accepted by ``--backend``."""
RETRIES = 3
"""How many times an item is run again after the worker running it died."""
IN_FLIGHT_PER_WORKER = 2
"""Items submitted ahead per worker: enough to keep workers busy, few enough to keep the driver small."""
LOCAL_OBJECT_STORE = 256 * 2**20
"""Bytes of shared memory for a local Ray instance (Ray's default, 30% of RAM, is far more than runs need)."""


@dataclass(frozen=True)
class Finished:
    """One item done: its index in the submitted list, and either its value or the error that ended it."""

    index: int
    value: Any = None
    error: str | None = None


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line and at most 300 characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 300 else text[:299] + "…"


class Backend(ABC):
    """Runs a function over items and yields each result as it finishes (see the module docstring)."""

    name: str
    workers: int
    """Items that run at the same time."""

    @abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Finished]:
        """``fn(item)`` for every item, yielded as each finishes; closing the iterator stops what is running."""

    def close(self) -> None:
        """Release the workers (a no-op for backends that hold none between calls)."""

    def __enter__(self) -> "Backend":
        """Use as a context manager, so the workers are released however the work ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Release the workers."""
        self.close()


class LocalBackend(Backend):
    """``jobs`` worker processes on this machine (``jobs == 1``: this process, no pool).

    The pool lives from the first call to :meth:`close`, so many small calls (the trials of a search)
    do not each pay for starting processes.
    """

    name = "local"

    def __init__(self, jobs: int = 1, retries: int = RETRIES) -> None:
        self.workers = max(1, jobs)
        self.retries = retries
        self._pool: Any = None
        """Worker processes, started on first use and kept until :meth:`close` (starting them costs seconds)."""

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Finished]:
        """In this process one after another, or in a pool restarted (``retries`` times) if a worker dies."""
        if self.workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                try:
                    value = fn(item)
                except Exception as exc:  # noqa: BLE001 - reported with its item; the others go on
                    reraise_interrupt(exc)
                    yield Finished(i, error=error_text(exc))
                    continue
                yield Finished(i, value)
            return
        yield from self._pooled(fn, items)

    def _pooled(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Finished]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool
        pending = set(range(len(items)))
        deaths = 0
        while pending:
            pool = self._pool = self._pool or _process_pool(self.workers)
            try:
                futures = {pool.submit(fn, items[i]): i for i in sorted(pending)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        done = Finished(i, future.result())
                    except BrokenProcessPool:
                        raise
                    except Exception as exc:  # noqa: BLE001 - reported with its item; the others go on
                        reraise_interrupt(exc)
                        done = Finished(i, error=error_text(exc))
                    pending.discard(i)
                    yield done
            except BrokenProcessPool:  # a worker died: the pool is gone, its unfinished items run again
                deaths += 1
                self.close()
                if deaths > self.retries:
                    for i in sorted(pending):
                        yield Finished(i, error=f"WorkerDied: worker processes died {deaths} times")
                    return
            except BaseException:  # Ctrl-C, or the caller stopped reading: end the workers now
                self.close()
                raise

    def close(self) -> None:
        """Cancel what has not started and end the worker processes now (finished items are already saved)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor has no public kill
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.kill()
        for proc in processes:
            proc.join(5)
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:  # let it close its pipe now, not race the interpreter's exit hook (Python 3.11)
            manager.join(5)


def _process_pool(jobs: int) -> Any:
    """Spawned worker processes that die with this one, split the numba threads and trust models as it does."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import numba

    from policies.model_file import models_trusted
    threads = max(1, numba.config.NUMBA_NUM_THREADS // jobs)
    # spawn, not fork: forking a process whose numba thread pool is running is not safe
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                               initargs=(os.getpid(), models_trusted(), threads))


def _worker_init(parent: int, trusted: bool, threads: int) -> None:
    """Set up a worker process: it dies with its parent, ignores Ctrl-C, trusts models as the parent does.

    It also takes ``threads`` numba threads, its share of the cores. Why: a worker outliving a killed
    ``siyu compare`` would go on writing into a folder the user thinks is finished; and Ctrl-C reaches
    every process of the terminal, where the parent alone decides (it stops the pool and exits 130 in
    one line, not one traceback per worker).
    """
    import signal

    import numba
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    numba.set_num_threads(threads)
    if trusted:
        from policies.model_file import trust_models
        trust_models(True)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), else watch the parent from a thread."""
    import os
    import signal
    import sys
    import threading
    import time
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog below still runs
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="siyu-parent-watch", daemon=True).start()


class RayBackend(Backend):
    """Ray tasks on the cluster at ``address`` (or ``RAY_ADDRESS``), or on a local Ray instance started here.

    Each item is one Ray task of one CPU; a task whose worker dies is retried by Ray (``max_retries``),
    a task that raises is not (its error is reported). A local instance started here is shut down by
    :meth:`close`; a cluster or an instance someone else started is left running.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, retries: int = RETRIES) -> None:
        require("distributed", "--backend ray")
        import logging

        import ray
        self._owned = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}  # siyu's progress bar says it all
            if address:
                ray.init(address=address, **quiet)
            else:
                ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE, **quiet)
            self._owned = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.retries = retries
        self._remote: Any = None

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Finished]:
        """Ray tasks, at most :data:`IN_FLIGHT_PER_WORKER` per worker submitted ahead, collected with ``ray.wait``."""
        import ray
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(_call_in_worker)
        remote = self._remote
        trusted = _models_trusted()
        flying: dict[Any, int] = {}
        queue = iter(range(len(items)))
        limit = IN_FLIGHT_PER_WORKER * self.workers
        try:
            while True:
                for i in queue:
                    flying[remote.remote(fn, items[i], trusted)] = i
                    if len(flying) >= limit:
                        break
                if not flying:
                    return
                ready, _ = ray.wait(list(flying), num_returns=1)
                i = flying.pop(ready[0])
                try:
                    done = Finished(i, ray.get(ready[0]))
                except ray.exceptions.RayTaskError as exc:  # the function raised: its own error, not Ray's wrapper
                    cause = getattr(exc, "cause", None)
                    done = Finished(i, error=error_text(cause if isinstance(cause, BaseException) else exc))
                except ray.exceptions.RayError as exc:  # the worker died more than `retries` times
                    done = Finished(i, error=error_text(exc))
                yield done
        finally:
            for ref in flying:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Shut down the local Ray instance if this backend started it."""
        if self._owned:
            import ray
            ray.shutdown()
            self._owned = False


def _models_trusted() -> bool:
    from policies.model_file import models_trusted
    return models_trusted()


def _call_in_worker(fn: Callable[[Any], Any], item: Any, trusted: bool) -> Any:
    """``fn(item)`` in a Ray worker: one numba thread (the task holds one CPU), models trusted as on the driver."""
    import numba

    from policies.model_file import trust_models
    numba.set_num_threads(1)
    trust_models(trusted)
    return fn(item)


def map_kept(fn: Callable[[Any], Any], items: Sequence[Any], jobs: int = 1, tick: Callable[[int], None] | None = None,
             least: int = 1) -> tuple[list[int], list[Any]]:
    """``fn`` over ``items`` in ``jobs`` local processes: the indices and values of those finished, in index order.

    For independent draws of one estimate (bootstrap refits, quasi-posterior draws): the values do not depend on
    ``jobs``, and a Ctrl-C keeps those finished, as if fewer had been asked for (it is raised again when fewer
    than ``least`` are). ``tick(done)`` reports progress. An item that raises stops the run with its error.
    """
    done: dict[int, Any] = {}
    try:
        with LocalBackend(jobs) as backend:
            for finished in backend.map_unordered(fn, items):
                if finished.error is not None:
                    raise RuntimeError(f"item {finished.index + 1} of {len(items)} failed: {finished.error}")
                done[finished.index] = finished.value
                if tick is not None:
                    tick(len(done))
    except KeyboardInterrupt:
        if len(done) < least:
            raise
    order = sorted(done)
    return order, [done[i] for i in order]


def make_backend(name: str = "local", jobs: int = 1, address: str | None = None) -> Backend:
    """The backend called ``name``: ``local`` with ``jobs`` processes, or ``ray`` at ``address``."""
    if name == "local":
        return LocalBackend(jobs)
    if name == "ray":
        return RayBackend(address)
    raise ValueError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
