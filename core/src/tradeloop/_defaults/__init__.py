"""Embedded default configs (copies of examples/), so commands work from any directory."""
