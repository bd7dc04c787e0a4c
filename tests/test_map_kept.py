"""``map_kept``: independent items in worker processes, in index order, and what a Ctrl-C keeps."""

from __future__ import annotations

import pytest

from experiments.running.backends import map_kept


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return x * x


def test_values_come_back_in_index_order_whatever_the_processes():
    ticks: list[int] = []
    assert map_kept(_square, [3, 1, 2, 5], jobs=2, tick=ticks.append) == ([0, 1, 2, 3], [9, 1, 4, 25])
    assert ticks == [1, 2, 3, 4]
    assert map_kept(_square, [3, 1, 2, 5]) == ([0, 1, 2, 3], [9, 1, 4, 25])


def test_an_item_that_raises_stops_the_run_with_its_error():
    with pytest.raises(RuntimeError, match=r"item 2 of 3 failed: ValueError: negative -1"):
        map_kept(_square, [1, -1, 2])


def test_a_ctrl_c_keeps_those_finished_unless_too_few():
    def interrupted_at_third(x: int) -> int:
        if x == 2:
            raise KeyboardInterrupt
        return x + 10

    assert map_kept(interrupted_at_third, [0, 1, 2, 3], least=2) == ([0, 1], [10, 11])
    with pytest.raises(KeyboardInterrupt):
        map_kept(interrupted_at_third, [0, 1, 2, 3], least=3)
