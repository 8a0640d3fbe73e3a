"""Test pictures drawn with Pillow: photo-like (smooth light, soft shapes, texture and sensor noise), fast at 24 MP.

``tests/images.py`` draws the same kind of picture but takes seconds at 24 MP (grain from ``effect_noise`` and a
full-size blur); here the smooth part is drawn at an eighth of the size and the grain comes from seeded random
bytes, so a 24-megapixel picture takes well under a second and is the same on every run.

Two knobs set how encoders see the picture, as real photos differ: ``texture`` (grain two pixels wide, which
costs JPEG about as much as fine detail in a photo does) and ``noise`` (per-pixel colour noise, which costs PNG
most). The defaults give a 24 MP picture of about 45 MB as PNG and about 10 MB as JPEG quality 90, like a
detailed 24 MP photo; ``SMOOTH`` gives about 45 MB as PNG but about 4 MB as JPEG.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter


@dataclass(frozen=True)
class Grain:
    """How much texture (two-pixel grain, luminance) and noise (one-pixel, per channel) is blended in."""

    texture: float = 0.25
    noise: float = 0.02


DETAILED = Grain()
SMOOTH = Grain(texture=0.05, noise=0.04)


def photo(width: int, height: int, seed: int = 0, grain: Grain = DETAILED) -> Image.Image:
    """An RGB photo-like picture of ``width`` × ``height``; the same ``seed`` draws the same picture."""
    rng = random.Random(seed)
    sw, sh = max(2, width // 8), max(2, height // 8)
    across = Image.linear_gradient("L").resize((sw, sh))
    down = Image.linear_gradient("L").rotate(90).resize((sw, sh))
    hue = rng.randrange(256)
    base = Image.merge("RGB", (across.point(lambda v: (v + hue) % 256), down, ImageChops.multiply(across, down)))
    draw = ImageDraw.Draw(base)
    for _ in range(8):
        x, y = rng.randrange(sw), rng.randrange(sh)
        r = max(2, min(sw, sh) // rng.randint(4, 10))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    base = base.filter(ImageFilter.GaussianBlur(max(1, min(sw, sh) // 100)))
    picture = base.resize((width, height), Image.Resampling.BICUBIC)
    if grain.texture:
        tw, th = (width + 1) // 2, (height + 1) // 2
        texture = Image.frombytes("L", (tw, th), rng.randbytes(tw * th)).convert("RGB")
        texture = texture.resize((tw * 2, th * 2), Image.Resampling.NEAREST).crop((0, 0, width, height))
        picture = Image.blend(picture, texture, grain.texture)
    if grain.noise:
        noise = Image.frombytes("RGB", (width, height), rng.randbytes(3 * width * height))
        picture = Image.blend(picture, noise, grain.noise)
    return picture


def encode(picture: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def camera_exif(orientation: int = 1) -> bytes:
    """A small EXIF block as a camera writes one: make, model and orientation."""
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Model 24"  # Model
    exif[0x0112] = orientation  # Orientation
    return exif.tobytes()


def write_jpeg(path: Path, picture: Image.Image, quality: int = 92) -> Path:
    path.write_bytes(encode(picture, "JPEG", quality=quality, exif=camera_exif()))
    return path


def write_png(path: Path, picture: Image.Image) -> Path:
    path.write_bytes(encode(picture, "PNG", compress_level=1))  # level 1: fast, and as large as a camera's PNG
    return path
