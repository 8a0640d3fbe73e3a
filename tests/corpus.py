"""A corpus of bad and unusual frames, drawn on demand: shared by the frame, CLI and studio tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from tests.images import encode, photo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def one_bit_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit PNG written by hand: cheap however large it claims to be (only ``rows`` rows of data)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    raw = (b"\0" * (1 + (width + 7) // 8)) * (height if rows is None else rows)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def webp_header(width: int, height: int) -> bytes:
    """Only a WebP extended header, claiming a canvas of this size."""
    vp8x = (
        b"VP8X"
        + struct.pack("<I", 10)
        + b"\0" * 4
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def with_orientation(img: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(img, "JPEG", quality=90, exif=exif)


def animated_webp(frames: int = 3) -> bytes:
    pictures = [photo(120, 90, seed) for seed in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "WEBP", save_all=True, append_images=pictures[1:], duration=100)
    return buffer.getvalue()


def make_bad(tmp_path: Path, kind: str) -> Path:
    """The corpus of bad frames, each drawn on demand."""
    small = photo(96, 64)
    png = encode(small, "PNG")
    jpeg = encode(photo(400, 300), "JPEG")
    files: dict[str, tuple[str, bytes]] = {
        "gif": ("a.gif", encode(small, "GIF")),
        "bmp": ("a.bmp", encode(small, "BMP")),
        "tiff-named-png": ("a.png", encode(small, "TIFF")),
        "svg": ("a.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
        "text": ("notes.jpg", "just some text, not a picture — ünïcödé\n".encode() * 40),
        "binary": ("a.webp", bytes(range(256)) * 4),
        "heic": ("a.heic", b"\0\0\0\x18ftypheic" + b"\0" * 40),
        "empty": ("a.png", b""),
        "truncated-jpeg": ("a.jpg", jpeg[: len(jpeg) * 6 // 10]),
        "truncated-png": ("a.png", png[: len(png) * 6 // 10]),
        "bomb": ("bomb.png", one_bit_png(30_000, 30_000, rows=1)),
        "webp-bomb": ("bomb.webp", webp_header(16_383, 16_383)),
    }
    if kind == "bad-crc":
        idat = png.index(b"IDAT") - 4
        crc_at = idat + 8 + int.from_bytes(png[idat : idat + 4], "big")
        files[kind] = ("a.png", png[:crc_at] + bytes([png[crc_at] ^ 0xFF]) + png[crc_at + 1 :])
    name, data = files[kind]
    path = tmp_path / name
    path.write_bytes(data)
    return path
