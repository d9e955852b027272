"""The chart's access control: the admin key's Secret and its wiring into the API and KEDA, the
explicit opt-out, the Host and CORS allowlists, and the install notes that say how to get a key."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from api.browser_guards import host_allowed
from sdq.access_mode import AccessRefused, access_mode
from sdq.settings import Settings
from tests.chart.pods import container_env, only_container
from tests.chart.render import (
    NAMESPACE,
    RELEASE,
    ROOT,
    named,
    notes,
    objects,
    refusal,
    render,
)
from tests.chart.test_deploy_docs import INGRESS_DOC, snippets
from tests.unit.test_keda_docs import schema as keda_schema

AUTH_SECRET = f"{RELEASE}-auth"
TRIGGER_AUTH = f"{RELEASE}-metrics-auth"
# A key the operator keeps in a Secret of their own (existingSecret): the chart never sees it.
THEIR_KEY = "k" * 40
EXISTING = ("--set", "auth.existingSecret=sdq-admin", "--set", "auth.existingSecretKey=token")
OFF = ("--set", "auth.enabled=false")
KEDA = ("--set", "scaler.mode=keda")
# case -> (values, the Secret and key the API reads SDQ_ADMIN_KEY from, or None when auth is off)
CASES: dict[str, tuple[tuple[str, ...], tuple[str, str] | None]] = {
    "generated": ((), (AUTH_SECRET, "admin-key")),
    "existing-secret": (EXISTING, ("sdq-admin", "token")),
    "off": (OFF, None),
}
PER_CASE = pytest.mark.parametrize("case", CASES)


def api_container(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return only_container(named(docs, "Deployment", f"{RELEASE}-api"))


def env_entries(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def api_environment(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    """The API container's environment as the kubelet resolves it; an operator's own Secret
    (not rendered by the chart) holds THEIR_KEY."""
    container = api_container(docs)
    theirs = {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sdq-admin"},
        "data": {"token": base64.b64encode(THEIR_KEY.encode()).decode()},
    }  # fmt: skip
    return container_env((*docs, theirs), container, f"{RELEASE}-api-0")


@PER_CASE
def test_the_api_reads_the_admin_key_from_its_secret_or_runs_open_on_purpose(case: str) -> None:
    values, source = CASES[case]
    docs = render(values)
    env = env_entries(api_container(docs))
    generated = [d for d in objects(docs, "Secret") if d["metadata"]["name"] == AUTH_SECRET]
    if source is None:
        assert "SDQ_ADMIN_KEY" not in env
        assert env["SDQ_AUTH"] == {"name": "SDQ_AUTH", "value": "none"}
        assert generated == []
        return
    name, key = source
    assert env["SDQ_ADMIN_KEY"]["valueFrom"] == {"secretKeyRef": {"name": name, "key": key}}
    assert "SDQ_AUTH" not in env
    assert bool(generated) == (name == AUTH_SECRET), "a Secret only when the chart makes the key"
    # only the API holds the admin key (workers, webhook sender and scaler never call the API)
    for other in objects(docs, "Deployment"):
        if other["metadata"]["name"] != f"{RELEASE}-api":
            assert "SDQ_ADMIN_KEY" not in env_entries(only_container(other))


def test_the_generated_admin_key_is_strong_and_kept_on_uninstall() -> None:
    secret = named(render(()), "Secret", AUTH_SECRET)
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert set(secret["data"]) == {"admin-key", "metrics-token"}
    key = base64.b64decode(secret["data"]["admin-key"]).decode()
    assert len(key) >= 32 and key.isascii() and key.isalnum()
    # sdq's own validator takes it, and a second install gets another one
    with mock.patch.dict(os.environ, {"SDQ_ADMIN_KEY": key}, clear=True):
        admin_key = Settings().admin_key
    assert admin_key is not None and admin_key.get_secret_value() == key
    other = named(render(("--set", "api.replicas=3")), "Secret", AUTH_SECRET)["data"]
    assert other["admin-key"] != secret["data"]["admin-key"]


@PER_CASE
def test_the_rendered_api_passes_sdqs_own_start_up_check_on_0_0_0_0(case: str) -> None:
    """The pod binds 0.0.0.0, where sdq refuses to serve open: the chart's wiring (a key, or the
    explicit SDQ_AUTH=none) is what lets it start, and decides whether keys are required."""
    values, source = CASES[case]
    env = api_environment(render(values))
    assert env["SDQ_HOST"] == "0.0.0.0"
    with mock.patch.dict(os.environ, env, clear=True):
        settings = Settings()
    mode = access_mode(settings)
    assert mode.keys_required == (source is not None)
    if case == "existing-secret":
        assert settings.admin_key is not None
        assert settings.admin_key.get_secret_value() == THEIR_KEY
    if source is not None:
        # without the chart's key the same pod would not start
        with mock.patch.dict(os.environ, env, clear=True):
            del os.environ["SDQ_ADMIN_KEY"]
            with pytest.raises(AccessRefused, match="SDQ_ADMIN_KEY"):
                access_mode(Settings())


@PER_CASE
def test_keda_reads_the_metric_with_the_admin_key(case: str) -> None:
    values, source = CASES[case]
    docs = render((*values, *KEDA))
    auths = objects(docs, "TriggerAuthentication")
    scaled = objects(docs, "ScaledObject")
    assert scaled
    for doc in scaled:
        jsonschema.validate(doc, keda_schema())
    if source is None:
        assert auths == []
        for doc in scaled:
            [trigger] = doc["spec"]["triggers"]
            assert "authenticationRef" not in trigger and "authMode" not in trigger["metadata"]
        return
    [auth] = auths
    assert auth["apiVersion"] == "keda.sh/v1alpha1"
    assert auth["metadata"]["name"] == TRIGGER_AUTH
    name, key = source
    # metrics-api's bearer mode sends `Authorization: Bearer <token>`, which sdq accepts
    assert auth["spec"] == {"secretTargetRef": [{"parameter": "token", "name": name, "key": key}]}
    for doc in scaled:
        [trigger] = doc["spec"]["triggers"]
        assert trigger["type"] == "metrics-api"
        assert trigger["authenticationRef"] == {"name": TRIGGER_AUTH}
        assert trigger["metadata"]["authMode"] == "bearer"


INGRESS = (
    "--set", "api.ingress.enabled=true", "--set", "api.ingress.hosts={sdq.example.com}",
)  # fmt: skip
IN_CLUSTER = [
    f"{RELEASE}-api",
    f"{RELEASE}-api.{NAMESPACE}",
    f"{RELEASE}-api.{NAMESPACE}.svc",
    f"{RELEASE}-api.{NAMESPACE}.svc.cluster.local",
    "localhost",
    "127.0.0.1",
    "::1",
]


@pytest.mark.parametrize(
    ("values", "hosts"),
    [
        ((), []),  # no Ingress: any Host (the probes send the pod IP)
        (INGRESS, ["sdq.example.com", *IN_CLUSTER]),
        (
            (*INGRESS, "--set", "api.allowedHosts={api.example.com,*.sdq.example.com}"),
            ["api.example.com", "*.sdq.example.com", *IN_CLUSTER],
        ),
        (("--set", "api.allowedHosts={api.example.com}"), ["api.example.com", *IN_CLUSTER]),
    ],
    ids=["any", "ingress-hosts", "explicit-over-ingress", "explicit"],
)
def test_the_host_allowlist(values: tuple[str, ...], hosts: list[str]) -> None:
    docs = render((*values, *KEDA))
    env = api_environment(docs)
    with mock.patch.dict(os.environ, env, clear=True):
        assert Settings().allowed_hosts == hosts
    # the API's own Host check lets in KEDA (the Service's in-cluster name, with the port) and
    # kubectl port-forward, and nothing else when a list is set
    for doc in objects(docs, "ScaledObject"):
        [trigger] = doc["spec"]["triggers"]
        assert host_allowed(urlsplit(trigger["metadata"]["url"]).netloc, hosts)
    for forwarded in ("localhost:7860", "127.0.0.1:7860", "[::1]:7860"):
        assert host_allowed(forwarded, hosts)
    assert host_allowed("evil.example.net", hosts) == (hosts == [])


def test_cors_origins_reach_the_api() -> None:
    values = ("--set", "api.corsOrigins={https://app.example.com,http://localhost:3000}")
    env = api_environment(render(values))
    with mock.patch.dict(os.environ, env, clear=True):
        assert Settings().cors_origins == ["https://app.example.com", "http://localhost:3000"]
    assert "SDQ_CORS_ORIGINS" not in api_environment(render(()))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "auth.enabled=maybe"), "auth.enabled: Invalid type. Expected: boolean"),
        (("--set", "auth.existingSecretKey="), "auth.existingSecretKey: String length must be"),
        (("--set", "auth.admin_key=x"), "Additional property admin_key is not allowed"),
        (("--set", "api.corsOrigins={app.example.com}"), "api.corsOrigins.0: Does not match"),
        (("--set", "api.allowedHosts={https://a.example.com}"), "api.allowedHosts.0: Does not"),
    ],
)
def test_bad_auth_values_are_refused_with_the_field_named(
    args: tuple[str, ...], message: str
) -> None:
    assert message in refusal(args)


@pytest.mark.parametrize(
    ("case", "expected", "absent"),
    [
        (
            "generated",
            [
                f"kubectl -n {NAMESPACE} get secret {AUTH_SECRET} -o jsonpath="
                "'{.data.admin-key}' | base64 -d",
                'curl -s localhost:7860/v1/models -H "Authorization: Bearer $SDQ_API_KEY"',
                "sdq keys create alice",
                "/v1/admin/keys",
            ],
            ["SDQ_AUTH=none"],
        ),
        (
            "existing-secret",
            ["get secret sdq-admin -o jsonpath='{.data.token}' | base64 -d", "sdq keys create"],
            [AUTH_SECRET],
        ),
        ("off", ["authentication is off", "SDQ_AUTH=none"], ["Authorization", "sdq keys"]),
    ],
)
def test_the_install_notes_say_how_to_get_and_hand_out_keys(
    case: str, expected: list[str], absent: list[str]
) -> None:
    text = notes(CASES[case][0])
    for line in expected:
        assert line in text
    for line in absent:
        assert line not in text


def test_docs_keda_md_shows_what_the_chart_renders() -> None:
    """docs/keda.md's by-hand ScaledObject and TriggerAuthentication authenticate as the chart's."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "keda.md").read_text(), re.DOTALL)
    documented = {doc["kind"]: doc for doc in map(yaml.safe_load, blocks)}
    docs = render(KEDA)
    [auth] = objects(docs, "TriggerAuthentication")
    assert documented["TriggerAuthentication"]["spec"] == auth["spec"]
    assert documented["TriggerAuthentication"]["metadata"]["name"] == auth["metadata"]["name"]
    [trigger] = documented["ScaledObject"]["spec"]["triggers"]
    [rendered] = objects(docs, "ScaledObject")[0]["spec"]["triggers"]
    assert trigger["authenticationRef"] == rendered["authenticationRef"]
    assert trigger["metadata"]["authMode"] == rendered["metadata"]["authMode"]


def test_the_tls_ingress_example_serves_https_links_to_its_host_only(tmp_path: Path) -> None:
    [snippet] = snippets(INGRESS_DOC)
    values = tmp_path / "values.yaml"
    values.write_text(snippet)
    docs = render(("-f", str(values)))
    [ingress] = objects(docs, "Ingress")
    assert ingress["spec"]["tls"] == [
        {"secretName": "sdq-example-com-tls", "hosts": ["sdq.example.com"]}
    ]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "20m", "defaults kept"
    with mock.patch.dict(os.environ, api_environment(docs), clear=True):
        settings = Settings()
    assert settings.public_url == "https://sdq.example.com"
    assert settings.allowed_hosts == ["sdq.example.com", *IN_CLUSTER]
    assert access_mode(settings).keys_required


def test_the_api_and_the_webhook_sender_share_the_global_webhook_secret() -> None:
    """Tenants' default webhook secrets are derived from the global one: the API (which hands
    them out) and the webhook sender (which signs with them) must read the same Secret."""
    docs = render(())
    api = env_entries(api_container(docs))["SDQ_WEBHOOK_SECRET"]
    sender = env_entries(only_container(named(docs, "Deployment", f"{RELEASE}-webhooks")))
    assert api == sender["SDQ_WEBHOOK_SECRET"] and "secretKeyRef" in api["valueFrom"]
