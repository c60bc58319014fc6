"""What production code imports: the active hook and the promoted model inside the running function
(VT-13).

::

    from vectortrainer.runtime import with_hook, promoted_model

    @with_hook("hooks/")                       # the hooks directory VectorTrainer writes
    @vectorize(capture_inputs=True, capture_return_value=True)
    def summarize_ticket(ticket: str, tier: str) -> str:
        model = promoted_model("summarize_ticket", models_dir="models/", default="gpt-4o-mini")
        return client.chat.completions.create(
            model=model, messages=[...]
        ).choices[0].message.content

Standard library only, at import time and after: a production process pays no
numpy, VectorWave, openai or torch for it. Both helpers re-read their file (the
active ``generated_prompt_hook.py``, the function's ``promoted.json``) when it
changed, checked at most once per ``reload_interval`` seconds, so a new version,
a promotion or a rollback reaches running processes without a restart. Writers
replace those files atomically, so a reader sees the old one or the new one.

The runtime never breaks the user's function: a hook that fails to load, raises,
or returns something that is not a string is logged once and skipped (the last
good hook, or none, is used instead); a missing or damaged registry gives the
last good model, or ``default``. Threads share one cached state per decorated
function (a reload happens in one thread while the others keep the last state);
``async def`` functions are wrapped as coroutines.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from vectortrainer.registry.layout import (
    HOOK_FILENAME,
    HOOK_VERSIONS_DIRNAME,
    MANIFEST_NAME,
    function_hooks_dir,
    promoted_path,
)

logger = logging.getLogger("vectortrainer.runtime")

F = TypeVar("F", bound=Callable[..., Any])
_CONTEXT_TYPES = (str, int, float, bool)
_logged: set[tuple[str, ...]] = set()
_logged_lock = threading.Lock()


def _log_once(key: tuple[str, ...], level: int, message: str, *args: Any) -> None:
    with _logged_lock:
        if key in _logged:
            return
        _logged.add(key)
    logger.log(level, message, *args)


class _ChangedFile:
    """A file looked at no more than once per ``interval`` seconds; says when it was replaced or
    changed."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = max(0.0, float(interval))
        self._next_check = 0.0
        self._stat_key: tuple[int, int, int] | None = None
        self.checked = False
        self.lock = threading.Lock()

    def due(self) -> bool:
        return time.monotonic() >= self._next_check

    def acquire_if_due(self) -> bool:
        """Whether this caller should look at the file now (it then holds ``lock``).

        The first look is waited for, so no call runs before the file was read once;
        after that a caller never waits: one thread re-reads, the others keep the last state.
        """
        if not self.checked:
            self.lock.acquire()
            if self.checked:  # another thread made the first look while this one waited
                self.lock.release()
                return False
            return True
        return self.due() and self.lock.acquire(blocking=False)

    def release(self) -> None:
        self.checked = True
        self.lock.release()

    def refresh_if_due(
        self, on_change: Callable[[bytes | None], None], on_error: Callable[[Exception], None]
    ) -> None:
        """When due (:meth:`acquire_if_due`), pass the file's new content to ``on_change`` (None:
        the file is gone); what fails, reading or ``on_change``, goes to ``on_error``."""
        if not self.acquire_if_due():
            return
        try:
            changed, data = self.read_if_changed()
            if changed:
                on_change(data)
        except Exception as exc:
            on_error(exc)
        finally:
            self.release()

    def read_if_changed(self) -> tuple[bool, bytes | None]:
        """(changed, content): ``content`` is None when the file is gone. Call with ``lock``
        held."""
        self._next_check = time.monotonic() + self.interval
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            changed, self._stat_key = self._stat_key is not None, None
            return changed, None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key == self._stat_key:
            return False, b""
        data = self.path.read_bytes()
        self._stat_key = key
        return True, data


def _legacy_hook(root: Path, own: Path, function: str) -> bool:
    """Whether ``function`` runs the hook of an older one-hook directory: it has no hook directory
    of its own and ``root`` holds a hook at its top (said once, in one line)."""
    if own.exists() or not (root / HOOK_FILENAME).exists():
        return False
    _log_once(("hook-legacy", str(root)), logging.WARNING,
              "%s is a hook of the one-hook layout: every function without a hook of its own "
              "(%s for %s) runs it; a hook made for a function from now on goes to its own folder",
              root / HOOK_FILENAME, own, function)
    return True


@dataclass(frozen=True)
class LoadedHook:
    """One hook module as loaded in this process."""

    sha256: str
    # from the manifest; None when it matches no saved version (or the manifest is unreadable)
    version_id: str | None
    intercept_prompt: Callable[[str, dict[str, Any]], Any]
    intercept_output: Callable[[str, dict[str, Any]], Any]


class HookSlot:
    """The active hook of one hooks directory, as this process runs it (see the module
    docstring)."""

    def __init__(
        self,
        hooks_dir: str | os.PathLike[str],
        reload_interval: float = 1.0,
        *,
        function: str | None = None,
    ) -> None:
        self.root = Path(hooks_dir)
        self.function = function
        # The function's own hook (VT-18); without a function, a directory of the one-hook layout.
        self.hooks_dir = function_hooks_dir(hooks_dir, function) if function else self.root
        self._file = _ChangedFile(self._hook_path(), reload_interval)
        self._hook: LoadedHook | None = None
        self._fallback: LoadedHook | None = None
        self._loaded: dict[str, LoadedHook] = {}
        self._broken: set[str] = set()

    @property
    def version_id(self) -> str | None:
        """The version the function runs now (None: no hook, or one that matches no saved
        version)."""
        hook = self.current()
        return hook.version_id if hook is not None else None

    def current(self) -> LoadedHook | None:
        """The hook to use for this call; re-reads the file when ``reload_interval`` has passed and
        it changed."""
        if self.function is not None and self._file.due():
            path = self._hook_path()  # the function may have got a hook of its own since
            if path != self._file.path:
                self._file = _ChangedFile(path, self._file.interval)
        self._file.refresh_if_due(self._refresh, self._unreadable)
        return self._hook

    def _hook_path(self) -> Path:
        """The function's own hook; a one-hook directory's hook while the function has none."""
        if self.function is not None and _legacy_hook(self.root, self.hooks_dir, self.function):
            return self.root / HOOK_FILENAME
        return self.hooks_dir / HOOK_FILENAME

    def _unreadable(self, exc: Exception) -> None:
        """An unreadable hooks directory is logged once; it never reaches the caller."""
        _log_once(
            ("hook-read", str(self.hooks_dir), type(exc).__name__),
            logging.ERROR,
            "cannot read the hook in %s (%s); keeping the hook in use",
            self.hooks_dir,
            exc,
        )

    def _refresh(self, data: bytes | None) -> None:
        if data is None:
            if self._hook is not None:
                logger.warning(
                    "%s was removed: the function now runs without a hook", self._file.path
                )
            self._hook = self._fallback = None
            return
        digest = hashlib.sha256(data).hexdigest()
        if self._hook is not None and digest == self._hook.sha256:
            return
        if digest in self._broken:
            return
        hook = self._loaded.get(digest)
        if hook is None:
            try:
                hook = self._load(data, digest)
            except Exception as exc:
                self._broken.add(digest)
                _log_once(
                    ("hook-load", digest),
                    logging.ERROR,
                    "the hook %s (sha256 %s) failed to load (%s: %s); %s",
                    self._file.path,
                    digest[:12],
                    type(exc).__name__,
                    exc,
                    self._keeping(),
                )
                return
            self._loaded[digest] = hook
        self._fallback, self._hook = self._hook, hook
        logger.info(
            "hook %s is active in %s", hook.version_id or digest[:12], self._file.path.parent
        )

    def _keeping(self) -> str:
        if self._hook is None:
            return "running without a hook"
        return f"keeping hook {self._hook.version_id or self._hook.sha256[:12]}"

    def _load(self, data: bytes, digest: str) -> LoadedHook:
        namespace: dict[str, Any] = {
            "__name__": "vectortrainer_active_hook",
            "__file__": str(self._file.path),
            "__builtins__": builtins,
        }
        # the hook VectorTrainer validated and wrote
        exec(compile(data, str(self._file.path), "exec"), namespace)
        prompt, output = namespace.get("intercept_prompt"), namespace.get("intercept_output")
        if not callable(prompt) or not callable(output):
            raise TypeError("the module defines no intercept_prompt / intercept_output")
        return LoadedHook(digest, self._version_of(digest), prompt, output)

    def _version_of(self, digest: str) -> str | None:
        directory = self._file.path.parent
        try:
            manifest = json.loads(
                (directory / HOOK_VERSIONS_DIRNAME / MANIFEST_NAME).read_text(encoding="utf-8")
            )
            return next(
                (str(v["version_id"]) for v in manifest["versions"] if v.get("sha256") == digest),
                None,
            )
        except Exception:  # a missing or half-written manifest only costs the label
            return None

    def apply(self, phase: str, text: str, context: dict[str, Any], hook: LoadedHook | None) -> str:
        """``text`` through ``hook``'s ``intercept_<phase>``; on failure the last good hook is
        tried, then none."""
        while hook is not None:
            try:
                result = getattr(hook, f"intercept_{phase}")(text, context)
                if isinstance(result, str):
                    return result
                raise TypeError(f"intercept_{phase} returned {type(result).__name__}, not str")
            except Exception as exc:
                hook = self._failed(hook, phase, exc)
        return text

    def _failed(self, hook: LoadedHook, phase: str, exc: Exception) -> LoadedHook | None:
        """Mark ``hook`` broken (logged once) and return the hook to use instead."""
        with self._file.lock:
            self._broken.add(hook.sha256)
            if self._hook is hook:
                fallback = (
                    self._fallback
                    if self._fallback is not None and self._fallback.sha256 not in self._broken
                    else None
                )
                self._hook, self._fallback = fallback, None
            replacement = self._hook
        label = hook.version_id or hook.sha256[:12]
        instead = (
            f"using hook {replacement.version_id or replacement.sha256[:12]}"
            if replacement
            else "running without a hook"
        )
        _log_once(
            ("hook-raise", hook.sha256),
            logging.ERROR,
            "hook %s raised in intercept_%s (%s: %s); it is skipped "
            "until the hook file changes, %s",
            label,
            phase,
            type(exc).__name__,
            exc,
            instead,
        )
        return replacement


def with_hook(hooks_dir: str | os.PathLike[str], *, prompt_arg: str | None = None,
              reload_interval: float = 1.0) -> Callable[[F], F]:
    """Decorate an LLM function so the active hook of ``hooks_dir`` intercepts its prompt and its
    output.

    The prompt is the argument named ``prompt_arg``, else the first argument whose
    value is a ``str``; a ``str`` return value goes through ``intercept_output``. The
    hook's context is ``{"function": <name>}`` plus the other arguments that are
    strings, numbers or booleans (what feedback contexts and rule conditions hold).
    """
    def decorate(func: F) -> F:
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None
        if (
            prompt_arg is not None
            and signature is not None
            and prompt_arg not in signature.parameters
        ):
            raise ValueError(f"with_hook: {func.__qualname__} has no argument {prompt_arg!r} "
                             f"(its arguments: {', '.join(signature.parameters) or 'none'})")
        name = getattr(func, "__name__", "function")
        slot = HookSlot(hooks_dir, reload_interval, function=name)

        def before(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, Any], LoadedHook | None]:
            hook = slot.current()
            if hook is None or signature is None:
                return args, kwargs, {}, hook
            try:
                bound = signature.bind_partial(*args, **kwargs)
            except TypeError:
                # the call itself raises the same error, as without the hook
                return args, kwargs, {}, hook
            prompt_name = prompt_arg if prompt_arg is not None else next(
                (key for key, value in bound.arguments.items() if isinstance(value, str)), None)
            context: dict[str, Any] = {"function": name}
            context.update((k, v) for k, v in bound.arguments.items()
                           if k != prompt_name and isinstance(v, _CONTEXT_TYPES))
            value = bound.arguments.get(prompt_name) if prompt_name is not None else None
            if isinstance(value, str):
                bound.arguments[prompt_name] = slot.apply("prompt", value, context, hook)  # type: ignore[index]
                return bound.args, bound.kwargs, context, slot.current()
            return args, kwargs, context, hook

        def after(result: Any, context: dict[str, Any], hook: LoadedHook | None) -> Any:
            if hook is None or not isinstance(result, str):
                return result
            return slot.apply("output", result, context or {"function": name}, hook)

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                args, kwargs, context, hook = before(args, kwargs)
                return after(await func(*args, **kwargs), context, hook)

            async_wrapper.hook_slot = slot  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            args, kwargs, context, hook = before(args, kwargs)
            return after(func(*args, **kwargs), context, hook)

        wrapper.hook_slot = slot  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class _PromotedFile:
    """One function's ``promoted.json``, re-read when it changed; the model it names, or the last
    good one."""

    def __init__(self, path: Path, interval: float) -> None:
        self._file = _ChangedFile(path, interval)
        self._model: str | None = None

    def model(self, default: str, interval: float) -> str:
        self._file.interval = max(0.0, float(interval))
        self._file.refresh_if_due(self._refresh, self._unreadable)
        return self._model if self._model is not None else default

    def _unreadable(self, exc: Exception) -> None:
        _log_once(("model-read", str(self._file.path), type(exc).__name__), logging.ERROR,
                  "cannot read %s (%s); keeping the model in use", self._file.path, exc)

    def _refresh(self, data: bytes | None) -> None:
        if data is None:
            if self._model is not None:
                logger.warning("%s was removed: using the default model", self._file.path)
            self._model = None
            return
        try:
            entry = json.loads(data)
            model = entry["model"]
            if not isinstance(model, str) or not model:
                raise ValueError("no model named")
        except Exception as exc:
            digest = hashlib.sha256(data).hexdigest()
            kept = (
                f"keeping {self._model}" if self._model is not None else "using the default model"
            )
            _log_once(
                ("model-damaged", digest),
                logging.ERROR,
                "%s is damaged (%s); %s",
                self._file.path,
                exc,
                kept,
            )
            return
        if model != self._model:
            logger.info("promoted model for %s: %s", self._file.path.parent.name, model)
        self._model = model


_promoted: dict[tuple[str, str], _PromotedFile] = {}
_promoted_lock = threading.Lock()


def promoted_model(function_name: str, *, models_dir: str | os.PathLike[str], default: str,
                   reload_interval: float = 1.0) -> str:
    """The model promoted for ``function_name`` in ``models_dir`` (a model id or a local adapter
    path).

    ``default`` is returned while no model is promoted, or when the registry is
    missing or damaged and no good entry was read before.
    """
    try:
        key = (os.fspath(models_dir), function_name)
        watched = _promoted.get(key)
        if watched is None:
            with _promoted_lock:
                watched = _promoted.get(key) or _PromotedFile(
                    promoted_path(models_dir, function_name).absolute(), reload_interval
                )
                _promoted[key] = watched
    except Exception as exc:  # a bad argument must not break the caller's function
        _log_once(
            ("model-path", repr(models_dir), repr(function_name)),
            logging.ERROR,
            "promoted_model(%r, models_dir=%r): %s; using the default model",
            function_name,
            models_dir,
            exc,
        )
        return default
    return watched.model(default, reload_interval)
