"""The embedded demo: deterministic decorated functions, their inputs, and demo feedback;
``synthetic``: a large synthetic store for scale benchmarks and tests."""
