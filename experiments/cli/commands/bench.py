"""``siyu bench [--json]``: engine throughput, bytes per customer, peak memory and warm start."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from experiments.cli.options import UserError, non_negative_int, positive_int_list, positive_number
from experiments.console import console, number, out_console


def cmd_bench(args: argparse.Namespace) -> int:
    """Customer-days per second, bytes per customer and peak memory; --json for tools."""
    from experiments.bench.throughput import run_bench, warm_start_seconds
    from sim._threads import PARALLEL_FROM
    import numba
    sizes, threads = args.sizes, args.threads
    if max(threads) > numba.config.NUMBA_NUM_THREADS:
        raise UserError(f"--threads {max(threads)}: this machine runs at most {numba.config.NUMBA_NUM_THREADS}")
    with console.status("benchmarking") as status:
        rows = run_bench(sizes, threads, args.min_seconds, lambda msg: status.update(f"benchmarking {msg}"),
                         args.contention)
        warm = warm_start_seconds()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="siyu bench (beauty preset)")
    for col in ("customers", "threads", "neighbours", "engine customer-days/s", "of the probe",
                "end-to-end customer-days/s", "of the engine", "engine with its contacts", "of that",
                "against 1 thread", "slowdown", "bytes/customer", "peak MB of a run"):
        table.add_column(col, justify="right")
    for r in rows:
        slow = (f"{r['slowdown_step']:.2f}x / {r['slowdown_run']:.2f}x" if "slowdown_step" in r else "")
        vs_one = ""
        if "step_vs_1_thread" in r and r["threads"] != 1:
            lo, hi = r["step_vs_1_thread_range"]
            vs_one = f"{r['step_vs_1_thread']:.2f}x ({lo:.2f}-{hi:.2f}) / {r['run_vs_1_thread']:.2f}x"
        table.add_row(f"{r['customers']:,}", f"{r['threads']} (serial)" if r["serial"] and r["threads"] > 1
                      else str(r["threads"]), str(r["neighbours"]), number(r["customer_days_per_s"]),
                      f"{r['step_of_probe']:.0%}", f"{number(r['run_customer_days_per_s'])} ({r['policy']})",
                      f"{r['run_of_step']:.0%}", number(r["contact_step_customer_days_per_s"]),
                      f"{r['run_of_contact_step']:.0%}", vs_one, slow, number(r["bytes_per_customer"]),
                      number(r["peak_mb"]))
    out_console.print(table)
    out_console.print("of the probe: engine step against one compiled pass reading and writing every state array "
                      "(what memory allows); of the engine: end to end (the run's days, its pool drawn before the "
                      "timing) against the engine step; engine with its contacts: the engine step on the same "
                      "days with the policy's contacts replayed (of that: end to end against it, what the policy "
                      "and books cost); against 1 thread: engine (the lowest-highest ratio of two timings taken "
                      "next to each other) / end to end over the 1-thread row, the thread counts timed in turns; "
                      f"(serial): a pool below {PARALLEL_FROM:,} rows runs the one-thread code whatever the thread "
                      "count, so its rows differ by the machine's noise alone; slowdown: quiet over loaded, engine / "
                      "end to end, measured back to back")
    out_console.print(f"warm start (fresh interpreter to first step, numba cache warm): {warm:.2f} s")
    return 0


def register(sub: Any) -> None:
    """Add ``siyu bench``."""
    p = sub.add_parser("bench", help="engine throughput, memory and warm start")
    p.add_argument("--sizes", type=positive_int_list, default=[10_000, 100_000, 1_000_000], metavar="N,N",
                   help="customer counts, comma-separated (default 10000,100000,1000000)")
    p.add_argument("--threads", type=positive_int_list, default=[1, 2], metavar="T,T",
                   help="numba thread counts, comma-separated (default 1,2)")
    p.add_argument("--min-seconds", type=positive_number, default=1.0, metavar="S",
                   help="minimum timing per measurement (default 1)")
    p.add_argument("--contention", type=non_negative_int, default=0, metavar="K",
                   help="also measure each row beside K CPU-bound neighbour processes (default 0: quiet only)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_bench)
