"""Tenants, API keys, budgets and rate limits: who a request is for and what it may spend.

``keys`` stores tenants and hashed keys in the ledger's database; ``auth`` finds a request's key;
``budget`` reserves and settles spend and counts requests against limits, in ``counters`` kept
in the process or in Redis; ``spend`` reads a period's spend from the ledger.
"""
