"""A loopback stand-in for the OpenAI files and fine-tuning endpoints (FR-5.2), plus fixtures.

The real ``openai`` client talks to it over HTTP on 127.0.0.1 (the threaded server of
``tests/support/loopback.py``, which it shares with the Together and Fireworks stand-ins).
It speaks what ``OpenAITrainer`` uses:

    POST /v1/files (multipart)            GET /v1/files            GET /v1/files/{id}
    POST /v1/fine_tuning/jobs             GET /v1/fine_tuning/jobs (metadata[k]=v, after, limit)
    GET  /v1/fine_tuning/jobs/{id}        POST /v1/fine_tuning/jobs/{id}/cancel
    GET  /v1/fine_tuning/jobs/{id}/events GET /v1/fine_tuning/jobs/{id}/checkpoints
    POST /v1/chat/completions             (base models, and the models its jobs "trained")
    GET  /v1/models/{model}               (the Model object, with ``shutdown_date``)

A job walks validating_files -> queued -> running -> succeeded one step per
retrieve (``GET /v1/fine_tuning/jobs/{id}``), never by wall clock, emitting
``metrics`` events with a decreasing loss while running. Job creation enforces the
official OpenAPI spec's ranges (n_epochs 1-50, batch_size 1-256,
learning_rate_multiplier > 0, beta in (0, 2], seed 0..2^31-1, suffix up to 64) and the
DPO guide's models (the gpt-4.1 family), answering 400 ``invalid_request_error`` with
``param`` and ``code`` like the API; ``n_epochs: auto`` resolves to the count-dependent
default of the data-preparation guide, from the uploaded file's example count. Knobs
inject N error responses (429 / 500, answered with ``retry-after-ms`` so retries are
fast), a spent quota (429 ``insufficient_quota``, which no retry fixes), a 500 that
arrives *after* the job was created, a failed job, and the 403
``training_not_available`` answer. Every request is recorded in ``.requests`` so tests
can assert what did (or did not) reach it.

``GET /v1/models/{model}`` answers the API reference's Model object (``id``, ``created``,
``object``, ``owned_by``, ``shutdown_date``: "the date when the model will shut down, or
null if not announced", format date) for a base model or one its jobs trained, and 404
``model_not_found`` otherwise. ``shutdown_date`` is null unless ``report_shutdown(model,
value)`` set it: an ISO date as documented, or what a test needs the trainer to cope with (a
unix timestamp, a malformed value, ``FIELD_ABSENT`` to leave the field out). Its error
variant is ``inject_errors(status, path_prefix="/v1/models/")``.

Chat completions are deterministic: a model a job fine-tuned answers with the
assistant reply of its training example whose user message is most like the
request's (it "learned" its file), and like its base model when no training input
is alike (difflib ratio below ``RECALL_RATIO``); a base model restates the user
message, as an untuned model would; ``degrade_next_models(n)`` makes the next ``n`` fine-tuned
models answer "I am not sure." (a regression for the evaluation gate to catch).


``OpenAIStandIn(azure=True)`` speaks the same API as Azure OpenAI serves it to
``openai.AzureOpenAI``: paths under ``/openai/...``, an ``api-version`` query parameter
on every request (without it: 404 ``Resource not found``), the key in an ``api-key``
header, and errors as ``{"error": {"code", "message"}}``. Its ``base_url`` is the
resource endpoint.

Use the ``openai_standin`` / ``azure_standin`` fixtures (listed in ``tests/conftest.py``'s
``pytest_plugins``).
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.loopback import Answer, LoopbackAPI, Request, run_steps, serve

STANDIN_API_KEY = "sk-standin-not-a-real-key"
BASE_MODELS = frozenset({"gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4o-2024-08-06", "gpt-4o",
                         "gpt-4.1-2025-04-14", "gpt-4.1", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini",
                         "gpt-4.1-nano-2025-04-14", "gpt-3.5-turbo"})
DEGRADED_REPLY = "I am not sure."
RECALL_RATIO = 0.5  # a fine-tuned model answers from its training data above this input similarity
CREATED_AT = 1_767_225_600  # fixed clock: 2026-01-01T00:00:00Z
FIELD_ABSENT = object()  # report_shutdown(model, FIELD_ABSENT): the Model object has no shutdown_date


class OpenAIStandIn(LoopbackAPI):
    """State and knobs of the loopback server; see the module docstring."""

    name = "openai-standin"
    failure_message = "The job failed due to an invalid training file."

    def __init__(self, *, total_steps: int = 6, steps_per_poll: int = 2, api_key: str = STANDIN_API_KEY,
                 azure: bool = False) -> None:
        super().__init__(api_key)
        self.azure = azure
        self.quota_exhausted = False
        self.total_steps = total_steps
        self.steps_per_poll = steps_per_poll
        self.files: dict[str, dict[str, Any]] = {}
        self.file_contents: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}  # oldest first
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        self.training_available = True
        self.retry_after_ms = 1
        self.trained_models: dict[str, list[tuple[str, str]]] = {}  # model -> (user message, reply) it learned
        self.degrade_next = 0
        self.shutdown_dates: dict[str, Any] = {}  # model -> its shutdown_date (default: null)
        self._ids = itertools.count(1)
        self._clock = itertools.count(CREATED_AT)
        self._progress: dict[str, int] = {}  # job id -> steps done

    # ----- knobs -------------------------------------------------------------
    def inject_errors(self, status: int, count: int = 1, *, method: str | None = None,
                      path_prefix: str | None = None, path: str | None = None, body: Any = None,
                      code: str | None = None, message: str | None = None) -> None:
        """Answer the next ``count`` matching requests with HTTP ``status`` (``code`` and
        ``message`` go into the error body, unless ``body`` is given)."""
        if body is None:
            body = self.error_body(status, message or f"injected {status}", code)
        super().inject_errors(status, count, method=method, path_prefix=path_prefix, path=path,
                              body=body)

    def degrade_next_models(self, count: int = 1) -> None:
        """The next ``count`` fine-tuned models answer every prompt with ``DEGRADED_REPLY``."""
        with self.lock:
            self.degrade_next += count
    def report_shutdown(self, model: str, value: Any) -> None:
        """``GET /v1/models/{model}`` answers ``shutdown_date: value`` (``FIELD_ABSENT``: no such
        field)."""
        with self.lock:
            self.shutdown_dates[model] = value

    def exhaust_quota(self) -> None:
        """Every request answers 429 ``insufficient_quota`` (the account's credit is spent)."""
        self.quota_exhausted = True

    def deny_training(self) -> None:
        """Creating a job answers 403 ``training_not_available`` (self-serve closed for the org)."""
        self.training_available = False

    def advance(self, job_id: str, ticks: int = 1) -> dict[str, Any]:
        """Move a job on as ``ticks`` retrieves would; returns the job."""
        with self.lock:
            for _ in range(ticks):
                self._tick(self.jobs[job_id])
            return dict(self.jobs[job_id])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``); for the Azure flavour, the resource endpoint."""
        return self.origin if self.azure else f"{self.origin}/v1"

    @property
    def prefix(self) -> str:
        """Where the API's paths start: ``/v1`` (OpenAI) or ``/openai`` (Azure)."""
        return "/openai" if self.azure else "/v1"

    # ----- wire --------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str | None = None) -> Any:
        """The body of an injected error or a lost job creation: 429 a rate limit, else a
        server error."""
        return _error(message, "requests" if status == 429 else "server_error", code=code)

    def retry_headers(self, status: int) -> dict[str, str]:
        """Sent with every injected error and every 5xx: ``retry-after-ms``, so retries are fast."""
        return {"retry-after-ms": str(self.retry_after_ms)}

    def refuse(self, request: Request) -> Answer | None:
        """Azure's missing route or ``api-version`` (404), a wrong key (401), a spent quota
        (429)."""
        if self.azure:
            if not request.path.startswith("/openai/") or not request.query.get("api-version"):
                return 404, {"error": {"code": "404", "message": "Resource not found"}}, {}
            if request.headers.get("api-key") != self.api_key:
                return 401, {"error": {"code": "401", "message": "Access denied due to invalid "
                                       "subscription key or wrong API endpoint."}}, {}
        elif not self.authorised(request):
            return 401, _error("Incorrect API key provided.", "invalid_request_error",
                               code="invalid_api_key"), {}
        if self.quota_exhausted:
            return 429, _error(QUOTA_MESSAGE, "insufficient_quota", code="insufficient_quota"), {}
        return None

    def route(self, request: Request) -> Answer:
        path = "/v1" + request.path[len("/openai"):] if self.azure else request.path
        status, body = self._dispatch(request, path)
        if request.method == "POST" and path == "/v1/fine_tuning/jobs":
            return self.created((status, body, {}),
                                "The server had an error while processing your request.")
        return status, body, {}

    # ----- behaviour ---------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-standin{next(self._ids):06d}"

    def _event(self, job: dict[str, Any], message: str, *, type_: str = "message", data: Any = None, level: str = "info") -> None:
        self.events[job["id"]].append(
            {
                "object": "fine_tuning.job.event",
                "id": self._new_id("ftevent"),
                "created_at": next(self._clock),
                "level": level,
                "message": message,
                "data": data or {},
                "type": type_,
            }
        )

    def _tick(self, job: dict[str, Any]) -> None:
        status = job["status"]
        if status == "validating_files":
            job["status"] = "queued"
            self._event(job, "Files validated, moving job to queued state")
        elif status == "queued":
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                job["status"] = "failed"
                job["finished_at"] = next(self._clock)
                job["error"] = {"code": "invalid_training_file", "message": self.failure_message, "param": "training_file"}
                self._event(job, self.failure_message, level="error")
                return
            job["status"] = "running"
            self._progress[job["id"]] = 0
            self._event(job, "Fine-tuning job started")
        elif status == "running":
            for step in run_steps(self._progress, job["id"], self.total_steps, self.steps_per_poll):
                self._emit_step(job, step)
            if self._progress[job["id"]] >= self.total_steps:
                self._succeed(job)

    def _emit_step(self, job: dict[str, Any], step: int) -> None:
        train_loss = round(2.0 * 0.8**step, 6)
        data: dict[str, Any] = {
            "step": step,
            "train_loss": train_loss,
            "total_steps": self.total_steps,
            "train_mean_token_accuracy": round(1.0 - 0.5 * 0.8**step, 6),
        }
        if job.get("validation_file"):
            data["valid_loss"] = round(train_loss * 1.1, 6)
            data["valid_mean_token_accuracy"] = round(1.0 - 0.55 * 0.8**step, 6)
        self._event(job, f"Step {step}/{self.total_steps}: training loss={train_loss:.4f}", type_="metrics", data=data)
        if step % max(1, self.total_steps // 2) == 0 or step == self.total_steps:
            self.checkpoints[job["id"]].append(
                {
                    "object": "fine_tuning.job.checkpoint",
                    "id": self._new_id("ftckpt"),
                    "created_at": next(self._clock),
                    "fine_tuned_model_checkpoint": f"{self._model_name(job)}:ckpt-step-{step}",
                    "fine_tuning_job_id": job["id"],
                    "metrics": {k: v for k, v in data.items() if k != "total_steps"},
                    "step_number": step,
                }
            )

    def _model_name(self, job: dict[str, Any]) -> str:
        suffix = job.get("suffix") or ""
        return f"ft:{job['model']}:standin-org:{suffix}:{job['id'][-6:]}"

    def _succeed(self, job: dict[str, Any]) -> None:
        job["status"] = "succeeded"
        job["finished_at"] = next(self._clock)
        job["fine_tuned_model"] = self._model_name(job)
        learned = _learned_examples(self.file_contents.get(job["training_file"], b""))
        if self.degrade_next > 0:
            self.degrade_next -= 1
            learned = []
        self.trained_models[job["fine_tuned_model"]] = learned
        size = len(self.file_contents.get(job["training_file"], b""))
        job["trained_tokens"] = (size // 4) * int(job["hyperparameters"]["n_epochs"])
        self._event(job, f"New fine-tuned model created: {job['fine_tuned_model']}")
        self._event(job, "The job has successfully completed")

    def create_job(self, body: dict[str, Any]) -> tuple[int, Any]:
        for key in ("model", "training_file"):
            if not body.get(key):
                return 400, _error(f"Missing required parameter: '{key}'.", "invalid_request_error", key)
        for key in ("training_file", "validation_file"):
            if body.get(key) and body[key] not in self.files:
                return 400, _error(f"invalid {key}: {body[key]} (no such file)", "invalid_request_error", key, "invalid_file")
        method = body.get("method") or {"type": "supervised", "supervised": {"hyperparameters": body.get("hyperparameters") or {}}}
        method_type = method.get("type", "supervised")
        if method_type not in ("supervised", "dpo", "reinforcement"):
            return 400, _error(f"invalid method type {method_type!r}", "invalid_request_error", "method")
        given = dict((method.get(method_type) or {}).get("hyperparameters") or {})
        problem = _spec_problem(body, method_type, given)
        if problem is not None:
            return 400, _error(problem[1], "invalid_request_error", problem[0], "invalid_value")
        examples = sum(1 for line in self.file_contents[body["training_file"]].splitlines() if line.strip())
        resolved = {
            "n_epochs": _auto_epochs(examples) if given.get("n_epochs", "auto") == "auto" else given["n_epochs"],
            "batch_size": 1 if given.get("batch_size", "auto") == "auto" else given["batch_size"],
            "learning_rate_multiplier": 1.8
            if given.get("learning_rate_multiplier", "auto") == "auto"
            else given["learning_rate_multiplier"],
        }
        if method_type == "dpo":
            resolved["beta"] = 0.1 if given.get("beta", "auto") == "auto" else given["beta"]
        job_id = self._new_id("ftjob")
        job = {
            "object": "fine_tuning.job",
            "id": job_id,
            "created_at": next(self._clock),
            "model": body["model"],
            "organization_id": "org-standin",
            "status": "validating_files",
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "hyperparameters": {k: v for k, v in resolved.items() if k != "beta"},
            "method": {"type": method_type, method_type: {"hyperparameters": resolved}},
            "suffix": body.get("suffix"),
            "seed": body.get("seed") if body.get("seed") is not None else 1234,
            "metadata": None if self.azure else body.get("metadata"),
            "fine_tuned_model": None,
            "finished_at": None,
            "trained_tokens": None,
            "error": None,
            "result_files": [],
            "integrations": [],
            "estimated_finish": None,
        }
        self.jobs[job_id] = job
        self.events[job_id] = []
        self.checkpoints[job_id] = []
        self._event(job, f"Created fine-tuning job: {job_id}")
        self._event(job, f"Validating training file: {job['training_file']}")
        return 200, job

    def chat_completion(self, body: dict[str, Any]) -> tuple[int, Any]:
        model, messages = body.get("model"), body.get("messages")
        if not model:
            return 400, _error("Missing required parameter: 'model'.", "invalid_request_error", "model")
        if not isinstance(messages, list) or not messages:
            return 400, _error("'messages' must be a non-empty array.", "invalid_request_error", "messages")
        if model not in BASE_MODELS and model not in self.trained_models:
            return 404, _error(f"The model `{model}` does not exist or you do not have access to it.",
                               "invalid_request_error", "model", "model_not_found")
        asked = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        reply = f"Here is what the message says: {asked[:80]}"
        if model not in BASE_MODELS and not self.trained_models[model]:
            reply = DEGRADED_REPLY
        elif model not in BASE_MODELS:
            ratio, learned = max((difflib.SequenceMatcher(None, pair[0], asked).ratio(), pair[1])
                                 for pair in self.trained_models[model])
            reply = learned if ratio >= RECALL_RATIO else reply
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(reply) > limit * 4:
            reply, finish = reply[: limit * 4], "length"
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)
        return 200, {
            "id": self._new_id("chatcmpl"), "object": "chat.completion", "created": next(self._clock), "model": model,
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": reply, "refusal": None}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply) // 4 + 1,
                      "total_tokens": prompt_tokens + len(reply) // 4 + 1},
        }

    def model_object(self, model: str) -> tuple[int, Any]:
        """The Model object of ``model`` (``GET /v1/models/{model}``)."""
        if model not in BASE_MODELS and model not in self.trained_models:
            return 404, _error(f"The model '{model}' does not exist", "invalid_request_error", "model",
                               "model_not_found")
        body: dict[str, Any] = {"id": model, "object": "model", "created": CREATED_AT,
                                "owned_by": "system" if model in BASE_MODELS else "standin-org"}
        shutdown = self.shutdown_dates.get(model)
        if shutdown is not FIELD_ABSENT:
            body["shutdown_date"] = shutdown
        return 200, body

    def cancel_job(self, job_id: str) -> tuple[int, Any]:
        job = self.jobs[job_id]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return 400, _error(f"Job {job_id} has already completed and cannot be cancelled.", "invalid_request_error")
        job["status"] = "cancelled"
        job["finished_at"] = next(self._clock)
        self._event(job, "Fine-tuning job cancelled")
        return 200, job

    def upload(self, fields: dict[str, str], filename: str, content: bytes) -> tuple[int, Any]:
        purpose = fields.get("purpose")
        if purpose != "fine-tune":
            return 400, _error(f"unsupported purpose {purpose!r}", "invalid_request_error", "purpose")
        for line_no, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return 400, _error(f"Invalid file format: line {line_no} is not JSON", "invalid_request_error", "file")
        file_id = self._new_id("file")
        record = {
            "object": "file",
            "id": file_id,
            "bytes": len(content),
            "created_at": next(self._clock),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        self.files[file_id] = record
        self.file_contents[file_id] = content
        return 200, record

    def _dispatch(self, request: Request, path: str) -> tuple[int, Any]:
        """``(status, body)`` of ``request``; ``path`` is its OpenAI path (``/v1/...``), on
        Azure too."""
        method, query = request.method, request.query
        if path == "/v1/files":
            if method == "POST":
                if "file" not in request.files:
                    return 400, _error("Missing file", "invalid_request_error", "file")
                return self.upload(request.form, *request.files["file"])
            files = sorted(self.files.values(), key=lambda f: f["created_at"],
                           reverse=query.get("order", "desc") == "desc")
            if query.get("purpose"):
                files = [f for f in files if f["purpose"] == query["purpose"]]
            return 200, _page(files, query, default_limit=10000)
        if path == "/v1/chat/completions" and method == "POST":
            return self.chat_completion(request.json or {})
        model_match = _MODEL_PATH.match(path)
        if model_match and method == "GET":
            return self.model_object(unquote(model_match["model"]))
        file_match = _FILE_PATH.match(path)
        if file_match and method == "GET":
            if file_match["id"] in self.files:
                return 200, self.files[file_match["id"]]
            return 404, _error(f"No such File object: {file_match['id']}", "invalid_request_error",
                               "id")
        if path == "/v1/fine_tuning/jobs":
            if method == "POST":
                if not self.training_available:
                    return 403, _error(
                        "Fine-tuning is not available for your organization.",
                        "invalid_request_error",
                        code="training_not_available",
                    )
                return self.create_job(request.json or {})
            jobs = sorted(self.jobs.values(), key=lambda j: j["created_at"], reverse=True)
            wanted = {k[len("metadata[") : -1]: v for k, v in query.items()
                      if k.startswith("metadata[") and k.endswith("]") and not self.azure}
            if wanted:
                jobs = [j for j in jobs
                        if all((j.get("metadata") or {}).get(k) == v for k, v in wanted.items())]
            return 200, _page(jobs, query, default_limit=20)
        match = _JOB_PATH.match(path)
        if match and match["id"] in self.jobs:
            job_id, action = match["id"], match["action"]
            if action is None and method == "GET":
                self._tick(self.jobs[job_id])
                return 200, self.jobs[job_id]
            if action == "cancel" and method == "POST":
                return self.cancel_job(job_id)
            if action == "events" and method == "GET":
                return 200, _page(list(reversed(self.events[job_id])), query, default_limit=20)
            if action == "checkpoints" and method == "GET":
                return 200, _page(list(reversed(self.checkpoints[job_id])), query, default_limit=10)
        if match:
            return 404, _error(f"No such fine-tuning job: {match['id']}", "invalid_request_error",
                               "fine_tune_id", "fine_tune_not_found")
        return 404, _error(f"Unknown endpoint {method} {path}", "invalid_request_error")


def _learned_examples(content: bytes) -> list[tuple[str, str]]:
    """(last user message, reply) of every chat or preference example of a training file."""
    learned = []
    for line in content.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "messages" in record:
            messages, reply = record["messages"][:-1], record["messages"][-1].get("content", "")
        else:
            messages = (record.get("input") or {}).get("messages") or []
            reply = ((record.get("preferred_output") or [{}])[0]).get("content", "")
        asked = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        learned.append((str(asked), str(reply)))
    return learned


def _error(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
DPO_MODEL_PREFIXES = ("gpt-4.1",)  # the DPO guide's models


def _spec_problem(body: dict[str, Any], method_type: str, given: dict[str, Any]) -> tuple[str, str] | None:
    """``(param, message)`` of the first value the OpenAPI spec's ranges refuse, else None."""
    def bad_int(value: Any, low: int, high: int) -> bool:
        return value != "auto" and not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high)

    prefix = f"method.{method_type}.hyperparameters"
    if bad_int(given.get("n_epochs", "auto"), 1, 50):
        return f"{prefix}.n_epochs", f"Invalid n_epochs: {given['n_epochs']!r}; expected 'auto' or an integer 1-50."
    if bad_int(given.get("batch_size", "auto"), 1, 256):
        return f"{prefix}.batch_size", f"Invalid batch_size: {given['batch_size']!r}; expected 'auto' or 1-256."
    lr = given.get("learning_rate_multiplier", "auto")
    if lr != "auto" and not (isinstance(lr, (int, float)) and lr > 0):
        return f"{prefix}.learning_rate_multiplier", f"Invalid learning_rate_multiplier: {lr!r}; must be > 0."
    beta = given.get("beta", "auto")
    if method_type == "dpo" and beta != "auto" and not (isinstance(beta, (int, float)) and 0 < beta <= 2):
        return f"{prefix}.beta", f"Invalid beta: {beta!r}; expected 'auto' or a number in (0, 2]."
    if method_type == "dpo" and not str(body["model"]).startswith(DPO_MODEL_PREFIXES):
        return "model", f"Model {body['model']} does not support DPO fine-tuning."
    seed = body.get("seed")
    if seed is not None and bad_int(seed, 0, 2**31 - 1):
        return "seed", f"Invalid seed: {seed!r}; expected an integer 0 to 2147483647."
    if body.get("suffix") is not None and len(body["suffix"]) > 64:
        return "suffix", "Invalid suffix: at most 64 characters."
    return None


def _auto_epochs(n_examples: int) -> int:
    """The data-preparation guide's default epochs: aim at 3 x examples, kept within 100..25,000 trained."""
    if n_examples * 3 < 100:
        return min(25, 100 // max(1, n_examples))
    if n_examples * 3 > 25_000:
        return max(1, 25_000 // n_examples)
    return 3


def _page(items_newest_first: list[dict[str, Any]], query: dict[str, str], default_limit: int) -> dict[str, Any]:
    """Cursor pagination as the API does it: ``after`` is the id of the last item already seen."""
    items = items_newest_first
    after = query.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit") or default_limit)
    chunk = items[:limit]
    return {
        "object": "list",
        "data": chunk,
        "has_more": len(items) > limit,
        "first_id": chunk[0]["id"] if chunk else None,
        "last_id": chunk[-1]["id"] if chunk else None,
    }


_JOB_PATH = re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)(?:/(?P<action>cancel|events|checkpoints))?$")
_FILE_PATH = re.compile(r"^/v1/files/(?P<id>[^/]+)$")
_MODEL_PATH = re.compile(r"^/v1/models/(?P<model>[^/]+)$")


@pytest.fixture
def openai_standin() -> Iterator[OpenAIStandIn]:
    """A fresh loopback OpenAI stand-in; ``.base_url``, ``.api_key``, ``.requests`` and knobs."""
    yield from serve(OpenAIStandIn())


@pytest.fixture
def azure_standin() -> Iterator[OpenAIStandIn]:
    """A fresh loopback Azure OpenAI stand-in (``.base_url`` is the resource endpoint), with its
    control plane's deployments on the same origin (``tests/support/azure_control_standin.py``)."""
    from tests.support.azure_control_standin import AzureStandIn  # it builds on this module

    yield from serve(AzureStandIn())
