"""siyu's engine: scenario config, struct-of-arrays state, numba kernels, and the simulation loop.

Core objects: :class:`~sim.config.Scenario` (what the pool is), :class:`~sim.engine.Simulation`
(one population stepped a day at a time), :class:`~sim.observation.Observation` and
:class:`~sim.observation.Action` (what a policy sees and does), :func:`~sim.engine.run`.
"""

from sim import _cache, _threads

_threads.configure()  # before numba's threads start
_cache.configure()  # before any kernel is defined  # noqa: E402

from sim.config import ConfigError, Scenario, load_scenario, preset_names  # noqa: E402
from sim.engine import RunResult, Simulation, run  # noqa: E402
from sim.observation import Action, InvalidActionError, Observation  # noqa: E402

__all__ = ["Action", "ConfigError", "InvalidActionError", "Observation", "RunResult", "Scenario",
           "Simulation", "load_scenario", "preset_names", "run"]
from sim import envs  # noqa: F401, E402  (registers gymnasium ids)
