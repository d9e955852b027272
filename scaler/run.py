"""Running the scaler loop as a process: one tick every poll interval until SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import redis

from scaler.actuator import Actuator
from scaler.loop import SCALER_LEASE, ScalerLoop
from sdq.leadership import Leadership, holder_name, lease_length
from sdq.logs import logs_dir
from sdq.loop_probe import LoopMarker
from sdq.metrics_server import start_metrics_server
from sdq.redis_connect import sync_redis
from sdq.settings import Settings
from sdq.store.model_health import LoadRetry
from sdq.store.ops import OpRunner
from sdq.store.scaling import clear_wake, wait_for_wake

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def local_actuator(settings: Settings, redis_url: str) -> tuple[Actuator, Callable[[], None]]:
    """Worker processes on this machine; on stop, they finish their current image."""
    from scaler.local_actuator import LocalActuator
    from scaler.local_capacity import visible_gpus, worker_slots

    gpus = [] if settings.device == "cpu" else visible_gpus()
    slots = {
        m.id: worker_slots(m.kind, settings.device, len(gpus), settings.local_max_workers)
        for m in settings.models
    }
    log.info(
        "local workers: %s; at most %s",
        f"GPUs {', '.join(gpus)}" if gpus else "CPU",
        ", ".join(f"{model} {slot or 'any'}" for model, slot in slots.items()),
    )
    actuator = LocalActuator(
        env={"SDQ_REDIS_URL": redis_url},
        log_dir=logs_dir(settings),
        slots=slots,
        gpus=gpus,
        synthetic=frozenset(m.id for m in settings.models if m.kind == "synthetic"),
    )
    return actuator, lambda: actuator.stop_all(timeout_s=settings.job_hard_time_limit_s)


def kubernetes_actuator(settings: Settings) -> tuple[Actuator, Callable[[], None]]:
    """The chart's worker Deployments, through in-cluster config or else the kubeconfig."""
    from kubernetes import client, config

    from scaler.kubernetes_actuator import KubernetesActuator
    from scaler.kubernetes_names import worker_deployment

    namespace = settings.kubernetes_namespace
    try:
        config.load_incluster_config()
        where = "in-cluster"
        if namespace is None:
            namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except config.ConfigException:
        config.load_kube_config()
        where = "kubeconfig"
        if namespace is None:
            _, active = config.list_kube_config_contexts()
            namespace = active.get("context", {}).get("namespace") or "default"
    api = client.ApiClient()
    deployments = {
        m.id: worker_deployment(settings.kubernetes_release, m.id) for m in settings.models
    }
    log.info(
        "kubernetes (%s), namespace %s: %s",
        where,
        namespace,
        ", ".join(d.name for d in deployments.values()),
    )
    actuator = KubernetesActuator(
        apps=client.AppsV1Api(api),
        core=client.CoreV1Api(api),
        namespace=namespace,
        deployments=deployments,
    )
    return actuator, api.close


WAKE_SETTLE_S = 0.1


# The marker the scaler pod's liveness probe reads (`python -m sdq.loop_probe scaler`).
LIVENESS_MARKER = "scaler"


def wait_for_new_work(store: OpRunner, timeout_s: float) -> None:
    """Sleep until the next tick, or less when a model's queue stops being empty (the job
    store's create nudges the scaler): a job at zero workers starts one at once. After a nudge
    it waits a moment more, so that a burst's jobs are all counted by the same tick."""
    try:
        if store.run(wait_for_wake(timeout_s)):
            store.run(clear_wake())
            time.sleep(WAKE_SETTLE_S)
    except redis.RedisError as error:
        log.warning("waiting for work: %s", error)
        time.sleep(timeout_s)


def run_scaler(settings: Settings, redis_url: str) -> None:
    """Size each served model's workers from its queued + in-flight work until SIGTERM."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if settings.scaler_actuator == "kubernetes":
        actuator, close = kubernetes_actuator(settings)
    else:
        actuator, close = local_actuator(settings, redis_url)
    store = OpRunner(sync_redis(redis_url, decode_responses=True, socket_timeout=10))
    metrics_server = start_metrics_server(settings, "scaler")
    loop = ScalerLoop(
        store=store,
        actuator=actuator,
        models=[m.id for m in settings.models],
        default_policies={m.id: m.scaling for m in settings.models},
        heartbeat_ttl_s=settings.heartbeat_ttl_s,
        clock=time.time,
        load_retry=LoadRetry.from_settings(settings),
    )
    log.info(
        "scaler started (%s): %s, every %.1f s",
        settings.scaler_actuator,
        ", ".join(loop.models),
        settings.scaler_poll_interval_s,
    )
    poll = settings.scaler_poll_interval_s
    leadership = Leadership(SCALER_LEASE, lease_length(poll), holder_name())
    marker = LoopMarker(settings.probe_dir, LIVENESS_MARKER)
    try:
        while not stop.is_set():
            marker.tick()  # every round, leading or standing by: the liveness probe reads it
            try:
                loop.lease_token = leadership.hold(store) or None
            except redis.RedisError as error:  # keep acting on the last token: its writes fence
                log.warning("could not renew the scaler lease: %s", error)
            if loop.lease_token is None:  # another replica scales; take over when it stops
                stop.wait(poll)
                continue
            loop.tick()
            wait_for_new_work(store, poll)
    finally:
        log.info("scaler stopping")
        with contextlib.suppress(redis.RedisError):
            leadership.release(store)  # the next replica takes over at once, not after the lease
        close()
        if metrics_server is not None:
            metrics_server.close()
