"""`sdq up` for a benchmark: a temporary data folder, the embedded Redis, the API open on loopback
(no key; the children take their settings from the environment) and no worker."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from cli.client import SdqClient
from cli.embedded_redis import free_port
from cli.stack import StackInfo, running_stack
from cli.supervisor import Supervisor
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, load_settings

NO_WORKERS = ModelSpec(id="sdq/tiny", scaling=ScalingPolicy(min_replicas=0, max_replicas=0))


@contextlib.contextmanager
def bare_stack(**settings: Any) -> Iterator[tuple[StackInfo, Supervisor]]:
    """The stack, once its API answers /readyz; `settings` override the defaults above."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ):
        for name in ("SDQ_ADMIN_KEY", "SDQ_AUTH", "SDQ_REDIS_URL", "SDQ_MODELS"):
            os.environ.pop(name, None)
        defaults = {"port": free_port(), "models": [NO_WORKERS], "redis_url": None}
        with running_stack(load_settings(data_dir=Path(tmp), **defaults | settings)) as running:
            SdqClient(running[0].url).wait_ready(timeout_s=120)
            yield running
