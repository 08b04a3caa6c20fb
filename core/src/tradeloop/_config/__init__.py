"""Config internals: the attrs model, strict cattrs structuring with key paths, TOML lines.

The public surface is :mod:`tradeloop.config`.
"""
