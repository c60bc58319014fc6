"""The gates (VT-13): nothing reaches the running function before it beat what is in service.

- ``holdout``: the held-out split (golden examples per strategy, feedback pairs by a stable hash),
  made once per run (``prepare_holdout``);
- ``model_gate``: candidate vs promoted (or base) model on the held-out cases, per slice, and the
  decision (promote / keep / not enough evidence); what its replies will cost, estimated before
  any upload;
- ``evidence``: the paired gain's bootstrap interval the model gate decides on;
- ``promotion``: a trained model kept in the registry once, promoted only when the gate passed it;
- ``hook_gate``: a new hook version goes live only when it repairs held-out pairs and spares good
  outputs.
"""
