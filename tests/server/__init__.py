"""Tests of the organisation server: API, auth, push and admin commands."""
