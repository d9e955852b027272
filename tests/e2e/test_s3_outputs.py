"""Outputs in S3-compatible storage: a local S3 endpoint on loopback (moto's server: no real S3
can run here), a real API and worker writing to it, presigned links in every dialect."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.s3_storage import S3OutputStorage
from sdq.storage import OutputNotFound
from tests.file_links import signed_file_path
from tests.helpers import Stack, started_stack

BUCKET = "sdq-outputs"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS).create_bucket(
        Bucket=BUCKET
    )
    yield url
    server.stop()


@pytest.fixture(scope="module")
def s3_stack(
    redis_server: EmbeddedRedis,
    tiny_model_dir: Path,
    s3_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    s3 = {
        "SDQ_STORAGE": "s3",
        "SDQ_S3_BUCKET": BUCKET,
        "SDQ_S3_ENDPOINT_URL": s3_url,
        "SDQ_S3_REGION": "us-east-1",
        "SDQ_S3_ACCESS_KEY_ID": "test",
        "SDQ_S3_SECRET_ACCESS_KEY": "test",
        "SDQ_S3_ADDRESSING_STYLE": "path",
        "SDQ_S3_URL_EXPIRY_S": "600",
    }
    data_dir = tiny_model_dir.parent.parent
    logs = tmp_path_factory.mktemp("s3-logs")
    with started_stack(redis_server.url, data_dir, logs, **s3) as running:
        yield running


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_outputs_go_to_the_bucket_and_predictions_link_presigned_urls(
    s3_stack: Stack, s3_url: str
) -> None:
    body = {"model": "sdq/tiny", "input": {"prompt": "x", "width": 64, "height": 64}}
    with s3_stack.http() as client:
        done = client.post("/v1/predictions", json=body, headers={"Prefer": "wait"}).json()
        assert done["status"] == "succeeded", done
        [link] = done["output"]
        parts = urlsplit(link)
        assert link.startswith(f"{s3_url}/{BUCKET}/outputs/{done['id']}/out-1-0.png?")
        assert parse_qs(parts.query)["X-Amz-Expires"] == ["600"]
        assert png_size(httpx.get(link).content) == (64, 64)
        assert client.get(f"/v1/predictions/{done['id']}").json()["output"][0].startswith(s3_url)
        assert not (s3_stack.data_dir / "outputs" / done["id"]).exists(), "nothing written locally"
        files_link = signed_file_path(s3_stack.redis_url, f"{done['id']}/out-1-0.png")
        files = client.get(files_link, follow_redirects=False)
        assert files.status_code == 307 and files.headers["location"].startswith(s3_url)
        assert png_size(client.get(files_link, follow_redirects=True).content) == (64, 64)
        assert client.get(f"/v1/files/{done['id']}/out-1-0.png").status_code == 403


def test_openai_url_format_is_presigned_too(s3_stack: Stack, s3_url: str) -> None:
    with s3_stack.http() as client:
        body = {"prompt": "x", "size": "64x64", "quality": "low"}
        answer = client.post("/v1/images/generations", json=body).json()
        [item] = answer["data"]
        assert item["url"].startswith(f"{s3_url}/{BUCKET}/")
        assert png_size(httpx.get(item["url"]).content) == (64, 64)


def test_storage_round_trip_and_missing_keys(s3_url: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **CREDENTIALS)
    storage = S3OutputStorage(client, BUCKET, "unit/", url_expiry_s=60)
    key = "abcdefgh12/out-1-0.png"
    storage.put(key, b"png bytes", "image/png")
    assert storage.get(key) == b"png bytes"
    head = client.head_object(Bucket=BUCKET, Key=f"unit/{key}")
    assert head["ContentType"] == "image/png"
    assert storage.local_path(key) is None
    storage.delete(key)
    with pytest.raises(OutputNotFound):
        storage.get(key)
    with pytest.raises(OutputNotFound):
        storage.get("../escape")
