"""The generation token written into its per-queue template: any job id and model name end up
where `json.dumps` of the whole message would put them (the fields themselves are pinned to
Celery's by tests/integration/test_task_message.py)."""

from __future__ import annotations

import base64
import json

import pytest

from sdq.store import redis_keys as keys
from sdq.task_message import generate_token


@pytest.mark.parametrize(
    ("job_id", "model_id"),
    [
        ("a1b2c3", "sdq/tiny"),
        ('with"quote', "sdq/tiny"),
        ("back\\slash", "owner/name-with.dots"),
        ("<<task_id>>", "sdq/<<tag>>"),
        ("ünïcode\u2028", "sdq/tiny"),
    ],
)
def test_the_token_carries_the_job_id_and_queue_whatever_their_characters(
    job_id: str, model_id: str
) -> None:
    message = json.loads(generate_token(job_id, model_id))
    headers, properties = message["headers"], message["properties"]
    assert headers["argsrepr"] == repr([job_id])
    assert json.loads(base64.b64decode(message["body"]))[0] == [job_id]
    assert properties["delivery_info"]["routing_key"] == keys.queue(model_id)
    assert headers["id"] == headers["root_id"] == properties["correlation_id"]
    assert properties["delivery_tag"] != headers["id"]


def test_each_token_has_its_own_task_id() -> None:
    first, second = (json.loads(generate_token("same", "sdq/tiny")) for _ in range(2))
    assert first["headers"]["id"] != second["headers"]["id"]
