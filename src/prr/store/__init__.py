"""The store: services, scans, reviews and their audit trail in SQLite or PostgreSQL."""
