"""The scaler and webhook pods are restarted when their loop hangs: an exec liveness probe on
the marker their loop touches each round, in the folder the pod tells them."""

from __future__ import annotations

import pytest

from tests.chart.render import RELEASE, named, render

PODS = [("scaler", "scaler"), ("webhooks", "webhook-pump")]


@pytest.mark.parametrize(("component", "marker"), PODS)
def test_a_hung_loop_fails_its_liveness_probe(component: str, marker: str) -> None:
    deployment = named(render(()), "Deployment", f"{RELEASE}-{component}")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["SDQ_PROBE_DIR"] == "/tmp/sdq-probes"  # on the pod's /tmp emptyDir
    probe = container["livenessProbe"]
    assert probe["exec"]["command"] == ["python", "-m", "sdq.loop_probe", marker, "--stale", "60"]
    assert probe["failureThreshold"] * probe["periodSeconds"] >= 30


def test_a_slow_scaler_poll_gets_a_longer_limit() -> None:
    rendered = render(("--set", "scaler.pollIntervalSeconds=45"))
    [container] = named(rendered, "Deployment", f"{RELEASE}-scaler")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["livenessProbe"]["exec"]["command"][-1] == "165"  # three rounds and 30 s
