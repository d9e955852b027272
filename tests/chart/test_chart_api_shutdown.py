"""The API pod stops in order: Kubernetes waits for the preStop pause, the drain
(SDQ_SHUTDOWN_GRACE_S, from `api.env`) and the last answers before it kills the process."""

from __future__ import annotations

import json

import pytest

from cli.api_server import AFTER_DRAIN_S
from sdq.settings import Settings
from tests.chart.pods import only_container
from tests.chart.render import named, render

DEFAULT_GRACE_S = Settings.model_fields["shutdown_grace_s"].default


def api_env(*pairs: tuple[str, str]) -> tuple[str, ...]:
    env = [{"name": name, "value": value} for name, value in pairs]
    return ("--set-json", f"api.env={json.dumps(env)}")


@pytest.mark.parametrize(
    ("args", "grace_s"),
    [
        ((), DEFAULT_GRACE_S),
        (api_env(("SDQ_SHUTDOWN_GRACE_S", "100")), 100),
        (api_env(("SDQ_LOG_LEVEL", "DEBUG"), ("SDQ_SHUTDOWN_GRACE_S", "7.5")), 7.5),
        (api_env(("SDQ_SHUTDOWN_GRACE_S", "0")), 0),
    ],
)
def test_the_api_pod_gets_time_to_drain(args: tuple[str, ...], grace_s: float) -> None:
    api = named(render(args), "Deployment", "sdq-api")
    pod = api["spec"]["template"]["spec"]
    container = only_container(api)
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    needed = int(pause[1]) + grace_s + AFTER_DRAIN_S
    assert needed < pod["terminationGracePeriodSeconds"] <= needed + 30
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # 503 while draining
