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

    The row groups are small here (64 rows), so what is measured is what grows past them: per run its
    task, its row of scalars in the ``runs`` table and what its in-process run leaves to the garbage
    collector (a few kB); one simulation, one run file read back and a row group per table do not
    depend on the count. Holding every run's record, as before, made the 4N peak 3.6x the N peak;
    here it is about 1.2x, and the bound is 1.6x.
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


def stream(folder, name, chunks, row_group=None):
    with tables.TableStream(folder, name, row_group) as t:
        for ids, columns in chunks:
            t.extend(ids, columns)


CHUNKS = [({"run": f"r{i}", "seed": i}, {"day": list(range(5)), "value": [0.5 * i + d for d in range(5)]})
          for i in range(7)]


@pytest.mark.parametrize("parquet", [True, False])
def test_a_streamed_table_is_the_file_one_write_makes(tmp_path, monkeypatch, parquet):
    """Up to a row group, byte for byte; beyond, the same rows and types read back; an error leaves no file."""
    if parquet:
        pytest.importorskip("pyarrow")
    else:
        monkeypatch.setattr(tables, "parquet_available", lambda: False)
    whole = tables.TableBuilder()
    for ids, columns in CHUNKS:
        whole.extend(ids, columns)
    tables.write_table(tmp_path, "one", whole.columns)
    stream(tmp_path, "streamed", CHUNKS)
    stream(tmp_path, "grouped", CHUNKS, row_group=4)
    fmt = "parquet" if parquet else "csv"
    assert (tmp_path / f"one.{fmt}").read_bytes() == (tmp_path / f"streamed.{fmt}").read_bytes()
    one, grouped = tables.read_table(tmp_path, "one"), tables.read_table(tmp_path, "grouped")
    assert list(one) == list(grouped)
    for column in one:
        assert one[column].dtype == grouped[column].dtype and (one[column] == grouped[column]).all(), column
    with pytest.raises(RuntimeError):
        with tables.TableStream(tmp_path, "broken", 4) as t:
            t.extend(*CHUNKS[0])
            raise RuntimeError("a run file went missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.{fmt}" for n in ("grouped", "one", "streamed")]
