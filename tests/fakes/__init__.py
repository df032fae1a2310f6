"""Test doubles that speak the real protocols; start with ``tests.fakes.upstream``."""
