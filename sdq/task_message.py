"""The generation token as Celery's Redis transport LPUSHes it (task protocol 2 in kombu's
envelope), so that the script creating a job can queue its token in the same step."""

from __future__ import annotations

import base64
import functools
import json
import os
import re
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


# Stand-ins for what varies per job, in the message written once per queue (`_template`): random
# per process, so no model name holds one; filled in one pass, so no value is filled in again.
_STAND_IN = f"@{uuid.uuid4().hex}:"
_TASK_ID, _BODY, _ARGSREPR, _TAG = (_STAND_IN + part for part in ("id", "body", "args", "tag"))
_STAND_INS = re.compile(re.escape(_STAND_IN) + "[a-z]+")


@functools.lru_cache(maxsize=256)
def _template(origin: str, queue: str) -> str:
    return _message(_TASK_ID, _BODY, _ARGSREPR, origin, queue, _TAG)


def _json_chars(text: str) -> str:
    """`text` as it stands between the quotes of a JSON string."""
    return json.dumps(text)[1:-1]


def generate_token(job_id: str, model_id: str) -> str:
    """What `sdq.celery_app.send_generate` puts on the model's queue for `job_id`: the same
    message, pinned field by field to Celery's own by tests/integration/test_task_message.py.
    Written into a per-queue template: the stand-ins are JSON-safe, and so are the values put
    in their place."""
    values = {
        _TASK_ID: str(uuid.uuid4()),
        _BODY: base64.b64encode(json.dumps([[job_id], {}, _EMBED]).encode()).decode(),
        _ARGSREPR: _json_chars(repr([job_id])),
        _TAG: str(uuid.uuid4()),
    }
    template = _template(_origin(), keys.queue(model_id))
    return _STAND_INS.sub(lambda found: values[found.group()], template)
