"""Fine-tuning behind one contract (FR-3): the trainer interface, the vendors, the local trainer.

- ``base``: :class:`~vectortrainer.training.base.BaseTrainer`, statuses, events and results;
- ``openai``: :class:`~vectortrainer.training.openai.OpenAITrainer` on the official SDK;
- ``local``: LoRA fine-tuning of a model the user owns (model loading, calibration, the TRL run, evaluation);
- ``data``: the training files of a run (validation split, the DPO preference file);
- ``factory``: the trainer a config names.
"""
