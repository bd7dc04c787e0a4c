"""Reinforcement learning: train an SB3 agent on a scenario (:mod:`.trainer`); needs the ``rl`` extra."""
