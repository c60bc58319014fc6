"""The embedded demo: deterministic decorated functions, their inputs, and demo feedback;
``synthetic``: a large synthetic store for scale benchmarks and tests; ``offline``: the demo's
training when no key is set (SmolLM2, locally, a few minutes)."""
