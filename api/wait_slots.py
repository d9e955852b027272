"""Caps on the requests held open on jobs (event streams, `Prefer: wait`, A1111 and OpenAI calls
waiting for images), per tenant and per API process: each blocks a Redis connection, and one
client must not be able to take them all."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from api.errors import TooManyRequests

# A refused caller tries again after this long (slots free as streams and waits end).
RETRY_AFTER_S = 1


def refusal(open_all: int, open_tenant: int, most: int, most_per_tenant: int) -> str | None:
    """Why one more wait is refused, or None when it may be held."""
    if open_tenant >= most_per_tenant:
        return (
            f"this key's tenant already holds {open_tenant} open streams and waits, the most "
            f"allowed (SDQ_MAX_OPEN_WAITS_PER_TENANT); close one or poll instead"
        )
    if open_all >= most:
        return (
            f"this server already holds {open_all} open streams and waits, the most allowed "
            f"(SDQ_MAX_OPEN_WAITS); try again in a moment or poll instead"
        )
    return None


@dataclass
class Slot:
    """One held wait; `release` gives it back (again: nothing)."""

    slots: WaitSlots
    tenant: str
    held: bool = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.give_back(self.tenant)


@dataclass
class WaitSlots:
    """The open waits of this API process, by tenant."""

    most: int
    most_per_tenant: int
    open: Counter[str] = field(default_factory=Counter)

    def try_take(self, tenant: str) -> Slot | None:
        if refusal(self.total, self.open[tenant], self.most, self.most_per_tenant) is not None:
            return None
        self.open[tenant] += 1
        return Slot(self, tenant)

    def take(self, tenant: str) -> Slot:
        """A slot, or 429 (in the dialect's shape) saying which cap is reached."""
        why = refusal(self.total, self.open[tenant], self.most, self.most_per_tenant)
        if why is not None:
            raise TooManyRequests(why, RETRY_AFTER_S)
        self.open[tenant] += 1
        return Slot(self, tenant)

    @contextlib.contextmanager
    def held(self, tenant: str) -> Iterator[Slot]:
        """`take`, given back when the block ends."""
        slot = self.take(tenant)
        try:
            yield slot
        finally:
            slot.release()

    def give_back(self, tenant: str) -> None:
        self.open[tenant] -= 1
        if self.open[tenant] <= 0:
            del self.open[tenant]

    @property
    def total(self) -> int:
        return sum(self.open.values())
