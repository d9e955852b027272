"""Draining on SIGTERM: the drain's state, and what a request gets meanwhile (a pure decision).

A drain begins when the process is told to stop. From then on new calls are refused (503,
`Retry-After`, `Connection: close`: the client tries again, on another replica), open event
streams end with a `retry:` so clients resume them with `Last-Event-ID` elsewhere, and calls
already waiting on a job (`Prefer: wait`, A1111, OpenAI) may finish for up to the grace
(SDQ_SHUTDOWN_GRACE_S). When none is left, or the grace is over (the waiting calls are then
answered at once), the drain ends and the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# A refused caller tries again after this long: by then the Service routes it to another replica.
RETRY_AFTER_S = 1
# An event stream told to reconnect does so after this long (the SSE `retry:` field, in ms).
RECONNECT_MS = 1000
# Answered as usual while draining: the probes (/readyz itself says 503) and the metrics.
SERVED = frozenset({"/healthz", "/readyz", "/metrics"})
REFUSAL = "this server is shutting down; try again (another replica answers)"
FAREWELL = "this server is shutting down: reconnect with Last-Event-ID"


class DrainAnswer(enum.Enum):
    """What a request arriving during the drain gets."""

    SERVE = "serve"  # as at any time
    RECONNECT = "reconnect"  # an event stream: 200 with only `retry:`, then the end
    REFUSE = "refuse"  # 503 in the dialect's shape, Retry-After, Connection: close


def is_stream(method: str, path: str) -> bool:
    return method == "GET" and path.startswith("/v1/predictions/") and path.endswith("/stream")


def answer_while_draining(method: str, path: str) -> DrainAnswer:
    """A stream is told to reconnect rather than refused: EventSource gives up for good on any
    status but 200, and reconnects (with Last-Event-ID) after a 200 stream that ends."""
    if path in SERVED:
        return DrainAnswer.SERVE
    if is_stream(method, path):
        return DrainAnswer.RECONNECT
    return DrainAnswer.REFUSE


@dataclass
class Drain:
    """This API process's drain: `begun` (new calls refused, streams end), then `over` (the calls
    still waiting are answered now). `tracking` counts the calls in flight."""

    grace_s: float
    begun: asyncio.Event = field(default_factory=asyncio.Event)
    over: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def draining(self) -> bool:
        return self.begun.is_set()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """One call in flight for the length of the block."""
        self.in_flight += 1
        self.idle.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()

    async def run(self) -> None:
        """Begin the drain; return once no call is in flight, or the grace is over (then the
        calls still waiting are told to answer, and this returns at once)."""
        self.begun.set()
        log.info(
            "draining: new calls get 503, streams are told to reconnect; %d call(s) in flight "
            "may finish for up to %s s (SDQ_SHUTDOWN_GRACE_S)",
            self.in_flight,
            self.grace_s,
        )
        try:
            await asyncio.wait_for(self.idle.wait(), self.grace_s)
        except TimeoutError:
            log.warning(
                "shutdown grace of %s s is over: answering the %d call(s) still waiting",
                self.grace_s,
                self.in_flight,
            )
        else:
            log.info("drained: no call in flight")
        self.over.set()
