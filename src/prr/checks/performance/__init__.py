"""Checks deciding items of the performance category."""
