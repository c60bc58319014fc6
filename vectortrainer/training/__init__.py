"""Fine-tuning behind one contract (FR-3): the trainer interface, the vendors, the local trainer.

- ``base``: :class:`~vectortrainer.training.base.BaseTrainer`, statuses, events and results;
- ``hosted``: what every vendor's trainer shares: the checks before any upload, the budget guard;
- ``limits``: a job's settings against the provider's published ranges and the model's methods;
- ``calls``: calling a vendor SDK: retries, a spent quota, job creation that never pays twice;
- ``openai``, ``azure``, ``together``, ``fireworks``: one trainer per provider, each on its official
  SDK;
- ``local``: LoRA fine-tuning of a model the user owns (model loading, calibration, the TRL run,
  evaluation);
- ``data``: the training files of a run (validation split, the DPO preference file);
- ``factory``: the trainer ``training.provider`` names.
"""
