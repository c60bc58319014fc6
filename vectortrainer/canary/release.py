"""A candidate that leaves its canary without being promoted gives its deployment back.

A provider that serves fine-tunes only once deployed (Azure, Fireworks, a full Together
fine-tune) bills the candidate's deployment by the hour while its canary runs. When the loop rolls
the candidate back, its canary expires, or a person stops it, nothing calls that deployment any
more: it is torn down here, and the entry records it, so a later promotion of that entry by hand
is not sent to a deployment that is gone (``vectortrainer models promote`` then needs a new one).
"""

from __future__ import annotations

from vectortrainer.config import Config
from vectortrainer.errors import VectorTrainerError
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.training.deployments import TORN_DOWN, Deployment
from vectortrainer.training.factory import make_trainer


def release_deployment(config: Config, registry: ModelRegistry, version_id: str) -> str:
    """Tear down the deployment ``version_id`` holds, if any; what happened, in words (``""``: it
    held none). Never raises: a deployment that cannot be torn down is named with what to do."""
    entry = next((e for e in registry.list() if e.version_id == version_id), None)
    if entry is None or not entry.serving.get("id") or entry.serving.get(TORN_DOWN):
        return ""
    deployment = Deployment.from_dict(entry.serving)
    if entry.provider != config.training.provider:
        return (f"the deployment {deployment.id} of {version_id} is at {entry.provider}, not the "
                f"configured provider: tear it down there (it bills "
                f"${deployment.hourly_usd:.2f} per hour)")
    try:
        make_trainer(config).tear_down(deployment)
    except VectorTrainerError as exc:
        return (f"the deployment {deployment.id} of {version_id} could not be torn down ({exc}); "
                f"it bills ${deployment.hourly_usd:.2f} per hour until you delete it")
    registry.store.annotate(version_id, {"serving": {**entry.serving, TORN_DOWN: True}},
                            action="deployment-torn-down")
    return f"the deployment {deployment.id} of {version_id} was torn down"
