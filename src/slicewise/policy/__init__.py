"""Policies: which models may see a request, decided before the router compares costs.

``detect`` finds personal data and secrets, ``redact`` swaps them for typed placeholders and
back, ``injection`` scores prompt-injection and jailbreak attempts, ``rules`` turns data
classes and model attributes into a decision.
"""
