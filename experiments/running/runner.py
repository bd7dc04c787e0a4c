"""Plan, run and resume the runs of an experiment, and write its tables.

Every (grid point, policy, seed) is a :class:`RunTask` with a key: a hash of everything that
determines its result (scenario content, policy and parameters, seed, sizes, code version and a hash
of the model's source). A finished
run is written at once to ``out/runs/`` under a name carrying that key, so rerunning the same command
skips it; runs shared by several grid points are run once. Runs go to a backend
(:mod:`experiments.running.backends`: local processes or Ray) and are saved where they run; a run that
raises is reported with its scenario, policy and seed once the others have finished.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import json
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any, Callable

from experiments.stats.comparison import COLUMNS, Comparison
from experiments.store.io import daily_rows, remove_partial, write_csv, write_json
from experiments.recording import ContactRecorder
from experiments.running.results import (RECORD_FORMAT, TABLES, Record, load_record, make_record, mix_totals,
                                         run_chunks, save_record, table_cell)
from experiments.running.backends import Backend, LocalBackend, error_text
from experiments.running.spec import Experiment, GridPoint, PolicySpec
from experiments.running.sweep import report_point, surface_rows
from experiments.store.tables import Table, TableBuilder, TableStream, as_arrays, read_table, select
from policies import load_policy
from sim.config import Scenario
from sim.engine import RunResult, Simulation, code_version, realize_residual
from sim.guard import check_run_memory
from sim.interrupts import reraise_interrupt

Progress = Callable[[int], None]
"""Called with the number of simulated days done so far."""
Records = dict[str, "Record | None"]
"""Finished runs by key: the record, or None for a run saved in ``out/runs`` (read back one at a time)."""
MODEL_PACKAGES = ("sim", "agents", "policies")
"""Packages whose source decides a run's numbers (hashed into every run's key)."""


@lru_cache(maxsize=4)
def code_fingerprint(packages: tuple[str, ...] = MODEL_PACKAGES) -> str:
    """Hash of the source of ``packages`` (by default :data:`MODEL_PACKAGES`).

    Why: the version number does not move while the engine is being calibrated; with the source in
    the key, a resume after a code change reruns instead of mixing old and new numbers.
    """
    digest = hashlib.sha256()
    for name in packages:
        root = Path(importlib.import_module(name).__file__ or "").parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run_one(scenario: Scenario, policy_ref: str, customers: int, days: int, seed: int,
            progress: Progress | None = None, realize: bool = False) -> RunResult:
    """One policy on one seed (``siyu run``); with ``realize``, ``residual_realized`` is added to the summary."""
    policy = load_policy(policy_ref)
    sim = Simulation(scenario, customers, seed)
    result = sim.run(policy, days, progress)
    if realize:
        result.summary["residual_realized"] = realize_residual(sim)
    return result


def write_run(out: Path, result: RunResult) -> None:
    """``summary.json`` and ``daily.csv`` of a single run in ``out``."""
    write_json(out / "summary.json", result.summary)
    rows, columns = daily_rows(result.daily)
    write_csv(out / "daily.csv", rows, columns)


@dataclass(frozen=True)
class RunTask:
    """One run to do: a policy on a seed at a grid point."""

    point: GridPoint
    policy: PolicySpec
    seed: int
    customers: int
    days: int
    realize: bool = False
    """Also record ``residual_realized`` (:func:`sim.engine.realize_residual`)."""

    @property
    def scenario(self) -> Scenario:
        """The scenario of this task's grid point."""
        return self.point.scenario

    @cached_property
    def meta(self) -> dict[str, Any]:
        """Identity of the run: what it ran and with which code (stored in the run file)."""
        sc = self.scenario
        return {"scenario": sc.name, "config_hash": sc.config_hash(), "policy": self.policy.identity(),
                "seed": self.seed, "customers": self.customers, "days": self.days,
                "code_version": code_version(), "code_fingerprint": code_fingerprint(),
                "record_format": RECORD_FORMAT, **({"realize_residual": True} if self.realize else {})}

    @cached_property
    def key(self) -> str:
        """Hash of everything that determines the result (the full scenario, not just its hash)."""
        body = {**self.meta, "scenario_content": self.scenario.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]

    @property
    def file_name(self) -> str:
        """Name of the run file inside ``runs/``."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.policy.name)[:80]
        return f"{safe}__seed{self.seed}__{self.key}.json"

    def ids(self, axes: list[str]) -> dict[str, Any]:
        """Identifying columns of this run in the tables."""
        values = {a: table_cell(self.point.values[a]) for a in axes}
        return {"run_id": self.key, "point": self.point.index, **values, "scenario": self.scenario.name,
                "policy": self.policy.name, "policy_kind": self.policy.kind or str(self.policy.ref),
                "seed": self.seed}

    def run(self, progress: Progress | None = None) -> Record:
        """Simulate, recording contacts by segment and the end-of-run hidden state."""
        recorder = ContactRecorder(self.policy.build())
        sim = Simulation(self.scenario, self.customers, self.seed)
        result = sim.run(recorder, self.days, progress)
        record = make_record(self.key, self.meta, result, sim, recorder)
        if self.realize:  # after the record: playing the continuation moves the simulation on
            record["summary"]["residual_realized"] = realize_residual(sim)
        return record


def preflight(exp: Experiment) -> None:
    """Refuse, before any run, a grid point whose pool would not fit in memory (ValueError naming it)."""
    for point in exp.points:
        what = f"grid point {point.index}" if exp.axes else "each run"
        check_run_memory(point.scenario, exp.customers, exp.days, what)


def plan(exp: Experiment) -> list[RunTask]:
    """Every (grid point, seed, policy) of the experiment, in run order."""
    return [RunTask(point, pol, seed, exp.customers, exp.days, exp.realize_residual)
            for point in exp.points for seed in exp.seeds for pol in point.policies]


def unique(tasks: list[RunTask]) -> list[RunTask]:
    """Tasks with distinct keys (a run shared by several grid points appears once)."""
    first: dict[str, RunTask] = {}
    for t in tasks:
        first.setdefault(t.key, t)
    return list(first.values())


def resume(tasks: list[RunTask], out: Path | None) -> Records:
    """Finished runs found intact in ``out/runs``, by key (verified, then let go: see :data:`Records`)."""
    if out is None:
        return {}
    return {t.key: None for t in unique(tasks) if load_record(out / "runs" / t.file_name, t.key) is not None}


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: which one, and its error."""

    task: RunTask
    error: str

    def __str__(self) -> str:
        """``scenario S, policy P, seed K: Error: message``."""
        t = self.task
        return f"scenario {t.scenario.name}, policy {t.policy.name}, seed {t.seed}: {self.error}"


class RunsFailed(ValueError):
    """Some runs raised; every other run finished and is saved, so a rerun redoes only the failed ones."""

    def __init__(self, failures: list[RunFailure], attempted: int) -> None:
        self.failures = failures
        listed = "; ".join(str(f) for f in failures[:3]) + (f"; and {len(failures) - 3} more"
                                                            if len(failures) > 3 else "")
        super().__init__(f"{len(failures)} of {attempted} runs failed (the others finished and are saved; "
                         f"a rerun redoes only the failed ones): {listed}")


def execute(tasks: list[RunTask], out: Path | None, done: Records | None = None,
            progress: Progress | None = None, jobs: int = 1, backend: Backend | None = None) -> Records:
    """Run what is not in ``done``, saving each run as soon as it finishes; every task's entry in :data:`Records`.

    The runs go to ``backend`` (default: ``jobs`` local processes, each with its share of the numba
    threads); every run is a pure function of its task, so the records are the same on every backend.
    With ``out``, a run is saved where it ran and read back only to build the tables, so the driver
    holds no run while they stream in. Runs that raise are collected and, once every other
    run has finished, raised together as :class:`RunsFailed`. Runs done in this process leave a few kB
    each in reference cycles that Python's collector frees late, so it is run every :data:`COLLECT_EVERY`.
    """
    records: Records = dict(done or {})
    todo = [t for t in unique(tasks) if t.key not in records]
    own = backend is None
    backend = backend or LocalBackend(jobs)
    failures = []
    elapsed = 0
    try:
        if isinstance(backend, LocalBackend) and (backend.workers == 1 or len(todo) <= 1):
            for t in todo:  # in this process, with progress by the day
                def tick(day: int, base: int = elapsed) -> None:
                    if progress is not None:
                        progress(base + day)
                try:
                    records[t.key] = run_saved(t, out, tick)
                except Exception as exc:  # noqa: BLE001 - reported with its run once the others are done
                    reraise_interrupt(exc)
                    failures.append(RunFailure(t, error_text(exc)))
                elapsed += t.days
                if (len(records) + len(failures)) % COLLECT_EVERY == 0:
                    gc.collect()
        else:
            warm_kernels(todo)
            for f in backend.map_unordered(partial(run_saved, out=out), todo):
                t = todo[f.index]
                if f.error is None:
                    records[t.key] = f.value
                else:
                    failures.append(RunFailure(t, f.error))
                elapsed += t.days
                if progress is not None:
                    progress(elapsed)
    finally:
        if own:
            backend.close()
        if out is not None:  # every run is over: a temporary file left now was a killed worker's
            for t in unique(tasks):
                remove_partial(out / "runs" / t.file_name)
    if failures:
        raise RunsFailed(failures, len(todo))
    return records


COLLECT_EVERY = 50
"""Runs done in this process between two garbage collections (about 1 ms a run; see :func:`execute`)."""
WARM_CUSTOMERS, WARM_DAYS = 50, 2
"""Size of the throwaway runs that compile the kernels in the driver before workers start (:func:`warm_kernels`)."""


def warm_kernels(tasks: list[RunTask]) -> None:
    """Compile, in this process, the numba kernels the tasks need, so workers load them from the on-disk cache.

    Why: with a cold cache (the first run of a siyu version on a machine) every worker process compiled
    every kernel itself, all at once: a 2-worker Ray run took 1m45s the first time, 17 s the next. One
    tiny run per distinct (scenario, policy kind) compiles them once here and writes them to
    ``$SIYU_CACHE_DIR`` (:mod:`sim._cache`), which local workers share; with a warm cache it costs a
    fraction of a second. A policy that fails here is left to fail, and be reported, in its real run.
    """
    seen = set()
    for t in tasks:
        kind = (t.scenario.config_hash(), t.policy.kind or str(t.policy.ref))
        if kind in seen:
            continue
        seen.add(kind)
        try:
            replace(t, customers=WARM_CUSTOMERS, days=min(WARM_DAYS, t.days)).run()  # the real code path, tiny
        except Exception as exc:  # noqa: BLE001 - the real run raises it again, with its scenario, policy and seed
            reraise_interrupt(exc)
            continue


def run_saved(task: RunTask, out: Path | None, progress: Progress | None = None) -> Record | None:
    """One run, saved to ``out/runs`` where it ran; the record itself only when there is no ``out``.

    Why: a worker killed later loses nothing finished, and the driver need not receive and hold every run.
    """
    rec = task.run(progress)
    if out is None:
        return rec
    save_record(out / "runs" / task.file_name, rec)
    return None


def _record(task: RunTask, records: Records, out: Path | None) -> Record:
    """The record of ``task``: held in ``records``, or read back from ``out/runs`` (not kept)."""
    rec = records[task.key]
    if rec is None:
        assert out is not None
        rec = load_record(out / "runs" / task.file_name, task.key)
        if rec is None:
            raise OSError(f"{out / 'runs' / task.file_name}: run file missing or damaged after the run; rerun")
    return rec


@dataclass
class ExperimentResult:
    """The finished experiment: its spec, tables and comparison."""

    experiment: Experiment
    tables: dict[str, Table]
    """The tables held in memory: all four without an output folder, only ``runs`` with one (see :meth:`table`)."""
    point: int
    """Grid point shown in the comparison and report (the sweep optimum; 0 without a grid)."""
    mix_totals: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    """Per (grid point, policy), the totals its contact mix is made of (:func:`~experiments.running.results.mix_totals`,
    summed run by run; :func:`experiments.reporting.mix.mix_from_totals` makes the mix)."""
    out: Path | None = None
    """Where the tables were written."""

    @property
    def runs(self) -> Table:
        """One row per run."""
        return self.tables["runs"]

    def table(self, name: str) -> Table:
        """Table ``name``: the one in memory, else read from :attr:`out` (the daily and segments tables are big)."""
        if name in self.tables:
            return self.tables[name]
        if self.out is None:
            raise KeyError(name)
        return read_table(self.out, name)

    def comparison(self, point: int | None = None) -> Comparison:
        """Paired comparison of the policies at a grid point (default: :attr:`point`)."""
        at = self.point if point is None else point
        return Comparison.from_table(select(self.runs, point=at), self.experiment.policy_names,
                                     self.experiment.seeds)


def finish(exp: Experiment, tasks: list[RunTask], records: Records, out: Path | None) -> ExperimentResult:
    """Build the tables and statistics; with ``out``, write them next to the run files.

    The tables are built run by run in task order: with ``out`` each run is read back, its rows streamed
    to the table files (:class:`~experiments.store.tables.TableStream`) and its contact-mix totals added
    up, then let go, so the driver's memory does not grow with the runs; only the ``runs`` table (a row
    of scalars per run, what the paired intervals need) is read back.
    """
    axes = [a.label for a in exp.axes]
    totals: dict[tuple[int, str], dict[str, float]] = {}
    with ExitStack() as stack:
        sinks = {name: stack.enter_context(TableStream(out, name)) if out is not None else TableBuilder()
                 for name in TABLES}
        for t in tasks:
            mix = totals.setdefault((t.point.index, t.policy.name), {})
            for name, shared, columns in run_chunks(t.ids(axes), _record(t, records, out)):
                sinks[name].extend(shared, columns)
                for column, value in mix_totals(name, columns).items():
                    mix[column] = mix.get(column, 0.0) + value
    if out is not None:
        write_json(out / "experiment.json", exp.describe())
        tables = {"runs": read_table(out, "runs")}
    else:
        tables = {name: as_arrays(sink.columns) for name, sink in sinks.items()}
    point = report_point(exp, tables["runs"])
    result = ExperimentResult(exp, tables, point, totals, out)
    if out is not None:
        write_csv(out / "comparison.csv", comparison_rows(result), COLUMNS + ["point"] + axes)
        if exp.axes:
            rows = surface_rows(exp, tables["runs"], exp.metric)
            write_csv(out / "surface.csv", rows, list(rows[0]))
    return result


def comparison_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """Comparison rows of every grid point, with the point and its axis values after the fixed columns."""
    rows = []
    for p in result.experiment.points:
        extra = {"point": p.index, **{k: table_cell(v) for k, v in p.values.items()}}
        rows += [{**r, **extra} for r in result.comparison(p.index).rows()]
    return rows


def run_experiment(exp: Experiment, out: Path | None = None, progress: Progress | None = None,
                   jobs: int = 1, backend: Backend | None = None) -> ExperimentResult:
    """Plan, resume from ``out``, run what is missing (in ``jobs`` processes, or on ``backend``), write the tables."""
    preflight(exp)
    tasks = plan(exp)
    records = execute(tasks, out, resume(tasks, out), progress, jobs, backend)
    return finish(exp, tasks, records, out)
