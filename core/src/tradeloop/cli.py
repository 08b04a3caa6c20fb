"""The ``tradeloop`` command line (placeholder until the foundation lands)."""

import sys


def main() -> None:
    """Entry point."""
    sys.exit(0)
