"""Error types the faces turn into one clear line (and the CLI into an exit code)."""

from __future__ import annotations


class VectorTrainerError(Exception):
    """Base of every error that is the user's to fix; its message names the thing and the fix."""


class ConfigError(VectorTrainerError):
    """A configuration file or flag is invalid."""


class StoreError(VectorTrainerError):
    """The VectorWave store is missing, empty, or does not hold what was asked for."""


class DataFormatError(VectorTrainerError):
    """A data file (JSONL, manifest, ...) is malformed; the message names file and line."""
