"""``python -m tradeloop.cli``: the same as the ``tradeloop`` console script."""

from tradeloop.cli import main

main()
