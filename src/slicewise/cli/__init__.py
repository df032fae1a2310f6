"""The ``slicewise`` command line."""
