"""Outputs in S3-compatible object storage (AWS S3, MinIO, Alibaba OSS, …) with presigned links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdq.settings import Settings
from sdq.storage import OutputNotFound, is_valid_key


class S3OutputStorage:
    """Objects under `prefix + key` in one bucket; clients download through presigned GET URLs
    that expire after `url_expiry_s`."""

    def __init__(self, client: Any, bucket: str, prefix: str, url_expiry_s: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.url_expiry_s = url_expiry_s

    def _object(self, key: str) -> str:
        if not is_valid_key(key):
            raise OutputNotFound(key)
        return self.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._object(key), Body=data, ContentType=content_type
        )

    def get(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self.client.exceptions.NoSuchKey:
            raise OutputNotFound(key) from None
        data: bytes = reply["Body"].read()
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def local_path(self, key: str) -> Path | None:
        return None

    def url(self, key: str) -> str:
        link: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._object(key)},
            ExpiresIn=self.url_expiry_s,
        )
        return link


def s3_storage(settings: Settings) -> S3OutputStorage:
    import boto3
    from botocore.config import Config

    assert settings.s3_bucket is not None, "settings validation requires a bucket"
    secret = settings.s3_secret_access_key
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            s3={"addressing_style": settings.s3_addressing_style},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
        ),
    )
    return S3OutputStorage(client, settings.s3_bucket, settings.s3_prefix, settings.s3_url_expiry_s)
