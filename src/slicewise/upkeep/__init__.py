"""Upkeep: keeping routing right as providers change models and prices (registry, prices, drift)."""
