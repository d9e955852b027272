"""The Redis key schema: every key sdq writes is named here and nowhere else."""

from __future__ import annotations

PREFIX = "sdq"


def job(job_id: str) -> str:
    """Hash: the job record."""
    return f"{PREFIX}:job:{job_id}"


def job_events(job_id: str) -> str:
    """Stream: the job's append-only events."""
    return f"{PREFIX}:job:{job_id}:events"


def job_webhooks(job_id: str) -> str:
    """Hash: the job's webhook deliveries (delivery id -> JSON record with its attempts)."""
    return f"{PREFIX}:job:{job_id}:webhooks"


def webhooks_due() -> str:
    """Sorted set: `job_id|delivery_id` scored by when the next attempt is due (unix seconds)."""
    return f"{PREFIX}:webhooks:due"


def webhooks_wake() -> str:
    """List: a nudge for the webhook service that something new is due."""
    return f"{PREFIX}:webhooks:wake"


def webhooks_keep() -> str:
    """String: seconds a new guaranteed delivery's record and job are kept (its retry schedule)."""
    return f"{PREFIX}:webhooks:keep_s"


def webhooks_queue() -> str:
    """The Celery queue of webhook delivery attempts (served by CPU-only workers)."""
    return f"{PREFIX}.webhooks"


def jobs_index() -> str:
    """Sorted set: every job id, scored by creation time (microseconds)."""
    return f"{PREFIX}:jobs"


QUEUED_PREFIX = f"{PREFIX}:queued:"


def queued_jobs(model_id: str) -> str:
    """Sorted set: ids of one model's jobs in the queued state, scored by creation time.

    The scaler counts work from here, not from the Celery list: jobs canceled while queued drop
    out at once, and nothing hides in priority sub-lists or a worker's prefetch.
    """
    return f"{QUEUED_PREFIX}{model_id}"


def running_jobs() -> str:
    """Set: ids of jobs in the running state (what the reaper checks)."""
    return f"{PREFIX}:running"


def model_health(model_id: str) -> str:
    """Hash: a model's failed loads in a row (status, cause, error, since, attempts, failed_at);
    absent while its last load succeeded (or none was tried)."""
    return f"{PREFIX}:model:{model_id}:health"


def worker(worker_id: str) -> str:
    """String (JSON) with a TTL: a worker's heartbeat."""
    return f"{PREFIX}:worker:{worker_id}"


def workers_index() -> str:
    """Sorted set: worker ids scored by their last heartbeat (unix seconds)."""
    return f"{PREFIX}:workers"


def scaling_policy(model_id: str) -> str:
    """String (JSON): the model's scaling policy, as operators last set it."""
    return f"{PREFIX}:scaling:policy:{model_id}"


def scaling_policy_changes() -> str:
    """Stream: every policy change (who, when, model, before, after)."""
    return f"{PREFIX}:scaling:policy-changes"


def scaling_desired(model_id: str) -> str:
    """String (JSON, short TTL): the scaler's latest decision for the model (desired, current)."""
    return f"{PREFIX}:scaling:desired:{model_id}"


def a1111_options(tenant: str) -> str:
    """Hash: the AUTOMATIC1111 options a tenant set through `POST /sdapi/v1/options`."""
    return f"{PREFIX}:a1111:options:{tenant}"


def a1111_last_job(tenant: str) -> str:
    """String: a tenant's most recent A1111 job, for `/sdapi/v1/progress` and `/interrupt`."""
    return f"{PREFIX}:a1111:last:{tenant}"


def scaler_wake() -> str:
    """List: a nudge for the scaler that a model's queue went from empty to non-empty."""
    return f"{PREFIX}:scaler:wake"


def scaling_events() -> str:
    """Stream (capped): every change of a model's desired worker count, with its reason."""
    return f"{PREFIX}:scaling:events"


def queue(model_id: str) -> str:
    """The Celery queue (a Redis list) of one model's generation jobs."""
    return f"{PREFIX}.gen.{model_id.replace('/', '.')}"


def api_keys() -> str:
    """Hash: key id -> JSON record of an API key (name, role, created_at, the secret's hash)."""
    return f"{PREFIX}:apikeys"


def api_key_by_hash(secret_hash: str) -> str:
    """String (JSON): the record of the key whose secret hashes to `secret_hash` (the lookup)."""
    return f"{PREFIX}:apikey:{secret_hash}"


def api_keys_last_used() -> str:
    """Hash: key id -> when the key last authenticated a request (unix seconds, ~1 min grain)."""
    return f"{PREFIX}:apikeys:last-used"


def tenant_jobs(tenant: str) -> str:
    """Sorted set: one tenant's job ids, scored by creation time (microseconds)."""
    return f"{PREFIX}:tenant:{tenant}:jobs"


def tenant_webhook_secret(tenant: str) -> str:
    """String: the whsec_ secret a tenant's webhooks are signed with (absent: the global one)."""
    return f"{PREFIX}:tenant:{tenant}:webhook-secret"


def link_secret() -> str:
    """String: the random key of the HMAC that signs `/v1/files` links (unless configured)."""
    return f"{PREFIX}:links:secret"


def idempotency(tenant: str, key_digest: str) -> str:
    """Hash with a TTL: what one tenant's `Idempotency-Key` (by its sha256) made: the job id,
    the hash of the request it came with, and when it was claimed."""
    return f"{PREFIX}:idempotency:{tenant}:{key_digest}"


def deadlines() -> str:
    """Sorted set: ids of queued jobs that have a deadline, scored by it (unix seconds); the
    sweep takes the expired ones from the front, however long the queues are."""
    return f"{PREFIX}:deadlines"


DEADLINES_PREFIX = f"{PREFIX}:deadlines:"


def queued_deadlines(model_id: str) -> str:
    """Sorted set: one model's queued jobs that have a deadline, scored by it (unix seconds);
    what the scaler subtracts from the queued work (expired work can no longer run)."""
    return f"{DEADLINES_PREFIX}{model_id}"


SCHED_PREFIX = f"{PREFIX}:sched:"


def sched_tenants(model_id: str, priority: int) -> str:
    """Sorted set: the tenants with jobs of one model queued at one priority, scored by their
    last service (the model's claim count then): the lowest is served next."""
    return f"{SCHED_PREFIX}{model_id}:tenants:{priority}"


def sched_jobs(model_id: str, priority: int, tenant: str) -> str:
    """Sorted set: one tenant's queued jobs of one model at one priority, scored by creation
    time (seconds): FIFO within the tenant."""
    return f"{SCHED_PREFIX}{model_id}:jobs:{priority}:{tenant}"


def sched_served(model_id: str) -> str:
    """Hash: tenant -> the model's claim count at the tenant's last service."""
    return f"{SCHED_PREFIX}{model_id}:served"


def sched_claims(model_id: str) -> str:
    """String: how many jobs of one model have been claimed (the clock of fair share)."""
    return f"{SCHED_PREFIX}{model_id}:claims"


def queue_moves(model_id: str) -> str:
    """Stream (capped): a note each time one model's queue changes (a job joins or leaves it), for
    the streams that report queue positions."""
    return f"{SCHED_PREFIX}{model_id}:moves"


def model_cold_starts(model_id: str) -> str:
    """List (capped): one model's recent cold starts, newest first: seconds from a worker process
    starting to its model being loaded and ready."""
    return f"{PREFIX}:model:{model_id}:cold-starts"


def sched_count(model_id: str, priority: int) -> str:
    """String: how many of one model's jobs are queued at one priority (for queue positions)."""
    return f"{SCHED_PREFIX}{model_id}:count:{priority}"


def delivery_claim(delivery_id: str) -> str:
    """String with a TTL: the job one delivery (a Celery task id) claimed, so that a retried claim
    call answers with it instead of claiming a second job."""
    return f"{PREFIX}:delivery:{delivery_id}"


def capacity_history(model_id: str) -> str:
    """Stream (the last hour): one model's queued, in-flight, workers and desired count, one
    sample per interval, for the operator console's chart."""
    return f"{PREFIX}:model:{model_id}:history"


def job_files() -> str:
    """Sorted set: job ids whose stored files (outputs, starting image) must go once their job
    record is gone, scored by when to look next (unix seconds)."""
    return f"{PREFIX}:files"


def lease(name: str) -> str:
    """Hash with a TTL: who holds one periodic duty (`scaler`, `recovery`) and its fencing token,
    gone when the holder stops renewing."""
    return f"{PREFIX}:lease:{name}"


def lease_tokens(name: str) -> str:
    """String (a counter, never expires): the last fencing token handed out for a duty."""
    return f"{PREFIX}:lease:{name}:tokens"
