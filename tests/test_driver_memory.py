"""The driver's memory does not grow with the number of runs: runs are saved where they run, resumed
without being held, and the tables are streamed to disk run by run."""

from __future__ import annotations

import tracemalloc

import pytest

import experiments.store.tables as tables
from experiments.running.runner import run_experiment
from experiments.running.spec import experiment_from_refs

POLICIES = ["no_contact", "rfm_tiered"]
ROW_GROUP = 64
"""Rows a streamed table holds (small here, so the N-run experiment already fills it)."""


def peak_bytes(fn) -> int:
    """Peak of the memory Python allocates (numpy arrays included) while ``fn()`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("stage", ["run", "resume"])
def test_driver_peak_memory_is_flat_in_the_number_of_runs(tmp_path, monkeypatch, stage):
    """4x the runs costs far less than 4x the driver's peak memory, on a first run and on a resume.

    Held per run now: its task and its row of scalars in the ``runs`` table (a few hundred bytes); the
    rest (one simulation, one run file read back, a row group per table) does not depend on the count.
    Holding every run's record or table rows, as before, made the 4N peak 3.6x the N peak; the bound
    is 1.6x.
    """
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", ROW_GROUP)
    run_experiment(experiment_from_refs("beauty", POLICIES, 4, customers=300, days=6), tmp_path / "warm")  # imports
    peaks = {}
    for seeds in (4, 16):
        exp = experiment_from_refs("beauty", POLICIES, seeds, customers=300, days=6)
        out = tmp_path / f"s{seeds}"
        if stage == "resume":
            run_experiment(exp, out)
        peaks[seeds] = peak_bytes(lambda: run_experiment(exp, out))
        assert len(list((out / "runs").glob("*.json"))) == 2 * seeds
    assert peaks[16] < 1.6 * peaks[4], peaks
