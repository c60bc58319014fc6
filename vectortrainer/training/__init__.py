"""Fine-tuning behind one contract (FR-3): the trainer interface, the vendors, the local trainer.

- ``base``: :class:`~vectortrainer.training.base.BaseTrainer` (everything the pipeline asks of a
  trainer, its estimate included), statuses, events and results;
- ``hosted``: what every vendor's trainer shares: the checks before any upload, the budget guard,
  uploading and creating a job once, the SDK's calls;
- ``limits``: a job's settings against the provider's published ranges and the model's methods;
- ``calls``: calling a vendor SDK: retries, a spent quota, job creation that never pays twice;
- ``openai``, ``azure``, ``together``, ``fireworks``: one trainer per provider, each on its official
  SDK;
- ``local``: LoRA fine-tuning of a model the user owns (model loading, calibration, the TRL run,
  evaluation);
- ``data``: the training files of a run (what the held-out split leaves, the DPO preference file,
  the validation split);
- ``following``: following a job to its end (events, progress, the time budget, cancellation);
- ``factory``: the trainer ``training.provider`` names, and whether it trains locally.
"""
