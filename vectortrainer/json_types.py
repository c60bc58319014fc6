"""The names of JSON data where it crosses the engine's boundary: files we write and read back
(``run.json``, ``rules.json``, manifests, events), provider answers, config snapshots.

Such data is typed no further than JSON allows; these aliases say so where ``Any`` would say
nothing. Everything inside the engine has its own types.
"""

from __future__ import annotations

from typing import Any, TypeAlias

JSONValue: TypeAlias = Any  # what json.loads returns: dict, list, str, int, float, bool or None
JSONObject: TypeAlias = dict[str, Any]  # one JSON object, as read or about to be written
