"""What the loop keeps in service, in versions that roll back at once (FR-7, VT-7, VT-13).

- ``layout``: the file names production code reads (standard library only: ``vectortrainer.runtime``
  imports it);
- ``hook_code``: the code a hook may hold, checked by validation before a hook is written and by
  the runtime when it loads one (standard library only, imported by the runtime too);
- ``versions``: :class:`~vectortrainer.registry.versions.VersionStore`, the one versioning primitive
  (atomic writes, checksums, a lock, a manifest rebuilt from the entries) under hook versions and
  models;
- ``models``: :class:`~vectortrainer.registry.models.ModelRegistry`, every trained model per
  function and which one is promoted.
"""
