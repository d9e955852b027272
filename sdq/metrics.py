"""The Prometheus metrics of every sdq process, each declared once (name, help, labels, buckets),
and the calls that record them. With PROMETHEUS_MULTIPROC_DIR set before this module is imported
(`sdq up` sets it for every process), values go to files there and the API's `/metrics` adds up
all processes'. Capacity gauges are not recorded here: the API computes them from Redis at each
scrape (`SCRAPED`), so every replica shows the same figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import Counter, Histogram

Kind = Literal["counter", "histogram", "gauge"]

# Seconds-long generations: from a cache hit to a ten-minute job.
JOB_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
COLD_START_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
# HTTP calls: mostly milliseconds; a synchronous generation (A1111, OpenAI) takes seconds.
HTTP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass(frozen=True)
class Spec:
    """One metric of the catalog, as Prometheus shows it."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = field(default=())


CATALOG: list[Spec] = []


def _declare(spec: Spec) -> Spec:
    CATALOG.append(spec)
    return spec


def _counter(spec: Spec) -> Counter:
    return Counter(_declare(spec).name, spec.help, spec.labels)


def _histogram(spec: Spec) -> Histogram:
    return Histogram(_declare(spec).name, spec.help, spec.labels, buckets=spec.buckets)


# HTTP (API)
HTTP_REQUESTS = _counter(
    Spec(
        "sdq_http_requests_total",
        "counter",
        "HTTP requests answered, by route template (`unmatched`: no route), method and "
        "status class",
        ("route", "method", "status_class"),
    )
)
HTTP_DURATION = _histogram(
    Spec(
        "sdq_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to the end of its answer (a stream: its whole length)",
        ("route", "method"),
        HTTP_SECONDS_BUCKETS,
    )
)
AUTH_FAILURES = _counter(
    Spec(
        "sdq_auth_failures_total",
        "counter",
        "Requests refused for their credentials: missing, malformed, unknown (or revoked) key, "
        "or a key without the role (forbidden)",
        ("reason",),
    )
)

# Jobs
JOBS_SUBMITTED = _counter(
    Spec(
        "sdq_jobs_submitted_total",
        "counter",
        "Jobs created, by model and the API dialect they came through (native, a1111, openai)",
        ("model", "dialect"),
    )
)
JOBS_REFUSED = _counter(
    Spec(
        "sdq_jobs_refused_total",
        "counter",
        "Submissions refused before a job was created: max_queued, key_max_queued, unavailable",
        ("model", "reason"),
    )
)
JOBS_FINISHED = _counter(
    Spec(
        "sdq_jobs_finished_total",
        "counter",
        "Jobs that reached a terminal status (succeeded, failed, canceled, aborted)",
        ("model", "status"),
    )
)
JOBS_RECOVERED = _counter(
    Spec(
        "sdq_jobs_recovered_total",
        "counter",
        "Running jobs requeued for another attempt after their worker stopped sending heartbeats",
        ("model",),
    )
)
QUEUE_WAIT = _histogram(
    Spec(
        "sdq_job_queue_wait_seconds",
        "histogram",
        "Time from a job's creation to the start of the attempt that finished it",
        ("model",),
        JOB_SECONDS_BUCKETS,
    )
)
PREDICT = _histogram(
    Spec(
        "sdq_job_predict_seconds",
        "histogram",
        "Time a worker spent generating a job's images",
        ("model",),
        JOB_SECONDS_BUCKETS,
    )
)
END_TO_END = _histogram(
    Spec(
        "sdq_job_end_to_end_seconds",
        "histogram",
        "Time from a job's creation to its terminal status, for jobs a worker finished",
        ("model",),
        JOB_SECONDS_BUCKETS,
    )
)
COLD_START = _histogram(
    Spec(
        "sdq_worker_cold_start_seconds",
        "histogram",
        "Time from a worker process's start to its model being loaded and served",
        ("model",),
        COLD_START_BUCKETS,
    )
)
MODEL_LOAD = _histogram(
    Spec(
        "sdq_worker_model_load_seconds",
        "histogram",
        "Time a worker took to load its model: weights, device, runtime settings (warm-up apart)",
        ("model",),
        COLD_START_BUCKETS,
    )
)
MODEL_WARMUP = _histogram(
    Spec(
        "sdq_worker_warmup_seconds",
        "histogram",
        "Time of a worker's warm-up generation before it reports ready (compilation included)",
        ("model",),
        (0.1, 0.5, *COLD_START_BUCKETS),
    )
)

# Capacity
SCALER_DECISIONS = _counter(
    Spec(
        "sdq_scaler_decisions_total",
        "counter",
        "The scaler's decisions per model and tick: up, down, or hold",
        ("model", "direction"),
    )
)
GPU_BUSY = _counter(
    Spec(
        "sdq_gpu_busy_seconds_total",
        "counter",
        "Seconds workers spent running jobs (busy / held: the share of GPU time that was used)",
        ("model",),
    )
)
GPU_HELD = _counter(
    Spec(
        "sdq_gpu_held_seconds_total",
        "counter",
        "Seconds workers held their loaded model, busy or idle (the GPU time paid for)",
        ("model",),
    )
)

# Webhooks
WEBHOOK_DELIVERIES = _counter(
    Spec(
        "sdq_webhook_deliveries_total",
        "counter",
        "Webhook deliveries after an attempt: delivered, retrying, gave_up, or stopped (nothing "
        "left to send: the prediction expired or finished)",
        ("event", "outcome"),
    )
)
WEBHOOK_ATTEMPTS = _counter(
    Spec(
        "sdq_webhook_attempts_total",
        "counter",
        "Webhook HTTP attempts by the answer's status class, or error (no answer)",
        ("outcome",),
    )
)
WEBHOOK_DELIVERY = _histogram(
    Spec(
        "sdq_webhook_delivery_seconds",
        "histogram",
        "Time from a webhook's event to its successful delivery, retries included",
        (),
        JOB_SECONDS_BUCKETS,
    )
)

# Storage (API)
FILES_SWEPT = _counter(
    Spec(
        "sdq_files_swept_total",
        "counter",
        "Stored files (outputs, starting images) removed because their job record expired",
    )
)

# Computed by the API from Redis at each scrape (the same on every replica).
QUEUED_JOBS = _declare(
    Spec(
        "sdq_queued_jobs",
        "gauge",
        "Queued jobs that can still run (their deadline has not passed)",
        ("model",),
    )
)
IN_FLIGHT_JOBS = _declare(
    Spec("sdq_in_flight_jobs", "gauge", "Jobs running on a live worker", ("model",))
)
WORKERS = _declare(
    Spec(
        "sdq_workers",
        "gauge",
        "Workers by state: busy and idle (live heartbeats), starting (desired but not yet live)",
        ("model", "state"),
    )
)
DESIRED_REPLICAS = _declare(
    Spec(
        "sdq_desired_replicas",
        "gauge",
        "The scaler's latest desired worker count (absent while no scaler runs)",
        ("model",),
    )
)
WEBHOOK_OLDEST_PENDING = _declare(
    Spec(
        "sdq_webhook_oldest_pending_seconds",
        "gauge",
        "How long the most overdue pending webhook delivery has waited past its due time",
    )
)
SCRAPED = (QUEUED_JOBS, IN_FLIGHT_JOBS, WORKERS, DESIRED_REPLICAS, WEBHOOK_OLDEST_PENDING)


def status_class(status: int) -> str:
    """200 -> `2xx`."""
    return f"{status // 100}xx"


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, status_class(status)).inc()
    HTTP_DURATION.labels(route, method).observe(seconds)


def files_swept(count: int) -> None:
    FILES_SWEPT.inc(count)


def auth_failure(reason: str) -> None:
    AUTH_FAILURES.labels(reason).inc()


def job_submitted(model: str, dialect: str) -> None:
    JOBS_SUBMITTED.labels(model, dialect).inc()


def job_refused(model: str, reason: str) -> None:
    JOBS_REFUSED.labels(model, reason).inc()


def job_finished(model: str, status: str, count: int = 1) -> None:
    if count:
        JOBS_FINISHED.labels(model, status).inc(count)


def job_recovered(model: str) -> None:
    JOBS_RECOVERED.labels(model).inc()


def job_timings(model: str, queue_wait_s: float, predict_s: float, end_to_end_s: float) -> None:
    """The three durations of a job a worker finished."""
    QUEUE_WAIT.labels(model).observe(queue_wait_s)
    PREDICT.labels(model).observe(predict_s)
    END_TO_END.labels(model).observe(end_to_end_s)


def cold_start(model: str, seconds: float) -> None:
    COLD_START.labels(model).observe(seconds)


def model_load(model: str, load_s: float, warmup_s: float) -> None:
    MODEL_LOAD.labels(model).observe(load_s)
    MODEL_WARMUP.labels(model).observe(warmup_s)


def gpu_busy(model: str, seconds: float) -> None:
    GPU_BUSY.labels(model).inc(max(0.0, seconds))


def gpu_held(model: str, seconds: float) -> None:
    GPU_HELD.labels(model).inc(max(0.0, seconds))


def scaler_decision(model: str, current: int, desired: int) -> None:
    direction = "up" if desired > current else "down" if desired < current else "hold"
    SCALER_DECISIONS.labels(model, direction).inc()


def webhook_attempt(status_code: int | None) -> None:
    WEBHOOK_ATTEMPTS.labels("error" if status_code is None else status_class(status_code)).inc()


def webhook_delivery(event: str, outcome: str, seconds_since_event: float | None = None) -> None:
    """A delivery's state after an attempt; a delivered one also its time since the event."""
    WEBHOOK_DELIVERIES.labels(event, outcome).inc()
    if seconds_since_event is not None:
        WEBHOOK_DELIVERY.observe(max(0.0, seconds_since_event))
