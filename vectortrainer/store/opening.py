"""Opening the configured store: the one call that turns ``store:`` and ``density:`` into logs.

The application layer (for every face), the pipeline and the loop open stores through
:func:`open_log_source`, so all of them read the same path with the same backend
(``density.backend`` / ``density.ray_address``) and say the same thing when it is missing.
"""

from __future__ import annotations

from vectortrainer.config import Config
from vectortrainer.store.source import LogSource


def open_log_source(config: Config) -> LogSource:
    """The log source of ``config.store.path``, read the way ``config.density`` says.

    A missing store is a :class:`~vectortrainer.errors.StoreError` that names the path and the fix.
    """
    density = config.density
    return LogSource.open(
        config.store.path, backend=density.backend, ray_address=density.ray_address
    )
