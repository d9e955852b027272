"""The bench's I/O: sends the requests as the plan says, follows native predictions when asked,
samples the model's workers every second, then reads the finished predictions' timings. Talks
only to the origin of the URL it is given."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from cli.loadgen.answers import TERMINAL, Answer, metrics_of, native_answer, read_answer
from cli.loadgen.bodies import named_model
from cli.loadgen.headers import read_headers
from cli.loadgen.outcome import SAMPLE_EVERY_S, Outcome, Sample
from cli.loadgen.plan import Plan
from cli.loadgen.targets import Dialect, Target

POLL_EVERY_S = 0.5  # a prediction whose event stream broke off is polled to its end
READS_AT_ONCE = 8  # the predictions read after the run, at a time
READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Bench:
    """One bench run: where, what (the body and headers of each create), how many and when,
    whether native predictions are followed to their end, and each request's time limit."""

    target: Target
    body: bytes
    headers: dict[str, str]
    plan: Plan
    follow: bool
    timeout_s: float


@dataclass
class Live:
    """The run so far, for the progress display."""

    elapsed_s: float = 0.0
    sent: int = 0
    done: int = 0
    failed: int = 0  # errors and non-2xx answers
    workers: int | None = None


@dataclass
class Ran:
    """What a run gives the summary: the outcomes, its length, the workers timeline and why it
    may be empty, and the model it sampled."""

    outcomes: list[Outcome]
    total_s: float
    timeline: list[Sample] = field(default_factory=list)
    model: str | None = None
    no_workers: str | None = None
    interrupted: bool = False  # Ctrl-C: requests in flight then are not among the outcomes


def _problem(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return "timeout"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def _json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers, timeout=READ_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


async def served_models(base_url: str, headers: dict[str, str]) -> list[str]:
    """The ids `GET /v1/models` lists, the default first (empty: none, or no sdq there)."""
    async with httpx.AsyncClient() as client:
        try:
            page = await _json(client, f"{base_url}/v1/models", read_headers(headers))
            return [str(model["id"]) for model in page["results"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return []


async def sampled_model(client: httpx.AsyncClient, bench: Bench) -> tuple[str | None, str]:
    """The model whose workers to sample: the one the path or body names if sdq serves it; else
    the one the server falls back to (A1111: the caller's `sd_model_checkpoint` option; OpenAI:
    the first served). (None, why) when there is none to sample."""
    target, headers = bench.target, read_headers(bench.headers)
    try:
        page = await _json(client, f"{target.base_url}/v1/models", headers)
        served = [str(model["id"]) for model in page["results"]]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        return None, f"GET /v1/models: {_problem(error)}"
    named = named_model(target, bench.body)
    if named in served:
        return named, ""
    if target.dialect is Dialect.NATIVE:
        return None, "the body names no model this server lists"
    if target.dialect is Dialect.A1111 and named is None:
        try:
            options = await _json(client, f"{target.base_url}/sdapi/v1/options", headers)
            checkpoint = str(options["sd_model_checkpoint"]).split(" [", 1)[0]
            if checkpoint in served:
                return checkpoint, ""
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass
    return (served[0], "") if served else (None, "the server lists no model")


class Sampler:
    """The model's live workers every SAMPLE_EVERY_S from `GET /v1/models/{id}` (`workers`)."""

    def __init__(self, client: httpx.AsyncClient, bench: Bench, model: str, live: Live) -> None:
        self.client, self.live = client, live
        self.url = f"{bench.target.base_url}/v1/models/{model}"
        self.headers = read_headers(bench.headers)
        self.timeline: list[Sample] = []

    async def sample(self, at_s: float) -> None:
        try:
            workers = int((await _json(self.client, self.url, self.headers))["workers"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return  # a sample missed; the next one may be read
        self.timeline.append((at_s, workers))
        self.live.workers = workers

    async def run(self, clock: Callable[[], float], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
            except TimeoutError:
                await self.sample(clock())
        await self.sample(clock())


class Runner:
    def __init__(self, bench: Bench, on_change: Callable[[Live], None]) -> None:
        self.bench = bench
        self.on_change = on_change
        self.live = Live()
        self.outcomes: list[Outcome] = []
        self.started = time.perf_counter()
        self.ran: Ran | None = None

    def clock(self) -> float:
        return time.perf_counter() - self.started

    async def follow(self, client: httpx.AsyncClient, prediction_id: str) -> dict[str, Any]:
        """The finished prediction: its event stream's `completed` event, or polled when the
        stream breaks off."""
        base = f"{self.bench.target.base_url}/v1/predictions/{prediction_id}"
        headers = read_headers(self.bench.headers)
        try:
            async with aconnect_sse(client, "GET", f"{base}/stream", headers=headers) as source:
                if source.response.is_success:
                    async for event in source.aiter_sse():
                        if event.event == "completed" and event.data:
                            final: dict[str, Any] = json.loads(event.data)
                            return final
        except (httpx.HTTPError, ValueError):
            pass
        while True:
            try:
                prediction: dict[str, Any] = await _json(client, base, headers)
                if prediction.get("status") in TERMINAL:
                    return prediction
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(POLL_EVERY_S)

    async def send(self, client: httpx.AsyncClient) -> None:
        bench = self.bench
        sent_s = self.clock()
        self.live.sent += 1
        status: int | None = None
        answer = Answer()
        error: str | None = None
        try:
            async with asyncio.timeout(bench.timeout_s):
                response = await client.post(
                    bench.target.url, content=bench.body, headers=bench.headers
                )
                status = response.status_code
                if response.is_success:
                    try:
                        answer = read_answer(bench.target.dialect, response.json())
                    except ValueError:
                        answer = Answer()
                if bench.follow and answer.finished is False and answer.prediction_id:
                    answer = native_answer(await self.follow(client, answer.prediction_id))
        except (httpx.HTTPError, TimeoutError) as problem:
            error = _problem(problem)
        outcome = Outcome(
            sent_s=sent_s,
            latency_s=self.clock() - sent_s,
            status=status,
            error=error,
            prediction_id=answer.prediction_id,
            finished=answer.finished,
        ).with_metrics(answer.metrics)
        self.outcomes.append(outcome)
        self.live.done += 1
        if error is not None or status is None or not 200 <= status < 300:
            self.live.failed += 1
        self.tick()

    def tick(self) -> None:
        self.live.elapsed_s = self.clock()
        self.on_change(self.live)

    async def closed_loop(self, client: httpx.AsyncClient) -> None:
        async def one_client() -> None:
            while self.bench.plan.allows(self.live.sent, self.clock()):
                await self.send(client)

        await asyncio.gather(*(one_client() for _ in range(self.bench.plan.concurrency)))

    async def open_loop(self, client: httpx.AsyncClient) -> None:
        sending: set[asyncio.Task[None]] = set()
        try:
            for at_s in self.bench.plan.arrivals():
                if (delay := at_s - self.clock()) > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self.send(client))
                sending.add(task)
                task.add_done_callback(sending.discard)
            await asyncio.gather(*sending)
        except asyncio.CancelledError:  # Ctrl-C: the requests in flight are dropped
            for task in list(sending):
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise

    async def read_timings(self, client: httpx.AsyncClient) -> None:
        """The queue wait and predict time of finished predictions whose answer lacked them
        (A1111's and OpenAI's), read once the load is over so as not to add to it."""
        headers = read_headers(self.bench.headers)
        base = f"{self.bench.target.base_url}/v1/predictions"
        gate = asyncio.Semaphore(READS_AT_ONCE)

        async def read(outcome: Outcome) -> Outcome:
            if outcome.has_split or not outcome.finished or outcome.prediction_id is None:
                return outcome
            async with gate:
                try:
                    prediction = await _json(client, f"{base}/{outcome.prediction_id}", headers)
                except (httpx.HTTPError, ValueError):
                    return outcome
            return outcome.with_metrics(metrics_of(prediction))

        self.outcomes = list(await asyncio.gather(*(read(o) for o in self.outcomes)))

    async def run(self) -> Ran:
        bench = self.bench
        in_flight = None if bench.plan.open_loop else bench.plan.concurrency
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        timeout = httpx.Timeout(bench.timeout_s)
        async with (
            httpx.AsyncClient(limits=limits, timeout=timeout) as client,
            httpx.AsyncClient() as watcher,
        ):
            model, no_workers = await sampled_model(watcher, bench)
            sampler = Sampler(watcher, bench, model, self.live) if model else None
            self.started = time.perf_counter()
            stop = asyncio.Event()
            if sampler is not None:
                await sampler.sample(0.0)
            sampling = asyncio.create_task(sampler.run(self.clock, stop)) if sampler else None
            ticking = asyncio.create_task(self.ticks(stop))
            interrupted = False
            try:
                if bench.plan.open_loop:
                    await self.open_loop(client)
                else:
                    await self.closed_loop(client)
            except asyncio.CancelledError:  # Ctrl-C: stop sending, summarize what came back
                interrupted = True
            total_s = self.clock()
            stop.set()
            await asyncio.gather(ticking, *([sampling] if sampling else []))
            await self.read_timings(client)
        self.outcomes.sort(key=lambda o: o.sent_s)
        timeline = sampler.timeline if sampler else []
        if sampler is not None and not timeline:
            no_workers = f"GET /v1/models/{model} answered no worker count"
        self.ran = Ran(self.outcomes, total_s, timeline, model, no_workers or None, interrupted)
        return self.ran

    async def ticks(self, stop: asyncio.Event) -> None:
        """The display's clock, twice a second, for a duration bar and quiet stretches."""
        while not stop.is_set():
            self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


def run(bench: Bench, on_change: Callable[[Live], None]) -> Ran:
    """Run `bench`, calling `on_change` as it goes; the outcomes and the workers timeline. A
    first Ctrl-C ends the run early with what was answered so far; a second one stops at once."""
    runner = Runner(bench, on_change)
    try:
        return asyncio.run(runner.run())
    except KeyboardInterrupt:
        if runner.ran is None:
            raise
        return runner.ran
