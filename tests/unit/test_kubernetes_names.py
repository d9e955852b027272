"""Worker Deployment names and pod selectors, as the chart renders them."""

from __future__ import annotations

import pytest

from scaler.kubernetes_names import model_slug, worker_deployment


@pytest.mark.parametrize(
    ("model_id", "slug"),
    [
        ("sdq/tiny", "sdq-tiny"),
        ("stabilityai/sd-turbo", "stabilityai-sd-turbo"),
        ("runwayml/stable-diffusion-v1.5", "runwayml-stable-diffusion-v1-5"),
        ("Me/My_Model..X", "me-my-model-x"),
        ("_odd/-edge-", "odd-edge"),
        (
            "stabilityai/stable-diffusion-xl-base-1.0-refiner-extra",
            "stabilityai-stable-diffusion-xl-b-d82b9b",
        ),
    ],
)
def test_model_slug(model_id: str, slug: str) -> None:
    assert model_slug(model_id) == slug
    assert len(slug) <= 40


def test_long_ids_that_share_a_prefix_stay_distinct() -> None:
    a = model_slug("stabilityai/stable-diffusion-xl-base-1.0-variant-a")
    b = model_slug("stabilityai/stable-diffusion-xl-base-1.0-variant-b")
    assert a != b


def test_worker_deployment_name_and_selector() -> None:
    target = worker_deployment("prod", "sdq/tiny")
    assert target.name == "prod-worker-sdq-tiny"
    assert target.pod_selector == (
        "app.kubernetes.io/instance=prod,app.kubernetes.io/component=worker,sdq.dev/model=sdq-tiny"
    )
