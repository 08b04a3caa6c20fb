"""pytest plugin entry point of the conformance kit (registered as ``tradeloop_conformance``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the conformance marker."""
    config.addinivalue_line("markers", "conformance: tradeloop plugin conformance checks")
