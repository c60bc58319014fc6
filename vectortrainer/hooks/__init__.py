"""Hook scripts: rules -> a validated, standard-library-only Python hook (FR-2.5, FR-2.6), kept in versions (FR-7)."""

from vectortrainer.hooks.generator import HookScriptGenerator, HookValidationError
from vectortrainer.hooks.versions import HookVersionError, HookVersionManager

__all__ = ["HookScriptGenerator", "HookValidationError", "HookVersionManager", "HookVersionError"]
