"""What a request gets while the API drains, its answer in each dialect, and the drain's wait:
it ends when the calls in flight do, or at the grace, which then tells the waiting ones to answer;
an event stream cut short by the drain closes its source."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator

import pytest

from api.drain_gate import drain_response
from api.draining import Drain, DrainAnswer, answer_while_draining
from api.until_set import until_set

SERVE, RECONNECT, REFUSE = DrainAnswer.SERVE, DrainAnswer.RECONNECT, DrainAnswer.REFUSE


@pytest.mark.parametrize(
    ("method", "path", "answer"),
    [
        ("GET", "/healthz", SERVE),
        ("GET", "/readyz", SERVE),  # its route answers 503 itself
        ("GET", "/metrics", SERVE),
        ("GET", "/v1/predictions/abc/stream", RECONNECT),
        ("HEAD", "/v1/predictions/abc/stream", REFUSE),
        ("POST", "/v1/predictions/abc/stream", REFUSE),
        ("GET", "/v1/predictions/abc", REFUSE),
        ("GET", "/v1/predictions", REFUSE),
        ("POST", "/v1/predictions", REFUSE),
        ("POST", "/v1/models/sdq/tiny/predictions", REFUSE),
        ("POST", "/sdapi/v1/txt2img", REFUSE),
        ("POST", "/v1/images/generations", REFUSE),
        ("GET", "/", REFUSE),
        ("GET", "/healthz/", REFUSE),
    ],
)
def test_answer_while_draining(method: str, path: str, answer: DrainAnswer) -> None:
    assert answer_while_draining(method, path) is answer


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/predictions", {"title", "detail", "status"}),
        ("/sdapi/v1/txt2img", {"error", "detail", "body", "errors"}),
        ("/v1/images/generations", {"error"}),
    ],
)
def test_refusal_is_503_in_the_dialect_with_retry_after_and_close(
    path: str, shape: set[str]
) -> None:
    response = drain_response(REFUSE, path)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["connection"] == "close"
    assert set(json.loads(bytes(response.body))) == shape


def test_a_stream_is_told_to_reconnect_with_200() -> None:
    response = drain_response(RECONNECT, "/v1/predictions/abc/stream")
    assert response.status_code == 200
    assert response.media_type == "text/event-stream"
    assert response.headers["connection"] == "close"
    assert bytes(response.body).startswith(b"retry: 1000\n")


def test_the_drain_ends_when_the_calls_in_flight_do() -> None:
    async def scenario() -> tuple[bool, bool]:
        drain = Drain(grace_s=3600)
        finished = asyncio.Event()

        async def call() -> None:
            with drain.tracking():
                await finished.wait()

        task = asyncio.create_task(call())
        await asyncio.sleep(0)
        running = asyncio.create_task(drain.run())
        await asyncio.sleep(0.01)
        waiting = not running.done() and drain.draining and not drain.over.is_set()
        finished.set()
        await running
        await task
        return waiting, drain.over.is_set()

    assert asyncio.run(scenario()) == (True, True)


def test_the_grace_tells_the_waiting_calls_to_answer() -> None:
    async def scenario() -> tuple[int, bool]:
        drain = Drain(grace_s=0.01)

        async def call() -> None:
            with drain.tracking():
                await drain.over.wait()  # a wait answering at the end of the grace

        task = asyncio.create_task(call())
        await asyncio.sleep(0)
        await drain.run()
        await task
        return drain.in_flight, drain.idle.is_set()

    assert asyncio.run(scenario()) == (0, True)


def test_until_set_stops_a_blocked_source_and_closes_it() -> None:
    async def scenario() -> tuple[list[int], bool]:
        stop = asyncio.Event()
        closed = False

        async def source() -> AsyncGenerator[int, None]:
            nonlocal closed
            try:
                yield 1
                yield 2
                await asyncio.Event().wait()  # blocks for ever, like a read of a quiet stream
                yield 3
            finally:
                closed = True

        got = []
        async for item in until_set(source(), stop):
            got.append(item)
            if item == 2:
                asyncio.get_running_loop().call_later(0.01, stop.set)
        return got, closed

    assert asyncio.run(scenario()) == ([1, 2], True)


def test_until_set_passes_a_source_that_ends() -> None:
    async def scenario() -> list[int]:
        async def source() -> AsyncGenerator[int, None]:
            for item in range(3):
                yield item

        return [item async for item in until_set(source(), asyncio.Event())]

    assert asyncio.run(scenario()) == [0, 1, 2]
