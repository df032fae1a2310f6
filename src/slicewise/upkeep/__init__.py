"""Upkeep: keep routing right when providers change their models and prices.

``probes`` reads probe sets, ``grade`` scores answers against them, ``profile`` runs a probe set
through a live model, ``record`` keeps what a router learned from inside its file, and ``check``
compares new outcomes with that record and recalibrates.
"""
