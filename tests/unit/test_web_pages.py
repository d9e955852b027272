"""The web UI's page policy and its pure parts: where images may come from, the CSP, the policy
editor's knobs, and the history sampler's clock."""

from __future__ import annotations

import json

import pytest

from api.capacity_sampler import seconds_to_next
from api.web.pages import _script_json, content_security_policy, image_sources, policy_knobs
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import Settings

IMAGE_SOURCES = [  # (settings, img-src)
    ({}, "'self' data:"),
    ({"public_url": "https://sdq.example.com/base/"}, "'self' data: https://sdq.example.com"),
    ({"storage": "s3", "s3_bucket": "out"}, "'self' data: https://*.amazonaws.com"),
    (
        {"storage": "s3", "s3_bucket": "out", "s3_endpoint_url": "http://minio:9000"},
        "'self' data: http://minio:9000 http://*.minio:9000",
    ),
    (
        {
            "storage": "s3",
            "s3_bucket": "out",
            "s3_endpoint_url": "https://s3.example.com",
            "public_url": "https://s3.example.com",
        },
        "'self' data: https://s3.example.com https://*.s3.example.com",
    ),
]


@pytest.mark.parametrize(("given", "expected"), IMAGE_SOURCES)
def test_images_come_from_the_api_previews_and_the_bucket(
    given: dict[str, str], expected: str
) -> None:
    assert image_sources(Settings.model_validate(given)) == expected


def test_the_pages_run_only_their_own_scripts_and_cannot_be_framed() -> None:
    policy = dict(part.split(" ", 1) for part in content_security_policy(Settings()).split("; "))
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no CDN
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"


def test_every_policy_knob_is_in_the_editor_with_its_help() -> None:
    knobs = {knob["name"]: knob for knob in policy_knobs()}
    assert list(knobs) == list(ScalingPolicy.model_fields)
    expected = [  # (knob, may be unset, whole numbers only)
        ("min_replicas", False, True),
        ("scale_down_delay_s", False, False),
        ("max_queue_wait_s", True, False),
        ("max_queued", True, True),
    ]
    for name, optional, integer in expected:
        assert (knobs[name]["optional"], knobs[name]["integer"]) == (optional, integer), name
    assert all(knob["description"] for knob in knobs.values())


def test_json_in_a_script_element_cannot_close_it() -> None:
    text = _script_json({"description": "</script><script>alert(1)</script>"})
    assert "</" not in text
    assert json.loads(text)["description"] == "</script><script>alert(1)</script>"


SLEEPS = [(100.0, 10.0, 10.0), (101.5, 10.0, 8.5), (109.999, 10.0, 0.001), (3.0, 0.5, 0.5)]


@pytest.mark.parametrize(("now", "interval", "expected"), SLEEPS)
def test_samplers_wake_at_the_next_interval(now: float, interval: float, expected: float) -> None:
    assert seconds_to_next(now, interval) == pytest.approx(expected)
