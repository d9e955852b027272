"""The official clients (`openai`, `replicate`, `webuiapi`) against a server that requires keys:
each works with a key and fails cleanly (its own authentication error) without one."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
import webuiapi
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ReplicateError

from tests.access_fixtures import SYNTHETIC, KeyedStack

QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 2}
WRONG_KEY = "sdq_" + "x" * 43


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# -- openai ----------------------------------------------------------------------------------


def openai_client(keyed: KeyedStack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{keyed.url}/v1", api_key=key, max_retries=0, timeout=60)


def test_openai_generates_with_a_key(keyed: KeyedStack) -> None:
    client = openai_client(keyed, keyed.secrets["alice"])
    result = client.images.generate(
        prompt="x", model=SYNTHETIC, size="64x64", quality="low", response_format="b64_json"
    )
    assert result.data is not None and result.data[0].b64_json is not None
    assert image_size(base64.b64decode(result.data[0].b64_json)) == (64, 64)


@pytest.mark.parametrize("key", [WRONG_KEY, "not a key"])
def test_openai_with_a_wrong_key_raises_its_authentication_error(
    keyed: KeyedStack, key: str
) -> None:
    client = openai_client(keyed, key)
    with pytest.raises(openai.AuthenticationError) as refused:
        client.images.generate(prompt="x", model=SYNTHETIC, size="64x64", quality="low")
    assert refused.value.status_code == 401
    assert "API key" in refused.value.message


# -- replicate -------------------------------------------------------------------------------


def test_replicate_creates_and_gets_with_a_key(keyed: KeyedStack) -> None:
    client = Client(api_token=keyed.secrets["alice"], base_url=keyed.url)
    prediction = client.models.predictions.create(model=SYNTHETIC, input=QUICK)
    prediction.wait()
    assert prediction.status == "succeeded" and prediction.output
    again = client.predictions.get(prediction.id)
    assert (again.id, again.status) == (prediction.id, "succeeded") and again.output
    [url] = again.output
    assert image_size(httpx.get(str(url)).content) == (64, 64), "the link needs no header"
    assert prediction.id in [p.id for p in client.predictions.list().results]
    bobs = Client(api_token=keyed.secrets["bob"], base_url=keyed.url)
    with pytest.raises(ReplicateError) as hidden:
        bobs.predictions.get(prediction.id)
    assert hidden.value.status == 404


def test_replicate_with_a_wrong_key_raises_its_error(keyed: KeyedStack) -> None:
    client = Client(api_token=WRONG_KEY, base_url=keyed.url)
    with pytest.raises(ReplicateError) as refused:
        client.predictions.create(model=SYNTHETIC, input=QUICK)
    assert refused.value.status == 401 and refused.value.title == "Unauthorized"
    assert refused.value.detail and "API key" in refused.value.detail


# -- webuiapi (AUTOMATIC1111) ----------------------------------------------------------------


def webui(keyed: KeyedStack) -> webuiapi.WebUIApi:
    return webuiapi.WebUIApi(host="127.0.0.1", port=keyed.stack.port, steps=2)


def test_webuiapi_with_set_auth_generates(keyed: KeyedStack) -> None:
    api = webui(keyed)
    api.set_auth("alice", keyed.secrets["alice"])
    result = api.txt2img(prompt="x", width=64, height=64, seed=7)
    assert [image.size for image in result.images] == [(64, 64)]
    assert result.info["sd_model_name"] == SYNTHETIC
    assert api.get_progress()["state"]["interrupted"] is False


@pytest.mark.parametrize("password", [None, "wrong"])
def test_webuiapi_without_a_good_key_fails_with_401(
    keyed: KeyedStack, password: str | None
) -> None:
    api = webui(keyed)
    if password is not None:
        api.set_auth("alice", password)
    with pytest.raises(RuntimeError) as refused:
        api.txt2img(prompt="x", width=64, height=64)
    status, text = refused.value.args
    assert status == 401 and "Unauthorized" in text
