"""tradeloop: the kernel of a plugin framework for closed-loop algorithmic trading."""

__version__ = "0.1.0"
