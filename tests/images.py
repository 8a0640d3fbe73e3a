"""Test images drawn with Pillow: photo-like content (gradients and noise), never committed files."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter


def photo(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A photo-like picture: a smooth gradient, soft shapes and fine noise, so encoders work as on real photos."""
    rng = random.Random(seed)
    small_w, small_h = max(2, width // 16), max(2, height // 16)
    base = Image.new("RGB", (small_w, small_h))
    hue = rng.randrange(256)
    base.putdata(
        [
            ((hue + 255 * x // small_w) % 256, (128 + 127 * y // small_h) % 256, (x * y + hue) % 256)
            for y in range(small_h)
            for x in range(small_w)
        ]
    )
    img = base.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        r = max(2, min(width, height) // rng.randint(4, 10))
        draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=(rng.randrange(256), rng.randrange(256), 80))
    img = img.filter(ImageFilter.GaussianBlur(radius=max(1, min(width, height) // 200)))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    img = Image.blend(img, noise, 0.12)
    return img.convert(mode) if mode != "RGB" else img


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def write(path: Path, img: Image.Image, fmt: str, **params: object) -> Path:
    path.write_bytes(encode(img, fmt, **params))
    return path
