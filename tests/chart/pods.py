"""Running a rendered pod's container as a local process: its argv and environment resolved the
way the kubelet does (ConfigMap envFrom, Secret and downward API refs, `$(VAR)` expansion)."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.chart.render import named

REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(NAME)` expansion: defined names are replaced, others left as they are."""
    return REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def secret_value(docs: tuple[dict[str, Any], ...], name: str, key: str) -> str:
    return base64.b64decode(named(docs, "Secret", name)["data"][key]).decode()


def has_secret_key(docs: tuple[dict[str, Any], ...], name: str, key: str) -> bool:
    found = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == name]
    return any(key in secret.get("data", {}) for secret in found)


def container_env(
    docs: tuple[dict[str, Any], ...], container: dict[str, Any], pod_name: str
) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(named(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand(entry["value"], env)
            continue
        ref = entry["valueFrom"]
        if "secretKeyRef" in ref:
            secret = ref["secretKeyRef"]
            if secret.get("optional") and not has_secret_key(docs, secret["name"], secret["key"]):
                continue  # the kubelet leaves an optional variable out
            env[entry["name"]] = secret_value(docs, secret["name"], secret["key"])
        elif ref.get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[entry["name"]] = pod_name
        else:
            raise AssertionError(f"unsupported env source {ref}")
    return env


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    [container] = workload["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result
