"""The API's access log on the real app and Redis: one `sdq.access` line per answer with its
route template, status, prediction id and tenant; never a key, a prompt or a link's signature."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter
from starlette.testclient import TestClient

from api.app import create_app
from sdq.settings import Settings

ADMIN_KEY = "access-log-test-admin-key-0123456789abcdef"
PROMPT = "a zebra reciting secret-prompt-words"
SIGNATURE = "deadbeefsignature0123"
ONE = "/v1/predictions/{prediction_id}"
FIELDS = ("method", "route", "status", "duration_ms", "prediction_id", "tenant", "client")


@dataclass(frozen=True)
class Api:
    client: TestClient
    alice_key: str
    prediction_id: str


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app with keys, a client key of tenant `alice`, and one prediction of hers."""
    settings = Settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        models="sdq/synthetic",
        admin_key=SecretStr(ADMIN_KEY),
    )
    with TestClient(create_app(settings, redis_url), base_url="http://127.0.0.1") as client:
        made = client.post(
            "/v1/admin/keys",
            json={"name": "alice", "role": "client"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        created = client.post(
            "/v1/predictions",
            json={"model": "sdq/synthetic", "input": {"prompt": PROMPT}},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert created.status_code == 201, created.text
        yield Api(client, key, created.json()["id"])


@pytest.mark.parametrize(
    ("method", "path", "keyed", "route", "status", "with_id", "tenant"),
    [
        ("POST", "/v1/predictions", True, "/v1/predictions", 201, False, "alice"),
        ("GET", "/v1/predictions/{id}", True, ONE, 200, True, "alice"),
        ("GET", "/no/such/path", True, "unmatched", 404, False, "alice"),
        ("GET", "/v1/predictions/{id}", False, ONE, 401, False, "-"),
        ("GET", f"/v1/files/{{id}}/0.png?exp=1&sig={SIGNATURE}", False, "/v1/files/{job_id}/{name}",
         None, False, "-"),
    ],
)  # fmt: skip
def test_each_answer_is_logged_once_without_secrets(
    api: Api,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    keyed: bool,
    route: str,
    status: int | None,
    with_id: bool,
    tenant: str,
) -> None:
    caplog.set_level(logging.INFO, logger="sdq.access")
    headers = {"Authorization": f"Bearer {api.alice_key}"} if keyed else {}
    body = {"model": "sdq/synthetic", "input": {"prompt": PROMPT}} if method == "POST" else None
    url = path.replace("{id}", api.prediction_id)
    response = api.client.request(method, url, headers=headers, json=body)
    assert status is None or response.status_code == status, response.text

    [record] = [r for r in caplog.records if r.name == "sdq.access"]
    assert record.levelno == logging.INFO
    logged = {name: getattr(record, name) for name in FIELDS}
    assert logged == {
        "method": method,
        "route": route,
        "status": response.status_code,
        "duration_ms": logged["duration_ms"],
        "prediction_id": api.prediction_id if with_id else "-",
        "tenant": tenant,
        "client": "testclient",  # TestClient's address
    }
    assert isinstance(logged["duration_ms"], float)
    line = record.getMessage()
    assert line.startswith(f"{method} {route} {response.status_code} ")
    assert f"tenant={tenant}" in line
    production = json.loads(JsonFormatter("%(message)s").format(record))
    assert set(FIELDS) <= production.keys()
    for secret in (api.alice_key, ADMIN_KEY, PROMPT, SIGNATURE, "sig=", "exp="):
        assert secret not in line
        assert secret not in json.dumps(production)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_logged_only_at_debug(
    api: Api, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="sdq.access")
    api.client.get(path)
    assert not [r for r in caplog.records if r.name == "sdq.access"]
    caplog.set_level(logging.DEBUG, logger="sdq.access")
    api.client.get(path)
    [record] = [r for r in caplog.records if r.name == "sdq.access"]
    assert (record.levelno, record.__dict__["route"]) == (logging.DEBUG, path)
