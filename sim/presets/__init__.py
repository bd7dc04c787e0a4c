"""Scenario presets shipped with siyu: one TOML file per business mode."""
