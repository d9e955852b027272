"""Outputs in S3-compatible object storage (AWS S3, MinIO, Alibaba OSS, …) with presigned links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdq.settings import Settings
from sdq.storage import OutputNotFound, StorageFull, is_job_folder, is_valid_key

# S3's DeleteObjects takes at most this many keys a call.
DELETE_BATCH = 1000

# What S3-compatible stores answer when they cannot take more: MinIO's full drives (507) and
# bucket quota, a quota elsewhere (Ceph RGW, many providers), and HTTP 507 by any name.
FULL_CODES = frozenset(
    {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded", "InsufficientStorage"}
)
INSUFFICIENT_STORAGE = 507


def full_code(response: Any) -> str | None:
    """The error code of a botocore error `response` that means "no room", else None."""
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in FULL_CODES or status == INSUFFICIENT_STORAGE:
        return code or str(status)
    return None


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
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._object(key), Body=data, ContentType=content_type
            )
        except Exception as error:  # botocore's ClientError carries the store's answer
            code = full_code(getattr(error, "response", None))
            if code is None:
                raise
            raise StorageFull(
                f"the output storage cannot store more (bucket {self.bucket} answered {code}); "
                "free some space in the bucket or raise its quota"
            ) from error

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

    def job_keys(self, job_id: str) -> list[str]:
        if not is_job_folder(job_id):
            raise ValueError(f"invalid job id {job_id!r}")
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}{job_id}/"
        )
        return [
            item["Key"].removeprefix(self.prefix)
            for page in pages
            for item in page.get("Contents", [])
        ]

    def job_written_at(self, job_id: str) -> float | None:
        if not is_job_folder(job_id):
            raise ValueError(f"invalid job id {job_id!r}")
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}{job_id}/"
        )
        times = [
            item["LastModified"].timestamp() for page in pages for item in page.get("Contents", [])
        ]
        return max(times, default=None)

    def delete_job(self, job_id: str) -> int:
        keys = self.job_keys(job_id)
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self.prefix + key} for key in keys[start : start + DELETE_BATCH]]
            reply = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if failed := reply.get("Errors"):  # 200 with per-key refusals (AccessDenied, …)
                first = failed[0]
                raise OSError(
                    f"could not delete {len(failed)} objects of job {job_id}: "
                    f"{first.get('Code')} {first.get('Message')} ({first.get('Key')})"
                )
        return len(keys)

    def job_ids(self, most: int, after: str = "") -> list[str]:
        # Past every key of folder `after/` ("0" follows "/"; an id is [a-z0-9]).
        start = {"StartAfter": f"{self.prefix}{after}0"} if after else {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, Delimiter="/", **start
        )
        found = []
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"].removeprefix(self.prefix).rstrip("/")
                if is_job_folder(name):
                    found.append(name)
                    if len(found) >= most:
                        return found
        return found

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
