"""An S3-compatible store that answers it is full: the real boto3 client parses the answer, and
the output storage raises `StorageFull` naming it (the job then fails with that line, unretried).

No S3 server here can be filled up (moto has no quotas), so a loopback endpoint answers every
PUT as a full MinIO does: 507 with `XMinioStorageFull`, or 400 with the bucket-quota code."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from sdq.s3_storage import s3_storage
from sdq.settings import Settings
from sdq.storage import StorageFull, output_key

ANSWERS = {
    "/full/": (507, "XMinioStorageFull", "Storage backend has reached its minimum free drive"),
    "/quota/": (400, "XMinioAdminBucketQuotaExceeded", "Bucket quota exceeded"),
    "/denied/": (403, "AccessDenied", "Access Denied"),
}


class FullStore(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, code, message = next(a for p, a in ANSWERS.items() if self.path.startswith(p))
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message><Resource>{self.path}</Resource></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FullStore)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _settings(endpoint: str, bucket: str) -> Settings:
    return Settings(
        storage="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        s3_addressing_style="path",
        s3_access_key_id="test",
        s3_secret_access_key=SecretStr("test-secret"),
    )


@pytest.mark.parametrize(
    ("bucket", "code"), [("full", "XMinioStorageFull"), ("quota", "XMinioAdminBucketQuotaExceeded")]
)
def test_a_full_bucket_is_storage_full(endpoint: str, bucket: str, code: str) -> None:
    storage = s3_storage(_settings(endpoint, bucket))
    with pytest.raises(StorageFull) as raised:
        storage.put(output_key("abcdefgh12345678", "out-1-0.png"), b"png", "image/png")
    assert str(raised.value) == (
        f"the output storage cannot store more (bucket {bucket} answered {code}); "
        "free some space in the bucket or raise its quota"
    )


def test_other_refusals_keep_their_own_error(endpoint: str) -> None:
    storage = s3_storage(_settings(endpoint, "denied"))
    with pytest.raises(Exception, match="AccessDenied") as raised:
        storage.put(output_key("abcdefgh12345678", "out-1-0.png"), b"png", "image/png")
    assert not isinstance(raised.value, StorageFull)
