"""Rules learned from feedback (FR-2.3, FR-2.4, VT-5): the rule language and how rules are found and checked.

- ``model``: the :class:`~vectortrainer.rules.model.Rule` data type and the document a hook embeds;
- ``interpreter``: the standard-library code that applies rules, copied verbatim into every hook;
- ``safety``: which regex patterns may run (linear time only);
- ``replay``: applying rules as the hook does, and scoring them on feedback pairs;
- ``candidates``, ``scoping``, ``conflicts``, ``synthesis``: finding, checking, settling and accepting rules;
- ``llm``: optional proposals from a chat model;
- ``learning``: the use case every face runs, and the one ``rules.json`` it writes.

The interpreter lives here, not in ``hooks/``, because it *is* the rule language's
meaning: synthesis replays candidates through it, and ``hooks/`` only packages it.
"""
