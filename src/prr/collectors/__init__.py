"""Collectors gather one kind of evidence into typed facts; they know no checklist."""
