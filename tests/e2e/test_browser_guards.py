"""Browsers cannot be turned against the API: a rebinding Host is refused, a page of another site
cannot create or cancel jobs, CORS answers only the configured origin. A real API process on real
Redis, over loopback HTTP (no worker: jobs stay queued)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page

from cli.embedded_redis import EmbeddedRedis, free_port
from tests.browser import CHROMIUM_ARGS, chromium_context
from tests.helpers import Stack, started_api, wait_until

APP = "https://app.example.com"
EVIL = "http://evil.example"
SMALL = {"width": 64, "height": 64, "num_inference_steps": 1}


@pytest.fixture(scope="module")
def guarded(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("logs")
    env = {"SDQ_ALLOWED_HOSTS": "localhost,127.0.0.1", "SDQ_CORS_ORIGINS": APP}
    with started_api(redis_server.url, data_dir, logs, **env) as running:
        yield running


@pytest.fixture
def client(guarded: Stack) -> Iterator[httpx.Client]:
    with guarded.http() as http:
        yield http


def newest_prediction(client: httpx.Client) -> str | None:
    results = client.get("/v1/predictions", params={"limit": 1}).json()["results"]
    return str(results[0]["id"]) if results else None


def create(client: httpx.Client, **headers: str) -> httpx.Response:
    body = {"model": "sdq/tiny", "input": {"prompt": "guarded", **SMALL}}
    return client.post("/v1/predictions", json=body, headers=headers)


def cancel(client: httpx.Client, prediction_id: str) -> None:
    """Leave nothing queued for the next module's workers."""
    client.post(f"/v1/predictions/{prediction_id}/cancel").raise_for_status()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def assert_names_header(response: httpx.Response, header: str) -> None:
    """The error is JSON in the dialect of the path, naming the header at fault."""
    assert response.headers["content-type"] == "application/json", response.text
    assert response.headers["x-request-id"]
    body: dict[str, Any] = response.json()
    path = response.request.url.path
    if path.startswith("/v1/images"):
        assert body["error"]["param"] == header, body
        assert body["error"]["type"] == "invalid_request_error"
    elif path.startswith("/sdapi"):
        assert [e["field"] for e in body["errors"]] == [header], body
        assert body["detail"].startswith(f"{header}: ")
    else:
        assert body["status"] == response.status_code, body
        assert [f["field"] for f in body["invalid_fields"]] == [header], body


@pytest.mark.parametrize(
    ("method", "path", "host", "status"),
    [
        ("GET", "/v1/predictions", "evil.example:{port}", 421),  # DNS rebinding to loopback
        ("GET", "/v1/predictions", "evil.example", 421),
        ("GET", "/v1/predictions", "[::1]:{port}", 421),  # not on this list
        ("POST", "/v1/images/generations", "evil.example:{port}", 421),
        ("GET", "/sdapi/v1/progress", "evil.example:{port}", 421),
        ("POST", "/sdapi/v1/interrupt", "localhost.evil.example", 421),
        ("OPTIONS", "/v1/predictions", "evil.example:{port}", 421),  # before CORS, too
        ("GET", "/v1/predictions", "local_host:x", 400),  # not a host[:port]
    ],
)
def test_a_host_off_the_allowlist_is_refused_in_json(
    client: httpx.Client, guarded: Stack, method: str, path: str, host: str, status: int
) -> None:
    before = newest_prediction(client)
    headers = {"Host": host.format(port=guarded.port)}
    if method == "OPTIONS":
        headers |= {"Origin": APP, "Access-Control-Request-Method": "POST"}
    body = {"prompt": "x"} if method == "POST" else None
    response = client.request(method, path, headers=headers, json=body)
    assert response.status_code == status, response.text
    assert_names_header(response, "Host")
    assert not cors_headers(response)
    assert newest_prediction(client) == before


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST:{port}", "127.0.0.1:{port}"])
def test_an_allowed_host_is_served(client: httpx.Client, guarded: Stack, host: str) -> None:
    response = client.get("/v1/predictions", headers={"Host": host.format(port=guarded.port)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("host", ["10.1.2.3:7860", "sdq-api-7d9f.default.svc:7860"])
def test_probes_answer_any_host(client: httpx.Client, path: str, host: str) -> None:
    assert client.get(path, headers={"Host": host}).status_code == 200


CROSS_SITE = [
    pytest.param({"Origin": EVIL}, "Origin", id="another-site"),
    pytest.param({"Origin": "null"}, "Origin", id="null-origin"),
    pytest.param({"Origin": "http://localhost:3000"}, "Origin", id="another-local-port"),
    pytest.param({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site", id="no-origin-cross-site"),
]


@pytest.mark.parametrize(("headers", "field"), CROSS_SITE)
def test_a_page_of_another_site_cannot_create_a_prediction(
    client: httpx.Client, headers: dict[str, str], field: str
) -> None:
    before = newest_prediction(client)
    response = create(client, **headers)
    assert response.status_code == 403, response.text
    assert_names_header(response, field)
    assert not cors_headers(response)
    assert newest_prediction(client) == before


@pytest.mark.parametrize(("headers", "field"), CROSS_SITE)
def test_a_page_of_another_site_cannot_post_an_image_edit(
    client: httpx.Client, headers: dict[str, str], field: str
) -> None:
    """A multipart form post: a "simple" request that a browser sends without a preflight."""
    before = newest_prediction(client)
    response = client.post(
        "/v1/images/edits",
        data={"prompt": "x", "size": "64x64"},
        files={"image": ("red.png", png(), "image/png")},
        headers=headers,
    )
    assert response.status_code == 403, response.text
    assert_names_header(response, field)
    assert newest_prediction(client) == before


def test_a_page_of_another_site_cannot_interrupt_an_a1111_job(
    client: httpx.Client, guarded: Stack
) -> None:
    """An empty POST (no preflight either) may not cancel the job; the same call from a client
    that is no browser page does."""

    def progress() -> str:
        return str(client.get("/sdapi/v1/progress").json()["state"]["job"])

    before = progress()
    with ThreadPoolExecutor(1) as pool, guarded.http() as other:
        body = {"prompt": "wait for me", "steps": 1, "width": 64, "height": 64}
        waiting = pool.submit(other.post, "/sdapi/v1/txt2img", json=body)
        job = wait_until(lambda: (seen := progress()) != before and seen, 30, "the queued job")
        for headers, field in [({"Origin": EVIL}, "Origin"), ({"Origin": "null"}, "Origin")]:
            refused = client.post("/sdapi/v1/interrupt", headers=headers)
            assert refused.status_code == 403, refused.text
            assert_names_header(refused, field)
        refused = client.post("/sdapi/v1/interrupt", headers={"Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403, refused.text
        assert client.get(f"/v1/predictions/{job}").json()["status"] == "starting"
        assert progress() == job

        assert client.post("/sdapi/v1/interrupt").status_code == 200
        answered = waiting.result(timeout=60)
    assert answered.status_code == 200, answered.text
    assert answered.json()["images"] == []
    assert client.get(f"/v1/predictions/{job}").json()["status"] == "canceled"


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:{port}", None),
        ("http://localhost:{port}", "localhost:{port}"),
        (APP, None),  # allowed by SDQ_CORS_ORIGINS
    ],
)
def test_the_apis_own_origin_and_allowed_origins_may_create(
    client: httpx.Client, guarded: Stack, origin: str, host: str | None
) -> None:
    headers = {"Origin": origin.format(port=guarded.port), "Sec-Fetch-Site": "same-origin"}
    if host:
        headers["Host"] = host.format(port=guarded.port)
    response = create(client, **headers)
    assert response.status_code == 201, response.text
    cancel(client, response.json()["id"])


def test_no_origin_is_a_client_that_is_no_browser_page(client: httpx.Client) -> None:
    response = create(client)
    assert response.status_code == 201, response.text
    cancel(client, response.json()["id"])


def test_the_allowed_origin_passes_a_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/v1/predictions",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, prefer, cancel-after",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers


def test_the_allowed_origin_may_read_answers_and_their_headers(client: httpx.Client) -> None:
    response = create(client, Origin=APP)
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == APP
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-request-id", "retry-after", "location"} <= exposed
    assert "access-control-allow-credentials" not in response.headers
    cancel(client, response.json()["id"])


def test_another_origin_gets_no_cors_header(client: httpx.Client) -> None:
    response = client.get("/v1/predictions", headers={"Origin": EVIL})
    assert response.status_code == 200
    assert not cors_headers(response)
    assert "origin" in response.headers["vary"].lower()


@pytest.mark.parametrize(
    ("path", "origin", "asked", "status", "field"),
    [
        ("/v1/predictions", EVIL, {}, 403, "Origin"),
        ("/v1/images/edits", EVIL, {}, 403, "Origin"),
        ("/sdapi/v1/interrupt", "null", {}, 403, "Origin"),
        (
            "/v1/predictions",
            APP,
            {"Access-Control-Request-Headers": "content-type, x-evil"},
            400,
            "Access-Control-Request-Headers",
        ),
        (
            "/v1/predictions",
            APP,
            {"Access-Control-Request-Method": "PATCH"},
            400,
            "Access-Control-Request-Method",
        ),
    ],
)
def test_a_refused_preflight_is_json_naming_the_header(
    client: httpx.Client,
    path: str,
    origin: str,
    asked: dict[str, str],
    status: int,
    field: str,
) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"} | asked
    response = client.options(path, headers=headers)
    assert response.status_code == status, response.text
    assert_names_header(response, field)
    assert not cors_headers(response)


# In a real Chromium: the attacks the guards are for, from pages of other sites (served by the
# test through Playwright; `rebind.test` resolves to loopback, as after a DNS rebinding).
# Chromium's own Local Network Access check is off, as in the browsers that have none (or once a
# user grants the permission), so that what is tested is the API's refusal, not the browser's.
REBIND = "rebind.test"
BROWSER_ARGS = [
    *CHROMIUM_ARGS,
    f"--host-resolver-rules=MAP {REBIND} 127.0.0.1",
    "--disable-features=LocalNetworkAccessChecks",
]
ATTACK = """async (api) => {
    const form = new FormData();
    form.append("prompt", "x");
    const png = new Blob([new Uint8Array([137, 80, 78, 71])], {type: "image/png"});
    form.append("image", png, "a.png");
    const sent = {mode: "no-cors", method: "POST"};
    await fetch(api + "/v1/images/edits", {...sent, body: form});
    await fetch(api + "/sdapi/v1/interrupt", sent);
    await fetch(api + "/v1/predictions", {...sent, body: '{"input": {"prompt": "x"}}'});
}"""
SAME_ORIGIN_READ = """async () => {
    const answer = await fetch("/v1/predictions", {method: "POST", body: '{"input": {}}',
                                                   headers: {"Content-Type": "application/json"}});
    return [answer.status, await answer.json()];
}"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[BrowserContext]:
    with chromium_context(tmp_path / "profile", BROWSER_ARGS) as context:
        yield context


def open_page_of_another_site(context: BrowserContext, url: str) -> tuple[Page, dict[str, int]]:
    """A page at `url` (served by the test, not the API), and the status of each answer it got,
    by path (no-cors answers are opaque to the page, not to the test)."""
    context.route(url, lambda route: route.fulfill(content_type="text/html", body="<p>hi</p>"))
    page = context.new_page()
    statuses: dict[str, int] = {}
    page.on("response", lambda answer: statuses.update({urlsplit(answer.url).path: answer.status}))
    page.goto(url)
    return page, statuses


def test_a_page_of_another_site_in_chromium_creates_and_cancels_nothing(
    client: httpx.Client, guarded: Stack, chromium: BrowserContext
) -> None:
    before = newest_prediction(client)
    page, statuses = open_page_of_another_site(chromium, f"http://localhost:{free_port()}/")
    page.evaluate(ATTACK, guarded.url)
    assert statuses | {"/": 200} == {
        "/": 200,
        "/v1/images/edits": 403,
        "/sdapi/v1/interrupt": 403,
        "/v1/predictions": 403,
    }
    assert newest_prediction(client) == before


def test_a_rebinding_page_in_chromium_gets_421(
    client: httpx.Client, guarded: Stack, chromium: BrowserContext
) -> None:
    before = newest_prediction(client)
    page, _ = open_page_of_another_site(chromium, f"http://{REBIND}:{guarded.port}/")
    status, body = page.evaluate(SAME_ORIGIN_READ)
    assert status == 421, body
    assert body["invalid_fields"][0]["field"] == "Host"
    assert newest_prediction(client) == before


def test_an_open_api_on_loopback_answers_only_to_loopback_names(api: Stack) -> None:
    """`sdq api` on 127.0.0.1 without keys and without SDQ_ALLOWED_HOSTS: a rebinding page's
    name is refused, so it cannot drive the open API (not only under `sdq up`)."""
    port = api.url.rsplit(":", 1)[1]
    rebinding = httpx.get(f"{api.url}/v1/predictions", headers={"Host": f"rebind.test:{port}"})
    assert rebinding.status_code == 421, rebinding.text
    assert rebinding.json()["title"] == "Misdirected Request"
    for name in ("localhost", "127.0.0.1"):
        own = httpx.get(f"{api.url}/v1/predictions", headers={"Host": f"{name}:{port}"})
        assert own.status_code == 200, own.text
