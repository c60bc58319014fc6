"""``AzureOpenAITrainer``: the OpenAI fine-tuning endpoints on Azure, through ``openai.AzureOpenAI``
(VT-14).

Azure serves the same files and fine-tuning job API under
``<endpoint>/openai/...?api-version=...`` with an ``api-key`` header, so this is
:class:`~vectortrainer.training.openai.OpenAITrainer` with Azure's client, connection
settings, schedule and prices. What differs is the job lookup: the data-plane
api-version this targets (2024-10-21) predates job ``metadata``, so no metadata is
sent and a run's job is recognised by its training file, whose name carries the run
id (``vectortrainer-<run id>-train-<hash>.jsonl``).

A fine-tuned model on Azure serves only once it is deployed (a control-plane step
outside this API); the result names the model to deploy, and ``azure.deployment``
records the deployment name it is served under.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from vectortrainer.budget.schedule import ReportedShutdown
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError
from vectortrainer.json_types import JSONObject
from vectortrainer.training.answers import newest
from vectortrainer.training.base import Completion, Messages, PreparedData
from vectortrainer.training.hosted import UPLOAD_NAME_PREFIX
from vectortrainer.training.openai import OpenAITrainer

if TYPE_CHECKING:
    import openai  # 0.9 s to import: only a call to the vendor needs it

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"


class AzureOpenAITrainer(OpenAITrainer):
    """Fine-tunes on an Azure OpenAI resource."""

    name = "azure"
    config_section = "azure"
    url_setting = "endpoint"

    def __init__(self, model: str = "gpt-4o-mini-2024-07-18", *, endpoint: str | None = None,
                 api_version: str = "2024-10-21", deployment: str | None = None,
                 api_key_env: str = "AZURE_OPENAI_API_KEY", **settings: Any) -> None:
        super().__init__(model, api_key_env=api_key_env, **settings)
        self.endpoint = endpoint
        self.api_version = api_version
        self.deployment = deployment

    # A fine-tuned model answers on Azure only after a deployment, a separate Azure step,
    # so this trainer cannot replay the gate's cases through its models.
    @property
    def serves_models(self) -> bool:
        return False

    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        raise self.inference_not_available()

    def read_shutdown(self) -> ReportedShutdown | None:
        """None: the data-plane API this targets reports no ``shutdown_date``, so Azure's dates
        are the catalogue's and the config's (``schedule.azure/<model>``)."""
        return None

    @classmethod
    def connection_settings(cls, config: Config) -> dict[str, Any]:
        api = config.azure
        return dict(
            endpoint=api.endpoint or os.environ.get(ENDPOINT_ENV),
            api_version=api.api_version,
            deployment=api.deployment,
            api_key_env=api.api_key_env,
            max_retries=api.max_retries,
            timeout=api.timeout_s,
        )

    def make_client(self) -> "openai.AzureOpenAI":
        import openai  # 0.9 s to import: only a call to the vendor needs it

        if not self.endpoint:
            raise ConfigError(
                f"azure.endpoint: not set; give your resource's endpoint "
                f"(https://<resource>.openai.azure.com) in the config or in {ENDPOINT_ENV}"
            )
        return openai.AzureOpenAI(azure_endpoint=self.endpoint, api_version=self.api_version,
                                  api_key=self.api_key(), max_retries=0, timeout=self.timeout,
                                  http_client=self.http_client())

    def job_request(self, prepared: PreparedData, run_id: str) -> JSONObject:
        request = super().job_request(prepared, run_id)
        # not part of this api-version; the training file names the run
        request.pop("metadata", None)
        return request

    def find_job(self, run_id: str) -> str | None:
        """The newest usable job whose training file was uploaded for ``run_id`` (resume, VT-9)."""
        prefix = f"{UPLOAD_NAME_PREFIX}-{run_id}-train-"
        run_files = self.calls.call(
            "listing uploaded files",
            lambda: {
                f.id
                for f in self.answers.listing(self.client.files.list(purpose="fine-tune"),
                                              action="the listing of uploaded files",
                                              wanted="a list of files")
                if (f.filename or "").startswith(prefix)
            },
        )
        if not run_files:
            return None
        jobs = self.calls.call("listing fine-tuning jobs", lambda: self.answers.listing(
            self.client.fine_tuning.jobs.list(limit=100),
            action="the listing of fine-tuning jobs", wanted="a list of jobs"))
        usable = [
            j
            for j in jobs
            if j.training_file in run_files and j.status not in ("failed", "cancelled")
        ]
        if not usable:
            return None
        job = newest(usable, check=self.answers, action=f"run {run_id}")
        return self.job_id(job, "the listing of fine-tuning jobs")
