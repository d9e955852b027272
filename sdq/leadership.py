"""One holder at a time for a periodic duty: each round a process takes or renews the duty's
lease and acts only while it holds it; what changed is logged once, not every round."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

from sdq.store.leases import LeaseState, hold_lease, release_lease
from sdq.store.ops import AsyncOpRunner, OpRunner

log = logging.getLogger(__name__)


def holder_name() -> str:
    """This process among all: host, pid and a random part (a restarted pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_length(interval_s: float, floor_s: float = 2.0) -> float:
    """How long a round's lease lasts: three rounds (a slow one does not lose it), at least
    `floor_s`; a holder that dies without giving it up is replaced within it."""
    return max(floor_s, 3 * interval_s)


def change(name: str, was_token: int, now: LeaseState) -> str | None:
    """The line to log when leadership changed this round, None when it did not."""
    if now.held and was_token == 0:
        return f"holding the {name} lease (token {now.token}): this process does the {name}"
    if now.held and now.token != was_token:
        return f"the {name} lease was lost and taken again (token {now.token})"
    if not now.held and was_token != 0:
        return f"lost the {name} lease to {now.holder}: standing by"
    return None


@dataclass
class Leadership:
    """This process's claim on one duty's lease."""

    name: str
    ttl_s: float
    holder: str
    token: int = 0  # the fencing token while this process holds the lease, else 0
    announced: bool = False

    def hold(self, store: OpRunner) -> int:
        """Take or renew the lease: this process's token, or 0 while another holds it."""
        state = store.run(hold_lease(self.name, self.holder, self.ttl_s))
        self.note(state)
        return self.token

    async def hold_async(self, store: AsyncOpRunner) -> int:
        """`hold`, from the API's event loop."""
        self.note(await store.run(hold_lease(self.name, self.holder, self.ttl_s)))
        return self.token

    def note(self, state: LeaseState) -> None:
        """Record a round's outcome (from a sync or an async store) and log what changed."""
        line = change(self.name, self.token, state)
        if line is not None:
            log.info("%s", line)
        elif not state.held and not self.announced:
            log.info("the %s lease is held by %s: standing by", self.name, state.holder)
        self.announced = True
        self.token = state.token

    def release(self, store: OpRunner) -> None:
        if self.token:
            store.run(release_lease(self.name, self.holder))
            self.token = 0

    async def release_async(self, store: AsyncOpRunner) -> None:
        if self.token:
            await store.run(release_lease(self.name, self.holder))
            self.token = 0
