"""The submit benchmark's reference: a bare FastAPI endpoint at sdq's submit path that checks
the body and does one async Redis write (BARE_REDIS_URL), run by uvicorn like sdq's API."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from pydantic import BaseModel

TTL_S = 3600

app = FastAPI()
store = aioredis.Redis.from_url(os.environ.get("BARE_REDIS_URL", "redis://127.0.0.1:6379/0"))


class Body(BaseModel):
    input: dict[str, Any]


@app.post("/v1/models/{owner}/{name}/predictions", status_code=201)
async def create(owner: str, name: str, body: Body) -> dict[str, Any]:
    job_id = uuid.uuid4().hex
    await store.set(f"bare:{job_id}", json.dumps(body.input), ex=TTL_S)
    return {"id": job_id, "model": f"{owner}/{name}", "input": body.input, "status": "starting"}
