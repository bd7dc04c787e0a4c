"""Who decides contacts: the Policy protocol, rule baselines and the loader for policy references."""

from policies.base import Policy, RulePolicy
from policies.baselines import BASELINES
from policies.registry import load_policy, make_policy, policy_names
from policies import rl  # noqa: F401  (registers the rl: loader)

__all__ = ["BASELINES", "Policy", "RulePolicy", "load_policy", "make_policy", "policy_names"]
