"""Experiments on top of the engine: the ``siyu`` CLI, runs, statistics, reports, regression, training, benchmarks.

Nothing below ``experiments`` imports it; it is the top layer. Inside, packages import downwards only
(a test checks it): ``cli`` -> ``reporting``, ``regress``, ``train``, ``bench`` -> ``running`` -> ``stats``
-> ``store``, ``recording``, ``console``.
"""
