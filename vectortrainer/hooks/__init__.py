"""Hook scripts (FR-2.5, FR-2.6, FR-7, VT-6, VT-7): rules packaged as a validated, versioned,
stdlib-only module.

- ``template``: the hook's fixed text around the rules, and reading the rules back out;
- ``validation``: the AST allowlist, the template match and the replay in a clean interpreter;
- ``versions``: :class:`~vectortrainer.hooks.versions.HookVersionManager`, crash-safe versions and
  rollback;
- ``generator``: :class:`~vectortrainer.hooks.generator.HookScriptGenerator`, rules -> a new active
  version, and the :class:`~vectortrainer.hooks.generator.GenerationReport` it returns;
- ``report``: the one ``rules.json`` and publishing a hook with it.
"""
