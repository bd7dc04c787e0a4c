"""Honest statistics over seeds.

The paired bootstrap and Holm's correction (:mod:`.bootstrap`), and policy comparisons built on them
(:mod:`.comparison`).
"""
