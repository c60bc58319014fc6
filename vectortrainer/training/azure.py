"""``AzureOpenAITrainer``: the OpenAI fine-tuning endpoints on Azure, through ``openai.AzureOpenAI``
(VT-14).

Azure serves the same files and fine-tuning job API under
``<endpoint>/openai/...?api-version=...`` with an ``api-key`` header, so this is
:class:`~vectortrainer.training.openai.OpenAITrainer` with Azure's client, connection
settings, schedule and prices. What differs is the job lookup: the data-plane
api-version this targets (2024-10-21) predates job ``metadata``, so no metadata is
sent and a run's job is recognised by its training file, whose name carries the run
id (``vectortrainer-<run id>-train-<hash>.jsonl``).

A fine-tuned model on Azure answers only through a deployment, a resource of Azure's control
plane (:mod:`~vectortrainer.training.azure_deployments`): for the evaluation gate this trainer
creates one named after the run (``vectortrainer-<run tag>``, found again after a crash), replays
the held-out cases through it with the data plane's chat completions, and the gate tears it down
unless the model is promoted. The base model answers through the deployment production calls
today, ``azure.deployment``. With the gate on, :meth:`AzureOpenAITrainer.preflight` refuses,
before any work, settings that could not deploy or reach the base model.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from vectortrainer.budget.schedule import ReportedShutdown
from vectortrainer.budget.serving import Hosting, hosting_for
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError
from vectortrainer.json_types import JSONObject
from vectortrainer.training.answers import newest
from vectortrainer.training.azure_deployments import (
    MANAGEMENT_URL,
    TOKEN_ENV,
    AzureDeployments,
    ControlPlane,
)
from vectortrainer.training.base import PreparedData
from vectortrainer.training.deployments import Deployment, DeploymentStatus
from vectortrainer.training.hosted import UPLOAD_NAME_PREFIX, run_tag
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
                 api_key_env: str = "AZURE_OPENAI_API_KEY",
                 management_url: str = MANAGEMENT_URL, subscription_id: str | None = None,
                 resource_group: str | None = None, resource_name: str | None = None,
                 management_token_env: str = TOKEN_ENV, gate: bool = False,
                 **settings: Any) -> None:
        super().__init__(model, api_key_env=api_key_env, **settings)
        self.endpoint = endpoint
        self.api_version = api_version
        self.deployment = deployment
        self.gate = gate  # the gate will judge its models: deploying must be possible
        self.deployments = AzureDeployments(
            ControlPlane(management_url=management_url, subscription_id=subscription_id,
                         resource_group=resource_group, resource_name=resource_name,
                         token_env=management_token_env),
            retries=self.max_retries, timeout_s=self.timeout)

    def preflight(self) -> None:
        """:meth:`HostedTrainer.preflight`, and with the gate on what it needs: the base model's
        deployment, the account's location and the management token (no request)."""
        super().preflight()
        if not self.gate:
            return
        if not self.deployment:
            raise ConfigError(
                "azure.deployment: not set; the evaluation gate compares the fine-tuned model with "
                "the base model, which answers on Azure only through its deployment: name the "
                "deployment production calls today"
            )
        self.deployments.plane.check()
        self.deployments.plane.token()

    # ----- serving a fine-tune (the gate's deployment) -----------------------------------
    def hosting(self) -> Hosting:
        return hosting_for("azure", self.model, hourly_usd=self.hosting_usd_per_hour)

    def base_served_as(self) -> str | None:
        return self.deployment

    def deploy(self, model: str, *, run_id: str) -> Deployment:
        return self.deployments.create(deployment_name(run_id), model,
                                       hourly_usd=self.hosting().hourly_usd)

    def find_deployment(self, model: str, *, run_id: str) -> Deployment | None:
        return self.deployments.find(deployment_name(run_id), model,
                                     hourly_usd=self.hosting().hourly_usd)

    def deployment_status(self, deployment: Deployment) -> DeploymentStatus:
        return self.deployments.status(deployment.id)

    def tear_down(self, deployment: Deployment) -> None:
        self.deployments.delete(deployment.id)

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
            management_url=api.management_url,
            subscription_id=api.subscription_id,
            resource_group=api.resource_group,
            resource_name=api.resource_name,
            management_token_env=api.management_token_env,
            gate=config.gate.enabled,
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


def deployment_name(run_id: str) -> str:
    """The gate's deployment of run ``run_id``: found again by this name after a crash (Azure
    takes letters, digits, ``-``, ``_`` and ``.``, up to 64)."""
    return f"{UPLOAD_NAME_PREFIX}-{run_tag(run_id)}"
