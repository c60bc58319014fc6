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

The runtime never breaks, hangs or slows the user's function, and runs only what
VectorTrainer wrote:

- a hook file is loaded only when its sha256 is the one the manifest beside it
  (``.hook_versions/manifest.json``) gives the version it names as active, and its code
  keeps to the hook allowlist (:mod:`vectortrainer.registry.hook_code`: ``json`` and
  ``re`` only, no ``while``, recursion, dunders, attribute assignment or builtin that
  reaches beyond the hook), checked again here; it runs with its own small builtins;
- a hook is imported in a daemon thread: the call that finds it waits up to
  ``LOAD_WAIT_S``, the last good hook serves meanwhile, and an import still running after
  ``LOAD_LIMIT_S`` is stopped and given up;
- the files read (hook, manifest, ``promoted.json``) are opened without following a link
  and without waiting on a FIFO, must be regular files, and are refused over
  ``HOOK_MAX_BYTES`` / ``MANIFEST_MAX_BYTES`` / ``PROMOTED_MAX_BYTES``; a promoted model
  must be a printable string of at most ``MODEL_MAX_CHARS``;
- a hook that fails to load, raises (``SystemExit`` and ``KeyboardInterrupt`` included)
  or returns something that is not a string is logged once and skipped (the last good
  hook, or none, is used instead); a refused, missing or damaged file gives the last
  good hook or model, or none / ``default``, logged once.

While a model is in canary, ``promoted_model`` serves the candidate to a share of the calls,
chosen by a hash of each call's inputs (see its docstring); the check is in memory, per call,
and a bad canary block is logged once and ignored (the promoted model serves every call).

Each call uses one hook version for its prompt and its output. Threads share one
cached state per decorated function (a reload happens in one thread while the others
keep the last state); ``async def`` functions are wrapped as coroutines. The checks
run when a file changed, never per call.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import errno
import functools
import hashlib
import inspect
import json
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from vectortrainer.registry.hook_code import ALLOWED_IMPORTS, SAFE_BUILTINS, check_hook_code
from vectortrainer.registry.layout import (
    HOOK_FILENAME,
    HOOK_VERSIONS_DIRNAME,
    MANIFEST_NAME,
    function_hooks_dir,
    promoted_path,
)
from vectortrainer.registry.routing import (
    CANARY_KEY,
    CANDIDATE,
    CanaryRoute,
    arm_of,
    sensitive_keys,
)

logger = logging.getLogger("vectortrainer.runtime")

F = TypeVar("F", bound=Callable[..., Any])
_CONTEXT_TYPES = (str, int, float, bool)
_logged: set[tuple[str, ...]] = set()
_logged_lock = threading.Lock()

# What the runtime reads at most: a generated hook is tens of KB, a manifest grows by about 1 KB a
# version, promoted.json is a few hundred bytes. Anything larger is refused, never read.
HOOK_MAX_BYTES = 1 << 20
MANIFEST_MAX_BYTES = 16 << 20
PROMOTED_MAX_BYTES = 64 << 10
MODEL_MAX_CHARS = 4096  # a model id or a local adapter path
# The call that finds a new hook version waits this long for its import (a generated hook
# imports in milliseconds); after that the last good hook serves while the import goes on, and
# one still running after LOAD_LIMIT_S is given up.
LOAD_WAIT_S = 1.0
LOAD_LIMIT_S = 10.0
# Reading a file never follows a link and never waits on a FIFO.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


def _log_once(key: tuple[str, ...], level: int, message: str, *args: Any) -> None:
    with _logged_lock:
        if key in _logged:
            return
        _logged.add(key)
    logger.log(level, message, *args)


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes (None: it is gone);
    a symbolic link, FIFO, device or larger file raises ``OSError`` and is never read."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW gives for a link
            raise OSError(exc.errno, "a symbolic link (links are never followed)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or socket is never "
                          "read)")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, over the limit of {limit}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while read
            raise OSError(errno.EFBIG, f"over the limit of {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _stat_key(path: Path) -> tuple[int, ...] | None:
    """What tells that ``path`` was replaced or changed (of the link itself, never its target)."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_dev, info.st_ino, info.st_mode, info.st_size, info.st_mtime_ns,
            info.st_ctime_ns)


class _ChangedFile:
    """A file looked at no more than once per ``interval`` seconds; says when it (or one of its
    ``companions``) was replaced or changed, and reads it safely (see :func:`_read_regular`)."""

    def __init__(self, path: Path, interval: float, limit: int,
                 companions: tuple[Path, ...] = ()) -> None:
        self.path = path
        self.interval = max(0.0, float(interval))
        self.limit = limit
        self.companions = companions
        self._next_check = 0.0
        self._stat_key: tuple[tuple[int, ...] | None, ...] | None = None
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
        held. A file that cannot be read raises, and is tried again once it changes."""
        self._next_check = time.monotonic() + self.interval
        key = tuple(_stat_key(path) for path in (self.path, *self.companions))
        if key == self._stat_key:
            return False, b""
        self._stat_key = key
        if key[0] is None:
            return True, None
        return True, _read_regular(self.path, self.limit)


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
    # the version the manifest names as active with this checksum
    version_id: str | None
    intercept_prompt: Callable[[str, dict[str, Any]], Any]
    intercept_output: Callable[[str, dict[str, Any]], Any]


class _LoadStopped(BaseException):
    """Raised inside a hook's import that ran past its time (a BaseException: no handler a hook
    may write catches it)."""


def _hook_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                 level: int = 0) -> Any:
    """The only import a hook's module can make (the AST check allows no other; this holds
    too)."""
    if level or name not in ALLOWED_IMPORTS:
        raise ImportError(f"a hook may import only {', '.join(sorted(ALLOWED_IMPORTS))}")
    return __import__(name, globals, locals, fromlist, level)


def _hook_builtins() -> dict[str, Any]:
    """The builtins a hook's module sees: the allowlisted ones, in a dict of its own."""
    names = {name: getattr(builtins, name) for name in SAFE_BUILTINS if hasattr(builtins, name)}
    return {**names, "__import__": _hook_import}


def _manifest_active(path: Path) -> tuple[str, str, dict[str, str]]:
    """(the version the manifest names as active, its sha256, every verified version by sha256);
    raises with the reason when the manifest cannot vouch for any file."""
    data = _read_regular(path, MANIFEST_MAX_BYTES)
    if data is None:
        raise ValueError(f"there is no {path}")
    document = json.loads(data)
    active = document["active"]
    known: dict[str, str] = {}
    expected = None
    for entry in document["versions"]:
        # an entry adopted without the metadata our writer keeps proves nothing
        if not isinstance(entry, dict) or entry.get("unverified") is True:
            continue
        version_id, digest = entry.get("version_id"), entry.get("sha256")
        if isinstance(version_id, str) and isinstance(digest, str):
            known[digest] = version_id
            if version_id == active:
                expected = digest
    if not isinstance(active, str):
        raise ValueError(f"{path} names no active version")
    if expected is None:
        raise ValueError(f"{path} names {active} as active, which is not a verified version")
    return active, expected, known


class _HookLoad:
    """A hook version's import, in a daemon thread of its own: a hook that never finishes
    importing cannot hold a caller, and is stopped at its next line once past its time."""

    def __init__(self, data: bytes, digest: str, version_id: str, path: Path) -> None:
        self.digest, self.version_id, self.path = digest, version_id, path
        self._filename = str(path)
        self.deadline = time.monotonic() + LOAD_LIMIT_S
        self.done = threading.Event()
        self.stopped = False
        self.hook: LoadedHook | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._run, args=(data,), daemon=True,
                         name=f"vectortrainer-hook-load-{digest[:12]}").start()

    def _run(self, data: bytes) -> None:
        try:
            self.hook = self._import(data)
        except BaseException as exc:  # SystemExit or KeyboardInterrupt from a hook included
            self.error = exc
        finally:
            self.done.set()

    def _import(self, data: bytes) -> LoadedHook:
        tree = ast.parse(data, self._filename)
        # a hook written by our writer passed this before; a file that was not must pass it too
        check_hook_code(tree)
        code = compile(tree, self._filename, "exec")
        namespace: dict[str, Any] = {
            "__name__": "vectortrainer_active_hook",
            "__file__": self._filename,
            "__builtins__": _hook_builtins(),
        }
        sys.settrace(self._trace)  # this thread only, for the hook's own code
        try:
            exec(code, namespace)
        finally:
            sys.settrace(None)
        prompt, output = namespace.get("intercept_prompt"), namespace.get("intercept_output")
        if not callable(prompt) or not callable(output):
            raise TypeError("the module defines no intercept_prompt / intercept_output")
        return LoadedHook(self.digest, self.version_id, prompt, output)

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if self.stopped or time.monotonic() > self.deadline:
            raise _LoadStopped(f"its import ran for more than {LOAD_LIMIT_S:g} s")
        # line by line in the hook's own code only: the standard library it calls runs untraced
        return self._trace if frame.f_code.co_filename == self._filename else None

    def stop(self) -> None:
        """Give it up: a loop in the hook's Python code ends at its next line."""
        self.stopped = True


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
        self._file = self._watch(self._hook_path(), reload_interval)
        self._hook: LoadedHook | None = None
        self._fallback: LoadedHook | None = None
        self._loaded: dict[str, LoadedHook] = {}
        self._broken: set[str] = set()
        self._loading: _HookLoad | None = None
        self._state = threading.Lock()  # held only to swap the hooks in use, never while waiting

    @property
    def version_id(self) -> str | None:
        """The version the function runs now (None: no hook)."""
        hook = self.current()
        return hook.version_id if hook is not None else None

    def current(self) -> LoadedHook | None:
        """The hook to use for this call; re-reads the file when ``reload_interval`` has passed and
        it (or its manifest) changed."""
        if self.function is not None and self._file.due():
            path = self._hook_path()  # the function may have got a hook of its own since
            if path != self._file.path:
                self._file = self._watch(path, self._file.interval)
        watched = self._file
        if watched.acquire_if_due():
            try:
                self._collect()  # an import still under way since an earlier look
                changed, data = watched.read_if_changed()
                if changed:
                    self._refresh(watched.path, data)
            except Exception as exc:
                self._unreadable(watched.path, exc)
            finally:
                watched.release()
        return self._hook

    @staticmethod
    def _watch(path: Path, interval: float) -> _ChangedFile:
        # the manifest too: it is what vouches for the file, and it may be written after it
        return _ChangedFile(path, interval, HOOK_MAX_BYTES,
                            (path.parent / HOOK_VERSIONS_DIRNAME / MANIFEST_NAME,))

    def _hook_path(self) -> Path:
        """The function's own hook; a one-hook directory's hook while the function has none."""
        if self.function is not None and _legacy_hook(self.root, self.hooks_dir, self.function):
            return self.root / HOOK_FILENAME
        return self.hooks_dir / HOOK_FILENAME

    def _unreadable(self, path: Path, exc: Exception) -> None:
        """An unreadable hook file or directory is logged once; it never reaches the caller."""
        reason = getattr(exc, "strerror", None) or str(exc)
        _log_once(("hook-read", str(path), type(exc).__name__, reason), logging.ERROR,
                  "cannot read the hook %s (%s); %s", path, reason, self._keeping())

    def _refresh(self, path: Path, data: bytes | None) -> None:
        """The hook file (or its manifest) changed: verify it, then load it (or keep the last good
        one)."""
        if data is None:
            self._give_up_loading()
            with self._state:
                removed, self._hook, self._fallback = self._hook is not None, None, None
            if removed:
                logger.warning("%s was removed: the function now runs without a hook", path)
            return
        digest = hashlib.sha256(data).hexdigest()
        if self._loading is not None and self._loading.digest == digest:
            return  # still importing these very bytes
        self._give_up_loading()  # an import of other bytes is stale now
        if (self._hook is not None and digest == self._hook.sha256) or digest in self._broken:
            return
        version_id = self._verified(path, digest)
        if version_id is None:
            return
        hook = self._loaded.get(digest)
        if hook is not None:
            self._activate(dataclasses.replace(hook, version_id=version_id), path)
            return
        self._loading = _HookLoad(data, digest, version_id, path)
        self._collect(LOAD_WAIT_S)

    def _verified(self, path: Path, digest: str) -> str | None:
        """The version ``digest`` is, if the manifest beside ``path`` names it as active; else
        None (logged once)."""
        manifest = path.parent / HOOK_VERSIONS_DIRNAME / MANIFEST_NAME
        known: dict[str, str] = {}
        try:
            active, expected, known = _manifest_active(manifest)
            if expected == digest:
                return active
            reason = f"its manifest names {active} (sha256 {expected[:12]}) as active"
        except Exception as exc:  # missing, damaged, or vouching for nothing
            reason = f"its manifest cannot vouch for it: {type(exc).__name__}: {exc}"
        if digest in known:  # a saved version; the manifest may be a moment behind the file
            _log_once(("hook-waiting", str(path), digest, reason), logging.WARNING,
                      "%s holds hook version %s, but %s: not loaded until they agree; %s",
                      path, known[digest], reason, self._keeping())
        else:
            _log_once(("hook-refused", str(path), digest), logging.ERROR,
                      "the hook %s (sha256 %s) is no version its manifest names as active (%s); "
                      "refused, %s", path, digest[:12], reason, self._keeping())
        return None

    def _collect(self, wait: float = 0.0) -> None:
        """Use the import under way once it is done (waiting up to ``wait`` seconds); give it up
        when it runs past ``LOAD_LIMIT_S``."""
        load = self._loading
        if load is None:
            return
        if not load.done.wait(wait):
            if time.monotonic() < load.deadline:
                return  # the last good hook keeps serving meanwhile
            load.stop()
        self._loading = None
        if load.hook is not None:
            self._loaded[load.digest] = load.hook
            self._activate(load.hook, load.path)
            return
        self._broken.add(load.digest)
        if load.error is None or isinstance(load.error, _LoadStopped):
            _log_once(("hook-load", load.digest), logging.ERROR,
                      "the hook %s (%s) did not finish loading within %g s; it is given up, %s",
                      load.path, load.version_id, LOAD_LIMIT_S, self._keeping())
        else:
            _log_once(("hook-load", load.digest), logging.ERROR,
                      "the hook %s (%s, sha256 %s) failed to load (%s: %s); %s", load.path,
                      load.version_id, load.digest[:12], type(load.error).__name__, load.error,
                      self._keeping())

    def _give_up_loading(self) -> None:
        if self._loading is not None:
            self._loading.stop()
            self._loading = None

    def _activate(self, hook: LoadedHook, path: Path) -> None:
        with self._state:
            self._fallback, self._hook = self._hook, hook
        logger.info("hook %s is active in %s", hook.version_id, path.parent)

    def _keeping(self) -> str:
        hook = self._hook
        if hook is None:
            return "running without a hook"
        return f"keeping hook {hook.version_id or hook.sha256[:12]}"

    def apply(
        self, phase: str, text: str, context: dict[str, Any], hook: LoadedHook | None
    ) -> tuple[str, LoadedHook | None]:
        """``text`` through ``hook``'s ``intercept_<phase>``, and the hook that gave it; on failure
        the last good hook is tried, then none."""
        while hook is not None:
            try:
                intercept = hook.intercept_prompt if phase == "prompt" else hook.intercept_output
                result = intercept(text, context)
                if isinstance(result, str):
                    return result, hook
                raise TypeError(f"intercept_{phase} returned {type(result).__name__}, not str")
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: never the caller's
                hook = self._failed(hook, phase, exc)
        return text, None

    def _failed(self, hook: LoadedHook, phase: str, exc: BaseException) -> LoadedHook | None:
        """Mark ``hook`` broken (logged once) and return the hook to use instead."""
        with self._state:
            self._broken.add(hook.sha256)
            if self._hook is not None and self._hook.sha256 == hook.sha256:
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
                # the output goes through the hook that took the prompt: one version per call
                bound.arguments[prompt_name], hook = slot.apply(  # type: ignore[index]
                    "prompt", value, context, hook)
                return bound.args, bound.kwargs, context, hook
            return args, kwargs, context, hook

        def after(result: Any, context: dict[str, Any], hook: LoadedHook | None) -> Any:
            if hook is None or not isinstance(result, str):
                return result
            return slot.apply("output", result, context or {"function": name}, hook)[0]

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
    good one, and the canary it carries (if any)."""

    def __init__(self, path: Path, interval: float) -> None:
        self._file = _ChangedFile(path, interval, PROMOTED_MAX_BYTES)
        self._model: str | None = None
        self.canary: _Canary | None = None

    def model(self, default: str, interval: float) -> str:
        self._file.interval = max(0.0, float(interval))
        self._file.refresh_if_due(self._refresh, self._unreadable)
        return self._model if self._model is not None else default

    def _unreadable(self, exc: Exception) -> None:
        reason = getattr(exc, "strerror", None) or str(exc)
        kept = f"keeping {self._model}" if self._model is not None else "using the default model"
        _log_once(("model-read", str(self._file.path), type(exc).__name__, reason), logging.ERROR,
                  "cannot read %s (%s); %s", self._file.path, reason, kept)

    def _refresh(self, data: bytes | None) -> None:
        if data is None:
            if self._model is not None:
                logger.warning("%s was removed: using the default model", self._file.path)
            self._model, self.canary = None, None
            return
        try:
            entry = json.loads(data)
            # a model its provider serves through a deployment is called by the deployment's name
            serving = entry.get("serving")
            model = (serving.get("served_as") if isinstance(serving, dict) else None) \
                or entry["model"]
            _check_model(model)
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
        self.canary = self._read_canary(entry, data, model)

    def _read_canary(self, entry: dict[str, Any], data: bytes, incumbent: str) -> _Canary | None:
        """The entry's canary block, checked; a bad one is logged once and ignored (every call
        gets the incumbent)."""
        if CANARY_KEY not in entry:
            if self.canary is not None:
                logger.info("the canary of %s ended: %s serves every call",
                            self._file.path.parent.name, incumbent)
            return None
        try:
            route = CanaryRoute.from_block(entry[CANARY_KEY])
            _check_model(route.model)
        except Exception as exc:
            _log_once(("canary-damaged", hashlib.sha256(data).hexdigest()), logging.ERROR,
                      "%s: its canary block is ignored (%s); %s serves every call",
                      self._file.path, exc, incumbent)
            return None
        if self.canary is None or self.canary.route != route:
            logger.info("canary for %s: %s serves %.1f%% of calls beside %s",
                        self._file.path.parent.name, route.model, 100 * route.share, incumbent)
        return _Canary(route, sensitive_keys())


@dataclass(frozen=True)
class _Canary:
    """A canary as this process routes it: the block, and the keys VectorWave masks here."""

    route: CanaryRoute
    sensitive: frozenset[str]

    def serves(self, inputs: dict[str, Any]) -> bool:
        """Whether the call with ``inputs`` goes to the candidate."""
        route = self.route
        return arm_of(route.version_id, route.share, inputs, self.sensitive) == CANDIDATE


def _frame_inputs(frame: FrameType | None) -> dict[str, Any]:
    """The parameters of the function running in ``frame`` with their values now (as VectorWave
    captures them: ``self``/``cls``, ``*args`` and ``**kwargs`` left out)."""
    if frame is None:
        return {}
    code = frame.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    values = frame.f_locals
    return {name: values[name] for name in names if name not in ("self", "cls") and name in values}


def _check_model(model: Any) -> None:
    """Raise ``ValueError`` unless ``model`` can be a model id or a local adapter path."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError("no model named")
    if len(model) > MODEL_MAX_CHARS:
        raise ValueError(f"the model is {len(model)} characters long, over {MODEL_MAX_CHARS}")
    if not model.isprintable():  # NUL, newline, other control or separator characters
        raise ValueError(f"the model {model[:60]!r} holds a control character")


_promoted: dict[tuple[str, str], _PromotedFile] = {}
_promoted_lock = threading.Lock()


def promoted_model(function_name: str, *, models_dir: str | os.PathLike[str], default: str,
                   reload_interval: float = 1.0,
                   route_by: Mapping[str, Any] | None = None) -> str:
    """The model promoted for ``function_name`` in ``models_dir`` (a model id or a local adapter
    path).

    ``default`` is returned while no model is promoted, or when the registry is
    missing or damaged and no good entry was read before.

    While a candidate is in canary (promoted.json's ``canary`` block), the call's inputs choose
    the model: a hash of them (:mod:`vectortrainer.registry.routing`) sends the configured share
    of inputs to the candidate and the rest to the promoted model, the same inputs always to the
    same one. The inputs are ``route_by`` when given, else the arguments of the function that
    calls ``promoted_model`` (its parameters, as they are at this call). The loop recomputes
    each logged call's arm from the inputs VectorWave captured, so call this inside the
    ``@vectorize`` function's body before changing its arguments, or pass its arguments as
    ``route_by`` (e.g. from a helper). Routing reads no file and never raises: on any trouble
    the promoted model serves.
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
    model = watched.model(default, reload_interval)
    canary = watched.canary
    if canary is None:
        return model
    try:
        inputs = dict(route_by) if route_by is not None else _frame_inputs(sys._getframe(1))
        return canary.route.model if canary.serves(inputs) else model
    except Exception as exc:  # routing never breaks the caller's function
        _log_once(("canary-route", function_name, type(exc).__name__), logging.ERROR,
                  "promoted_model(%r): the canary could not route a call (%s: %s); the promoted "
                  "model serves it", function_name, type(exc).__name__, exc)
        return model
