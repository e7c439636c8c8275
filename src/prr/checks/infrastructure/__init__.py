"""Checks deciding items of the infrastructure category."""
