"""The 429 for a submit that would pass the model's or the key's queue limit, with a Retry-After
computed from the queue, the workers and the model's measured predict and cold-start times."""

from __future__ import annotations

from api.errors import TooManyRequests
from api.runtime import ApiRuntime
from sdq.admission import admit
from sdq.store.jobs import Created


async def too_many_requests(
    runtime: ApiRuntime,
    model_id: str,
    refused: Created,
    max_queued: int | None,
    key_max_queued: int | None,
) -> TooManyRequests:
    """The refusal of a submit the store did not admit (nothing was written for it)."""
    state = await runtime.queue_facts.state(runtime.store, model_id, refused.queued)
    refusal = admit(
        state,
        max_queued=max_queued,
        key_queued=refused.tenant_queued,
        key_max_queued=key_max_queued,
        model_id=model_id,
    )
    if refusal is None:  # the queue moved on between the check and this read: the store's word
        detail, retry_after_s = f"the queue of {model_id} is full", 1
    else:
        detail, retry_after_s = refusal.detail, refusal.retry_after_s
    return TooManyRequests(f"{detail}; retry in about {retry_after_s} s", retry_after_s)
