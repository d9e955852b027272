"""Inpainting end to end in each dialect (real HTTP, real Redis, a real Celery worker, the tiny
model): the native `mask`, AUTOMATIC1111's img2img `mask` through its official client, OpenAI's
`images.edit` mask through its official client. Outside the mask the image comes back as it was;
inside it is repainted; a bad mask is refused naming it, leaving no job behind."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import openai
import pytest
import webuiapi
from PIL import Image, ImageDraw

from tests.helpers import Stack, wait_terminal

SIZE = 64
BOX = (16, 16, 40, 40)  # the masked square
MARGIN = 12  # beyond its blurred edge (mask_blur 4 by default reaches 10 pixels)


def photo() -> Image.Image:
    x = np.linspace(0, 255, SIZE, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (SIZE, 1)), np.tile(x[:, None], (1, SIZE)), np.zeros((SIZE, SIZE))])
    return Image.fromarray(rgb.transpose(1, 2, 0).astype(np.uint8), "RGB")


def square(inside: int, outside: int, mode: str = "L") -> Image.Image:
    mask = Image.new(mode, (SIZE, SIZE), outside)
    ImageDraw.Draw(mask).rectangle((BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1), fill=inside)
    return mask


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png(image)).decode()


def assert_inpainted(result: Image.Image) -> None:
    out = np.asarray(result.convert("RGB")).astype(int)
    original = np.asarray(photo()).astype(int)
    keep = np.ones((SIZE, SIZE), dtype=bool)
    keep[BOX[1] - MARGIN : BOX[3] + MARGIN, BOX[0] - MARGIN : BOX[2] + MARGIN] = False
    assert np.array_equal(out[keep], original[keep]), "kept exactly outside the mask"
    inner = (slice(BOX[1] + 6, BOX[3] - 6), slice(BOX[0] + 6, BOX[2] - 6))
    assert np.abs(out[inner] - original[inner]).mean() > 10, "repainted inside it"


INPUT = {"prompt": "a red ball", "width": SIZE, "height": SIZE, "num_inference_steps": 4}


def masked_input() -> dict[str, object]:
    """The photo with the square repainted from noise."""
    return INPUT | {"image": data_url(photo()), "mask": data_url(square(255, 0)),
                    "prompt_strength": 1.0, "seed": 2}  # fmt: skip


def test_native_mask_repaints_only_the_white_part(stack: Stack) -> None:
    body = {"model": "sdq/tiny", "input": masked_input()}
    with stack.http() as client:
        created = client.post("/v1/predictions", json=body)
        assert created.status_code == 201, created.text
        done = wait_terminal(client, created.json()["id"])
        assert done["status"] == "succeeded", done
        assert done["input"]["mask_blur"] == 4 and done["input"]["inpainting_fill"] == "original"
        image = Image.open(io.BytesIO(client.get(done["output"][0]).content))
    assert_inpainted(image)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"mask": data_url(Image.new("L", (32, 64)))}, "input.mask", "is 32x64; it must be the"),
        ({"mask": "bm90IGFuIGltYWdl"}, "input.mask", "is not a readable image"),
        ({"image": None}, "input.mask", "needs input.image"),
    ],
)
def test_native_bad_masks_are_refused_leaving_no_job(
    stack: Stack, change: dict[str, object], field: str, message: str
) -> None:
    sent = INPUT | {"image": data_url(photo()), "mask": data_url(square(255, 0))} | change
    with stack.http() as client:
        before = client.get("/v1/predictions", params={"limit": 1}).json()["results"]
        refused = client.post("/v1/predictions", json={"model": "sdq/tiny", "input": sent})
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["invalid_fields"]
        assert problem["field"] == field and message in problem["description"]
        assert client.get("/v1/predictions", params={"limit": 1}).json()["results"] == before


def test_a1111_img2img_with_a_mask_through_its_client(stack: Stack) -> None:
    webui = webuiapi.WebUIApi(host="127.0.0.1", port=stack.port, sampler="Euler a", steps=4)
    result = webui.img2img(
        images=[photo()], mask_image=square(255, 0), prompt="a red ball", width=SIZE,
        height=SIZE, denoising_strength=1.0, inpainting_fill=1, inpaint_full_res=False, seed=2,
    )  # fmt: skip
    assert_inpainted(result.image)
    inverted = webui.img2img(
        images=[photo()], mask_image=square(0, 255), inpainting_mask_invert=1, prompt="a red ball",
        width=SIZE, height=SIZE, denoising_strength=1.0, inpaint_full_res=False, seed=2,
    )  # fmt: skip
    assert_inpainted(inverted.image)
    only_masked = webui.img2img(
        images=[photo()], mask_image=square(255, 0), prompt="a red ball", width=SIZE,
        height=SIZE, denoising_strength=1.0, seed=2,  # webuiapi's default: inpaint_full_res
    )  # fmt: skip
    assert_inpainted(only_masked.image)


def test_a1111_refuses_an_inpainting_fill_it_does_not_draw(stack: Stack) -> None:
    body = {
        "prompt": "x", "init_images": [data_url(photo())], "mask": data_url(square(255, 0)),
        "inpainting_fill": 2, "width": SIZE, "height": SIZE, "steps": 4,
    }  # fmt: skip
    refused = httpx.post(f"{stack.url}/sdapi/v1/img2img", json=body)
    assert refused.status_code == 422
    [problem] = refused.json()["errors"]
    assert problem["field"] == "inpainting_fill"


def test_openai_edit_repaints_the_transparent_part(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="unused", max_retries=0, timeout=120)
    mask = square(0, 255).convert("L")  # alpha: 0 (transparent, repainted) in the square
    rgba = Image.merge("RGBA", (*photo().split(), mask))
    result = client.images.edit(
        image=("photo.png", png(photo()), "image/png"), mask=("mask.png", png(rgba), "image/png"),
        prompt="a red ball", response_format="b64_json", extra_body={"strength": 1.0},
    )  # fmt: skip
    assert result.data is not None and result.data[0].b64_json is not None
    assert_inpainted(Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json))))
    other_size = Image.new("RGBA", (32, 32))
    with pytest.raises(openai.BadRequestError, match="it must be the image's size") as caught:
        client.images.edit(
            image=("photo.png", png(photo()), "image/png"),
            mask=("mask.png", png(other_size), "image/png"),
            prompt="x",
        )
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "mask"


def test_a_finished_inpainting_job_keeps_its_image_and_mask_beside_its_output(stack: Stack) -> None:
    """Both inputs stay with the job while its record lives, as its starting image always has
    (the stray files of an earlier attempt are removed when an attempt succeeds: not these)."""
    body = {"model": "sdq/tiny", "input": masked_input()}
    with stack.http() as client:
        done = client.post("/v1/predictions", json=body, headers={"Prefer": "wait"}).json()
    assert done["status"] == "succeeded", done
    folder = stack.data_dir / "outputs" / done["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["input-0.png", "mask.png", "out-1-0.png"]
