"""Checks deciding items of the operations category."""
