"""Regression checks: fixed runs against the golden metrics in ``golden.json`` beside :mod:`.golden`."""
