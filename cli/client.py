"""A small HTTP client for sdq's API (used by `sdq submit`, `sdq keys` and `sdq demo`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from sdq.job import TERMINAL_STATUSES

TERMINAL = {status.value for status in TERMINAL_STATUSES}


class BearerToOwnServer(httpx.Auth):
    """`Authorization: Bearer KEY` on requests to sdq's own address only: output links may be
    presigned S3 URLs, which refuse a second credential (and must never see the key)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.origin = httpx.URL(base_url)
        self.api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        if (url.scheme, url.host, url.port) == (
            self.origin.scheme,
            self.origin.host,
            self.origin.port,
        ):
            request.headers["Authorization"] = f"Bearer {self.api_key}"
        yield request


# Refusals a stream retries after their Retry-After: a replica away or draining, or the open
# streams cap while the server has not yet seen the cut stream go.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
SHORTEST_DELAY_S = 0.5


class StreamResume:
    """Where a cut event stream resumes (its last event id) and when (the server's `retry:`,
    or a 503's `Retry-After`), and when to give up (attempts failing for too long)."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.delay_s = 1.0
        self.failing_since: float | None = None

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": self.last_id} if self.last_id else {}

    def seen(self, event_id: str | None, retry_ms: int | None, has_data: bool) -> None:
        """An event arrived; only one with an id or data counts as the stream going on (a
        draining server's parting `retry:` does not)."""
        if event_id or has_data:
            self.failing_since = None
        if event_id:
            self.last_id = event_id
        if retry_ms is not None:
            self.delay_s = max(SHORTEST_DELAY_S, retry_ms / 1000)

    def retry_after(self, header: str | None) -> None:
        if header and header.isdigit():
            self.delay_s = max(SHORTEST_DELAY_S, float(header))

    def next_delay(self, now: float, give_up_after_s: float) -> float:
        """Seconds to wait before the next attempt; TimeoutError once attempts have failed for
        longer than `give_up_after_s`."""
        if self.failing_since is None:
            self.failing_since = now
        elif now - self.failing_since > give_up_after_s:
            raise TimeoutError(f"the event stream could not be resumed for {give_up_after_s} s")
        return self.delay_s


class SdqClient:
    def __init__(self, base_url: str, timeout_s: float = 90.0, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        auth = BearerToOwnServer(self.base_url, api_key) if api_key else None
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s, auth=auth)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One JSON request to the API; its decoded answer, or ApiProblem when it is refused."""
        response = self.http.request(method, path, json=body)
        _raise_for_problem(response)
        return response.json()

    def create(
        self, model: str, inputs: dict[str, Any], wait_s: int | None = None
    ) -> dict[str, Any]:
        headers = {"Prefer": f"wait={wait_s}"} if wait_s else {}
        response = self.http.post(
            "/v1/predictions", json={"model": model, "input": inputs}, headers=headers
        )
        _raise_for_problem(response)
        result: dict[str, Any] = response.json()
        return result

    def get(self, prediction_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/predictions/{prediction_id}")
        _raise_for_problem(response)
        result: dict[str, Any] = response.json()
        return result

    def wait(
        self,
        prediction: dict[str, Any],
        on_update: Callable[[dict[str, Any]], None] | None = None,
        interval_s: float = 0.25,
        timeout_s: float = 3600,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while prediction["status"] not in TERMINAL:
            if time.monotonic() > deadline:
                raise TimeoutError(f"prediction {prediction['id']} did not finish in {timeout_s} s")
            time.sleep(interval_s)
            prediction = self.get(prediction["id"])
            if on_update:
                on_update(prediction)
        return prediction

    def stream(
        self, prediction: dict[str, Any], reconnect_for_s: float = 60.0
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The prediction's server-sent events as (type, data), until `completed`. A stream cut
        short (an API replica shutting down, a dropped connection, a 503) is resumed from its
        last event with `Last-Event-ID`, after the server's `retry:` or `Retry-After`, for as
        long as attempts keep failing for less than `reconnect_for_s`."""
        resume = StreamResume()
        while True:
            try:
                with connect_sse(
                    self.http, "GET", prediction["urls"]["stream"], headers=resume.headers()
                ) as source:
                    response = source.response
                    if response.status_code in RETRIED_STATUSES:
                        resume.retry_after(response.headers.get("Retry-After"))
                    else:
                        if not response.is_success:
                            response.read()
                            _raise_for_problem(response)
                        for event in source.iter_sse():
                            resume.seen(event.id, event.retry, bool(event.data))
                            if not event.data:  # httpx-sse surfaces keep-alives as empty events
                                continue
                            yield event.event, json.loads(event.data)
                            if event.event == "completed":
                                return
            except httpx.TransportError:
                pass
            time.sleep(resume.next_delay(time.monotonic(), reconnect_for_s))

    def download(self, url: str, path: Path) -> Path:
        response = self.http.get(url)
        _raise_for_problem(response)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(response.content)
        return path

    def wait_ready(
        self, timeout_s: float = 60.0, expect_pid: Callable[[], int | None] | None = None
    ) -> None:
        """Until /readyz answers 200 — from the process `expect_pid` names, when given, so that
        another server on the same address is not taken for ours."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                response = self.http.get("/readyz", timeout=2)
                ours = expect_pid is None or response.json().get("pid") == expect_pid()
                if response.status_code == 200 and ours:
                    return
            except (httpx.TransportError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.base_url} was not ready within {timeout_s} s")
            time.sleep(0.1)

    def models(self) -> list[dict[str, Any]]:
        response = self.http.get("/v1/models")
        _raise_for_problem(response)
        results: list[dict[str, Any]] = response.json()["results"]
        return results


class ApiProblem(Exception):
    """sdq refused a request: the HTTP status and the problem body (its `detail` names the
    fields and limits)."""

    def __init__(self, status: int, body: Any) -> None:
        detail = (body.get("detail") or body.get("title")) if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {detail or str(body).strip() or 'no detail'}")
        self.status = status
        self.body = body

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return cls(response.status_code, body)


def _raise_for_problem(response: httpx.Response) -> None:
    if not response.is_success:
        raise ApiProblem.of(response)
