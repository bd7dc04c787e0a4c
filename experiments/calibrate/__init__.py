"""Calibration of a scenario to a brand's transaction log, and forecasts of the same customers.

:func:`~experiments.calibrate.fit.calibrate` fits the engine's repurchase and dropout heterogeneity by
indirect inference on the maximum-likelihood fit of an auxiliary customer-base model
(:mod:`~experiments.calibrate.auxiliary`), and the order values by maximum likelihood;
:func:`~experiments.calibrate.forecast.forecast` simulates each customer conditioned on their own history.
"""
