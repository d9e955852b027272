"""The generation token as Celery's Redis transport LPUSHes it (task protocol 2 in kombu's
envelope), so that the script creating a job can queue its token in the same step."""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid

from sdq.store import redis_keys as keys

GENERATE_TASK = "sdq.generate"
# What Celery puts in a task body's third part (no callbacks, chains or chords).
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def _origin() -> str:
    """Celery's name for a producer that is not a worker: `gen<pid>@<host>`."""
    return f"gen{os.getpid()}@{socket.gethostname()}"


# One per process, as Celery's own `app.thread_oid` is (no reply is ever sent to it).
_REPLY_TO = str(uuid.uuid4())


def _message(task_id: str, body: str, argsrepr: str, origin: str, queue: str, tag: str) -> str:
    """The message, as `json.dumps` writes it; only the arguments vary."""
    return json.dumps(
        {
            "body": body,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": GENERATE_TASK,
                "id": task_id,
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [None, None],
                "root_id": task_id,
                "parent_id": None,
                "argsrepr": argsrepr,
                "kwargsrepr": "{}",
                "origin": origin,
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": task_id,
                "reply_to": _REPLY_TO,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": tag,
            },
        }
    )


def generate_token(job_id: str, model_id: str) -> str:
    """What `sdq.celery_app.send_generate` puts on the model's queue for `job_id`: the same
    message, pinned field by field to Celery's own by tests/integration/test_task_message.py."""
    body = base64.b64encode(json.dumps([[job_id], {}, _EMBED]).encode()).decode()
    task_id, tag = str(uuid.uuid4()), str(uuid.uuid4())
    return _message(task_id, body, repr([job_id]), _origin(), keys.queue(model_id), tag)
