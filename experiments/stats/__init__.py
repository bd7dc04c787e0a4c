"""Honest statistics over seeds.

Skewness-corrected Student-t intervals of paired differences with Bonferroni families and the seeds a
comparison needs (:mod:`.intervals`), and policy comparisons built on them (:mod:`.comparison`).
"""
