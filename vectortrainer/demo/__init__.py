"""The embedded demo: deterministic decorated functions, their inputs, and demo feedback."""
