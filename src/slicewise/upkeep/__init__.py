"""Upkeep: keep routing right when providers change their models and prices.

``probes`` reads probe sets, ``grade`` (with ``sandbox`` for code) scores answers against
them, ``profile`` runs a probe set through a live model, and ``check`` compares new outcomes
with what a router learned from (``slicewise.routing.record``) and recalibrates it.
``registry`` holds aliases, versions and retirements, ``prices`` dated prices, and
``drift`` samples live traffic into shadow comparisons with a reference model.
"""
