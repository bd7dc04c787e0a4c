"""A calibration's searches saved as each finishes, taken back on a rerun, and run in worker processes.

One search costs 12-20 minutes on CDNOW's master file and ``siyu calibrate --seeds 5`` runs five: a run killed
after four (a closed laptop, the machine's out-of-memory killer) must not lose them. Each finished search is
written to ``OUT/searches/seed-S.json`` with a key of everything it depends on (the log's histories, the base
scenario, the seed, the fit's options, the code's source); a rerun with the same key takes it from there
instead of searching again, and the calibration rebuilt from it is the same to the bit
(:func:`experiments.calibrate.fit.calibrate` with ``searched``). The file holds numbers only: nothing in it is
executed, and a file that does not parse or does not fit is reported and searched again.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from experiments.calibrate.fit import Found, Searched, search_log
from experiments.calibrate.history import Histories
from sim.config import Scenario

FOLDER = "searches"
"""Subfolder of ``siyu calibrate --out`` that keeps the finished searches."""
FORMAT = 2
"""Version of the saved search's layout (in its key: a file of another layout is searched again)."""
CODE = ("sim", "agents", "policies", "experiments.calibrate")
"""Packages whose source decides a search's result (hashed into its key)."""
HISTORY_FIELDS = ("first", "last", "x", "t_x", "T", "log_value", "log_sq", "orders", "spend", "late", "mid")
"""What of :class:`Histories` a search reads (the customers' ids do not move it)."""


@dataclass(frozen=True)
class SearchJob:
    """One search of a calibration: its inputs, picklable for a worker process, and the key of its file."""

    h: Histories
    base: Scenario
    seed: int
    options: dict[str, Any]
    """Keyword arguments of :func:`~experiments.calibrate.fit.search_log` besides the log, base and seed."""
    tag: str = ""
    """Added to the file's name: the refit from a base without dropout keeps its own files beside the first fit's
    (:mod:`~experiments.calibrate.kept_dropout`)."""

    def key(self) -> str:
        """Hash of everything the search's result depends on."""
        from experiments.running.runner import code_fingerprint

        digest = hashlib.sha256(f"siyu-search-{FORMAT}\0{self.seed}\0".encode())
        for name in HISTORY_FIELDS:
            a = np.ascontiguousarray(getattr(self.h, name))
            digest.update(f"{name}:{a.dtype.str}:{a.shape}\0".encode() + a.tobytes())
        digest.update(f"end:{self.h.end}\0".encode())
        digest.update(json.dumps(self.base.model_dump(mode="json"), sort_keys=True).encode())
        digest.update(json.dumps(self.options, sort_keys=True, default=list).encode())
        digest.update(code_fingerprint(CODE).encode())
        return digest.hexdigest()[:24]


def run_search(job: SearchJob) -> Searched:
    """The search of ``job`` (top level, so worker processes can run it)."""
    return search_log(job.h, job.base, job.seed, **job.options)


def path_of(out: Path, seed: int, tag: str = "") -> Path:
    """Where the search with simulation ``seed`` (and :attr:`SearchJob.tag`) is kept under ``out``."""
    return Path(out) / FOLDER / f"seed-{seed}{tag}.json"


def save(path: Path, key: str, searched: Searched) -> None:
    """Write ``searched`` to ``path`` as JSON, whole or not at all."""
    from experiments.store.io import atomic_path

    body = {"format": FORMAT, "key": key, "best": _found(searched.best),
            "others": [_found(f) for f in searched.others], "history": [dict(r) for r in searched.history]}
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(body, indent=1), encoding="utf-8")


def load(path: Path, key: str, parameters: int) -> tuple[Searched | None, str | None]:
    """The search kept at ``path`` if it is one of ``key`` with ``parameters`` matched values, else why not.

    Returns (search, None), (None, None) when there is no file, or (None, the reason it is not used).
    """
    if not path.is_file():
        return None, None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            return None, "written by another version of siyu"
        if body.get("key") != key:
            return None, "made with another log, base scenario, seed, options or code"
        best = _read_found(body["best"], parameters)
        others = tuple(_read_found(f, parameters) for f in body["others"])
        history = tuple({str(k): _number(v) for k, v in row.items()} for row in body["history"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {exc})"
    return Searched(best, others, history), None


def searches(jobs: list[SearchJob], out: Path, workers: int = 1,
             resumed: Callable[[SearchJob, Path], None] | None = None,
             ignored: Callable[[Path, str], None] | None = None) -> Iterator[tuple[SearchJob, Searched]]:
    """Each job's search, taken from its file under ``out`` when kept there, else run and saved as it finishes.

    Yields (job, search) in the order they become available: the kept ones first, then as the ``workers``
    processes finish them. ``resumed`` is told of each search taken from a file, ``ignored`` of each file not
    used and why. A search that raises stops the run with its seed and error (those finished are saved).
    """
    from experiments.running.backends import LocalBackend
    from experiments.store.io import remove_partial

    todo: list[tuple[SearchJob, str]] = []
    for job in jobs:
        key, path = job.key(), path_of(out, job.seed, job.tag)
        kept, why = load(path, key, _parameters(job))
        if kept is not None:
            if resumed is not None:
                resumed(job, path)
            yield job, kept
            continue
        if why is not None and ignored is not None:
            ignored(path, why)
        remove_partial(path)  # what a run killed while writing this file left
        todo.append((job, key))
    if not todo:
        return
    with LocalBackend(min(workers, len(todo))) as backend:
        for done in backend.map_unordered(run_search, [job for job, _ in todo]):
            job, key = todo[done.index]
            if done.error is not None:
                raise RuntimeError(f"the search with simulation seed {job.seed} failed: {done.error}")
            save(path_of(out, job.seed, job.tag), key, done.value)
            yield job, done.value


def _parameters(job: SearchJob) -> int:
    """How many log values a search of ``job`` matches at most (the file's arrays must not be larger)."""
    from experiments.calibrate.fit import FITTED, optional

    return len(FITTED) + len(optional(job.options.get("also", ())))


def _number(v: Any) -> float:
    """A number of a saved row, as it was written (the search's rows hold whole and real numbers)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{v!r} is not a number")
    return v


def _found(f: Found) -> dict[str, Any]:
    return {"distance": f.distance, "theta": f.theta.tolist(), "jac": np.asarray(f.jac).tolist(), "n_sim": f.n_sim,
            "leverage": f.leverage}


def _read_found(d: dict[str, Any], parameters: int) -> Found:
    theta = np.asarray(d["theta"], np.float64)
    jac = np.asarray(d["jac"], np.float64)
    if theta.ndim != 1 or not 1 <= theta.size <= parameters or jac.ndim != 2 or jac.shape[1] != theta.size:
        raise ValueError("arrays of the wrong shape")
    if not (np.isfinite(theta).all() and np.isfinite(jac).all()):
        raise ValueError("values that are not finite")
    distance, n_sim, leverage = float(d["distance"]), int(d["n_sim"]), float(d["leverage"])
    if math.isnan(distance) or n_sim < 1 or not 0.0 < leverage <= 1.0:
        raise ValueError("a distance, simulated size or leverage out of range")
    return Found(distance, theta, jac, n_sim, leverage)
