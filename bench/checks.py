"""Frame checks: loading and checking two large JPEGs, against one full Pillow decode of each."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from vidu_ui import frames

from .images import photo, write_jpeg
from .measure import compare, megabytes, seconds
from .results import Context, Row


def check(start: Path, end: Path) -> None:
    """What the app does with two uploaded files: format, size, EXIF, decode (truncation), aspect, pair."""
    first, second = frames.load_frame(start, "start"), frames.load_frame(end, "end")
    problems = [*frames.check_frame(first), *frames.check_frame(second), *frames.check_pair(first, second)]
    assert not problems, problems


def decode(start: Path, end: Path) -> None:
    for path in (start, end):
        with Image.open(path) as picture:
            picture.load()


def run(ctx: Context) -> list[Row]:
    width, height = ctx.profile.check_size
    start = write_jpeg(ctx.work / "check-start.jpg", photo(width, height, 1))
    end = write_jpeg(ctx.work / "check-end.jpg", photo(width, height, 2))
    timings = compare(lambda: check(start, end), lambda: decode(start, end), runs=ctx.profile.runs)
    size = start.stat().st_size + end.stat().st_size
    return [
        Row(
            case="frame checks",
            measured=seconds(timings.measured_median),
            floor=seconds(timings.floor_median),
            ratio=timings.ratio,
            target=1.3,
            target_text="≤ 1.3×",
            detail=f"two {width}×{height} JPEGs with EXIF ({megabytes(size)} together); "
            f"floor: `Image.open(path).load()` of each",
        )
    ]
