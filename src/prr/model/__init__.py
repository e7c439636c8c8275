"""The model layer: checklists, items, fields and how they are read from YAML."""
