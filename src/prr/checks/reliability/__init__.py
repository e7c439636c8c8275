"""Checks deciding items of the reliability category."""
