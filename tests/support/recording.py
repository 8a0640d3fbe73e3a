"""A screen recording made by a browser test, turned into a small animated WebP for the README.

The frames come from Playwright's screencast (``page.screencast.start(on_frame=...)``: JPEG pictures with their
time, which needs no ffmpeg; its ``record_video`` does, and Playwright's own ffmpeg download is never run here).
They are sampled at a few pictures a second, scaled down, an unchanged picture merged into the one before, and
written by Pillow."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops

if TYPE_CHECKING:
    from playwright.sync_api import Page

WIDTH = 640
"""The animation's width in pixels (the README shows it at about this size)."""
FPS = 5
"""Pictures per second of the animation."""
HOLD_LAST_MS = 2500
"""How long the last picture (the result) stays before the animation starts again."""


@dataclass
class Recording:
    """The screencast's frames as they came: ``(timestamp, JPEG bytes)``, in order."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)

    def add(self, frame: Any) -> None:
        self.frames.append((float(frame["timestamp"]), bytes(frame["data"])))

    def pictures(self, *, fps: float = FPS, width: int = WIDTH) -> list[Image.Image]:
        """One picture every ``1/fps`` of the recording (the screen as it was then), ``width`` pixels wide."""
        if not self.frames:
            return []
        times = [at for at, _ in self.frames]
        scale = 1000.0 if times[-1] - times[0] > 1000 else 1.0  # milliseconds or seconds
        step = scale / fps
        shown: list[Image.Image] = []
        index, at = 0, times[0]
        while at <= times[-1]:
            while index + 1 < len(times) and times[index + 1] <= at:
                index += 1
            shown.append(self._picture(index, width))
            at += step
        return shown

    def _picture(self, index: int, width: int) -> Image.Image:
        with Image.open(io.BytesIO(self.frames[index][1])) as opened:
            picture = opened.convert("RGB")
        height = round(picture.height * width / picture.width)
        return picture.resize((width, height), Image.Resampling.LANCZOS)


@contextmanager
def recorded(page: Page, size: dict[str, int]) -> Iterator[Recording]:
    """Record ``page`` (frames of at most ``size``) while the block runs."""
    recording = Recording()
    with page.screencast.start(on_frame=recording.add, size={"width": size["width"], "height": size["height"]}):
        yield recording


def animate(pictures: list[Image.Image], out: Path, *, fps: float = FPS, quality: int = 40) -> int:
    """Write ``pictures`` as an animated WebP that loops, a picture unchanged from the last one merged into it (its
    time added), the last held ``HOLD_LAST_MS``. Returns how many frames were written."""
    if not pictures:
        raise ValueError("nothing was recorded")
    step = round(1000 / fps)
    kept: list[Image.Image] = []
    durations: list[int] = []
    for picture in pictures:
        if kept and ImageChops.difference(picture, kept[-1]).getbbox() is None:
            durations[-1] += step
            continue
        kept.append(picture)
        durations.append(step)
    durations[-1] = max(durations[-1], HOLD_LAST_MS)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept[0].save(out, save_all=True, append_images=kept[1:], duration=durations, loop=0, quality=quality, method=6)
    return len(kept)
