"""Experiments on top of the engine: runs, comparisons, statistics, benchmarks and the ``siyu`` CLI.

Nothing below ``experiments`` imports it; it is the top layer.
"""
