"""uvicorn's server for `sdq api`, draining on the first SIGTERM or SIGINT before it exits."""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType

import uvicorn

from api.draining import Drain

DRAINING_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# After the drain, uvicorn's own shutdown waits this long at most for the last answers to go out
# (the calls still waiting were answered when the grace ended) before it cancels them.
AFTER_DRAIN_S = 10


class DrainingServer(uvicorn.Server):
    """The first SIGTERM or SIGINT runs the app's `Drain`, and the server exits (code 0) when it
    ends; another signal meanwhile ends the grace at once and leaves as uvicorn does."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self.loop: asyncio.AbstractEventLoop | None = None
        self.draining: asyncio.Task[None] | None = None
        self.signalled = False

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler runs between two bytecodes of the loop: it only schedules.
        loop = self.loop
        if loop is None or self.signalled or sig not in DRAINING_SIGNALS:
            if loop is not None:
                loop.call_soon_threadsafe(self.drain.over.set)
            super().handle_exit(sig, frame)
            return
        self.signalled = True
        loop.call_soon_threadsafe(self.start_draining)

    def start_draining(self) -> None:
        self.draining = asyncio.get_running_loop().create_task(self.drain_then_exit())

    async def drain_then_exit(self) -> None:
        await self.drain.run()
        self.should_exit = True
