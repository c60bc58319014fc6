"""Reading VectorWave's store: its environment (lazy, quiet, offline), the log source, the Lite
reader, log records.

- ``environment``: where the Lite store lives and how VectorWave is configured and imported;
- ``source``: :class:`~vectortrainer.store.source.LogSource`, every log of a function with vectors,
  in bulk;
- ``lite``: a read-only reader of a Lite store's tables that needs no VectorWave import;
- ``records``: the decoded log types and VectorWave's statuses.
"""
