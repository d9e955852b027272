"""Benchmark: what storing an image-to-image starting image costs, as sdq did (decoded, converted
and re-encoded to PNG) and as it does now (checked by a full decode, stored as sent)."""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from api.init_image import checked_image

COMMAND = "python -m bench.init_image_storage"
MAX_PIXELS = 4096 * 4096


def photo_like_jpeg(width: int, height: int, quality: int) -> bytes:
    """Smooth colour fields with sensor-like noise: a camera JPEG's size for its pixels."""
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def as_png(sent: bytes) -> bytes:
    """The former way: decode, convert to RGB, re-encode as PNG (compress level 1)."""
    with Image.open(io.BytesIO(sent)) as image:
        converted = image.convert("RGB")
    buffer = io.BytesIO()
    converted.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--quality", type=int, default=92)
    parser.add_argument("--out", type=Path, default=Path("bench/results/init_image_storage.json"))
    args = parser.parse_args()
    sent = photo_like_jpeg(args.width, args.height, args.quality)
    started = time.perf_counter()
    before = as_png(sent)
    before_s = time.perf_counter() - started
    started = time.perf_counter()
    after = checked_image(sent, "input.image", MAX_PIXELS).data
    after_s = time.perf_counter() - started
    result = {
        "command": COMMAND,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "image": f"{args.width}x{args.height} JPEG quality {args.quality}",
        "sent_bytes": len(sent),
        "before": {"stored_bytes": len(before), "seconds": round(before_s, 3)},
        "after": {"stored_bytes": len(after), "seconds": round(after_s, 3)},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
