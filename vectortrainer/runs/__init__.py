"""A pipeline run on disk, the one truth every face reads (VT-9): directory, statuses, events,
monitors, summary.

- ``status``: :class:`~vectortrainer.runs.status.RunStatus`,
  :class:`~vectortrainer.runs.status.StageStatus`, the stages;
- ``directory``: ``run.json`` and the run's files, listing runs;
- ``events``: the append-only ``events.jsonl`` and a reader that follows it from another process;
- ``monitor``: the :class:`~vectortrainer.runs.monitor.PipelineMonitor` contract and its engine-side
  monitors;
- ``summary``: the typed :class:`~vectortrainer.runs.summary.RunSummary` (FR-4.4) and its rows;
- ``resume``: which runs can be resumed, and the command that does it;
- ``metrics``: the loss metrics every trainer reports and every face plots;
- ``golden``: a run's golden data adopted from a file, and its picks published to VectorWave.
"""
