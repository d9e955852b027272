"""The names the Helm chart gives each model's worker Deployment and pods, derived the same way
here (pure), so that the scaler and the chart always agree."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SLUG = 40
COMPONENT_LABEL = "app.kubernetes.io/component"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MODEL_LABEL = "sdq.dev/model"


@dataclass(frozen=True)
class WorkerDeployment:
    name: str
    pod_selector: str  # a label selector matching the deployment's pods


def model_slug(model_id: str) -> str:
    """A DNS-1123 label for a model id: lower case, runs of other characters as one `-`; ids
    longer than 40 keep their first 33 characters plus 6 hex digits of the id's SHA-256
    (the chart's `sdq.modelSlug` does the same with sprig)."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        digest = hashlib.sha256(model_id.encode()).hexdigest()[:6]
        slug = f"{slug[:33].rstrip('-')}-{digest}"
    return slug


def worker_deployment(release: str, model_id: str) -> WorkerDeployment:
    """`{release}-worker-{slug}`, whose pods carry the instance, component and model labels."""
    slug = model_slug(model_id)
    selector = f"{INSTANCE_LABEL}={release},{COMPONENT_LABEL}=worker,{MODEL_LABEL}={slug}"
    return WorkerDeployment(f"{release}-worker-{slug}", selector)
