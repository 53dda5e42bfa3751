"""Presets shipped with srlive: TOML files whose keys are the CLI's long options."""
