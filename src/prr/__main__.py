"""``python -m prr``."""

from prr.cli import main

main()
