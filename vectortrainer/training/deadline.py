"""``timeout_s`` as a deadline for a whole call to a provider, not for each read (issue 29).

The SDKs' own ``timeout`` bounds each connect, read and write: a server that sends a few
bytes a second never trips it, and held a run with ``timeout_s: 2`` for 196 s. So every SDK
call a trainer makes through its :class:`~vectortrainer.training.calls.CallPolicy` runs
:func:`within` a deadline (per thread), and the SDK's HTTP client is built by
:func:`deadline_http_client`: its network streams wait at most what is left of the deadline
before every connect, read and write, and fail with the HTTP library's own timeout once it
has passed (status line, headers and body alike). The SDK reports that as its
``APITimeoutError``, which the call policy retries with a fresh deadline per attempt
(``max_retries``) and then reports in one line. Outside :func:`within`, the streams behave as
the SDK's own.

``openai`` is built on ``httpx2``/``httpcore2``, ``together`` and ``fireworks-ai`` on
``httpx``/``httpcore``; both pairs have the same network backend interface.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_local = threading.local()
# The HTTP library an SDK's client is built on -> its connection library (where the timeouts are).
_CORE_OF = {"httpx": "httpcore", "httpx2": "httpcore2"}


@contextlib.contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Everything this thread sends or reads in the block ends ``seconds`` from now (None: no
    deadline); an inner deadline never outlasts an outer one."""
    if seconds is None:
        yield
        return
    outer: float | None = getattr(_local, "deadline", None)
    mine = time.monotonic() + seconds
    _local.deadline = mine if outer is None else min(outer, mine)
    try:
        yield
    finally:
        _local.deadline = outer


def time_left() -> float | None:
    """Seconds until this thread's deadline (negative once past); None outside :func:`within`."""
    deadline: float | None = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


@dataclass(frozen=True)
class _Timeouts:
    """The connection library's own timeout exceptions (what its HTTP client maps for the SDK)."""

    connect: type[Exception]
    read: type[Exception]
    write: type[Exception]


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the deadline; ``error`` once nothing is left."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the call's deadline (timeout_s) passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A network stream whose every read and write waits at most until the deadline."""

    def __init__(self, stream: Any, timeouts: _Timeouts) -> None:
        self._stream = stream
        self._timeouts = timeouts

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, _bounded(timeout, self._timeouts.read))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, self._timeouts.write))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> _DeadlineStream:
        stream = self._stream.start_tls(ssl_context, server_hostname,
                                        _bounded(timeout, self._timeouts.connect))
        return _DeadlineStream(stream, self._timeouts)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    """A connection library's network backend whose connections and streams keep the deadline."""

    def __init__(self, backend: Any, timeouts: _Timeouts) -> None:
        self._backend = backend
        self._timeouts = timeouts

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> Any:
        stream = self._backend.connect_tcp(
            host, port, timeout=_bounded(timeout, self._timeouts.connect),
            local_address=local_address, socket_options=socket_options,
        )
        return _DeadlineStream(stream, self._timeouts)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> Any:
        stream = self._backend.connect_unix_socket(
            path, timeout=_bounded(timeout, self._timeouts.connect), socket_options=socket_options
        )
        return _DeadlineStream(stream, self._timeouts)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def deadline_http_client(sdk: ModuleType) -> Any:
    """The SDK's default HTTP client (``sdk.DefaultHttpxClient``) with a transport whose network
    streams keep the deadline of :func:`within`.

    The transport's connection pool is given the wrapped backend in place of its own (the HTTP
    libraries take a backend only when the pool is built by hand); a pool without one (another
    version) keeps its own, and the SDK's per-read timeout still holds.
    """
    client_class = sdk.DefaultHttpxClient
    base = next(c for c in client_class.__mro__ if c.__module__.split(".")[0] in _CORE_OF)
    http = importlib.import_module(base.__module__.split(".")[0])
    core = importlib.import_module(_CORE_OF[http.__name__])
    transport = http.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is not None:
        timeouts = _Timeouts(core.ConnectTimeout, core.ReadTimeout, core.WriteTimeout)
        pool._network_backend = _DeadlineBackend(backend, timeouts)  # type: ignore[union-attr]
    return client_class(transport=transport)
