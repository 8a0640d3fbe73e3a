"""Test images drawn with Pillow: photo-like content (gradients and noise), never committed files.

Drawing a large picture and encoding it take long (a 1280 × 720 PNG of noisy content 0.4 s, a 12 MP one 6 s), and
the suite asks for the same ones many times: each process keeps the last pictures drawn and files encoded, up to
``_KEEP_BYTES`` each, and hands out copies. Files are kept by the picture's content, so a picture changed after
``photo`` is encoded afresh.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections import OrderedDict
from pathlib import Path
from typing import Generic, TypeVar

from PIL import Image, ImageDraw, ImageFilter

_KEEP_BYTES = 256 * 2**20
K = TypeVar("K")
V = TypeVar("V")


class _Kept(Generic[K, V]):
    """The most recently used values, up to ``limit`` bytes in all (by ``size`` of each)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.values: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.total = 0

    def get(self, key: K) -> V | None:
        found = self.values.get(key)
        if found is None:
            return None
        self.values.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        if size > self.limit or key in self.values:
            return
        self.values[key] = (value, size)
        self.total += size
        while self.total > self.limit:
            _, (_, dropped) = self.values.popitem(last=False)
            self.total -= dropped


_photos: _Kept[tuple[int, int, int, str], Image.Image] = _Kept(_KEEP_BYTES)
_files: _Kept[tuple[object, ...], bytes] = _Kept(_KEEP_BYTES)


def photo(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A photo-like picture: a smooth gradient, soft shapes and fine noise, so encoders work as on real photos."""
    key = (width, height, seed, mode)
    kept = _photos.get(key)
    if kept is None:
        kept = _draw(width, height, seed, mode)
        _photos.put(key, kept, len(kept.getbands()) * width * height)
    return kept.copy()


def _draw(width: int, height: int, seed: int, mode: str) -> Image.Image:
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
    img = Image.blend(img, _noise(rng, width, height).convert("RGB"), 0.12)
    return img.convert(mode) if mode != "RGB" else img


def _noise(rng: random.Random, width: int, height: int) -> Image.Image:
    """Grey noise around mid-grey with a standard deviation of 24, from ``rng`` (the same picture for the same
    seed); uniform, so drawn from random bytes at once (Pillow's ``effect_noise`` is Gaussian but unseeded, and
    ten times slower on a 12 MP picture)."""
    spread = 24 * math.sqrt(12) / 255  # a uniform variable's standard deviation is its width over √12
    lut = [round(128 + (v - 127.5) * spread) for v in range(256)]
    return Image.frombytes("L", (width, height), rng.randbytes(width * height)).point(lut)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """``img`` saved as ``fmt`` with Pillow's ``params`` (quality, exif…)."""
    try:
        key: tuple[object, ...] | None = (img.mode, img.size, _digest(img), fmt, *sorted(params.items()))
        hash(key)
    except TypeError:  # a parameter that cannot be a key: encoded every time
        key = None
    kept = _files.get(key) if key is not None else None
    if kept is None:
        buf = io.BytesIO()
        img.save(buf, format=fmt, **params)
        kept = buf.getvalue()
        if key is not None:
            _files.put(key, kept, len(kept))
    return kept


def _digest(img: Image.Image) -> bytes:
    palette = img.getpalette() if img.mode == "P" else None
    return hashlib.sha256(img.tobytes() + bytes(palette or [])).digest() + repr(sorted(img.info.items())).encode()


def write(path: Path, img: Image.Image, fmt: str, **params: object) -> Path:
    path.write_bytes(encode(img, fmt, **params))
    return path
