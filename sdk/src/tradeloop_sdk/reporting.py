"""Report sections plugins add to a backtest report (the ``tradeloop_report_sections`` hook).

::

    from tradeloop_sdk import hookimpl
    from tradeloop_sdk.reporting import ReportSection

    class MyPlugin:
        @hookimpl
        def tradeloop_report_sections(self, results):
            n = len(results.fills)
            return [ReportSection(title="My analysis", text=f"{n} fills")]

``results`` is the run's results object: ``fills``, ``reports``, ``intents``, ``events`` and
``equity`` are numpy arrays of the SDK record dtypes (``equity`` has ``ts`` and ``equity``
fields), and ``venues`` / ``symbols`` map their ids to names.
"""

from __future__ import annotations

import attrs

__all__ = ["ReportSection"]


@attrs.frozen
class ReportSection:
    """One section of a report.

    ``text`` is shown escaped, as preformatted text; ``html`` is a trusted fragment
    inserted as is (it must not load anything from the network: the report opens offline);
    ``images`` are ``(caption, png bytes)`` pairs embedded inline.
    """

    title: str
    text: str = ""
    html: str = ""
    images: tuple[tuple[str, bytes], ...] = ()
