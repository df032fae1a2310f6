"""Batch: route and run many requests, resumably (``slicewise batch run``).

The Python API is in ``slicewise.batch.api``: ``load_router``, ``route``, ``run``.
"""
