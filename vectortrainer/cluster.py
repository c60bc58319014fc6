"""The Ray cluster the ``ray`` density backend runs on (``density.backend: ray``, extra
``[distributed]``).

:func:`connect` joins the cluster at an address (``"auto"``, ``"ray://head:10001"``,
or the ``RAY_ADDRESS`` environment variable), shipping this package to it
(``runtime_env.py_modules``) so every node runs the driver's code; with neither, it
starts a local Ray for this process. A Ray that is already connected (a test's
``ray.init``, an application's own) is used as it is. Ray is imported only here and
only when asked for; without it, one error names the extra to install.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from vectortrainer.errors import ConfigError

INSTALL_HINT = "install it with: pip install 'vectortrainer[distributed]'"


def import_ray() -> Any:
    """The ``ray`` module (with Ray Data), or one clear error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401 - the reader needs Ray Data, which ray[data] brings
    except ImportError:
        raise ConfigError(
            "density.backend: ray needs Ray (with Ray "
            f"Data), which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


def connect(address: str | None = None) -> Any:
    """Joins the cluster at ``address`` (or ``RAY_ADDRESS``), or starts a local Ray; returns
    ``ray``."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Our faces show progress; Ray's INFO lines and Ray
    # Data's progress logging would only interleave with it.
    options: dict[str, Any] = {
        "log_to_driver": False,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
    }
    if address:
        # ship this very package: nodes run the driver's code
        package = Path(__file__).resolve().parent
        options["runtime_env"] = {"py_modules": [str(package)]}
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ConfigError(
            f"density.backend: ray could not start or join {where}: {exc}; check "
            "density.ray_address (or RAY_ADDRESS), or set density.backend: local"
        ) from None
    # its progress logging and the note that we turn it off
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray
