"""How many requests a bench sends and when: closed loop (C clients, each sending its next
request when the last one is answered) or open loop (Poisson arrivals at a rate, answered or
not), until a count or a duration is reached."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

DEFAULT_REQUESTS = 50

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `1.5m`, `1h` or `500ms`; ValueError for anything else."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"duration {text!r}: give seconds, or a number ending in ms, s, m or h")
    seconds = float(match[1]) * _UNIT_S[match[2]]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be more than 0")
    return seconds


@dataclass(frozen=True)
class Plan:
    """What to send: at most `requests` (None: no count), for at most `duration_s` (None: no
    time limit); `rate` per second in an open loop, else `concurrency` clients in a closed loop."""

    requests: int | None
    concurrency: int
    rate: float | None = None
    duration_s: float | None = None
    seed: int = 1

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    def allows(self, sent: int, elapsed_s: float) -> bool:
        """Whether one more request may be sent, `sent` having gone `elapsed_s` into the run."""
        if self.requests is not None and sent >= self.requests:
            return False
        return self.duration_s is None or elapsed_s < self.duration_s

    def arrivals(self) -> Iterator[float]:
        """Open loop: the send times, seconds from the start (exponential gaps from `seed`),
        for as long as `allows` them."""
        assert self.rate is not None
        draw = random.Random(self.seed)
        at, sent = 0.0, 0
        while True:
            at += draw.expovariate(self.rate)
            if not self.allows(sent, at):
                return
            yield at
            sent += 1

    def describe(self) -> str:
        if self.rate is not None:
            how = f"Poisson arrivals at {self.rate:g}/s (open loop)"
        else:
            how = f"{self.concurrency} client{'s' if self.concurrency > 1 else ''} (closed loop)"
        limits = []
        if self.requests is not None:
            limits.append(f"{self.requests} requests")
        if self.duration_s is not None:
            limits.append(f"{self.duration_s:g} s")
        return f"{' or '.join(limits)}, {how}"


def make_plan(
    requests: int | None,
    concurrency: int,
    rate: float | None,
    duration_s: float | None,
    seed: int = 1,
) -> Plan:
    """The plan for these options (no count and no duration: DEFAULT_REQUESTS); ValueError
    naming the option that is out of range."""
    if requests is not None and requests < 1:
        raise ValueError(f"-n must be at least 1 (got {requests})")
    if concurrency < 1:
        raise ValueError(f"-c must be at least 1 (got {concurrency})")
    if rate is not None and rate <= 0:
        raise ValueError(f"--rate must be more than 0 per second (got {rate:g})")
    if requests is None and duration_s is None:
        requests = DEFAULT_REQUESTS
    if rate is None and requests is not None and concurrency > requests:
        raise ValueError(f"-c ({concurrency}) must not exceed -n ({requests})")
    return Plan(requests, concurrency, rate, duration_s, seed)
