"""Checks deciding items of the security category."""
