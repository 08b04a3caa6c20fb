"""The one exception hierarchy of tradeloop.

Every error a user can meet derives from :class:`TradeloopError`, and each carries the
facts needed to fix it (file and key path for config, plugin and hook for plugins, file
and position for data, a :class:`Reason` for rejected orders). Messages never contain
secret values: callers pass already-masked text for anything that may be a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._enums import Reason

__all__ = [
    "BrokerError",
    "ConfigError",
    "ConfigErrors",
    "ConnectionLost",
    "DataError",
    "GuardError",
    "KillSwitchTriggered",
    "OrderRejected",
    "PluginError",
    "TradeloopError",
    "show_value",
]


class TradeloopError(Exception):
    """Base class of every tradeloop error."""


def show_value(value: object, *, limit: int = 60) -> str:
    """Render a found value for an error message: strings quoted, long values cut."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list | tuple):
        text = "an array"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(TradeloopError):
    """A config file (or a config value) is wrong.

    ``str()`` renders ``file:line: key.path: found X, expected Y (did you mean 'Z'?)``;
    parts that are unknown are left out. ``found`` is text the caller has already
    rendered (see :func:`show_value`) so a secret never reaches the message.
    """

    def __init__(
        self,
        message: str = "",
        *,
        file: str | None = None,
        key: str | None = None,
        found: str | None = None,
        expected: str | None = None,
        suggestion: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.found = found
        self.expected = expected
        self.suggestion = suggestion
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        parts = [p for p in (where, self.key) if p]
        body: list[str] = []
        if self.message:
            body.append(self.message)
        if self.found is not None:
            body.append(f"found {self.found}")
        if self.expected is not None:
            body.append(f"expected {self.expected}")
        text = ", ".join(body)
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return ": ".join([*parts, text]) if parts else text

    def __str__(self) -> str:
        return self._render()

    def with_location(self, *, file: str | None = None, line: int | None = None) -> ConfigError:
        """A copy with the file (and line) filled in where they were unknown."""
        return ConfigError(
            self.message,
            file=self.file or file,
            key=self.key,
            found=self.found,
            expected=self.expected,
            suggestion=self.suggestion,
            line=self.line or line,
        )


class ConfigErrors(ConfigError):
    """Several config errors found in one pass; ``str()`` puts one per line."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors: tuple[ConfigError, ...] = tuple(errors)
        first = self.errors[0] if self.errors else ConfigError("invalid config")
        super().__init__(
            first.message,
            file=first.file,
            key=first.key,
            found=first.found,
            expected=first.expected,
            suggestion=first.suggestion,
            line=first.line,
        )

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    @classmethod
    def raise_if_any(cls, errors: Iterable[ConfigError]) -> None:
        """Raise the single error, or a ConfigErrors of all, when ``errors`` is not empty."""
        errs = list(errors)
        if len(errs) == 1:
            raise errs[0]
        if errs:
            raise cls(errs)


class PluginError(TradeloopError):
    """A plugin cannot be loaded or does not fit the hook specs."""

    def __init__(
        self, plugin: str, problem: str, *, hook: str | None = None, fix: str | None = None
    ) -> None:
        self.plugin = plugin
        self.problem = problem
        self.hook = hook
        self.fix = fix
        text = f"plugin {plugin!r}"
        if hook:
            text += f", hook {hook!r}"
        text += f": {problem}"
        if fix:
            text += f"; fix: {fix}"
        super().__init__(text)


class DataError(TradeloopError):
    """Market data is malformed; names the file and the position when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        where = [str(p) for p in (file, line) if p is not None]
        prefix = ":".join(where)
        if column is not None:
            prefix += f" (column {column})" if prefix else f"column {column}"
        super().__init__(f"{prefix}: {message}" if prefix else message)


class BrokerError(TradeloopError):
    """A venue or broker failed to do what was asked."""

    def __init__(self, message: str, *, venue: str | None = None) -> None:
        self.message = message
        self.venue = venue
        super().__init__(f"{venue}: {message}" if venue else message)


class OrderRejected(BrokerError):
    """The venue (or the kernel on its behalf) refused an order, for a :class:`Reason`."""

    def __init__(
        self,
        reason: Reason,
        message: str = "",
        *,
        venue: str | None = None,
        client_id: int | None = None,
    ) -> None:
        self.reason = Reason(reason)
        self.client_id = client_id
        text = f"order rejected: {self.reason.name}"
        if client_id is not None:
            text += f" (client id {client_id})"
        if message:
            text += f": {message}"
        super().__init__(text, venue=venue)


class ConnectionLost(BrokerError):
    """The connection to a venue dropped; the engine reconnects and reconciles."""


class GuardError(TradeloopError):
    """A guard refused an action, or a guard itself failed."""

    def __init__(
        self, message: str, *, guard: str | None = None, reason: Reason = Reason.NONE
    ) -> None:
        self.guard = guard
        self.reason = Reason(reason)
        self.message = message
        prefix = f"guard {guard!r}: " if guard else ""
        super().__init__(prefix + message)


class KillSwitchTriggered(TradeloopError):
    """The kill switch is set: nothing may trade until it is cleared."""

    def __init__(self, reason: str = "kill switch set") -> None:
        self.reason = reason
        super().__init__(reason)
