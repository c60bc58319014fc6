"""Reading VectorWave's store: its environment (lazy, quiet, offline), the log source, the Lite
reader, log records.

- ``environment``: where the Lite store lives and how VectorWave is configured and imported;
- ``source``: :class:`~vectortrainer.store.source.LogSource`, every log of a function with vectors,
  in bulk, the :class:`~vectortrainer.store.source.LogReader` protocol the engine reads through,
  and the protocols naming what it uses of VectorWave's objects (``DatasetManager``, ...);
- ``opening``: the configured store opened the way the whole config says (density backend too);
- ``golden``: a promoted run's picks registered in VectorWave's golden dataset;
- ``lite``: a read-only reader of a Lite store's tables that needs no VectorWave import;
- ``records``: the decoded log types and VectorWave's statuses.
"""
