"""The published description documents every operation's success body: a named schema in its
dialect's shape for each JSON answer, the media type of the others; and the models behind those
schemas keep every field the API's builders write (a response model drops what it lacks)."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api import docs_pages, metrics_route
from api.admin_shapes import KeyFields, PolicyChange, ScalingEvent
from api.app import create_app
from api.native.prediction_shapes import Prediction, PredictionMetrics, PredictionStatus
from api.web import pages
from sdq.api_keys import ApiKey
from sdq.job import Job, JobMetrics, JobStatus
from sdq.prediction import QueueInfo, prediction
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import Settings
from sdq.store.scaling import put_policy, record_scaling

JSON = "application/json"
# (method, path) -> (success status, its schema: a component's name, or [name] for an array of
# them); one entry per published operation, so a new route needs one here.
JSON_BODIES: dict[tuple[str, str], tuple[str, str | list[str]]] = {
    ("get", "/healthz"): ("200", "Liveness"),
    ("get", "/readyz"): ("200", "Readiness"),
    ("get", "/v1/account"): ("200", "Account"),
    ("post", "/v1/predictions"): ("201", "Prediction"),
    ("post", "/v1/models/{owner}/{name}/predictions"): ("201", "Prediction"),
    ("get", "/v1/predictions"): ("200", "PredictionPage"),
    ("get", "/v1/predictions/{prediction_id}"): ("200", "Prediction"),
    ("post", "/v1/predictions/{prediction_id}/cancel"): ("200", "Prediction"),
    ("post", "/v1/predictions/{prediction_id}/retry"): ("201", "Prediction"),
    ("get", "/v1/predictions/{prediction_id}/webhooks"): ("200", "WebhookDeliveries"),
    ("get", "/v1/models"): ("200", "ModelPage"),
    ("get", "/v1/models/{owner}/{name}"): ("200", "Model"),
    ("get", "/v1/scaling/metrics/{owner}/{name}"): ("200", "ScalingSignal"),
    ("get", "/v1/webhooks/default/secret"): ("200", "WebhookSecret"),
    ("put", "/v1/webhooks/default/secret"): ("200", "WebhookSecret"),
    ("post", "/v1/webhooks/default/secret/rotate"): ("200", "WebhookSecret"),
    ("get", "/v1/admin/models/{owner}/{name}/scaling"): ("200", "ScalingPolicy"),
    ("put", "/v1/admin/models/{owner}/{name}/scaling"): ("200", "ScalingPolicy"),
    ("get", "/v1/admin/scaling/events"): ("200", "ScalingHistory"),
    ("get", "/v1/admin/models/{owner}/{name}/history"): ("200", "CapacityHistory"),
    ("get", "/v1/admin/keys"): ("200", "KeyList"),
    ("post", "/v1/admin/keys"): ("201", "CreatedKey"),
    ("delete", "/v1/admin/keys/{key_id}"): ("200", "RevokedKey"),
    ("post", "/sdapi/v1/txt2img"): ("200", "A1111Images"),
    ("post", "/sdapi/v1/img2img"): ("200", "A1111Images"),
    ("get", "/sdapi/v1/progress"): ("200", "Progress"),
    ("post", "/sdapi/v1/interrupt"): ("200", "Acknowledged"),
    ("post", "/sdapi/v1/skip"): ("200", "Acknowledged"),
    ("get", "/sdapi/v1/sd-models"): ("200", ["SdModel"]),
    ("get", "/sdapi/v1/samplers"): ("200", ["Sampler"]),
    ("get", "/sdapi/v1/loras"): ("200", ["Lora"]),
    ("get", "/sdapi/v1/options"): ("200", "Options"),
    ("post", "/sdapi/v1/options"): ("200", "Acknowledged"),
    ("get", "/sdapi/v1/scripts"): ("200", "Scripts"),
    ("post", "/v1/images/generations"): ("200", "ImagesResponse"),
    ("post", "/v1/images/edits"): ("200", "ImagesResponse"),
}
# Published operations whose success is no JSON: (status, media type; None: no body).
OTHER_BODIES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("get", "/v1/predictions/{prediction_id}/stream"): ("200", "text/event-stream"),
    ("get", "/v1/files/{job_id}/{name}"): ("200", "image/png"),
    ("delete", "/v1/webhooks/default/secret"): ("204", None),
}
# Routes left out of the description (pages and Prometheus' endpoint): their media type.
UNPUBLISHED = {
    "/": "text/html",
    "/ops": "text/html",
    "/docs": "text/html",
    "/docs/oauth2-redirect": "text/html",
    "/redoc": "text/html",
    "/metrics": "text/plain",
}


@cache
def described() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings(), "redis://127.0.0.1:1/0").openapi()
    return spec


def operations() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in described()["paths"].items() for method in methods}


def success(method: str, path: str) -> dict[str, Any]:
    responses = described()["paths"][path][method]["responses"]
    return {status: answer for status, answer in responses.items() if status.startswith("2")}


def test_every_operation_has_its_success_body_listed_here() -> None:
    assert operations() == set(JSON_BODIES) | set(OTHER_BODIES)


@pytest.mark.parametrize(("method", "path"), sorted(JSON_BODIES))
def test_json_answers_name_a_schema_with_its_fields(method: str, path: str) -> None:
    status, expected = JSON_BODIES[(method, path)]
    answers = success(method, path)
    assert set(answers) == {status}
    body = answers[status]["content"]
    assert set(body) == {JSON}
    schema = body[JSON]["schema"]
    if isinstance(expected, list):
        assert schema["type"] == "array"
        schema, expected = schema["items"], expected[0]
    assert schema == {"$ref": f"#/components/schemas/{expected}"}
    component = described()["components"]["schemas"][expected]
    assert component["type"] == "object"
    # Fields named, or an object that is exactly empty: never an open `dict`.
    assert component["properties"] or component.get("additionalProperties") is False


@pytest.mark.parametrize(("method", "path"), sorted(OTHER_BODIES))
def test_other_answers_declare_their_media_type(method: str, path: str) -> None:
    status, media = OTHER_BODIES[(method, path)]
    answers = success(method, path)
    assert set(answers) == {status}
    assert set(answers[status].get("content") or {}) == ({media} if media else set())


def test_readiness_documents_its_own_503() -> None:
    answer = described()["paths"]["/readyz"]["get"]["responses"]["503"]
    assert answer["content"][JSON]["schema"] == {"$ref": "#/components/schemas/Readiness"}


@pytest.mark.parametrize(("path", "media"), sorted(UNPUBLISHED.items()))
def test_unpublished_routes_declare_their_media_type(path: str, media: str) -> None:
    routes = [*pages.router.routes, *docs_pages.router.routes, *metrics_route.router.routes]
    (route,) = [r for r in routes if isinstance(r, APIRoute) and r.path == path]
    assert not route.include_in_schema
    assert route.response_class.media_type == media  # type: ignore[union-attr]


NOW = time.time()
JOBS = [  # a prediction in each state of its life, as the store holds it
    Job(id="a" * 26, model="sdq/tiny", input={"prompt": "a dog", "seed": 1}, created_at=NOW),
    Job(
        id="b" * 26,
        model="sdq/tiny",
        input={"prompt": "a dog", "image": "b/init.png", "preview_every": None},
        status=JobStatus.SUCCEEDED,
        created_at=NOW,
        started_at=NOW + 1,
        completed_at=NOW + 2,
        attempt=1,
        output=["b/out-1-0.png", "b/out-1-1.png"],
        logs="1/20 steps\n",
        metrics=JobMetrics(queue_wait=1.0, predict_time=1.0, total_time=2.0),
        retry_of="c" * 26,
        priority=0,
    ),
    Job(
        id="d" * 26,
        model="sdq/tiny",
        input={},
        status=JobStatus.ABORTED,
        created_at=NOW,
        completed_at=NOW + 30,
        error="deadline passed before it started",
    ),
]


def wire(model: type[BaseModel], built: dict[str, Any]) -> Any:
    """`built` as the API sends it through `model` (as FastAPI does, by alias)."""
    return json.loads(model.model_validate(built).model_dump_json(by_alias=True))


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.status.value)
@pytest.mark.parametrize("queue", [None, QueueInfo(position=3, eta=NOW + 60)])
def test_a_prediction_goes_out_as_built(job: Job, queue: QueueInfo | None) -> None:
    built = prediction(job, "http://127.0.0.1:7860", queue=queue)
    assert wire(Prediction, built) == json.loads(json.dumps(built))


def test_every_status_and_metric_is_in_the_prediction_schema() -> None:
    assert {status.replicate_name for status in JobStatus} <= set(get_args(PredictionStatus))
    assert set(JobMetrics.model_fields) == set(PredictionMetrics.__annotations__)


def test_scaling_history_entries_go_out_as_recorded() -> None:
    event = json.loads(record_scaling("sdq/tiny", 1, 2, "2 queued -> 2", NOW).args[-1])
    event["id"] = "1-0"
    assert wire(ScalingEvent, event) == event
    policy = ScalingPolicy()
    change = json.loads(put_policy("sdq/tiny", policy, "ops", NOW, key_id="key_1").args[1])
    change |= {"id": "1-0", "before": policy.model_dump_json()}  # added by the script
    assert wire(PolicyChange, change) == change


def test_key_answers_carry_every_stored_field_but_the_last_use() -> None:
    assert set(KeyFields.model_fields) == set(ApiKey.model_fields) - {"last_used_at"}
