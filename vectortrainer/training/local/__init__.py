"""Local LoRA fine-tuning (FR-3.4): a model on disk, SFT or DPO with TRL, a time budget, held-out
evaluation.

- ``model``: loading the model and tokenizer without downloads, the device, LoRA settings;
- ``packaged``: models installed as packages (``smollm2``: SmolLM2-135M-Instruct as GGUF);
- ``loaded``: GGUF models read once per process, copied for each use;
- ``rendering``: examples rendered with the model's own chat template;
- ``calibration``: throughput measured on this machine, for the minutes estimate;
- ``run``: one TRL training run in a thread, its callback and metrics;
- ``trainer``: :class:`~vectortrainer.training.local.trainer.LocalTrainer`, the ``BaseTrainer`` of
  local jobs;
- ``evaluation``: held-out golden inputs replayed through the trained model;
- ``serving``: the user's function answering with the promoted adapter (``ask``).
"""
