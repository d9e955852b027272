"""The Helm chart: lint, Kubernetes 1.30 and KEDA schemas, and what matters in production
(GPUs, grace periods, RBAC, images, non-root, resources), in every supported configuration."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import kubernetes_validate
import pytest

from scaler.kubernetes_names import worker_deployment
from sdq.model_runtime import ModelRuntime
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, Settings
from tests.chart.render import (
    CHART,
    EXAMPLES,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    named,
    objects,
    pod_specs,
    refusal,
    render,
    run_helm,
)
from tests.fake_kubernetes import FakeKubernetes, serving
from tests.unit.test_keda_docs import schema as keda_schema

MANY = str(CHART.parents[1] / "tests" / "chart" / "values-many-models.yaml")
SCENARIOS: dict[str, tuple[str, ...]] = {
    "default": (),
    "keda": ("--set", "scaler.mode=keda"),
    "no-scaler": ("--set", "scaler.mode=none"),
    "external-redis-tls": (
        "--set", "redis.mode=external",
        "--set", "redis.external.url=rediss://:secret@redis.example.com:6380/0",
    ),
    "external-redis-sentinel-secret": (
        "--set", "redis.mode=external", "--set", "redis.external.existingSecret=sdq-redis-url",
        "--set", "redis.external.replicaAcks=1",
    ),
    "s3": (
        "--set", "outputs.type=s3", "--set", "outputs.s3.bucket=sdq-outputs",
        "--set", "outputs.s3.endpointUrl=http://minio.storage:9000",
        "--set", "outputs.s3.addressingStyle=path", "--set", "outputs.s3.existingSecret=s3-keys",
    ),
    "ack-eci": ("-f", str(EXAMPLES / "values-ack-eci.yaml")),
    "cpu-demo": ("-f", str(EXAMPLES / "values-cpu-demo.yaml")),
    "many-models": ("-f", MANY),
    "many-models-keda": ("-f", MANY, "--set", "scaler.mode=keda"),
    "keda-existing-auth-secret": (
        "--set", "scaler.mode=keda", "--set", "auth.existingSecret=sdq-admin",
    ),
    "no-auth": ("--set", "auth.enabled=false"),
}  # fmt: skip
ALL = pytest.mark.parametrize("scenario", SCENARIOS)


def docs(scenario: str) -> tuple[dict[str, Any], ...]:
    return render(SCENARIOS[scenario])


def values(scenario: str) -> dict[str, Any]:
    """The served models and settings the chart rendered (defaults merged with the scenario's)."""
    config = named(docs(scenario), "ConfigMap", f"{RELEASE}-config")["data"]
    return {"models": json.loads(config["SDQ_MODELS"]), "config": config}


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def is_keda(doc: dict[str, Any]) -> bool:
    """KEDA's custom resources (ScaledObject, TriggerAuthentication): not core Kubernetes."""
    api_version: str = doc["apiVersion"]
    return api_version.startswith("keda.sh/")


@ALL
def test_helm_lint(scenario: str) -> None:
    result = run_helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE,
                      *SCENARIOS[scenario], check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@ALL
def test_every_object_is_valid_kubernetes_1_30(scenario: str) -> None:
    rendered = [d for d in docs(scenario) if not is_keda(d)]
    assert rendered
    for doc in rendered:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@ALL
def test_scaled_objects_are_valid_keda_and_only_in_keda_mode(scenario: str) -> None:
    scaled = objects(docs(scenario), "ScaledObject")
    models = values(scenario)["models"]
    if "keda" not in scenario:
        assert scaled == []
        return
    assert len(scaled) == len(models)
    for doc in scaled:
        jsonschema.validate(doc, keda_schema())


@ALL
def test_one_worker_deployment_per_model_named_as_the_scaler_expects(scenario: str) -> None:
    rendered = docs(scenario)
    models = values(scenario)["models"]
    workers = {
        d["metadata"]["name"]: d
        for d in objects(rendered, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }
    assert len(workers) == len(models)
    for model in models:
        target = worker_deployment(RELEASE, model["id"])
        deployment = workers[target.name]
        selector = dict(part.split("=") for part in target.pod_selector.split(","))
        assert deployment["spec"]["selector"]["matchLabels"] == selector
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()
        [worker] = deployment["spec"]["template"]["spec"]["containers"]
        assert worker["args"] == ["worker", "--model", model["id"]]
        # an install starts at min_replicas; later the scaler owns the count
        assert deployment["spec"]["replicas"] == model["scaling"].get("min_replicas", 0)


@ALL
def test_workers_get_gpus_a_grace_period_past_the_job_limit_and_model_load_probes(
    scenario: str,
) -> None:
    rendered = docs(scenario)
    config = values(scenario)["config"]
    hard_limit = int(config["SDQ_JOB_HARD_TIME_LIMIT_S"])
    assert int(config["SDQ_BROKER_VISIBILITY_TIMEOUT_S"]) > hard_limit
    for deployment in objects(rendered, "Deployment"):
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] != "worker":
            continue
        pod = deployment["spec"]["template"]["spec"]
        [worker] = pod["containers"]
        gpus = worker["resources"].get("limits", {}).get("nvidia.com/gpu", 0)
        env = env_of(worker)
        assert env["SDQ_DEVICE"] == ("cuda" if gpus else "cpu")
        assert pod["terminationGracePeriodSeconds"] >= hard_limit
        assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert worker["startupProbe"]["exec"]["command"][:4] == [
            "python",
            "-m",
            "worker.probes",
            "started",
        ]
        assert worker["readinessProbe"]["exec"]["command"][3] == "ready"
        assert worker["livenessProbe"]["exec"]["command"][3] == "alive"
        assert env["SDQ_PROBE_DIR"].startswith("/tmp/")
        # the probes never kill a load the worker itself is still allowed to finish
        load_timeout = int(env["SDQ_MODEL_LOAD_TIMEOUT_S"])
        startup = worker["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] > load_timeout
        assert float(worker["livenessProbe"]["exec"]["command"][-1]) > load_timeout
        assert pod["automountServiceAccountToken"] is False


def gpu_limits(scenario: str) -> dict[str, int]:
    return {
        d["metadata"]["annotations"]["sdq.dev/model-id"]: d["spec"]["template"]["spec"][
            "containers"
        ][0]["resources"]
        .get("limits", {})
        .get("nvidia.com/gpu", 0)
        for d in objects(docs(scenario), "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }


@pytest.mark.parametrize(
    ("scenario", "limits"),
    [
        ("default", {"sdq/tiny": 1}),
        ("ack-eci", {"stable-diffusion-v1-5/stable-diffusion-v1-5": 1}),
        ("cpu-demo", {"sdq/tiny": 0, "sdq/synthetic": 0}),
        (
            "many-models",
            {
                "stabilityai/sd-turbo": 1,
                "stabilityai/stable-diffusion-xl-base-1.0-refiner-extra": 2,
                "sdq/synthetic": 0,
            },
        ),
    ],
)
def test_gpu_limits_per_model(scenario: str, limits: dict[str, int]) -> None:
    assert gpu_limits(scenario) == limits


@ALL
def test_images_are_pinned(scenario: str) -> None:
    for name, pod in pod_specs(docs(scenario)):
        for container in containers(pod):
            image = container["image"]
            assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{name}: {image}"
            assert not image.endswith(":latest"), f"{name}: {image}"


def test_latest_is_refused() -> None:
    assert "pin a version instead of latest" in refusal(("--set", "images.worker.tag=latest"))


@ALL
def test_everything_runs_as_non_root_with_resources(scenario: str) -> None:
    for name, pod in pod_specs(docs(scenario)):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert context["readOnlyRootFilesystem"] is True, name
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
            assert resources["limits"]["memory"], name


def expected_rules(scenario: str) -> list[dict[str, Any]]:
    names = [worker_deployment(RELEASE, m["id"]).name for m in values(scenario)["models"]]
    return [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments/scale"],
            "resourceNames": names,
            "verbs": ["get", "patch"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "patch"]},
    ]


@ALL
def test_scaler_rbac_is_exactly_what_the_kubernetes_actuator_needs(scenario: str) -> None:
    rendered = docs(scenario)
    builtin = "keda" not in scenario and scenario != "no-scaler"
    roles = objects(rendered, "Role")
    assert objects(rendered, "ClusterRole") == []
    if not builtin:
        assert roles == [] and objects(rendered, "RoleBinding") == []
        scalers = [n for n, _ in pod_specs(rendered) if n == f"{RELEASE}-scaler"]
        assert scalers == []
        return
    [role] = roles
    assert role["rules"] == expected_rules(scenario)
    binding = named(rendered, "RoleBinding", f"{RELEASE}-scaler")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-scaler", "namespace": NAMESPACE}
    ]
    scaler = named(rendered, "Deployment", f"{RELEASE}-scaler")
    pod = scaler["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == f"{RELEASE}-scaler"
    assert scaler["spec"]["replicas"] == 2  # one leads (the scaler lease), one stands by
    assert scaler["spec"]["strategy"]["type"] == "RollingUpdate"
    [container] = pod["containers"]
    assert container["args"] == ["scaler"]
    assert env_of(container)["SDQ_SCALER_ACTUATOR"] == "kubernetes"
    config = values(scenario)["config"]
    assert config["SDQ_KUBERNETES_RELEASE"] == RELEASE
    assert config["SDQ_KUBERNETES_NAMESPACE"] == NAMESPACE
    # only the scaler carries a service account token
    tokens = [
        n for n, p in pod_specs(rendered) if p.get("automountServiceAccountToken") is not False
    ]
    assert tokens == [f"{RELEASE}-scaler"]


@pytest.mark.parametrize("scenario", ["keda", "many-models-keda"])
def test_scaled_objects_target_the_worker_deployments_on_sdqs_metric(scenario: str) -> None:
    rendered = docs(scenario)
    models = {m["id"]: m for m in values(scenario)["models"]}
    targets = set()
    for doc in objects(rendered, "ScaledObject"):
        [trigger] = doc["spec"]["triggers"]
        url = trigger["metadata"]["url"]
        model_id = url.split("/v1/scaling/metrics/", 1)[1]
        scaling = models[model_id]["scaling"]
        assert doc["spec"]["scaleTargetRef"]["name"] == worker_deployment(RELEASE, model_id).name
        assert url.startswith(f"http://{RELEASE}-api.{NAMESPACE}.svc.cluster.local:7860/")
        assert trigger["metadata"]["valueLocation"] == "work"
        assert doc["spec"]["minReplicaCount"] == scaling.get("min_replicas", 0)
        assert doc["spec"]["maxReplicaCount"] == scaling.get("max_replicas", 10)
        assert doc["spec"]["cooldownPeriod"] == scaling.get("idle_to_zero_s", 300)
        targets.add(doc["spec"]["scaleTargetRef"]["name"])
    assert len(targets) == len(models)


@ALL
def test_the_rendered_settings_are_valid_sdq_settings(scenario: str) -> None:
    """Every sdq container's environment (ConfigMap + env) is accepted by sdq's own Settings."""
    rendered = docs(scenario)
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    for name, pod in pod_specs(rendered):
        if name.endswith("-redis"):
            continue
        for container in pod["containers"]:
            plain = {k: v for k, v in env_of(container).items() if isinstance(v, str)}
            environment = {**config, **plain, "SDQ_REDIS_URL": "redis://x:6379/0"}
            with mock.patch.dict(os.environ, environment, clear=True):
                settings = Settings()
            served = [m.id for m in settings.models]
            assert served == [m["id"] for m in values(scenario)["models"]], name


@pytest.mark.parametrize(
    ("scenario", "redis_url"),
    [
        ("default", {"value": "redis://:$(SDQ_REDIS_PASSWORD)@sdq-redis:6379/0"}),
        ("external-redis-tls", {"value": "rediss://:secret@redis.example.com:6380/0"}),
        (
            "external-redis-sentinel-secret",
            {"valueFrom": {"secretKeyRef": {"name": "sdq-redis-url", "key": "redis-url"}}},
        ),
    ],
)
def test_redis_connection(scenario: str, redis_url: dict[str, Any]) -> None:
    rendered = docs(scenario)
    bundled = scenario == "default"
    assert bool(objects(rendered, "StatefulSet")) == bundled
    for name, pod in pod_specs(rendered):
        if name.endswith("-redis"):
            continue
        [container] = pod["containers"]
        [entry] = [e for e in container["env"] if e["name"] == "SDQ_REDIS_URL"]
        assert {k: v for k, v in entry.items() if k != "name"} == redis_url, name
        acks = [e.get("value") for e in container["env"] if e["name"] == "SDQ_REDIS_REPLICA_ACKS"]
        assert acks == (["1"] if "sentinel" in scenario else []), name


def test_bundled_redis_can_sync_every_write() -> None:
    rendered = render(("--set", "redis.bundled.appendfsync=always"))
    conf = named(rendered, "ConfigMap", f"{RELEASE}-redis")["data"]["redis.conf"].splitlines()
    assert "appendfsync always" in conf
    assert "appendfsync" in refusal(("--set", "redis.bundled.appendfsync=no"))


def test_bundled_redis_is_durable_and_password_protected() -> None:
    rendered = docs("default")
    conf = named(rendered, "ConfigMap", f"{RELEASE}-redis")["data"]["redis.conf"].splitlines()
    assert {"appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction"} <= set(conf)
    redis = named(rendered, "StatefulSet", f"{RELEASE}-redis")
    [claim] = redis["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    [container] = redis["spec"]["template"]["spec"]["containers"]
    assert container["args"][1:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    secret = named(rendered, "Secret", f"{RELEASE}-secrets")
    assert len(secret["data"]["redis-password"]) >= 32
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


@pytest.mark.parametrize("scenario", ["default", "s3"])
def test_outputs_are_shared_by_the_api_and_the_workers(scenario: str) -> None:
    rendered = docs(scenario)
    claims = objects(rendered, "PersistentVolumeClaim")
    for name, pod in pod_specs(rendered):
        if not (name.endswith("-api") or "-worker-" in name):
            continue
        [data] = [v for v in pod["volumes"] if v["name"] == "data"]
        [container] = pod["containers"]
        env = env_of(container)
        if scenario == "s3":
            assert data == {"name": "data", "emptyDir": {}}
            assert env["SDQ_S3_SECRET_ACCESS_KEY"] == {
                "secretKeyRef": {"name": "s3-keys", "key": "secret-access-key"}
            }
        else:
            assert data["persistentVolumeClaim"] == {"claimName": f"{RELEASE}-outputs"}
    if scenario == "s3":
        assert claims == []
        config = values(scenario)["config"]
        assert config["SDQ_STORAGE"] == "s3" and config["SDQ_S3_BUCKET"] == "sdq-outputs"
    else:
        [claim] = claims
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_network_policies() -> None:
    rendered = docs("default")
    redis = named(rendered, "NetworkPolicy", f"{RELEASE}-redis")
    [rule] = redis["spec"]["ingress"]
    [peer] = rule["from"]
    assert peer["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/instance", "operator": "In", "values": [RELEASE]},
        {
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": ["api", "worker", "webhooks", "scaler"],
        },
    ]
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    # only their metrics port (metrics.pods; tests/chart/test_chart_pod_metrics.py)
    closed = named(rendered, "NetworkPolicy", f"{RELEASE}-metrics-only")
    [opening] = closed["spec"]["ingress"]
    assert opening["ports"] == [{"port": 9464, "protocol": "TCP"}]
    assert closed["spec"]["policyTypes"] == ["Ingress"]
    [expression] = [
        e
        for e in closed["spec"]["podSelector"]["matchExpressions"]
        if e["key"] == "app.kubernetes.io/component"
    ]
    assert expression["values"] == ["worker", "webhooks", "scaler"]


def test_the_ack_eci_example_schedules_workers_on_eci_with_its_gpu_specs() -> None:
    rendered = docs("ack-eci")
    deployment = named(
        rendered,
        "Deployment",
        worker_deployment(RELEASE, "stable-diffusion-v1-5/stable-diffusion-v1-5").name,
    )
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["k8s.aliyun.com/eci-use-specs"].startswith("ecs.gn7i-")
    assert annotations["k8s.aliyun.com/eci-extra-ephemeral-storage"] == "50Gi"
    assert template["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
    assert deployment["spec"]["replicas"] == 0
    model = values("ack-eci")["models"][0]
    assert model["scaling"]["max_replicas"] == 10
    assert values("ack-eci")["config"]["SDQ_S3_ADDRESSING_STYLE"] == "virtual"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "scaler.mode=hpa"), "scaler.mode: scaler.mode must be one of the following"),
        (
            ("--set", "workerDefaults.gpus=one"),
            "workerDefaults.gpus: Invalid type. Expected: integer",
        ),
        (
            ("--set", "models[0].id=a/b", "--set", "models[0].scaling.max_replica=3"),
            "models.0.scaling: Additional property max_replica is not allowed",
        ),
        (("--set", "models[0].id=no-owner"), "models.0.id: Does not match pattern"),
        (
            (
                "--set",
                "models[0].id=a/b",
                "--set",
                "models[0].scaling.min_replicas=3",
                "--set",
                "models[0].scaling.max_replicas=2",
            ),
            "models a/b: scaling.min_replicas exceeds scaling.max_replicas",
        ),
        (("--set", "worker.gpus=1"), "Additional property worker is not allowed"),
        (("--set", "outputs.type=s3"), "outputs.s3.bucket is required"),
        (("--set", "redis.mode=external"), "redis.external.url (or redis.external.existingSecret)"),
        (("--set", "webhooks.secret=plain"), "webhooks.secret must start with whsec_"),
        (
            ("--set", "jobs.hardTimeLimitSeconds=100"),
            "jobs.hardTimeLimitSeconds must exceed jobs.softTimeLimitSeconds",
        ),
        (
            ("--set", "models[0].id=a/b", "--set", "models[1].id=A/B"),
            "models: a/b and A/B share the Deployment name suffix a-b",
        ),
        (
            ("--set", "workerDefaults.modelCache.type=pvc"),
            "worker.modelCache.existingClaim is required",
        ),
        (("--set", "api.ingress.enabled=true"), "api.ingress.hosts: at least one host"),
        (("--set", "models[0].family=sd2"), "models.0.family"),
        (("--set", "models[0].defaults.steps=4"), "Additional property steps is not allowed"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(args: tuple[str, ...], message: str) -> None:
    assert message in refusal(args)


def test_an_upgrade_keeps_the_replicas_the_scaler_set_and_the_generated_secrets(
    tmp_path: Path,
) -> None:
    """Against a live cluster (the loopback API server), helm's lookup sees the worker
    Deployment at 4 replicas and the existing Secrets (including the admin key's): the upgrade
    renders them unchanged."""
    worker = worker_deployment(RELEASE, "sdq/tiny").name
    kept = {"redis-password": "a2VwdA==", "webhook-secret": "d2hzZWNfa2VwdA=="}
    admin_key = {
        "admin-key": "a2VwdC1hZG1pbi1rZXktb2YtYXQtbGVhc3QtMzItY2hhcmFjdGVycw==",
        "metrics-token": "a2VwdC1tZXRyaWNzLXRva2VuLW9mLWF0LWxlYXN0LTMyLWNoYXJhY3RlcnM=",
    }
    fake = FakeKubernetes(
        namespace=NAMESPACE,
        replicas={worker: 4},
        secrets={f"{RELEASE}-secrets": kept, f"{RELEASE}-auth": admin_key},
    )
    with serving(fake):
        kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
        rendered = render(("--dry-run=server", "--kubeconfig", str(kubeconfig)))
    assert named(rendered, "Deployment", worker)["spec"]["replicas"] == 4
    assert named(rendered, "Secret", f"{RELEASE}-secrets")["data"] == kept
    assert named(rendered, "Secret", f"{RELEASE}-auth")["data"] == admin_key
    requests = [(method, path) for method, path, _ in fake.requests]
    assert ("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{worker}") in requests
    assert ("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/{RELEASE}-auth") in requests
    # a fresh install (nothing live) starts at min_replicas with new secrets
    assert named(docs("default"), "Deployment", worker)["spec"]["replicas"] == 0
    assert named(docs("default"), "Secret", f"{RELEASE}-secrets")["data"] != kept
    assert named(docs("default"), "Secret", f"{RELEASE}-auth")["data"] != admin_key


def test_the_images_fit_what_the_chart_runs() -> None:
    """The chart's user, the worker probe's interpreter and the mounts match the Dockerfiles."""
    root = CHART.parents[1]
    rendered = docs("default")
    for name, dockerfile in (
        (f"{RELEASE}-api", "Dockerfile.api"),
        (worker_deployment(RELEASE, "sdq/tiny").name, "Dockerfile.gpu"),
    ):
        text = (root / dockerfile).read_text()
        pod = named(rendered, "Deployment", name)["spec"]["template"]["spec"]
        assert f"USER {pod['securityContext']['runAsUser']}:" in text, dockerfile
        assert "ENV PATH=/opt/sdq/bin:$PATH" in text and "-m venv /opt/sdq" in text, dockerfile
        assert "SDQ_DATA_DIR=/data" in text, dockerfile
    [worker] = named(rendered, "Deployment", worker_deployment(RELEASE, "sdq/tiny").name)["spec"][
        "template"
    ]["spec"]["containers"]
    assert worker["startupProbe"]["exec"]["command"][0] == "python"  # /opt/sdq/bin/python
    assert {"name": "models", "mountPath": "/models"} in worker["volumeMounts"]  # HF_HOME


def test_the_values_schema_knows_every_scaling_knob_and_no_other() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    knobs = schema["definitions"]["scaling"]["properties"]
    assert set(knobs) == set(ScalingPolicy.model_fields)


def test_the_values_schema_knows_every_runtime_knob_and_no_other() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["definitions"]["runtime"]["properties"]) == set(ModelRuntime.model_fields)


def test_a_models_runtime_reaches_its_workers_settings() -> None:
    runtime = {"dtype": "bf16", "compile": "denoiser", "channels_last": True}
    args = (
        "--set", "models[0].id=acme/xl",
        "--set", "models[0].runtime.dtype=bf16",
        "--set", "models[0].runtime.compile=denoiser",
        "--set", "models[0].runtime.channels_last=true",
    )  # fmt: skip
    config = named(render(args), "ConfigMap", f"{RELEASE}-config")["data"]
    (model,) = json.loads(config["SDQ_MODELS"])
    assert model["runtime"] == runtime
    assert ModelSpec.model_validate(model).runtime.compile == "denoiser"


def test_an_adapters_claim_is_mounted_read_only_in_the_api_and_every_worker() -> None:
    args = (
        "--set", "loras.existingClaim=adapters",
        "--set", "models[0].id=acme/xl",
        "--set", "models[1].id=acme/sd",
        "--set", "models[1].loraDir=/loras/shared-sd",
    )  # fmt: skip
    docs = render(args)
    config = named(docs, "ConfigMap", f"{RELEASE}-config")["data"]
    assert config["SDQ_LORA_DIR"] == "/loras"
    specs = [ModelSpec.model_validate(model) for model in json.loads(config["SDQ_MODELS"])]
    assert [str(spec.lora_dir) for spec in specs] == ["None", "/loras/shared-sd"]
    reading = [(name, pod) for name, pod in pod_specs(docs) if "-api" in name or "worker" in name]
    assert len(reading) == 3, [name for name, _ in reading]
    for name, pod in reading:
        [volume] = [v for v in pod["volumes"] if v["name"] == "loras"]
        assert volume["persistentVolumeClaim"] == {"claimName": "adapters", "readOnly": True}
        [mount] = [m for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == "loras"]
        assert mount == {"name": "loras", "mountPath": "/loras", "readOnly": True}, name


def test_without_an_adapters_claim_they_live_on_the_outputs_volume() -> None:
    docs = render(("--set", "models[0].id=acme/xl"))
    assert "SDQ_LORA_DIR" not in named(docs, "ConfigMap", f"{RELEASE}-config")["data"]
    assert all(v["name"] != "loras" for _, pod in pod_specs(docs) for v in pod["volumes"])


def test_a_models_family_defaults_and_hub_adapters_reach_its_spec() -> None:
    args = (
        "--set", "models[0].id=acme/schnell",
        "--set", "models[0].family=flux",
        "--set", "models[0].defaults.num_inference_steps=4",
        "--set", "models[0].defaults.guidance_scale=0",
        "--set", "models[0].hubLoras.pixel=acme/pixel-lora",
        "--set", "models[1].id=acme/sd",
    )  # fmt: skip
    config = named(render(args), "ConfigMap", f"{RELEASE}-config")["data"]
    specs = [ModelSpec.model_validate(model) for model in json.loads(config["SDQ_MODELS"])]
    assert [spec.family for spec in specs] == ["flux", None]
    assert [spec.hub_loras for spec in specs] == [{"pixel": "acme/pixel-lora"}, {}]
    assert specs[0].input_defaults() == {
        "width": 1024,
        "height": 1024,
        "num_inference_steps": 4,
        "guidance_scale": 0,
        "scheduler": "Euler",
    }
