"""shop-api: order and checkout API for the web shop."""

__version__ = "1.14.2"
