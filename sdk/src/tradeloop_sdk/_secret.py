"""Secrets are references (``env:NAME``, ``keyring:service/user``), resolved only at use.

A :class:`Secret` never holds the secret value; its ``repr`` and ``str`` show only the
reference, so logging a config or a params object cannot leak a key.
"""

from __future__ import annotations

import os
import re

import attrs

__all__ = ["Secret", "is_secret_name", "looks_like_reference"]

_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|keyring:[^/\s]+/[^/\s]+)$")
_SECRET_NAME = re.compile(r"(key|secret|token|password|passphrase|passwd)$", re.I)


def is_secret_name(name: str) -> bool:
    """True for keys that name a credential (``*key``, ``*secret``, ``*token``, ``*password``)."""
    return bool(_SECRET_NAME.search(name))


def looks_like_reference(value: object) -> bool:
    """True if ``value`` is a secret reference string (``env:NAME`` / ``keyring:svc/user``)."""
    return isinstance(value, str) and bool(_REF.match(value))


def _check_ref(_inst: object, _attr: object, value: str) -> None:
    if not looks_like_reference(value):
        # Never echo the value: it may be the secret itself.
        raise ValueError("a secret must be a reference 'env:NAME' or 'keyring:service/user'")


@attrs.frozen(repr=False)
class Secret:
    """A reference to a secret; call :meth:`resolve` at the moment of use."""

    ref: str = attrs.field(validator=_check_ref)

    def __repr__(self) -> str:
        return f"Secret({self.ref!r})"

    def __str__(self) -> str:
        return f"<secret {self.ref}>"

    def resolve(self) -> str:
        """The secret value; raises LookupError naming the reference (never the value)."""
        scheme, _, rest = self.ref.partition(":")
        if scheme == "env":
            value = os.environ.get(rest)
            if value is None:
                raise LookupError(f"secret {self.ref}: environment variable {rest} is not set")
            return value
        service, _, user = rest.partition("/")
        try:
            import keyring  # optional dependency, imported only when a keyring ref is used
        except ImportError:
            raise LookupError(
                f"secret {self.ref}: install 'keyring' to use keyring references"
            ) from None
        found = keyring.get_password(service, user)
        if found is None:
            raise LookupError(f"secret {self.ref}: no entry in the keyring")
        return str(found)
