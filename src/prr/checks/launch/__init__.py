"""Checks deciding items of the launch category."""
