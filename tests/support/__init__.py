"""Stand-ins, fixtures and builders the tests share (no test module imports another test module)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
