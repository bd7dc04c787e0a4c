"""The Python API refuses bad arguments with an error naming them, before allocating or simulating."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation
from sim.defaults import GROUP
from sim.guard import whole_number
from sim.observation import Action, InvalidActionError


@pytest.mark.parametrize("value", [2.5, float("nan"), True, "12"])
def test_a_customer_count_must_be_a_whole_number(beauty, value):
    with pytest.raises((TypeError, ValueError), match="customers"):
        Simulation(beauty, value, 0)


def test_whole_number_names_the_argument_and_the_range():
    with pytest.raises(ValueError, match=r"threads must be in 1..8, got 9"):
        whole_number("threads", 9, 1, 8)
    assert whole_number("threads", 8.0, 1, 8) == 8


def test_a_whole_float_and_numpy_integers_are_accepted(beauty):
    assert Simulation(beauty, 300.0, np.int64(4)).customers == 300


def test_a_pool_larger_than_memory_is_refused_before_allocation(beauty):
    with pytest.raises(ValueError, match=r"2,000,000,000 customers.*needs about .*GiB.*available"):
        Simulation(beauty, 2_000_000_000, 0)  # about 560 GiB


def test_a_huge_reserve_for_joiners_is_refused(beauty):
    heavy = beauty.model_copy(deep=True)
    heavy.acquisition.ad_adds_per_day = 1e7
    heavy.acquisition.reserve_days = 36500
    with pytest.raises(ValueError, match="reserved for joiners"):
        Simulation(heavy, 1000, 0)


@pytest.mark.parametrize("days", [0, -3, 2.5, 10**9])
def test_days_out_of_range_are_refused(beauty, days):
    with pytest.raises(ValueError, match="days"):
        Simulation(beauty, 200, 0).run(_Quiet(), days)


def test_a_channel_code_that_would_wrap_around_int8_is_refused(beauty):
    sim = Simulation(beauty, 200, 0)
    channel = np.full(sim.n, -1, np.int64)
    channel[5] = 256  # 256 as int8 is 0: WeCom
    action = Action(channel, np.zeros(sim.n, np.int64), np.zeros(sim.n, np.int64))
    with pytest.raises(InvalidActionError, match=r"customer 5: action.channel=256 is out of range"):
        sim.step(action)
    assert sim.day == 0 and sim.state.last_contact[5] < 0


@pytest.mark.parametrize("who", [-1, 10**6, 1.5])
def test_inject_complaint_refuses_customers_that_are_not_there(beauty, who):
    sim = Simulation(beauty, 600, 0)
    assert (sim.state.reach >> GROUP & 1).any()
    with pytest.raises((ValueError, TypeError), match="customer"):
        sim.inject_complaint(who)
    assert not sim.world._injected


class _Quiet:
    name = "quiet"

    def reset(self, n: int, seed: int) -> None:
        pass

    def act(self, obs):
        return None
