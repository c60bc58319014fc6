"""Shared pytest plugins: fixture modules the tests use."""

pytest_plugins = ["tests.openai_standin"]
