"""The one settings object of every sdq process: `SDQ_`-prefixed, validated at start-up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sdq.adapters import NAME as ADAPTER_NAME
from sdq.adapters import hub_file
from sdq.api_keys import KEY_ALPHABET
from sdq.families import Family, FamilyTraits, traits
from sdq.model_runtime import ModelRuntime
from sdq.redis_connect import parse_sentinel_url
from sdq.scaling_policy import ScalingPolicy
from sdq.schedulers import find_scheduler

TINY_MODEL_ID = "sdq/tiny"
ADMIN_KEY_MIN_CHARS = 32
ADMIN_KEY_MAX_CHARS = 256
LINK_SECRET_MIN_CHARS = 32
SYNTHETIC_MODEL_ID = "sdq/synthetic"

ModelKind = Literal["diffusers", "synthetic"]


class ModelDefaults(BaseModel):
    """What a request that leaves a field out gets for this model; unset: its family's."""

    model_config = {"extra": "forbid"}

    width: int | None = Field(default=None, ge=8, description="Default width")
    height: int | None = Field(default=None, ge=8, description="Default height")
    num_inference_steps: int | None = Field(default=None, ge=1, le=150, description="Steps")
    guidance_scale: float | None = Field(default=None, ge=0, le=30, description="Guidance")
    scheduler: str | None = Field(default=None, description="Sampler name")


class ModelSpec(BaseModel):
    """One served model: its public id, where its weights come from, and its size bounds."""

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Public id OWNER/NAME, as clients name the model",
    )
    source: str | None = Field(
        default=None,
        description="A Hugging Face id or a local folder; defaults to the id itself.",
    )
    kind: ModelKind = Field(
        default="diffusers",
        description="`synthetic`: a load-test stand-in that sleeps per step and draws nothing "
        "(implied by the id sdq/synthetic)",
    )
    min_size: int = Field(default=64, ge=8, description="Smallest width or height accepted")
    max_size: int = Field(default=2048, ge=8, description="Largest width or height accepted")
    scaling: ScalingPolicy = Field(
        default_factory=ScalingPolicy,
        description="Seeds the live policy (changed via the admin API)",
    )
    runtime: ModelRuntime = Field(
        default_factory=ModelRuntime,
        description="How workers run it: precision, attention, compilation, VAE tiling, "
        "offload, warm-up",
    )
    lora_dir: Path | None = Field(
        default=None,
        description="Its LoRA adapters, one NAME.safetensors each; default: "
        "SDQ_LORA_DIR/OWNER/NAME",
    )
    hub_loras: dict[str, str] = Field(
        default_factory=dict,
        description="LoRA adapters from the Hugging Face Hub, NAME: OWNER/REPO or "
        "OWNER/REPO/FILE.safetensors (default file pytorch_lora_weights.safetensors); workers "
        "download each on first use into the Hub cache; a file of the same name in lora_dir wins",
    )
    family: Family | None = Field(
        default=None,
        description="sd15, sdxl, sd3 or flux: its defaults (size, steps, guidance, sampler) and "
        "rules (samplers, size multiple, negative prompt); workers refuse a checkpoint of another. "
        "Unset: SD 1.x's defaults and rules, whatever the checkpoint (as before families)",
    )
    defaults: ModelDefaults = Field(
        default_factory=ModelDefaults,
        description="Its own defaults over the family's: width, height, num_inference_steps, "
        "guidance_scale, scheduler",
    )

    @property
    def rules(self) -> FamilyTraits:
        """Its family's defaults and rules (SD 1.x's when its family is not said)."""
        return traits(self.family or "sd15")

    def input_defaults(self) -> dict[str, Any]:
        """What a request that leaves a field out gets: the model's defaults over its family's."""
        family = self.rules
        own = self.defaults.model_dump(exclude_none=True)
        # The family's size within the model's bounds (a small max_size lowers it), of the
        # family's multiple (rounded up when rounding down would fall below min_size).
        size = min(max(family.size, self.min_size), self.max_size)
        size -= size % family.size_multiple
        if size < self.min_size:
            size += family.size_multiple
        return {
            "width": size,
            "height": size,
            "num_inference_steps": family.steps,
            "guidance_scale": family.guidance,
            "scheduler": family.scheduler,
        } | own

    @model_validator(mode="after")
    def _bounds_ordered(self) -> ModelSpec:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} exceeds max_size {self.max_size}")
        return self

    @field_validator("hub_loras")
    @classmethod
    def _hub_loras_named(cls, value: dict[str, str]) -> dict[str, str]:
        for name, reference in value.items():
            if not ADAPTER_NAME.fullmatch(name):
                raise ValueError(f"hub_loras: {name!r} is not an adapter name")
            hub_file(reference)  # raises naming what is wrong
        return value

    @model_validator(mode="after")
    def _defaults_fit(self) -> ModelSpec:
        """Its defaults are requests it would accept (a default it refuses helps nobody): sizes
        within its bounds and of its family's multiple, a sampler its family takes (any of the
        sampler's names, kept as its own) with at least the steps that sampler needs."""
        family, defaults = self.rules, self.input_defaults()
        for side in ("width", "height"):
            value = defaults[side]
            if not self.min_size <= value <= self.max_size or value % family.size_multiple:
                bounds = (
                    f"within min_size {self.min_size} and max_size {self.max_size}, a multiple "
                    f"of {family.size_multiple} ({family.name})"
                )
                if getattr(self.defaults, side) is None:
                    raise ValueError(f"no {side} is {bounds}")
                raise ValueError(f"default {side} {value} must be {bounds}")
        choice = find_scheduler(defaults["scheduler"])
        if choice is None or choice.name not in family.schedulers:
            raise ValueError(
                f"default scheduler {defaults['scheduler']!r} is not one {family.name} takes: "
                + ", ".join(family.schedulers)
            )
        if self.defaults.scheduler is not None:
            self.defaults.scheduler = choice.name
        steps = defaults["num_inference_steps"]
        if steps < choice.min_steps:
            raise ValueError(
                f"default num_inference_steps {steps} is below the {choice.min_steps} steps "
                f"scheduler {choice.name} needs"
            )
        return self

    @model_validator(mode="after")
    def _synthetic_by_id(self) -> ModelSpec:
        if self.id == SYNTHETIC_MODEL_ID:
            self.kind = "synthetic"
        return self

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse the CLI shorthand `ID` or `ID=SOURCE`, or one spec as a JSON object (`{"id": …,
        "family": "flux", …}`: every field)."""
        if text.lstrip().startswith("{"):
            return cls.model_validate_json(text)
        model_id, _, source = text.partition("=")
        return cls(id=model_id.strip(), source=source.strip() or None)

    @property
    def owner(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]


class Settings(BaseSettings):
    """Every tunable of sdq; read once per process from the environment (`SDQ_*`)."""

    model_config = SettingsConfigDict(env_prefix="SDQ_", extra="ignore", validate_default=True)

    redis_url: str | None = Field(
        default=None,
        description="redis://, rediss:// (TLS) or redis+sentinel://…/MASTER[/DB]; "
        "unset means `sdq up` starts an embedded one.",
    )
    data_dir: Path = Field(
        default=Path(".sdq"), description="Embedded Redis files, downloaded models, local outputs"
    )
    redis_appendfsync: Literal["everysec", "always"] = Field(
        default="everysec",
        description="How the embedded Redis (`sdq up`) syncs its append-only file: `everysec` "
        "loses at most about the last second of writes to a crash of the machine; `always` "
        "none, at the cost measured in docs/reliability.md",
    )
    redis_replica_acks: int = Field(
        default=0,
        ge=0,
        le=16,
        description="Redis replicas that must hold a new job before the API acknowledges it, and "
        "a job's outcome before its worker moves on (Redis WAIT on the same connection). A job "
        "too few replicas confirm in time is withdrawn and refused with 503. 0 trusts the master "
        "alone; with Sentinel and one or more replicas, 1 makes a failover lose no accepted job",
    )
    redis_replica_ack_timeout_ms: int = Field(
        default=1000,
        ge=10,
        le=60_000,
        description="How long a write waits for `SDQ_REDIS_REPLICA_ACKS` replicas to confirm it",
    )
    models: Annotated[list[ModelSpec], NoDecode] = Field(
        default_factory=lambda: [ModelSpec(id=TINY_MODEL_ID)],
        description="The served models: `id[=source],…` or a JSON list of model specs",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on")
    port: int = Field(default=7860, ge=1, le=65535, description="Port the API listens on")
    public_url: str | None = Field(
        default=None, description="Base URL put in links (urls.get, output); else the request's."
    )

    auth: Literal["auto", "keys", "none"] = Field(
        default="auto",
        description="`auto`: keys when SDQ_ADMIN_KEY is set, else open on a loopback address "
        "and refused on any other; `keys`: always require SDQ_ADMIN_KEY; `none`: open anywhere "
        "(the explicit opt-out, for a trusted network)",
    )
    admin_key: SecretStr | None = Field(
        default=None,
        description="The bootstrap admin key (at least 32 characters); turns authentication on",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the API answers to (comma-separated; `*.example.com` matches "
        "subdomains); empty: any. `sdq up` on a loopback address defaults to the loopback names",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (`https://app.example.com`) whose browser pages may call the API; "
        "empty: none (CORS off)",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC that signs `/v1/files` links (every API replica and webhook "
        "sender must share it); unset: a random one kept in Redis",
    )
    link_ttl_s: int = Field(
        default=3600,
        ge=60,
        le=7 * 24 * 3600,
        description="How long a signed `/v1/files` link works after it was handed out",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token (at least 32 characters) that reads `GET /metrics` and "
        "nothing else, for Prometheus; an admin key reads it too. Unused while authentication "
        "is off (then `/metrics` is open like every endpoint). The metrics port of a worker, "
        "scaler or webhook sender (SDQ_METRICS_PORT) requires it whenever it is set",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="A worker, scaler or webhook sender serves its own `GET /metrics` on this "
        "port (the Helm chart sets it: one process per pod); unset: none (under `sdq up` the "
        "API's `/metrics` adds every process up)",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address of that metrics port; off loopback it needs SDQ_METRICS_TOKEN, "
        "or SDQ_AUTH=none to serve it open",
    )

    job_retention_s: int = Field(
        default=24 * 3600,
        ge=60,
        description="How long a job record stays after its last change; its files (outputs, "
        "starting image) go with it",
    )
    job_soft_time_limit_s: int = Field(
        default=600, ge=1, description="A job still running then fails with a time-limit error"
    )
    job_hard_time_limit_s: int = Field(
        default=660,
        ge=1,
        description="The process of a job still running then is killed (above the soft limit)",
    )
    broker_visibility_timeout_s: int = Field(
        default=900,
        ge=1,
        description="An unacknowledged job is redelivered after this long (above the hard limit)",
    )
    max_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts lost to dead workers before a job fails"
    )
    heartbeat_interval_s: float = Field(
        default=2.0, gt=0, description="How often a worker announces that it is alive"
    )
    heartbeat_ttl_s: float = Field(
        default=10.0,
        gt=0,
        description="A worker silent this long counts as dead (above the heartbeat interval)",
    )
    reaper_interval_s: float = Field(
        default=3.0,
        gt=0,
        description="How often the API requeues or fails the running jobs of dead workers",
    )
    history_interval_s: float = Field(
        default=10.0,
        ge=0.5,
        le=300,
        description="How often each model's queue and workers are sampled for the operator "
        "console's last-hour chart (one sample per interval, whichever API replica takes it)",
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Longest request line and headers together; longer get 431 (a URL alone "
        "longer than this: 414) and the connection closes",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Larger request bodies get 413"
    )
    max_image_body_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Body limit of calls that carry images"
    )
    max_init_image_pixels: int = Field(
        default=4096 * 4096, ge=64 * 64, description="Largest image-to-image input accepted"
    )
    max_prompt_chars: int = Field(default=2000, ge=1, description="Longest prompt accepted")
    lora_dir: Path | None = Field(
        default=None,
        description="LoRA adapters, one folder per model (OWNER/NAME/ADAPTER.safetensors); the "
        "API lists them and workers load them from it; unset: DATA_DIR/loras",
    )
    max_loras_per_job: int = Field(
        default=4, ge=0, le=16, description="Most LoRA adapters one job may ask for (0: none)"
    )
    lora_cache_size: int = Field(
        default=8,
        ge=1,
        le=256,
        description="LoRA adapters a worker keeps loaded (least recently used unloaded first)",
    )
    adapter_affinity_window: int = Field(
        default=8,
        ge=1,
        le=64,
        description="How many of the oldest queued jobs of the tenant whose turn it is a free "
        "worker looks at for one whose LoRA adapters it holds (1: plain FIFO)",
    )
    adapter_affinity_max_passes: int = Field(
        default=4,
        ge=0,
        le=64,
        description="How often a queued job may be passed over for a younger one whose adapters "
        "the worker holds (0: never, plain FIFO)",
    )
    max_wait_s: int = Field(
        default=60,
        ge=1,
        le=60,
        description="Longest `Prefer: wait=N` a prediction call may hold; bare `wait` uses it",
    )
    sync_wait_s: float = Field(
        default=3600, gt=0, description="How long an A1111 or OpenAI call waits for its images"
    )
    cancel_on_disconnect: bool = Field(
        default=True, description="Cancel the job of an A1111 or OpenAI caller that hangs up"
    )
    sse_ping_s: float = Field(default=15.0, gt=0, description="Keep-alive comment interval")
    max_open_waits: int = Field(
        default=2000,
        ge=1,
        le=4000,
        description="Most requests one API process holds open on jobs at once (event streams, "
        "`Prefer: wait`, A1111 and OpenAI calls waiting for images); past it a stream or a "
        "synchronous call gets 429 and `Prefer: wait` answers at once (each holds a Redis "
        "connection, at most 4096)",
    )
    max_open_waits_per_tenant: int = Field(
        default=100,
        ge=1,
        description="The same, per tenant (key name): one client cannot take every slot",
    )
    shutdown_grace_s: float = Field(
        default=30,
        ge=0,
        le=3600,
        description="On SIGTERM the API drains: new calls get 503 with `Retry-After`, event "
        "streams end (clients resume with `Last-Event-ID` on another replica), and `Prefer: "
        "wait`, A1111 and OpenAI calls in flight may finish for up to this long; then they are "
        "answered (the prediction as it is; 503 naming it) and the process exits",
    )

    webhook_secret: str | None = Field(
        default=None, description="whsec_… signing secret; unset: generated once in data_dir"
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow loopback and private webhook targets (for local use; on under "
        "`sdq up`); link-local and cloud metadata addresses stay refused",
    )
    webhook_retry_schedule_s: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [
            5.0,
            30.0,
            120.0,
            600.0,
            1800.0,
            3600.0,
            10800.0,
            21600.0,
            43200.0,
        ],
        description="Delays before each retry of a start/completed webhook (comma-separated)",
    )
    webhook_retry_jitter: float = Field(
        default=0.2, ge=0, le=1, description="± fraction applied to each retry delay"
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=30, description="Time limit of one delivery attempt"
    )
    webhook_intermediate_interval_s: float = Field(
        default=0.5, ge=0, description="Minimum spacing of a job's `logs` and `output` webhooks"
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, le=256, description="Parallel delivery attempts per webhook sender"
    )
    webhook_lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A taken delivery is taken again after this long if its sender died "
        "(above the webhook timeout)",
    )

    scaler_poll_interval_s: float = Field(default=2.0, gt=0, description="Scaler tick interval")
    local_max_workers: int | None = Field(
        default=None,
        ge=1,
        description="Local scaler: most workers per model (unset: one per GPU, 1 on CPU)",
    )
    scaler_actuator: Literal["local", "kubernetes"] = Field(
        default="local", description="What `sdq scaler` sizes: local processes or Deployments"
    )
    kubernetes_namespace: str | None = Field(
        default=None, description="Namespace of the worker Deployments; unset: the pod's own"
    )
    kubernetes_release: str = Field(
        default="sdq", description="Helm release name: Deployments are RELEASE-worker-MODELSLUG"
    )

    storage: Literal["local", "s3"] = Field(
        default="local", description="Where outputs go: DATA_DIR/outputs or an S3 bucket"
    )
    min_free_disk_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="With local storage, a worker claims no job while DATA_DIR/outputs has less "
        "free space than this (the job waits for another worker) and its readiness probe says "
        "why; 0 turns the check off",
    )
    s3_bucket: str | None = Field(
        default=None, description="Bucket of the outputs (required with storage s3)"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="For MinIO, OSS and other S3-compatible services"
    )
    s3_region: str | None = Field(default=None, description="Region of the bucket")
    s3_access_key_id: str | None = Field(default=None, description="Unset: boto3's usual chain")
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret of the access key id; unset: boto3's usual chain"
    )
    s3_prefix: str = Field(default="outputs/", description="Prepended to every object key")
    file_sweep_interval_s: float = Field(
        default=60.0,
        ge=0.5,
        le=3600,
        description="How often the API removes the files of jobs whose records have expired (any "
        "number of replicas: each job's files are one replica's to remove), and, every 60 "
        "passes, looks for files no job record or index entry knows",
    )
    s3_url_expiry_s: int = Field(
        default=3600, ge=1, le=7 * 24 * 3600, description="Lifetime of presigned output URLs"
    )
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="`path` for MinIO, `virtual` for OSS"
    )

    synthetic_step_seconds: float = Field(
        default=0.1, ge=0, le=60, description="Seconds per step of synthetic models (sleeping)"
    )

    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="Where workers run models: `auto` is CUDA if present"
    )
    torch_threads: int | None = Field(
        default=None, ge=1, description="CPU threads per worker; unset: torch's default"
    )
    worker_id: str | None = Field(
        default=None,
        description="Prefix of this worker's ids (pid and a random suffix follow); "
        "unset: POD_NAME, else the host name",
    )
    model_load_timeout_s: int = Field(
        default=600, ge=10, description="A worker whose model is not loaded by then exits"
    )
    model_load_max_failures: int = Field(
        default=3,
        ge=1,
        description="Failed loads in a row after which a model's queued jobs fail with the cause "
        "and new ones get 503, until a load succeeds",
    )
    model_load_backoff_s: float = Field(
        default=10.0,
        gt=0,
        description="Wait before starting a worker again after its model failed to load; "
        "doubles with each failure in a row",
    )
    model_load_backoff_max_s: float = Field(
        default=300.0, gt=0, description="Longest wait between two loads of a failing model"
    )
    probe_dir: Path | None = Field(
        default=None,
        description="Kubernetes probe markers go here: a worker's (`python -m worker.probes`), "
        "the scaler's and the webhook pump's rounds (`python -m sdq.loop_probe`)",
    )

    log_format: Literal["text", "json"] = Field(
        default="text", description="`json` for production; every job line carries the job id"
    )
    log_level: str = Field(default="INFO", description="Python logging level name")
    access_log: bool = Field(
        default=True,
        description="The API logs a line per request on `sdq.access` (probes only at debug)",
    )

    @field_validator("models", mode="before")
    @classmethod
    def _models_shorthand(cls, value: object) -> object:
        """Accept `id[=source],id2` besides JSON, so `SDQ_MODELS=sdq/tiny` works."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [ModelSpec.parse(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_readable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_sentinel_url(value)  # raises with the part that is wrong
        return value

    @field_validator("webhook_retry_schedule_s", mode="before")
    @classmethod
    def _schedule_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_key", "metrics_token")
    @classmethod
    def _admin_key_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if len(secret) < ADMIN_KEY_MIN_CHARS:
            raise ValueError(f"must be at least {ADMIN_KEY_MIN_CHARS} characters")
        if len(secret) > ADMIN_KEY_MAX_CHARS or not re.fullmatch(f"[{KEY_ALPHABET}]+", secret):
            raise ValueError(
                f"must be at most {ADMIN_KEY_MAX_CHARS} characters among letters, digits and "
                "._~+/=- (what an Authorization: Bearer header can carry)"
            )
        return value

    @field_validator("link_secret")
    @classmethod
    def _link_secret_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < LINK_SECRET_MIN_CHARS:
            raise ValueError(f"must be at least {LINK_SECRET_MIN_CHARS} characters")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        origins = [origin.rstrip("/") for origin in value]
        for origin in origins:
            scheme, sep, rest = origin.partition("://")
            if origin != "*" and (scheme not in ("http", "https") or not sep or "/" in rest):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
        return origins

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("whsec_"):
            raise ValueError("must start with whsec_ (Standard Webhooks secret format)")
        return value

    @model_validator(mode="after")
    def _limits_consistent(self) -> Settings:
        if self.job_hard_time_limit_s <= self.job_soft_time_limit_s:
            raise ValueError("job_hard_time_limit_s must exceed job_soft_time_limit_s")
        if self.broker_visibility_timeout_s <= self.job_hard_time_limit_s:
            raise ValueError("broker_visibility_timeout_s must exceed job_hard_time_limit_s")
        if self.heartbeat_ttl_s <= self.heartbeat_interval_s:
            raise ValueError("heartbeat_ttl_s must exceed heartbeat_interval_s")
        ids = [m.id for m in self.models]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate model ids in models: {ids}")
        if not self.models:
            raise ValueError("at least one model must be served")
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("storage s3 needs s3_bucket (SDQ_S3_BUCKET)")
        if any(delay < 0 for delay in self.webhook_retry_schedule_s):
            raise ValueError("webhook_retry_schedule_s must not contain negative delays")
        if self.webhook_lease_s <= self.webhook_timeout_s:
            raise ValueError("webhook_lease_s must exceed webhook_timeout_s")
        if self.lora_cache_size < self.max_loras_per_job:
            raise ValueError(
                "lora_cache_size must be at least max_loras_per_job (a job's adapters are "
                "loaded together)"
            )
        if self.model_load_backoff_max_s < self.model_load_backoff_s:
            raise ValueError("model_load_backoff_max_s must not be below model_load_backoff_s")
        return self

    def model(self, model_id: str) -> ModelSpec | None:
        return next((m for m in self.models if m.id == model_id), None)

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def adapters_dir(self, spec: ModelSpec) -> Path:
        """Where the model's LoRA adapters are: its own `lora_dir`, else one folder per model."""
        if spec.lora_dir is not None:
            return spec.lora_dir
        return (self.lora_dir or self.data_dir / "loras") / spec.id


def load_settings(**overrides: object) -> Settings:
    """Build the process's settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
