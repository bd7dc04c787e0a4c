"""Throughput of a 200-run experiment on the local backend and on Ray, and what one Ray task costs.

Runs one ``siyu compare``-style experiment (4 policies x 50 seeds = 200 runs) three times into fresh
folders: in this process (``--jobs 1``), in 2 local worker processes (``--jobs 2``) and on a local
Ray instance with 2 CPUs. Workers are warmed up first (imports, numba cache), and Ray's start-up is
timed apart. Then 200 empty tasks on each backend give the overhead per task. Prints runs per
second and ratios measured in this one run, and checks the three result tables are byte-identical.

``--memory``: instead, the driver's peak traced memory (tracemalloc: Python objects and numpy arrays)
over tiny experiments of 200 and 800 runs, first run and resume, in this process.
``--cold``: instead, the first and second Ray run against an empty numba cache, with and without the
driver compiling the kernels before dispatch (:func:`experiments.running.runner.warm_kernels`); each
case in a fresh process with a fresh ``SIYU_CACHE_DIR``.

    python benchmarks/ray_throughput.py [--customers 1000] [--days 30] [--seeds 50] [--cpus 2]
    python benchmarks/ray_throughput.py --memory [--row-group 4096]
    python benchmarks/ray_throughput.py --cold [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

POLICIES = ["no_contact", "blast", "rfm_tiered", "fatigue_capped"]


def _noop(item: int) -> int:
    return item


def _tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".parquet", ".csv")}


def main() -> None:
    """Measure and print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="driver peak memory for 200 and 800 runs")
    ap.add_argument("--row-group", type=int, default=None, help="with --memory: rows a streamed table holds")
    ap.add_argument("--cold", action="store_true", help="first Ray run against an empty numba cache")
    ap.add_argument("--cold-case", choices=["warm", "no-warm"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory:
        return driver_memory(args.row_group)
    if args.cold_case:
        return cold_case(args)
    if args.cold:
        return cold(args)

    from experiments.running.backends import LocalBackend, RayBackend
    from experiments.running.runner import run_experiment
    from experiments.running.spec import experiment_from_refs
    exp = experiment_from_refs("beauty", POLICIES, args.seeds, customers=args.customers, days=args.days)
    warm = experiment_from_refs("beauty", POLICIES, 1, first_seed=10_000, customers=200, days=3)
    runs = len(POLICIES) * args.seeds
    print(f"beauty, {runs} runs ({len(POLICIES)} policies x {args.seeds} seeds), {args.customers:,} customers, "
          f"{args.days} days; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")

    t = time.perf_counter()
    ray_backend = RayBackend(num_cpus=args.cpus)
    ray_start = time.perf_counter() - t
    backends = {"local, 1 process": LocalBackend(1), f"local, {args.cpus} processes": LocalBackend(args.cpus),
                f"ray, {args.cpus} CPUs": ray_backend}
    walls, tables = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, backend) in enumerate(backends.items()):
            run_experiment(warm, Path(tmp) / f"warm{i}", backend=backend)  # imports and numba cache, per worker
            t = time.perf_counter()
            run_experiment(exp, Path(tmp) / f"run{i}", backend=backend)
            walls[name] = time.perf_counter() - t
            tables[name] = _tables(Path(tmp) / f"run{i}")
        empty = {}
        for name, backend in list(backends.items())[1:]:
            t = time.perf_counter()
            assert [f.error for f in backend.map_unordered(_noop, list(range(runs)))] == [None] * runs
            empty[name] = time.perf_counter() - t
    for backend in backends.values():
        backend.close()

    first = next(iter(tables.values()))
    same = all(t == first for t in tables.values())
    base = walls["local, 1 process"]
    print(f"Ray start-up (local instance, {args.cpus} CPUs): {ray_start:.1f} s, not counted below")
    for name, wall in walls.items():
        print(f"  {name:<22} {wall:7.1f} s  {runs / wall:6.2f} runs/s  speed-up vs 1 process {base / wall:5.2f}x")
    local_n, ray_n = list(walls)[1:]
    print(f"ray / local processes, throughput: {walls[local_n] / walls[ray_n]:.2f}x")
    for name, wall in empty.items():
        print(f"  {runs} empty tasks, {name:<16} {wall:6.2f} s = {1000 * wall / runs:6.2f} ms per task")
    ray_task = 1000 * empty[ray_n] / runs
    run_ms = 1000 * base / runs
    print(f"one Ray task costs {ray_task:.1f} ms of overhead against {run_ms:.0f} ms for one run here "
          f"({ray_task / run_ms:.1%} of a run)")
    print(f"result tables identical on every backend: {same}")


def driver_memory(row_group: int | None) -> None:
    """Peak traced memory of the driver for 200 and 800 tiny runs (300 customers, 5 days), first run and resume.

    The streamed tables hold up to ``row_group`` rows each (default :data:`ROW_GROUP_ROWS`); 800 runs
    of 5 days fill fewer rows than the default, so pass a smaller one to see the memory past that cap.
    """
    import tracemalloc

    from experiments.store import tables
    if row_group:
        tables.ROW_GROUP_ROWS = row_group
    print(f"driver memory, streamed tables holding up to {tables.ROW_GROUP_ROWS:,} rows each")
    from experiments.running.runner import run_experiment
    from experiments.running.spec import experiment_from_refs
    peaks: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_experiment(experiment_from_refs("beauty", POLICIES, 2, customers=300, days=5), Path(tmp) / "warm")
        for seeds in (50, 200):
            exp = experiment_from_refs("beauty", POLICIES, seeds, customers=300, days=5)
            for stage in ("first run", "resume"):
                tracemalloc.start()
                run_experiment(exp, Path(tmp) / f"s{seeds}")
                peaks[stage, seeds] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(f"  {len(POLICIES) * seeds} runs, {stage:<9}: driver peak {peaks[stage, seeds] / 2**20:6.2f} MiB")
    for stage in ("first run", "resume"):
        print(f"{stage}: 800 runs / 200 runs = {peaks[stage, 200] / peaks[stage, 50]:.2f}x the peak")


def cold(args: argparse.Namespace) -> None:
    """Each cold case in a fresh process (numba keeps compiled kernels per process)."""
    import subprocess
    import sys
    for case in ("no-warm", "warm"):
        subprocess.run([sys.executable, __file__, "--cold-case", case, "--seeds", str(args.seeds), "--cpus",
                        str(args.cpus), "--customers", str(args.customers), "--days", str(args.days)], check=True)


def cold_case(args: argparse.Namespace) -> None:
    """First and second run on a local Ray instance against an empty cache folder."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIYU_CACHE_DIR"] = str(Path(tmp) / "cache")  # before sim is imported; Ray workers inherit it
        from experiments.running import runner
        from experiments.running.backends import RayBackend
        from experiments.running.spec import experiment_from_refs
        if args.cold_case == "no-warm":
            runner.warm_kernels = lambda tasks: None
        exp = experiment_from_refs("beauty", POLICIES, args.seeds, customers=args.customers, days=args.days)
        backend = RayBackend(num_cpus=args.cpus)
        walls = []
        for i in range(2):
            t = time.perf_counter()
            runner.run_experiment(exp, Path(tmp) / f"run{i}", backend=backend)
            walls.append(time.perf_counter() - t)
        backend.close()
    print(f"{args.cold_case:>8}: {len(POLICIES) * args.seeds} runs on Ray ({args.cpus} CPUs), empty numba cache: "
          f"first run {walls[0]:.1f} s, second {walls[1]:.1f} s ({walls[0] / walls[1]:.1f}x)")


if __name__ == "__main__":
    main()
