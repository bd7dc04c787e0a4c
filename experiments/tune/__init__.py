"""``siyu tune``: search a rule policy's parameters under common random numbers, then judge it on fresh seeds.

The search (:mod:`.search`) runs Optuna's TPE over the ranges each baseline declares next to its
parameters (:func:`policies.base.search_space`, read by :mod:`.space`); every trial is scored on the
same training seeds by the experiment runner (:mod:`.evaluate`). The best trial is then run with
every default baseline on fresh seeds and compared with the paired statistics of ``siyu compare``
(:mod:`.tuner`, verdict in :mod:`.result`), and the outputs are written by :mod:`.outputs`.

Optuna is the ``[tune]`` extra: :mod:`.search` imports it (and every module that needs a search
result, through it); :mod:`.settings`, :mod:`.space` and :mod:`.evaluate` do not, so the command line
can list choices and name the missing extra without it.
"""
