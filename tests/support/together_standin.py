"""A loopback stand-in for Together AI's files and fine-tuning API, as the ``together`` SDK (3.x) speaks it.

Written from the SDK's own client code and Together's API reference (docs.together.ai):

    POST /v1/files (multipart: purpose, file_name, file_type, checksum)
         -> 302, ``Location`` (a presigned URL) and ``X-Together-File-Id``; 409 ``{"file_id"}`` when
            the same checksum was uploaded before (the SDK then returns that file)
    PUT  <Location> (the bytes; no key)       POST /v1/files/{id}/preprocess -> the file
    GET  /v1/files   GET /v1/files/{id}
    GET  /v1/fine-tunes/models/limits?model_name=...     POST /v1/fine-tunes/estimate-price
    POST /v1/fine-tunes     GET /v1/fine-tunes     GET /v1/fine-tunes/{id}
    POST /v1/fine-tunes/{id}/cancel     GET /v1/fine-tunes/{id}/events|checkpoints|metrics

Validation follows the reference: a model must be one the stand-in lists; ``n_epochs``
within the model's ``max_num_epochs`` (20); ``suffix`` at most 40 characters;
``training_method`` sft or dpo, and a DPO job needs preference data (``input``,
``preferred_output``, ``non_preferred_output``); the learning rate and the batch size
within the model's limits. Errors are OpenAI-compatible
``{"error": {"message", "type", "param", "code"}}`` (assumed; not checked against the live
service). A job walks pending -> queued -> running -> uploading -> completed one step per
``GET /v1/fine-tunes/{id}``, never by wall clock, writing events (``job_start``,
``epoch_complete``, ``job_complete`` ...) and ``train/loss`` metrics. Knobs: injected
errors (429 / 5xx with ``retry-after: 0``), a failed job (``job_error``), a 500 that
arrives after the job was created, and an account credit limit the price estimate
reports (``allowed_to_proceed``).

The estimate's price (``price_per_million``) is the stand-in's own figure, not Together's.

What a trained model is served with (chat completions, the project's models, dedicated endpoints
and their deployments) is :mod:`tests.support.together_serving`; a completed job registers its
output there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.loopback import Answer, LoopbackAPI, Request, jsonl_rows, run_steps, serve
from tests.support.together_serving import TogetherServing

TOGETHER_API_KEY = "together-standin-not-a-real-key"
START = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
MODELS = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": 8_000_000_000,
    "Qwen/Qwen2.5-7B-Instruct": 7_000_000_000,
}
_FILE = re.compile(r"^/v1/files/(?P<id>[^/]+)(?P<preprocess>/preprocess)?$")
_JOB = re.compile(r"^/v1/fine-tunes/(?P<id>ft-[^/]+)(?:/(?P<action>cancel|events|checkpoints|metrics))?$")
_UPLOAD = re.compile(r"^/upload/(?P<id>[^/]+)$")


def limits_for(model: str) -> dict[str, Any]:
    return {
        "model_name": model, "max_num_epochs": 20, "max_num_evals": 100, "max_num_checkpoints": 10,
        "max_learning_rate": 1.0, "min_learning_rate": 1e-8, "max_seq_length_sft": 8192,
        "max_seq_length_dpo": 8192, "min_max_seq_length": 512, "default_gradient_accumulation_steps": 1,
        "merge_output_lora": False, "supports_full_training": True, "supports_reasoning": False,
        "supports_tools": True, "supports_vision": False,
        "lora_training": {"default_rank": 8, "max_batch_size": 64, "max_batch_size_dpo": 32, "max_rank": 64,
                          "min_batch_size": 8, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
        "full_training": {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8},
    }


class TogetherStandIn(LoopbackAPI, TogetherServing):
    """State and knobs; see the module docstring."""

    name = "together-standin"
    failure_message = "Training failed: the dataset has too few tokens after packing."

    def __init__(self, *, total_steps: int = 6, steps_per_poll: int = 2, api_key: str = TOGETHER_API_KEY) -> None:
        super().__init__(api_key)
        self.total_steps = total_steps
        self.steps_per_poll = steps_per_poll
        self.files: dict[str, dict[str, Any]] = {}
        self.file_contents: dict[str, bytes] = {}
        self._pending_uploads: dict[str, dict[str, str]] = {}
        self.file_meta: dict[str, dict[str, Any]] = {}  # checksum, format, lines: not on the wire
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.metrics: dict[str, list[dict[str, Any]]] = {}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        self.price_per_million = 0.50  # the stand-in's own price for its estimate
        self.credit_limit = 100.0
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self._progress: dict[str, int] = {}
        self.base_models = MODELS
        self.init_serving()

    @property
    def base_url(self) -> str:
        return self.origin  # the SDK's paths start with /v1

    # -- wire ----------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        kind = {401: "authentication_error", 429: "rate_limit_exceeded"}.get(status, "invalid_request_error"
                                                                             if status < 500 else "server_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def _invalid(self, message: str, param: str | None = None) -> Answer:
        return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}, {}

    def unauthenticated(self, request: Request) -> bool:
        return request.method == "PUT" and bool(_UPLOAD.match(request.path))

    def _now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=next(self._clock))

    def route(self, request: Request) -> Answer:
        served = self.route_serving(request)
        if served is not None:
            return served
        method, path = request.method, request.path
        if path == "/v1/files" and method == "POST":
            return self._start_upload(request)
        if (match := _UPLOAD.match(path)) and method == "PUT":
            if match["id"] not in self._pending_uploads:
                return 404, {"error": {"message": "no such upload"}}, {}
            self.file_contents[match["id"]] = request.raw
            return 200, None, {}
        if (match := _FILE.match(path)) is not None:
            if match["preprocess"] and method == "POST":
                return self._preprocess(match["id"])
            if method == "GET" and match["id"] in self.files:
                return 200, self.files[match["id"]], {}
            return 404, self.error_body(404, f"File {match['id']} not found"), {}
        if path == "/v1/files" and method == "GET":
            return 200, {"data": list(self.files.values())}, {}
        if path == "/v1/fine-tunes/models/limits" and method == "GET":
            model = request.query.get("model_name", "")
            if model not in MODELS:
                return 404, self.error_body(404, f"Model {model} is not available for fine-tuning"), {}
            return 200, limits_for(model), {}
        if path == "/v1/fine-tunes/estimate-price" and method == "POST":
            return self._estimate(request.json or {})
        if path == "/v1/fine-tunes" and method == "POST":
            return self.created(self._create(request.json or {}), "Internal server error")
        if path == "/v1/fine-tunes" and method == "GET":
            return 200, {"data": sorted(self.jobs.values(), key=lambda j: j["created_at"], reverse=True)}, {}
        if (match := _JOB.match(path)) is not None:
            job = self.jobs.get(match["id"])
            if job is None:
                return 404, self.error_body(404, f"Fine-tune job {match['id']} not found"), {}
            action = match["action"]
            if action is None and method == "GET":
                self._tick(job)
                return 200, job, {}
            if action == "cancel" and method == "POST":
                if job["status"] in ("completed", "error", "cancelled"):
                    return self._invalid(f"Job {job['id']} has already finished")
                job["status"] = "cancel_requested"
                self._event(job, "cancel_requested", "Cancel requested")
                return 200, job, {}
            if action == "events":
                return 200, {"data": self.events[job["id"]]}, {}
            if action == "checkpoints":
                return 200, {"data": self.checkpoints[job["id"]]}, {}
            if action == "metrics":
                return 200, {"metrics": self.metrics[job["id"]]}, {}
        return 404, self.error_body(404, f"Unknown endpoint {method} {path}"), {}

    # -- files ---------------------------------------------------------------------------
    def _start_upload(self, request: Request) -> Answer:
        fields = request.form
        if fields.get("purpose") != "fine-tune":
            return self._invalid(f"Invalid purpose {fields.get('purpose')!r}", "purpose")
        if fields.get("file_type") != "jsonl":
            return self._invalid(f"Unsupported file type {fields.get('file_type')!r}", "file_type")
        for file_id, meta in self.file_meta.items():
            if meta["checksum"] == fields.get("checksum"):
                return 409, {"file_id": file_id, "message": "File already exists"}, {}
        file_id = f"file-{next(self._ids):08d}-standin"
        self._pending_uploads[file_id] = dict(fields)
        return 302, None, {"Location": f"{self.origin}/upload/{file_id}", "X-Together-File-Id": file_id}

    def _preprocess(self, file_id: str) -> Answer:
        fields = self._pending_uploads.pop(file_id, None)
        if fields is None or file_id not in self.file_contents:
            return 404, self.error_body(404, f"File {file_id} was not uploaded"), {}
        content = self.file_contents[file_id]
        lines, bad_line = jsonl_rows(content)
        if bad_line is not None:
            return self._invalid(f"Invalid JSON on line {bad_line}", "file")
        preference = {"input", "preferred_output", "non_preferred_output"}
        kinds = {"preference" if preference <= set(record)
                 else "conversation" if "messages" in record else "unknown" for record in lines}
        record = {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": next(self._clock),
            "filename": fields["file_name"], "FileType": "jsonl", "purpose": fields["purpose"],
            "processing_status": "COMPLETED" if kinds <= {"preference", "conversation"} and len(kinds) == 1
            else "INVALID_FORMAT",
        }
        self.files[file_id] = record
        self.file_meta[file_id] = {"checksum": fields.get("checksum"), "lines": len(lines),
                                   "format": kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "empty"}
        return 200, record, {}

    # -- jobs ----------------------------------------------------------------------------
    def _tokens(self, file_id: str | None) -> int:
        return len(self.file_contents.get(file_id or "", b"")) // 4

    def _estimate(self, body: dict[str, Any]) -> Answer:
        if body.get("training_file") not in self.files:
            return 200, {"estimation_available": False, "unavailable_reason": "train_file_not_validated"}, {}
        train = self._tokens(body["training_file"]) * int(body.get("n_epochs") or 1)
        evals = self._tokens(body.get("validation_file")) * int(body.get("n_evals") or 0)
        price = (train + evals) / 1_000_000 * self.price_per_million
        return 200, {"estimation_available": True, "estimated_total_price": price,
                     "allowed_to_proceed": price <= self.credit_limit, "user_limit": self.credit_limit,
                     "estimated_train_token_count": train, "estimated_eval_token_count": evals}, {}

    def _create(self, body: dict[str, Any]) -> Answer:
        model = body.get("model")
        if model not in MODELS:
            return self._invalid(f"Model {model} is not available for fine-tuning", "model")
        limits = limits_for(model)
        training_file = self.file_meta.get(body.get("training_file") or "")
        if training_file is None:
            return self._invalid(f"File {body.get('training_file')} not found", "training_file")
        if body.get("validation_file") and body["validation_file"] not in self.files:
            return self._invalid(f"File {body['validation_file']} not found", "validation_file")
        epochs = body.get("n_epochs")
        if not isinstance(epochs, int) or not 1 <= epochs <= limits["max_num_epochs"]:
            return self._invalid(f"n_epochs must be between 1 and {limits['max_num_epochs']}, got {epochs}", "n_epochs")
        suffix = body.get("suffix")
        if suffix is not None and len(suffix) > 40:
            return self._invalid("suffix must be at most 40 characters", "suffix")
        method = (body.get("training_method") or {}).get("method", "sft")
        if method not in ("sft", "dpo"):
            return self._invalid(f"training_method must be sft or dpo, got {method!r}", "training_method")
        expected = "preference" if method == "dpo" else "conversation"
        if training_file["format"] != expected:
            return self._invalid(f"training_file is {training_file['format']} data; {method} needs {expected} data",
                                 "training_file")
        beta = (body.get("training_method") or {}).get("dpo_beta")
        if beta is not None and not beta > 0:
            return self._invalid("dpo_beta must be positive", "training_method.dpo_beta")
        rate = body.get("learning_rate")
        if not isinstance(rate, (int, float)) or not limits["min_learning_rate"] <= rate <= limits["max_learning_rate"]:
            return self._invalid(f"learning_rate must be within [{limits['min_learning_rate']}, "
                                 f"{limits['max_learning_rate']}]", "learning_rate")
        now = self._now().isoformat()
        job_id = f"ft-{next(self._ids):08d}-standin"
        name = f"standin-user/{model.split('/')[-1]}-{suffix or 'ft'}-{job_id[3:11]}"
        job = {
            "id": job_id, "status": "pending", "user_id": "standin-user", "created_at": now, "updated_at": now,
            "model": model, "suffix": suffix, "training_file": body["training_file"],
            "validation_file": body.get("validation_file") or None, "n_epochs": epochs,
            "n_evals": body.get("n_evals"), "batch_size": body.get("batch_size"), "learning_rate": rate,
            "training_method": body.get("training_method"), "training_type": body.get("training_type"),
            "random_seed": body.get("random_seed"), "model_output_name": name, "token_count": None,
            "events": [],
        }
        self.jobs[job_id] = job
        self.events[job_id], self.metrics[job_id], self.checkpoints[job_id] = [], [], []
        self._event(job, "job_pending", "Fine-tune request created")
        return 200, job, {}

    def _event(self, job: dict[str, Any], kind: str, message: str, **fields: Any) -> None:
        self.events[job["id"]].append({"object": "fine-tune-event", "created_at": self._now().isoformat(),
                                       "type": kind, "message": message, "level": "info", **fields})

    def _tick(self, job: dict[str, Any]) -> None:
        status = job["status"]
        job["updated_at"] = self._now().isoformat()
        if status == "pending":
            job["status"] = "queued"
        elif status == "queued":
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                job["status"] = "error"
                self._event(job, "job_error", self.failure_message, level="error")
                return
            job["status"] = "running"
            self._progress[job["id"]] = 0
            self._event(job, "job_start", "Job started", total_steps=self.total_steps)
            self._event(job, "training_start", "Training started", total_steps=self.total_steps)
        elif status == "running":
            for step in run_steps(self._progress, job["id"], self.total_steps, self.steps_per_poll):
                self._step(job, step)
            if self._progress[job["id"]] >= self.total_steps:
                job["status"] = "uploading"
                self._event(job, "model_uploading", "Uploading the model")
        elif status == "uploading":
            job["status"] = "completed"
            job["token_count"] = self._tokens(job["training_file"]) * job["n_epochs"]
            self._event(job, "model_upload_complete", f"Model uploaded: {job['model_output_name']}",
                        model_path=job["model_output_name"])
            self._event(job, "job_complete", "Job finished")
            self.register_output(job, self.file_contents.get(job["training_file"], b""))
        elif status == "cancel_requested":
            job["status"] = "cancelled"
            self._event(job, "job_stopped", "Job cancelled")

    def _step(self, job: dict[str, Any], step: int) -> None:
        loss = round(2.0 * 0.8**step, 6)
        stamp = int(self._now().timestamp() * 1e9)
        self.metrics[job["id"]].append({"timestamp": stamp, "train/global_step": step,
                                        "train/epoch": step / self.total_steps * job["n_epochs"],
                                        "train/loss": loss, "train/grad_norm": 1.0})
        if job.get("validation_file"):
            self.metrics[job["id"]].append({"timestamp": stamp, "eval/global_step": step,
                                            "eval/loss": round(loss * 1.1, 6)})
        self._event(job, "checkpoint_save" if step == self.total_steps else "epoch_complete",
                    f"Step {step}/{self.total_steps} done", step=step, total_steps=self.total_steps)
        if step == self.total_steps:
            self.checkpoints[job["id"]].append({"checkpoint_type": f"Final checkpoint (step {step})",
                                                "created_at": self._now().isoformat(),
                                                "path": f"{job['model_output_name']}:step-{step}", "step": step,
                                                "object_name": f"{job['model_output_name']}-step-{step}"})


@pytest.fixture
def together_standin() -> Iterator[TogetherStandIn]:
    """A fresh loopback Together stand-in; ``.base_url``, ``.api_key``, ``.requests`` and knobs."""
    yield from serve(TogetherStandIn())
