"""The installed version of prr."""

__version__ = "0.1.0"
