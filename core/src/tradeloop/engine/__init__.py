"""The live engine: feeds, fused loop thread, executor, journal, reconciliation, operations."""
