"""The secret a delivery is signed with: its tenant's own (read from Redis, held a few seconds),
else the tenant's default derived from the global one."""

from __future__ import annotations

import threading
import time

from sdq.settings import Settings
from sdq.store.ops import OpRunner
from sdq.store.webhook_secrets import tenant_webhook_secret
from sdq.webhook_secret import tenant_default_secret, webhook_secret

__all__ = ["TenantSecrets", "webhook_secret"]

# A tenant's change of secret reaches deliveries within this many seconds.
HOLD_S = 5.0
HOLD_MAX = 10_000


class TenantSecrets:
    """Per-tenant signing secrets for one webhook process (shared by Celery's threads)."""

    def __init__(self, settings: Settings, store: OpRunner, hold_s: float = HOLD_S) -> None:
        self.store = store
        self.hold_s = hold_s
        self.global_secret = webhook_secret(settings)
        self.held: dict[str, tuple[float, str | None]] = {}
        self.lock = threading.Lock()

    def for_tenant(self, tenant: str) -> str:
        now = time.monotonic()
        with self.lock:
            held = self.held.get(tenant)
        if held is None or now - held[0] >= self.hold_s:
            held = (now, self.store.run(tenant_webhook_secret(tenant)))
            with self.lock:
                if len(self.held) >= HOLD_MAX:
                    self.held.clear()
                self.held[tenant] = held
        return held[1] or tenant_default_secret(self.global_secret, tenant)
