"""Off-policy checks: a candidate policy valued on a brand's logged campaign, and the simulator checked against it.

The unit is one decision per customer on a campaign day (:mod:`~experiments.ope.decisions`); the
estimators are in :mod:`experiments.stats.ope`; :mod:`~experiments.ope.simulate` plays a randomised
campaign in the engine (logs with known propensities and the true values), and
:mod:`~experiments.ope.validate` sets the simulator's predictions next to the off-policy estimates.
"""
