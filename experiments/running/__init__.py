"""From an experiment file to results, resumable.

The spec (:mod:`.spec`), the runner (:mod:`.runner`), per-run records (:mod:`.results`) and sweeps (:mod:`.sweep`).
"""
