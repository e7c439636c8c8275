"""Checks: small functions over collected facts that decide checklist items.

Checks live in one package per checklist category (``prr.checks.security``
…), one module per kind of evidence inside it, and register themselves with
:func:`prr.checks.registry.check`. They know nothing of reviews.
"""
