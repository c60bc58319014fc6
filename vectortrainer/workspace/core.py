"""The workspace: one config, the one store it opens, and every use case a face offers, by topic.

A face builds one :class:`Workspace` over its config and calls it; nothing else below
this package. The store is opened once, lazily, the way the whole config says
(:func:`~vectortrainer.store.opening.open_log_source`: path, density backend, Ray
address); tests hand a ready log source in instead (``source=``). Nothing heavy (VectorWave,
torch, a vendor SDK) loads until a use case needs it, so a face paints at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.config import Config
from vectortrainer.demo.seed import SeedReport, seed_demo_store
from vectortrainer.store.environment import store_exists
from vectortrainer.store.opening import open_log_source
from vectortrainer.store.records import FunctionLogs, FunctionSummary
from vectortrainer.store.source import LogReader
from vectortrainer.workspace.feedback import Feedback
from vectortrainer.workspace.golden import Golden
from vectortrainer.workspace.history import Hooks, Models
from vectortrainer.workspace.loop import Loop
from vectortrainer.workspace.rules import Rules
from vectortrainer.workspace.runs import Runs
from vectortrainer.workspace.service import ServiceView, service_view

Progress = Callable[[int, int], None]


@dataclass(eq=False)
class Workspace:
    """The configured store, feedback file, hooks and models directories, and output directory.

    The use cases, by what they are about: ``golden``, ``feedback``, ``rules``, ``runs``,
    ``loop``, ``hooks``, ``models``; and :meth:`service`.
    """

    config: Config
    source: LogReader | None = None  # opened on first use (or handed in by a test)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.golden = Golden(self)
        self.feedback = Feedback(self)
        self.rules = Rules(self)
        self.runs = Runs(self)
        self.loop = Loop(self)
        self.hooks = Hooks(self)
        self.models = Models(self)

    # -- the store -----------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return Path(self.config.store.path)

    def store_exists(self) -> bool:
        return self.source is not None or store_exists(self.store_path)

    def open_store(self) -> LogReader:
        """The log source (the Lite tables read directly: no VectorWave import), opened once."""
        with self._lock:
            if self.source is None:
                self.source = open_log_source(self.config)
            return self.source

    def list_functions(self) -> list[FunctionSummary]:
        """Every function with logs in the store, with its counts."""
        return list(self.open_store().list_functions())

    def read_function(self, name: str, progress: Progress | None = None) -> FunctionLogs:
        """Every log of ``name``, streamed (``progress(done, total)`` per block)."""
        return self.open_store().read_function(name, progress=progress)

    def seed_demo(
        self, progress: Callable[[int, int, str], None] | None = None, *, if_empty: bool = False
    ) -> SeedReport:
        """Fill the demo store by calling the demo functions (and write the demo feedback pairs)."""

        return seed_demo_store(
            self.store_path,
            feedback_path=Path(self.config.feedback.path),
            if_empty=if_empty,
            progress=progress,
        )

    def service(self, function: str) -> ServiceView:
        """What is in service for ``function``: model, hook, the gates' last decisions, the loop."""
        return service_view(self.config, function, source=self.source)
