"""What the OpenAI, Together and Fireworks stand-ins share: a threaded HTTP server on 127.0.0.1
that records requests.

A stand-in subclasses :class:`LoopbackAPI` and implements ``route(request) -> (status, body,
headers)``. The base parses JSON and multipart bodies, records every request in
``.requests`` (so a test can assert that *nothing* reached the vendor), checks the bearer
key (``refuse`` may answer otherwise), and answers the next N matching requests with an
injected error status. It also holds the knobs every fine-tuning stand-in has: a failed
job (``fail_next_job``) and a job creation whose answer is lost (``fail_after_creating``).

A misbehaving server (issue 29, finding 4) is three more knobs: ``answer_raw`` answers
matching requests with any bytes and status in place of the API (an HTML page with 200,
``{}``), never reaching the routes; ``alter_answers`` rewrites the JSON the API would have
answered (a null ``status``, a null ``created_at``); ``dribble`` sends matching answers a few
bytes at a time, headers included, so every read returns before a read timeout while the
whole answer takes far longer than any sane deadline.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)  # multipart fields other than files
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # multipart field -> (filename, content)
    raw: bytes = b""


@dataclass
class InjectedError:
    status: int
    remaining: int
    method: str | None
    path_prefix: str | None
    body: Any
    path: str | None = None  # exact

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path_prefix is None or path.startswith(self.path_prefix))
                and (self.path is None or path == self.path))


@dataclass
class Raw:
    """An answer body sent as it is (not JSON-encoded), with its content type."""

    data: bytes
    content_type: str = "text/html; charset=utf-8"


@dataclass
class Rule:
    """Which requests a misbehaviour applies to, and how many more times (None: every time)."""

    method: str | None = None
    path_prefix: str | None = None
    path: str | None = None
    remaining: int | None = 1

    def take(self, method: str, path: str) -> bool:
        """Whether this request is one of the rule's (and count it)."""
        if self.remaining == 0 or not ((self.method is None or self.method == method)
                                       and (self.path_prefix is None or path.startswith(self.path_prefix))
                                       and (self.path is None or path == self.path)):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


Answer = tuple[int, Any, dict[str, str]]


class LoopbackAPI:
    """Server lifecycle, request records, auth and injected errors; subclasses route."""

    api_key: str
    name = "stand-in"
    failure_message = "The job failed."  # what a job failed by ``fail_next_job`` says

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self.fail_next_jobs = 0
        self.fail_after_create = 0
        self._errors: list[InjectedError] = []
        self._raw: list[tuple[Rule, int, Raw]] = []
        self._alterations: list[tuple[Rule, Callable[[Any], Any]]] = []
        self._dribbles: list[tuple[Rule, float]] = []
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- knobs -----------------------------------------------------------------------
    def inject_errors(self, status: int, count: int = 1, *, method: str | None = None,
                      path_prefix: str | None = None, path: str | None = None, body: Any = None) -> None:
        """Answer the next ``count`` matching requests (``path``: exactly that one) with HTTP ``status``."""
        with self.lock:
            self._errors.append(InjectedError(status, count, method, path_prefix,
                                              body if body is not None else self.error_body(status, f"injected {status}"),
                                              path))

    def answer_raw(self, data: bytes | str, *, status: int = 200, content_type: str = "text/html; charset=utf-8",
                   count: int | None = 1, method: str | None = None, path_prefix: str | None = None,
                   path: str | None = None) -> None:
        """Answer the next ``count`` matching requests (None: all) with ``data`` as it is, in place of the
        API: the request reaches no route, so nothing is created (a proxy's error page, a broken gateway)."""
        body = Raw(data.encode() if isinstance(data, str) else data, content_type)
        with self.lock:
            self._raw.append((Rule(method, path_prefix, path, count), status, body))

    def alter_answers(self, change: Callable[[Any], Any], *, count: int | None = None, method: str | None = None,
                      path_prefix: str | None = None, path: str | None = None) -> None:
        """Send ``change(body)`` in place of the JSON body the API answers to matching requests (None:
        every one), after the route ran: e.g. a job whose ``status`` reads null."""
        with self.lock:
            self._alterations.append((Rule(method, path_prefix, path, count), change))

    def dribble(self, bytes_per_s: float, *, count: int | None = 1, method: str | None = None,
                path_prefix: str | None = None, path: str | None = None) -> None:
        """Send the answers to matching requests ``bytes_per_s`` at a time, once a second split in
        small steps (status line and headers too), until the answer ends or the stand-in stops."""
        with self.lock:
            self._dribbles.append((Rule(method, path_prefix, path, count), bytes_per_s))

    def behave(self) -> None:
        """Answer as the API does again: every ``answer_raw``, ``alter_answers`` and ``dribble``
        is forgotten."""
        with self.lock:
            self._raw.clear()
            self._alterations.clear()
            self._dribbles.clear()

    def dribble_rate(self, request: Request) -> float | None:
        """The rate a matching ``dribble`` asked for this request (counted), else None."""
        with self.lock:
            return next((rate for rule, rate in self._dribbles if rule.take(request.method, request.path)), None)

    def fail_next_job(self, message: str | None = None, count: int = 1) -> None:
        """The next ``count`` jobs fail when they would start running (saying ``message``)."""
        with self.lock:
            self.fail_next_jobs += count
            self.failure_message = message or self.failure_message

    def fail_after_creating(self, count: int = 1) -> None:
        """The next ``count`` job creations create the job, then answer 500 (the answer is lost)."""
        with self.lock:
            self.fail_after_create += count

    def requests_to(self, method: str, path_prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def error_body(self, status: int, message: str) -> Any:
        """The provider's error shape (subclasses override)."""
        return {"error": {"message": message}}

    def retry_headers(self, status: int) -> dict[str, str]:
        """Headers sent with a retriable error (the stand-ins ask for an immediate retry)."""
        return {"retry-after": "0"} if status == 429 or status >= 500 else {}

    @property
    def origin(self) -> str:
        assert self._server is not None, "stand-in not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "LoopbackAPI":
        api = self

        class Handler(_Handler):
            state = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # a dribbling answer ends here
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- behaviour ---------------------------------------------------------------------
    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    def handle(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            for rule, status, raw in self._raw:
                if rule.take(request.method, request.path):
                    return status, raw, {}
            refusal = self.refuse(request)
            if refusal is not None:
                return refusal
            for injected in self._errors:
                if injected.remaining > 0 and injected.matches(request.method, request.path):
                    injected.remaining -= 1
                    return injected.status, injected.body, self.retry_headers(injected.status)
            status, body, headers = self.route(request)
            for rule, change in self._alterations:
                if not isinstance(body, Raw) and rule.take(request.method, request.path):
                    body = change(json.loads(json.dumps(body)))  # a copy: the stand-in's own state stays
            return status, body, headers

    def refuse(self, request: Request) -> Answer | None:
        """The answer to a request turned away before injected errors and routing, else None.

        By default a 401 to a request without the bearer key."""
        if not self.unauthenticated(request) and not self.authorised(request):
            return 401, self.error_body(401, "Invalid API key provided"), {}
        return None

    def unauthenticated(self, request: Request) -> bool:
        """Requests that carry no key by design (e.g. a presigned upload URL)."""
        return False

    def created(self, answer: Answer, message: str) -> Answer:
        """``answer`` to a job creation, or a 500 saying ``message`` in its place when
        ``fail_after_creating`` asked for one (the job exists; the answer is lost)."""
        if answer[0] == 200 and self.fail_after_create > 0:
            self.fail_after_create -= 1
            return 500, self.error_body(500, message), self.retry_headers(500)
        return answer

    def route(self, request: Request) -> Answer:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait between
    state: LoopbackAPI

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = Request(method, parts.path.rstrip("/") or "/", dict(parse_qsl(parts.query, keep_blank_values=True)),
                          {k.lower(): v for k, v in self.headers.items()}, raw=raw)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            request.form, request.files = parse_multipart(content_type, raw)
        elif raw and "json" in content_type:
            try:
                request.json = json.loads(raw)
            except ValueError:
                request.json = None
        status, body, headers = self.state.handle(request)
        rate = self.state.dribble_rate(request)
        if rate is not None:  # everything goes through the buffer, then out a few bytes at a time
            self.wfile, real = io.BytesIO(), self.wfile
        if isinstance(body, Raw):
            payload, content_type = body.data, body.content_type
        else:
            payload, content_type = (b"", None) if body is None else (json.dumps(body).encode(), "application/json")
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        if rate is not None:
            data, self.wfile = self.wfile.getvalue(), real
            self._dribble(data, rate)

    def _dribble(self, data: bytes, bytes_per_s: float) -> None:
        step = max(1, round(bytes_per_s / 10))  # ten small writes a second
        for start in range(0, len(data), step):
            if self.state.stopping.wait(step / bytes_per_s):
                return
            try:
                self.wfile.write(data[start:start + step])
                self.wfile.flush()
            except OSError:  # the client gave up (its deadline): nothing more to send
                return


StandIn = TypeVar("StandIn", bound=LoopbackAPI)


def serve(standin: StandIn) -> Iterator[StandIn]:
    """A stand-in fixture's body: start ``standin``, yield it, stop it after the test."""
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def run_steps(progress: dict[str, int], job_id: str, total: int, per_poll: int) -> range:
    """The training steps one status poll runs for a running job: ``per_poll`` more, at most up
    to ``total``; ``progress[job_id]`` (the steps done) moves on to the last of them."""
    done = progress[job_id]
    progress[job_id] = min(total, done + per_poll)
    return range(done + 1, progress[job_id] + 1)


def jsonl_rows(content: bytes) -> tuple[list[Any], int | None]:
    """An uploaded JSONL file's records, one a non-blank line, and the number (counting the
    non-blank lines from 1) of the first line that is not JSON, else None."""
    rows: list[Any] = []
    lines = (line for line in content.splitlines() if line.strip())
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(json.loads(line))
        except ValueError:
            return rows, number
    return rows, None


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        filename = part.get_filename()
        content = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, content)
        elif name:
            fields[name] = content.decode("utf-8")
    return fields, files
