"""Rules learned from feedback (FR-2.3, FR-2.4, VT-5): the rule language and how rules are found and
checked.

- ``model``: the :class:`~vectortrainer.rules.model.Rule` data type, its evidence, and the document
  a hook embeds;
- ``interpreter``: the standard-library code that applies rules, copied verbatim into every hook
  (unannotated, so its types are in ``interpreter.pyi``);
- ``safety``: which regex patterns and text conditions may run (linear time only);
- ``replay``: applying rules as the hook does, and scoring them on feedback pairs;
- ``candidates``: edits -> candidate rules (generalised numbers and names, case transforms, spelling
  fixes);
- ``anchors``, ``conditions``, ``scoping``: the local context, phrases and context keys a rule is
  narrowed by (``scoping.Trial``: what a rule is judged on; ``conditions.ContextConditions``: which
  context may be a condition at all, never an identifier; ``scoping.backing_functions``: the
  function each rule is kept to, VT-18);
- ``blast_radius``: a rule on the function's uncorrected logs, narrowed or kept inactive there;
- ``acceptance``, ``conflicts``, ``synthesis``: accepting rules one by one, settling conflicts, the
  whole method;
- ``llm``: optional proposals from a chat model;
- ``learning``: the use case every face runs (with the log sample from the store).

The interpreter lives here, not in ``hooks/``, because it *is* the rule language's
meaning: synthesis replays candidates through it, and ``hooks/`` only packages it.
"""
