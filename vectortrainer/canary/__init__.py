"""Watching a model in canary and deciding it, without a person (issue 26, part 3).

- ``signals``: a canary's production figures per arm, read from the store and the feedback
  file: calls, error rate, corrections per call, similarity of outputs to reference outputs;
- ``decision``: the one-sided bounds that say whether the candidate is worse, and the verdict
  (wait, promote fully, roll back, expire);
- ``watch``: one look by the loop: the signals, the verdict, and the registry change it makes.

Routing (which call is served by which model) is :mod:`vectortrainer.registry.routing`, shared
with the runtime; the canary's state is :mod:`vectortrainer.registry.canary`.
"""
