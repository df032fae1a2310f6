"""Evaluation: judge routers offline on outcomes data; never imported by serving code."""
