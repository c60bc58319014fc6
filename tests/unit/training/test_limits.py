"""Job settings against each provider's published ranges, and the call policy's view of errors (VT-14)."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from vectortrainer.errors import HyperparameterError, QuotaExhaustedError, TrainerAPIError
from vectortrainer.training.calls import CallPolicy, is_quota_error
from vectortrainer.training.limits import JobSettings, check_job_settings


def settings(**values) -> JobSettings:
    return JobSettings(**{"model": "gpt-4.1-mini-2025-04-14", **values})


@pytest.mark.parametrize("values, message", [
    ({"n_epochs": 60}, "training.n_epochs: 60 is outside OpenAI's range 1-50"),
    ({"n_epochs": 0}, "training.n_epochs: 0 is outside"),
    ({"batch_size": 512}, "training.batch_size: 512 is outside OpenAI's range 1-256"),
    ({"learning_rate_multiplier": -0.1}, "training.learning_rate_multiplier: -0.1 must be greater than 0"),
    ({"method": "dpo", "beta": 5}, "training.beta: 5 is outside OpenAI's range (0, 2]"),
    ({"method": "dpo", "beta": 0}, "training.beta: 0 must be greater than 0"),
    ({"seed": -1}, "training.seed: -1 is outside OpenAI's range 0..2147483647"),
    ({"seed": 2**31}, "training.seed: 2147483648 is outside"),
    ({"suffix": "x" * 65}, "training.suffix: 65 characters; OpenAI takes 64"),
    ({"learning_rate": 1e-5}, "takes a multiplier, not an absolute rate"),
    ({"method": "dpo", "model": "gpt-4o-mini-2024-07-18"}, "dpo is not offered for gpt-4o-mini-2024-07-18"),
])
def test_openai_ranges_from_the_spec(values, message):
    with pytest.raises(HyperparameterError, match=re.escape(message)):
        check_job_settings("openai", settings(**values))


def test_the_edges_of_openais_ranges_pass_and_every_problem_is_named_at_once():
    assert check_job_settings("openai", settings(n_epochs=50, batch_size=256, seed=2**31 - 1, method="dpo",
                                                 beta=2.0, suffix="x" * 64)) == []
    with pytest.raises(HyperparameterError) as info:
        check_job_settings("openai", settings(n_epochs=60, batch_size=512, seed=-1))
    assert all(key in str(info.value) for key in ("n_epochs", "batch_size", "seed"))


def test_each_provider_has_its_own_ranges():
    together = JobSettings(model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
    check_job_settings("together", JobSettings(**{**together.__dict__, "n_epochs": 20}))
    with pytest.raises(HyperparameterError, match="outside Together AI's range 1-20"):
        check_job_settings("together", JobSettings(**{**together.__dict__, "n_epochs": 21}))
    with pytest.raises(HyperparameterError, match="takes an absolute rate; set training.learning_rate"):
        check_job_settings("together", JobSettings(**{**together.__dict__, "learning_rate_multiplier": 2.0}))
    fireworks = JobSettings(model="accounts/fireworks/models/llama-v3p1-8b-instruct", method="dpo", beta=0.5)
    with pytest.raises(HyperparameterError, match=r"outside Fireworks AI's range \(0, 0.5\)"):
        check_job_settings("fireworks", fireworks)
    notes = check_job_settings("fireworks", JobSettings(**{**fireworks.__dict__, "beta": 0.1, "seed": 42}))
    assert notes == ["Fireworks AI jobs take no seed: training.seed is not sent"]
    azure = JobSettings(model="gpt-4o-mini-2024-07-18", batch_size=512)
    with pytest.raises(HyperparameterError, match="Azure OpenAI's range 1-256"):
        check_job_settings("azure", azure)


def test_the_suffix_leaves_room_for_the_run_tag():
    together = JobSettings(model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", suffix="x" * 31)
    check_job_settings("together", together, suffix_reserved=9)
    with pytest.raises(HyperparameterError, match="9 of them for the run tag, so at most 31"):
        check_job_settings("together", JobSettings(**{**together.__dict__, "suffix": "x" * 32}), suffix_reserved=9)


def _status_error(status: int, body: dict, headers: dict | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/fine_tuning/jobs")
    response = httpx.Response(status, json=body, headers=headers or {}, request=request)
    return openai.APIStatusError("error", response=response, body=body.get("error", body))


def test_a_spent_quota_is_told_apart_from_a_rate_limit():
    quota = _status_error(429, {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                                          "code": "insufficient_quota"}})
    rate = _status_error(429, {"error": {"message": "Rate limit reached for requests", "type": "requests"}})
    assert is_quota_error(quota) and not is_quota_error(rate)
    assert is_quota_error(_status_error(402, {"error": {"message": "payment required"}}))
    policy = CallPolicy(openai, "OpenAI", retries=5, sleep=lambda s: None)
    assert policy.retriable(rate) and not policy.retriable(quota)
    assert isinstance(policy.translate(quota, "creating the job"), QuotaExhaustedError)
    assert isinstance(policy.translate(rate, "creating the job"), TrainerAPIError)


def test_waits_follow_the_vendors_headers_then_back_off():
    policy = CallPolicy(openai, "OpenAI", sleep=lambda s: None)
    assert policy.wait_s(_status_error(429, {}, {"retry-after-ms": "250"}), 0) == 0.25
    assert policy.wait_s(_status_error(429, {}, {"retry-after": "2"}), 0) == 2.0
    assert policy.wait_s(_status_error(500, {}), 3) == 4.0
    assert policy.wait_s(_status_error(500, {}, {"retry-after": "3600"}), 0) == 60.0  # capped


def test_create_once_looks_before_it_tries_again():
    policy = CallPolicy(openai, "OpenAI", retries=3, sleep=lambda s: None)
    created: list[str] = []

    def create() -> str:
        created.append("job")
        raise _status_error(500, {"error": {"message": "server error"}})

    assert policy.create_once("creating", create, lambda: "job-1" if created else None) == "job-1"
    assert created == ["job"]  # found after the first failure: never created twice
