"""The predictions API end to end: real HTTP, real Redis, a real Celery worker, the tiny model."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.file_links import signed_file_path, unsigned
from tests.helpers import Stack, wait_status, wait_terminal

SMALL = {"width": 64, "height": 64, "num_inference_steps": 4}
LONG = {"width": 256, "height": 256, "num_inference_steps": 150, "guidance_scale": 1}


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.http() as http:
        yield http


def create(client: httpx.Client, inputs: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post(
        "/v1/predictions", json={"model": "sdq/tiny", "input": inputs}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def image_of(client: httpx.Client, url: str) -> np.ndarray:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_submit_poll_succeeds_with_png_of_requested_size(
    client: httpx.Client, stack: Stack
) -> None:
    created = create(client, {"prompt": "a pretty dog", **SMALL, "width": 96})
    assert created["status"] == "starting"
    assert created["urls"]["get"] == f"{stack.url}/v1/predictions/{created['id']}"
    assert created["input"]["seed"] is not None, "the seed is fixed at submit time"
    done = wait_terminal(client, created["id"])
    assert done["status"] == "succeeded", done
    assert done["error"] is None
    assert done["metrics"]["predict_time"] > 0
    assert done["metrics"]["queue_wait"] >= 0
    assert done["started_at"] and done["completed_at"]
    [url] = done["output"]
    assert image_of(client, url).shape == (64, 96, 3)


def test_same_seed_same_pixels_different_seed_different_pixels(client: httpx.Client) -> None:
    ids = [create(client, {"prompt": "dog", **SMALL, "seed": seed})["id"] for seed in (7, 7, 8)]
    images = [image_of(client, wait_terminal(client, i)["output"][0]) for i in ids]
    assert np.array_equal(images[0], images[1])
    assert not np.array_equal(images[0], images[2])


def test_model_path_route_and_num_outputs(client: httpx.Client) -> None:
    response = client.post(
        "/v1/models/sdq/tiny/predictions",
        json={"input": {"prompt": "cat", **SMALL, "num_outputs": 2}},
        headers={"Prefer": "wait=60"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "succeeded"
    assert len(body["output"]) == 2


def test_prefer_wait_returns_a_terminal_prediction(client: httpx.Client) -> None:
    body = create(client, {"prompt": "dog", **SMALL}, Prefer="wait")
    assert body["status"] == "succeeded"
    assert body["output"]


def test_prefer_wait_gives_up_after_n_seconds(client: httpx.Client) -> None:
    started = time.monotonic()
    body = create(client, {"prompt": "slow", **LONG}, Prefer="wait=1")
    assert body["status"] in {"starting", "processing"}
    assert time.monotonic() - started < 30
    client.post(f"/v1/predictions/{body['id']}/cancel")
    wait_terminal(client, body["id"])


def test_cancel_queued_and_running(client: httpx.Client) -> None:
    running = create(client, {"prompt": "busy", **LONG})
    queued = create(client, {"prompt": "waiting", **SMALL})
    wait_status(client, running["id"], "processing")

    canceled = client.post(f"/v1/predictions/{queued['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"

    client.post(f"/v1/predictions/{running['id']}/cancel")
    stopped = wait_terminal(client, running["id"], timeout=30)
    assert stopped["status"] == "canceled"
    assert stopped["output"] is None
    assert stopped["metrics"]["predict_time"] < 60, "stopped at a step, not after 150 steps"

    time.sleep(1)  # the queued job's message reaches the now idle worker, which must skip it
    never = client.get(f"/v1/predictions/{queued['id']}").json()
    assert never["status"] == "canceled" and never["started_at"] is None

    again = client.post(f"/v1/predictions/{queued['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "canceled"


def test_get_unknown_prediction_is_404(client: httpx.Client) -> None:
    for response in (
        client.get("/v1/predictions/nope"),
        client.post("/v1/predictions/nope/cancel"),
    ):
        assert response.status_code == 404
        assert "not found" in response.json()["detail"]


def test_list_is_newest_first_and_paginates(client: httpx.Client) -> None:
    made = [create(client, {"prompt": f"list {i}", **SMALL})["id"] for i in range(3)]
    first = client.get("/v1/predictions", params={"limit": 2}).json()
    assert [p["id"] for p in first["results"]] == made[::-1][:2]
    second = client.get(first["next"]).json()
    assert second["results"][0]["id"] == made[0]
    for prediction_id in made:
        wait_terminal(client, prediction_id)


def test_models_lists_served_models_with_queue_depth(client: httpx.Client, stack: Stack) -> None:
    body = client.get("/v1/models").json()
    model, synthetic = body["results"]
    assert (model["id"], model["kind"], model["workers"]) == ("sdq/tiny", "diffusers", 1)
    assert (synthetic["id"], synthetic["kind"], synthetic["workers"]) == (
        "sdq/synthetic",
        "synthetic",
        0,
    )
    assert "synthetic" in synthetic["description"]
    assert {"queued", "in_flight"} <= model.keys()
    assert client.get("/v1/models/sdq/tiny").json()["url"] == f"{stack.url}/v1/models/sdq/tiny"
    assert client.get("/v1/models/sdq/none").status_code == 404


def test_health_readiness_and_docs(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["redis"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/v1/predictions" in client.get("/openapi.json").json()["paths"]


def test_redelivered_message_of_a_finished_job_changes_nothing(
    client: httpx.Client, stack: Stack
) -> None:
    from sdq.celery_app import make_celery, send_generate

    done = create(client, {"prompt": "once", **SMALL}, Prefer="wait")
    assert done["status"] == "succeeded"
    celery = make_celery(stack.settings(), stack.redis_url)
    send_generate(celery, done["id"], "sdq/tiny")  # what a broker redelivery looks like
    celery.close()
    follow_up = create(client, {"prompt": "after", **SMALL}, Prefer="wait")  # FIFO: runs after it
    assert follow_up["status"] == "succeeded"
    assert unsigned(client.get(f"/v1/predictions/{done['id']}").json()) == unsigned(done)


def tiny(**inputs: Any) -> dict[str, Any]:
    return {"model": "sdq/tiny", "input": {"prompt": "x"} | inputs}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (tiny(width=60), "input.width", "must be between 64 and 2048 (got 60)"),
        (tiny(height=4096), "input.height", "must be between 64 and 2048 (got 4096)"),
        (tiny(width=100), "input.width", "must be a multiple of 8 (got 100)"),
        (tiny(num_inference_steps=0), "input.num_inference_steps", "greater than or equal to 1"),
        (tiny(num_inference_steps=151), "input.num_inference_steps", "less than or equal to 150"),
        (tiny(guidance_scale=31), "input.guidance_scale", "less than or equal to 30"),
        (tiny(guidance_scale=-1), "input.guidance_scale", "greater than or equal to 0"),
        (tiny(num_outputs=9), "input.num_outputs", "less than or equal to 8"),
        (tiny(num_outputs=0), "input.num_outputs", "greater than or equal to 1"),
        (tiny(prompt="x" * 2001), "input.prompt", "at most 2000 characters (got 2001)"),
        ({"model": "sdq/tiny", "input": {}}, "input.prompt", "Field required"),
        (tiny(scheduler="nope"), "input.scheduler", "unknown scheduler 'nope'; choose one of"),
        (tiny(bogus=1), "input.bogus", "is not a known input field"),
        (
            {"model": "a/b", "input": {"prompt": "x"}},
            "model",
            "unknown model 'a/b'; served models: sdq/tiny",
        ),
        ({"version": "a/b:1", "input": {"prompt": "x"}}, "version", "served models: sdq/tiny"),
        ({"input": {"prompt": "x"}}, "model", "name a model; served models: sdq/tiny"),
        ({"model": "sdq/tiny"}, "input", "Field required"),
        (tiny() | {"webhook": "file:///etc/passwd"}, "webhook", "scheme 'file' is not allowed"),
        (tiny() | {"webhook": "gopher://127.0.0.1/"}, "webhook", "scheme 'gopher' is not allowed"),
        (tiny() | {"webhook_events_filter": ["start"]}, "webhook_events_filter", "needs a webhook"),
        (
            tiny() | {"webhook": "http://127.0.0.1/", "webhook_events_filter": ["done"]},
            "webhook_events_filter.0",
            "Input should be 'start', 'output', 'logs' or 'completed'",
        ),
        (tiny() | {"colour": 1}, "colour", "is not a known field"),
    ],
)
def test_validation_rules(
    client: httpx.Client, body: dict[str, Any], field: str, message: str
) -> None:
    newest_before = client.get("/v1/predictions", params={"limit": 1}).json()["results"][:1]
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    fields = {f["field"]: f["description"] for f in problem["invalid_fields"]}
    assert field in fields, problem
    assert message in fields[field]
    assert message in problem["detail"]
    newest_after = client.get("/v1/predictions", params={"limit": 1}).json()["results"][:1]
    assert [p["id"] for p in newest_after] == [p["id"] for p in newest_before], (
        "nothing was written"
    )


def test_unknown_model_in_the_path_is_404_listing_served_models(client: httpx.Client) -> None:
    response = client.post("/v1/models/a/b/predictions", json={"input": {"prompt": "x"}})
    assert response.status_code == 404
    assert "served models: sdq/tiny" in response.json()["detail"]


def test_bad_prefer_header_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/predictions", json=tiny(), headers={"Prefer": "wait=61"})
    assert response.status_code == 422
    assert response.json()["invalid_fields"] == [
        {"field": "Prefer", "description": "wait must be an integer from 1 to 60 seconds"}
    ]


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/v1/predictions", 20 * 1024 * 1024),  # may carry an image
        ("PUT", "/v1/admin/models/sdq/tiny/scaling", 1024 * 1024),
    ],
)
def test_body_over_the_limit_is_413(
    client: httpx.Client, chunked: bool, method: str, path: str, limit: int
) -> None:
    payload = b'{"model": "sdq/tiny", "input": {"prompt": "' + b"x" * limit + b'"}}'
    content: Any = (
        iter([payload[i : i + 65536] for i in range(0, len(payload), 65536)])
        if chunked
        else payload
    )
    response = client.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert f"{limit} bytes" in response.json()["detail"]


def data_url(image: Image.Image, kind: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    mime = {"PNG": "image/png", "JPEG": "image/jpeg"}[kind]
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def test_image_to_image_from_a_data_url(client: httpx.Client, stack: Stack) -> None:
    init = Image.new("RGB", (80, 80), (20, 200, 40))
    sent = data_url(init, "JPEG")
    body = tiny(image=sent, prompt_strength=0, width=64, height=64)
    done = client.post("/v1/predictions", json=body, headers={"Prefer": "wait"}).json()
    assert done["status"] == "succeeded", done
    assert done["input"]["image"] == f"{done['id']}/input-0.jpg", "stored beside the job"
    stored = stack.data_dir / "outputs" / done["input"]["image"]
    assert stored.read_bytes() == base64.b64decode(sent.split(",", 1)[1]), "kept as sent"
    out = Image.open(io.BytesIO(client.get(done["output"][0]).content)).convert("RGB")
    assert out.size == (64, 64)
    assert np.abs(np.asarray(out, int) - np.asarray(init.resize((64, 64)), int)).mean() < 3
    init_link = signed_file_path(stack.redis_url, done["input"]["image"])
    assert client.get(init_link).status_code == 200


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("data:image/png;base64,!!!", "must be a data URL or base64 image"),
        (base64.b64encode(b"GIF89a not really").decode(), "is not a readable image"),
    ],
)
def test_bad_init_images_are_refused_and_nothing_is_kept(
    client: httpx.Client, stack: Stack, image: str, message: str
) -> None:
    newest = client.get("/v1/predictions", params={"limit": 1}).json()["results"]
    response = client.post("/v1/predictions", json=tiny(image=image))
    assert response.status_code == 422
    assert response.json()["invalid_fields"] == [{"field": "input.image", "description": message}]
    assert client.get("/v1/predictions", params={"limit": 1}).json()["results"] == newest
