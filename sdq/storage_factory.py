"""The output storage the settings choose: a local folder (default) or S3-compatible storage."""

from __future__ import annotations

from sdq.settings import Settings
from sdq.storage import LocalOutputStorage, OutputStorage


def make_storage(settings: Settings) -> OutputStorage:
    if settings.storage == "s3":
        from sdq.s3_storage import s3_storage  # boto3 only where it is used

        return s3_storage(settings)
    return LocalOutputStorage(settings.outputs_dir)
