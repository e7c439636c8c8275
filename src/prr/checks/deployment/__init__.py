"""Checks deciding items of the deployment category."""
