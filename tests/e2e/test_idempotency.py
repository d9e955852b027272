"""`Idempotency-Key` end to end on a keyed stack over HTTP: a repeat answers with the first
prediction (sequential and 20 at once: one job), another body is a 422, tenants never share a
key, every dialect takes the header, bad values are refused, and a failed submit frees the key."""

from __future__ import annotations

import base64
import io
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
import redis
from PIL import Image

from sdq.store import redis_keys
from tests.access_fixtures import SYNTHETIC, KeyedStack

QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 1}
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def new_key() -> str:
    return f"test-{secrets.token_hex(8)}"


def tenant_job_count(keyed: KeyedStack, tenant: str) -> int:
    with redis.Redis.from_url(keyed.stack.redis_url) as client:
        return int(client.zcard(redis_keys.tenant_jobs(tenant)))


def create(client: httpx.Client, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    sent = body or {"model": SYNTHETIC, "input": QUICK}
    return client.post("/v1/predictions", json=sent, headers={HEADER: key})


def png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_repeat_answers_with_the_first_prediction(keyed: KeyedStack) -> None:
    key = new_key()
    with keyed.as_("alice") as alice:
        before = tenant_job_count(keyed, "alice")
        first = create(alice, key)
        again = create(alice, key)
        via_model_route = alice.post(
            f"/v1/models/{SYNTHETIC}/predictions", json={"input": QUICK}, headers={HEADER: key}
        )
        assert tenant_job_count(keyed, "alice") == before + 1
    assert first.status_code == again.status_code == via_model_route.status_code == 201
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == via_model_route.headers[REPLAYED] == "true"
    assert first.json()["id"] == again.json()["id"] == via_model_route.json()["id"]
    assert again.json()["input"] == first.json()["input"]  # the seed the first call was given


def test_twenty_requests_racing_with_one_key_make_one_job(keyed: KeyedStack) -> None:
    key = new_key()
    before = tenant_job_count(keyed, "alice")

    def send(_: int) -> httpx.Response:
        with keyed.as_("alice") as alice:
            return create(alice, key)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(REPLAYED not in a.headers for a in answers) == 1
    assert tenant_job_count(keyed, "alice") == before + 1


def test_the_same_key_with_another_body_is_a_422_naming_the_header(keyed: KeyedStack) -> None:
    key = new_key()
    with keyed.as_("alice") as alice:
        assert create(alice, key).status_code == 201
        before = tenant_job_count(keyed, "alice")
        other = create(alice, key, {"model": SYNTHETIC, "input": QUICK | {"prompt": "y"}})
        hooked = create(
            alice, key, {"model": SYNTHETIC, "input": QUICK, "webhook": "http://127.0.0.1:9/h"}
        )
        assert tenant_job_count(keyed, "alice") == before
    for refused in (other, hooked):
        assert refused.status_code == 422, refused.text
        assert [f["field"] for f in refused.json()["invalid_fields"]] == [HEADER]


def test_tenants_never_share_a_key(keyed: KeyedStack) -> None:
    key = new_key()
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        made = [create(client, key) for client in (alice, bob, alice, bob)]
    assert [r.status_code for r in made] == [201] * 4
    ids = [r.json()["id"] for r in made]
    assert ids[0] != ids[1] and ids[0] == ids[2] and ids[1] == ids[3]


def test_a_refused_submit_leaves_the_key_free(keyed: KeyedStack) -> None:
    key = new_key()
    with keyed.as_("alice") as alice:
        bad_input = create(alice, key, {"model": SYNTHETIC, "input": QUICK | {"width": 65}})
        bad_image = create(
            alice,
            key,
            {"model": SYNTHETIC, "input": QUICK | {"image": "!!", "num_inference_steps": 2}},
        )
        made = create(alice, key)
    assert bad_input.status_code == bad_image.status_code == 422
    assert [f["field"] for f in bad_image.json()["invalid_fields"]] == ["input.image"]
    assert made.status_code == 201 and REPLAYED not in made.headers


def test_an_image_to_image_repeat_stores_no_second_image(keyed: KeyedStack) -> None:
    key = new_key()
    body = {
        "model": SYNTHETIC,
        "input": QUICK | {"image": png_data_url(), "num_inference_steps": 2},
    }
    with keyed.as_("alice") as alice:
        first, again = create(alice, key, body), create(alice, key, body)
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["input"]["image"] == first.json()["input"]["image"]
    outputs = keyed.stack.data_dir / "outputs"
    assert [p.name for p in (outputs / first.json()["id"]).iterdir()] == ["input-0.png"]


A1111_BODY = {"prompt": "x", "width": 64, "height": 64, "steps": 1}


@pytest.mark.parametrize("route", ["txt2img", "img2img"])
def test_a1111_repeats_answer_with_the_same_images(keyed: KeyedStack, route: str) -> None:
    key = new_key()
    image = {"init_images": [png_data_url()], "steps": 2}  # 0.75 of 2 steps: one to run
    body = A1111_BODY | (image if route == "img2img" else {})
    with keyed.as_("alice") as alice:
        before = tenant_job_count(keyed, "alice")
        first = alice.post(f"/sdapi/v1/{route}", json=body, headers={HEADER: key})
        again = alice.post(f"/sdapi/v1/{route}", json=body, headers={HEADER: key})
        other = alice.post(f"/sdapi/v1/{route}", json=body | {"prompt": "y"}, headers={HEADER: key})
        assert tenant_job_count(keyed, "alice") == before + 1
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
    assert first.json()["images"] == again.json()["images"] and first.json()["images"]
    assert first.json()["info"] == again.json()["info"]
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == [HEADER]


def test_openai_generations_repeat_with_the_official_client(keyed: KeyedStack) -> None:
    client = openai.OpenAI(api_key=keyed.secrets["alice"], base_url=f"{keyed.url}/v1")
    key = new_key()
    kwargs: dict[str, Any] = {"prompt": "x", "size": "64x64", "quality": "low"}
    made = client.images.with_raw_response.generate(
        **kwargs, response_format="b64_json", extra_headers={HEADER: key}
    )
    again = client.images.with_raw_response.generate(
        **kwargs, response_format="b64_json", extra_headers={HEADER: key}
    )
    assert again.headers[REPLAYED] == "true" and REPLAYED not in made.headers
    assert made.parse().data[0].b64_json == again.parse().data[0].b64_json
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(prompt="y", size="64x64", extra_headers={HEADER: key})
    assert refused.value.param == HEADER


def test_openai_edits_repeat(keyed: KeyedStack) -> None:
    key = new_key()
    image = base64.b64decode(png_data_url().split(",", 1)[1])
    form = {"prompt": "x", "size": "64x64", "quality": "low", "response_format": "b64_json"}
    with keyed.as_("alice") as alice:

        def edit(prompt: str) -> httpx.Response:
            return alice.post(
                "/v1/images/edits",
                data=form | {"prompt": prompt},
                files={"image": ("in.png", image, "image/png")},
                headers={HEADER: key},
            )

        first, again, other = edit("x"), edit("x"), edit("y")
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers[REPLAYED] == "true"
    assert first.json()["data"] == again.json()["data"]
    assert other.status_code == 400 and other.json()["error"]["param"] == HEADER


CREATE_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("/v1/predictions", {"json": {"model": SYNTHETIC, "input": QUICK}}),
    (f"/v1/models/{SYNTHETIC}/predictions", {"json": {"input": QUICK}}),
    ("/sdapi/v1/txt2img", {"json": A1111_BODY}),
    ("/sdapi/v1/img2img", {"json": A1111_BODY}),
    ("/v1/images/generations", {"json": {"prompt": "x", "size": "64x64"}}),
    ("/v1/images/edits", {"data": {"prompt": "x"}, "files": {"image": ("a.png", b"x")}}),
]
BAD_KEYS: list[bytes] = [b"", b"a b", b"x" * 256, "caf\u00e9".encode(), b"tab\there"]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=["empty", "space", "256 chars", "utf-8", "tab"])
@pytest.mark.parametrize(("path", "request_args"), CREATE_CALLS, ids=[c[0] for c in CREATE_CALLS])
def test_a_bad_key_is_refused_naming_the_header_in_each_dialect(
    keyed: KeyedStack, path: str, request_args: dict[str, Any], bad: bytes
) -> None:
    with keyed.as_("alice") as alice:
        before = tenant_job_count(keyed, "alice")
        refused = alice.post(path, headers={HEADER.encode(): bad}, **request_args)
        assert tenant_job_count(keyed, "alice") == before
    body = refused.json()
    if path.startswith("/v1/images"):
        assert refused.status_code == 400 and body["error"]["param"] == HEADER, body
    elif path.startswith("/sdapi"):
        assert refused.status_code == 422 and [e["field"] for e in body["errors"]] == [HEADER]
    else:
        assert refused.status_code == 422
        assert [f["field"] for f in body["invalid_fields"]] == [HEADER], body
