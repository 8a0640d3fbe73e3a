"""The simulator's "generated" video: a crossfade from the start frame to the end frame, encoded with PyAV.

The result is small on purpose (long side at most 640 px, 12 fps, at most ``MAX_SECONDS`` long, whatever
duration was asked): it only has to be a real, streamable H.264 MP4 that a browser and a player accept.
``task_media`` keeps the last few results: the same frames asked again (a retry, a batch of one pair, the demo's
example) are not encoded again.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections import OrderedDict
from fractions import Fraction

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

MAX_SECONDS = 3.0
"""Longest video the simulator makes; a task asking for more gets this much (documented, not an error)."""
FPS = 12


def _even(n: int) -> int:
    return max(2, n - n % 2)


def frame_size(width: int, height: int, max_side: int = 640) -> tuple[int, int]:
    """The video size for a start frame of ``width`` × ``height``: fitted into ``max_side``, even, never enlarged."""
    scale = min(1.0, max_side / max(width, height))
    return _even(round(width * scale)), _even(round(height * scale))


def fit_frames(start: Image.Image, end: Image.Image, max_side: int = 640) -> tuple[Image.Image, Image.Image]:
    """Both frames as RGB at the video size; the end frame is cropped to the start frame's aspect if it differs."""
    size = frame_size(start.width, start.height, max_side)
    first = start.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    last = ImageOps.fit(end.convert("RGB"), size, Image.Resampling.LANCZOS)
    return first, last


def add_mark(img: Image.Image, position: int = 3) -> Image.Image:
    """A copy of ``img`` with a small "AI" mark in a corner: 1 top left, 2 top right, 3 bottom right, 4 bottom left."""
    out = img.convert("RGB")
    draw = ImageDraw.Draw(out)
    size = max(10, min(out.width, out.height) // 12)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), "AI", font=font)
    w, h = right - left + size // 2, bottom - top + size // 2
    margin = max(2, size // 3)
    x = margin if position in (1, 4) else out.width - w - margin
    y = margin if position in (1, 2) else out.height - h - margin
    draw.rectangle((x, y, x + w, y + h), fill=(0, 0, 0))
    draw.text((x + size // 4 - left, y + size // 4 - top), "AI", fill=(255, 255, 255), font=font)
    return out


def frame_count(seconds: float, fps: int = FPS) -> int:
    """How many frames a video asked for ``seconds`` has: at least one, at most ``MAX_SECONDS`` worth."""
    return max(1, round(min(max(seconds, 0.0), MAX_SECONDS) * fps))


def crossfade_mp4(start: Image.Image, end: Image.Image, seconds: float, fps: int = FPS, max_side: int = 640) -> bytes:
    """An H.264 (yuv420p, faststart) MP4 fading from ``start`` to ``end``, ``min(seconds, MAX_SECONDS)`` long."""
    first, last = fit_frames(start, end, max_side)
    count = frame_count(seconds, fps)
    # The mp4 muxer's faststart pass re-opens its output by name, so it needs a real file, not a BytesIO.
    fd, name = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        with av.open(name, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = first.size
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.options = {"preset": "veryfast", "crf": "28"}
            for i in range(count):
                alpha = i / (count - 1) if count > 1 else 1.0
                frame = av.VideoFrame.from_image(Image.blend(first, last, alpha))  # type: ignore[no-untyped-call]
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        with open(name, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(name)


def cover_jpeg(start: Image.Image, max_side: int = 640, position: int | None = None) -> bytes:
    """The cover image: the start frame at the video size, marked at ``position`` when given."""
    img = start.convert("RGB").resize(frame_size(start.width, start.height, max_side), Image.Resampling.LANCZOS)
    if position is not None:
        img = add_mark(img, position)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


MediaFiles = dict[str, tuple[str, bytes]]
"""A task's result files by name: ``{"video.mp4": ("video/mp4", b"..."), ...}``."""

_CACHE_SIZE = 16
_cache: OrderedDict[tuple[bytes, bytes, int, int | None], MediaFiles] = OrderedDict()
_cache_lock = threading.Lock()


def task_media(start: bytes, end: bytes, seconds: float, watermark: int | None = None) -> MediaFiles:
    """A task's files from its two frames' bytes: the video, its cover and, with ``watermark`` (a corner, see
    :func:`add_mark`), the marked video. The last ``_CACHE_SIZE`` results are kept, by the frames' digests, the
    video's frame count and the mark."""
    key = (hashlib.sha256(start).digest(), hashlib.sha256(end).digest(), frame_count(seconds), watermark)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return dict(_cache[key])
    with Image.open(io.BytesIO(start)) as first, Image.open(io.BytesIO(end)) as last:
        files: MediaFiles = {
            "video.mp4": ("video/mp4", crossfade_mp4(first, last, seconds)),
            "cover.jpg": ("image/jpeg", cover_jpeg(first)),
        }
        if watermark is not None:
            a, b = fit_frames(first, last)
            marked = crossfade_mp4(add_mark(a, watermark), add_mark(b, watermark), seconds)
            files["video-wm.mp4"] = ("video/mp4", marked)
    with _cache_lock:
        _cache[key] = files
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return dict(files)
