"""One harness per hosted provider, so a test runs unchanged against OpenAI, Azure, Together and Fireworks.

The ``provider`` fixture (a pytest plugin, see ``tests/conftest.py``) runs a test once per provider.

A :class:`Harness` knows its stand-in, the config sections and environment that point the
real SDK at it, a model the stand-in serves, and which requests are paid ones (an upload,
a job creation), so a test can say "exactly one job" or "zero requests" for every provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.openai_standin import OpenAIStandIn

HOSTED = ("openai", "azure", "together", "fireworks")
TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
FIREWORKS_MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"


@dataclass
class Harness:
    name: str
    standin: Any
    sections: dict[str, dict[str, Any]]  # config sections (write_config(**sections))
    env: dict[str, str]
    upload_path: str  # POST path of an upload
    job_path: str  # POST path of a job creation
    title: str
    settings: dict[str, Any] = field(default_factory=dict)  # trainer constructor arguments

    def posts(self, path: str) -> int:
        return sum(1 for r in self.standin.requests if r.method == "POST" and r.path == path)

    @property
    def uploads(self) -> int:
        if self.name == "fireworks":  # a dataset is created, then filled: the fill carries the bytes
            return sum(1 for r in self.standin.requests if r.method == "POST" and r.path.endswith(":upload"))
        return self.posts(self.upload_path)

    @property
    def job_creations(self) -> int:
        return self.posts(self.job_path)

    @property
    def jobs(self) -> int:
        """Jobs that exist at the stand-in (what the user pays for)."""
        jobs = self.standin.jobs
        return len(jobs)

    def inject_job_errors(self, status: int, count: int) -> None:
        """The next ``count`` job creations answer ``status`` (before anything is created)."""
        if isinstance(self.standin, OpenAIStandIn):
            self.standin.inject_errors(status, count, method="POST", path_prefix=self.job_path)
        else:
            self.standin.inject_errors(status, count, method="POST", path=self.job_path)

    def requests_at(self, method: str, path: str) -> list[Any]:
        return [r for r in self.standin.requests if r.method == method and r.path == path]

    def fail_next_job(self, message: str) -> None:
        self.standin.fail_next_job(message)

    def with_training(self, **values: Any) -> dict[str, dict[str, Any]]:
        """The config sections with ``training`` values added (e.g. an out-of-range one)."""
        sections = {key: dict(value) for key, value in self.sections.items()}
        sections.setdefault("training", {}).update(values)
        return sections


def harness(name: str, standin: Any) -> Harness:
    """The harness of provider ``name`` around its started ``standin``."""
    training = {"provider": name, "poll_interval_s": 0.01}
    if name == "openai":
        return Harness(name, standin, {"training": training, "openai": {"base_url": standin.base_url}},
                       {"OPENAI_API_KEY": standin.api_key}, "/v1/files", "/v1/fine_tuning/jobs", "OpenAI",
                       dict(base_url=standin.base_url, api_key=standin.api_key))
    if name == "azure":  # the gate deploys through the stand-in's control plane, on its origin
        control = dict(deployment=standin.base_deployment, management_url=standin.origin,
                       subscription_id=standin.subscription_id, resource_group=standin.resource_group,
                       resource_name=standin.account)
        return Harness(name, standin, {"training": training, "azure": {"endpoint": standin.base_url, **control},
                                       "budget": {"prices": {"gpt-4o-mini-2024-07-18": 3.0}}},
                       {"AZURE_OPENAI_API_KEY": standin.api_key, "AZURE_MANAGEMENT_TOKEN": standin.management_token},
                       "/openai/files", "/openai/fine_tuning/jobs", "Azure OpenAI",
                       dict(endpoint=standin.base_url, api_key=standin.api_key,
                            prices={"gpt-4o-mini-2024-07-18": 3.0}, **control))
    if name == "together":
        return Harness(name, standin, {"training": {**training, "model": TOGETHER_MODEL},
                                       "together": {"base_url": standin.base_url},
                                       "budget": {"prices": {TOGETHER_MODEL: 3.0}}},
                       {"TOGETHER_API_KEY": standin.api_key}, "/v1/files", "/v1/fine-tunes", "Together AI",
                       dict(model=TOGETHER_MODEL, base_url=standin.base_url, api_key=standin.api_key,
                            prices={TOGETHER_MODEL: 3.0}))
    if name == "fireworks":
        account = standin.account
        return Harness(name, standin, {"training": {**training, "model": FIREWORKS_MODEL},
                                       "fireworks": {"base_url": standin.base_url, "account_id": account}},
                       {"FIREWORKS_API_KEY": standin.api_key}, f"/v1/accounts/{account}/datasets",
                       f"/v1/accounts/{account}/supervisedFineTuningJobs", "Fireworks AI",
                       dict(model=FIREWORKS_MODEL, base_url=standin.base_url, api_key=standin.api_key,
                            account_id=account))
    raise ValueError(name)


@pytest.fixture(params=HOSTED)
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """Each hosted provider in turn, its stand-in started and its key in the environment."""
    standin = request.getfixturevalue(f"{request.param}_standin")
    chosen = harness(request.param, standin)
    for key, value in chosen.env.items():
        monkeypatch.setenv(key, value)
    return chosen

