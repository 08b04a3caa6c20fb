"""Refuse secrets written inline in a config; secrets are references resolved at use.

Any key named like a credential (``*key``, ``*secret``, ``*token``, ``*password``) whose
value is a string must be a reference (``env:NAME`` or ``keyring:service/user``). Errors
never include the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tradeloop_sdk import ConfigError
from tradeloop_sdk._secret import is_secret_name, looks_like_reference

__all__ = ["HIDDEN", "SECRET_EXPECTED", "inline_secrets"]

HIDDEN = "an inline value (hidden)"
SECRET_EXPECTED = "a secret reference 'env:NAME' or 'keyring:service/user'"


def inline_secrets(raw: Any, path: str = "") -> Iterator[ConfigError]:
    """Yield an error for each inline secret in a parsed TOML document."""
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            sub = f"{path}.{key}" if path else str(key)
            if (
                is_secret_name(str(key))
                and isinstance(value, str)
                and not looks_like_reference(value)
            ):
                yield ConfigError(key=sub, found=HIDDEN, expected=SECRET_EXPECTED)
            else:
                yield from inline_secrets(value, sub)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from inline_secrets(value, f"{path}[{i}]")
