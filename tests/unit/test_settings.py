"""Settings: SDQ_ environment, model shorthand, consistency checks at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sdq.settings import ModelSpec, Settings


def test_defaults_serve_the_tiny_model_on_7860(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDQ_MODELS", raising=False)
    settings = Settings()
    assert [m.id for m in settings.models] == ["sdq/tiny"]
    assert settings.port == 7860
    assert settings.redis_url is None


def test_environment_with_model_shorthand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDQ_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("SDQ_MODELS", "sdq/tiny,stabilityai/sd-turbo,me/local=/models/x")
    settings = Settings()
    assert settings.redis_url == "redis://127.0.0.1:1/0"
    assert [(m.id, m.source) for m in settings.models] == [
        ("sdq/tiny", None),
        ("stabilityai/sd-turbo", None),
        ("me/local", "/models/x"),
    ]


def test_models_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDQ_MODELS", '[{"id": "a/b", "max_size": 1024}]')
    assert Settings().models == [ModelSpec(id="a/b", max_size=1024)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"job_soft_time_limit_s": 100, "job_hard_time_limit_s": 100}, "must exceed job_soft"),
        (
            {"job_hard_time_limit_s": 1000, "broker_visibility_timeout_s": 900},
            "must exceed job_hard",
        ),
        ({"heartbeat_interval_s": 5, "heartbeat_ttl_s": 5}, "heartbeat_ttl_s must exceed"),
        ({"models": [ModelSpec(id="a/b"), ModelSpec(id="a/b")]}, "duplicate model ids"),
        ({"models": []}, "at least one model"),
        ({"port": 0}, "greater than or equal to 1"),
        ({"storage": "s3"}, "storage s3 needs s3_bucket"),
        ({"redis_url": "redis+sentinel://s1:26379"}, "path is /MASTER_NAME"),
    ],
)
def test_inconsistent_settings_fail_at_start_up(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["no-slash", "/name", "a/b/c", "a b/c"])
def test_model_ids_are_owner_slash_name(bad: str) -> None:
    with pytest.raises(ValidationError):
        ModelSpec(id=bad)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ({"id": "sdq/tiny"}, "diffusers"),
        ({"id": "sdq/synthetic"}, "synthetic"),
        ({"id": "load/test", "kind": "synthetic"}, "synthetic"),
        ({"id": "sdq/synthetic", "kind": "diffusers"}, "synthetic"),
    ],
)
def test_model_kind_synthetic_by_id_or_explicitly(spec: dict[str, str], kind: str) -> None:
    assert ModelSpec.model_validate(spec).kind == kind


def test_the_model_load_timeout_bounds_the_workers_wait_for_its_child() -> None:
    from sdq.celery_app import make_celery

    app = make_celery(Settings(model_load_timeout_s=42), "redis://127.0.0.1:1/0")
    assert app.conf.worker_proc_alive_timeout == 42


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"admin_key": "k" * 31}, "at least 32 characters"),
        ({"admin_key": "Tr0ub4dor&3-correct-horse-battery!!"}, "Authorization: Bearer"),
        ({"admin_key": "k" * 31 + " "}, "Authorization: Bearer"),
        ({"admin_key": "k" * 257}, "at most 256"),
        ({"link_secret": "short"}, "at least 32 characters"),
        ({"cors_origins": "app.example.com"}, "is not an origin"),
        ({"cors_origins": "https://app.example.com/path"}, "is not an origin"),
    ],
)
def test_access_settings_are_refused_naming_the_rule(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**overrides)  # type: ignore[arg-type]


def test_access_settings_accept_what_a_bearer_header_carries() -> None:
    key = "abcDEF012._~+/=-" * 2
    settings = Settings(
        admin_key=key,
        allowed_hosts="sdq.example.com, *.sdq.example.com",
        cors_origins="https://app.example.com/",
    )
    assert settings.admin_key is not None and settings.admin_key.get_secret_value() == key
    assert settings.allowed_hosts == ["sdq.example.com", "*.sdq.example.com"]
    assert settings.cors_origins == ["https://app.example.com"]
