"""Providers: upstream endpoints with their credentials, behind one small interface."""
