"""The conformance kit: checks every plugin of a kind must pass."""
