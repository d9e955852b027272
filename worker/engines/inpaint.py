"""Inpainting's image work around the pipeline (pure: PIL in, PIL out), as AUTOMATIC1111 does it:
the mask's edge blurred, the masked part filled from its surroundings (`fill`), and the original
pasted back over everything outside the mask, so that only the masked part changes."""

from __future__ import annotations

from PIL import Image, ImageFilter, ImageOps

# AUTOMATIC1111's fill: the masked part is covered by ever less blurred copies of the unmasked
# part, so it starts from the colours around it. (radius, repeats), widest first.
FILL_PASSES = ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1))


def blurred_mask(mask: Image.Image, radius: int) -> Image.Image:
    """The mask (L: white = repaint) with its edge blurred over `radius` pixels."""
    mask = mask.convert("L")
    return mask.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else mask


def filled(image: Image.Image, mask: Image.Image) -> Image.Image:
    """`image` with its masked part replaced by the colours around it (A1111's "fill")."""
    keep = ImageOps.invert(mask.convert("L"))
    unmasked = Image.new("RGBa", image.size)
    unmasked.paste(image.convert("RGBA").convert("RGBa"), mask=keep)
    result = Image.new("RGBA", image.size)
    for radius, repeats in FILL_PASSES:
        layer = unmasked.filter(ImageFilter.GaussianBlur(radius)) if radius else unmasked
        layer_rgba = layer.convert("RGBA")
        for _ in range(repeats):
            result.alpha_composite(layer_rgba)
    return result.convert("RGB")


def pasted_back(original: Image.Image, generated: Image.Image, mask: Image.Image) -> Image.Image:
    """The generated image inside the (blurred) mask, the original outside it, blended between."""
    if generated.size != original.size:
        generated = generated.resize(original.size, Image.Resampling.LANCZOS)
    return Image.composite(generated.convert("RGB"), original.convert("RGB"), mask.convert("L"))
