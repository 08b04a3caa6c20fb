"""A plugin that cannot be imported: it needs a library that is not installed (fixture)."""

import tl_ext_dependency_that_is_not_installed  # noqa: F401
from tradeloop_sdk import hookimpl


class Broken:
    """Never loads."""

    @hookimpl
    def tradeloop_python_strategy(self, universe):  # type: ignore[no-untyped-def]
        return None
