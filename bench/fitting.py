"""Auto-fit: two large PNGs made to fit the 20 MB body, against one decode and one JPEG encode of each.

Two pairs, as photos differ: one whose quality-90 JPEG re-encode fits at full resolution (auto-fit must keep
every pixel), one whose re-encode does not (auto-fit must downscale, and land within 10% under the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
from PIL import Image

from vidu_ui import frames
from vidu_ui.autofit import JPEG_QUALITY, FitResult
from vidu_ui.request import build_body, check_options

from .images import DETAILED, SMOOTH, Grain, encode, photo, write_png
from .measure import compare, megabytes, seconds
from .results import Context, Row
from .submitting import OPTIONS


@dataclass(frozen=True)
class Pair:
    start: Path
    end: Path
    limit: int  # the body limit, scaled with the pixels in the quick variant
    budget: int  # the room left for the two image strings

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.start, self.end


def fit(pair: Pair) -> FitResult:
    """The frames loaded as ``prepare`` loads them when auto-fit is on (``defer``: a PNG's data is inflated once,
    by auto-fit's own decode), then fitted."""
    start = frames.load_frame(pair.start, "start", defer=True)
    end = frames.load_frame(pair.end, "end", defer=True)
    return frames.auto_fit(start, end, pair.budget)


def decode_and_encode(paths: tuple[Path, Path], sizes: list[tuple[int, int]]) -> int:
    """The floor: decode each file, resize it when auto-fit sent it smaller, encode it as JPEG quality 90."""
    total = 0
    for path, size in zip(paths, sizes, strict=True):
        with Image.open(path) as opened:
            opened.load()
            picture: Image.Image = opened
            if picture.size != size:
                picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            total += frames.data_uri_length("jpeg", len(encode(picture, "JPEG", quality=JPEG_QUALITY)))
    return total


def _pair(ctx: Context, name: str, grain: Grain, seed: int) -> Pair:
    width, height = ctx.profile.fit_size
    start = write_png(ctx.work / f"fit-{name}-start.png", photo(width, height, seed, grain))
    end = write_png(ctx.work / f"fit-{name}-end.png", photo(width, height, seed + 1, grain))
    fields, problems = check_options(OPTIONS)
    assert not problems, problems
    rest = len(orjson.dumps(build_body(fields, ["", ""])))
    limit = round(frames.MAX_BODY_BYTES * ctx.profile.fit_scale)
    return Pair(start, end, limit, limit - rest)


def _case(ctx: Context, name: str, grain: Grain, seed: int) -> Row:
    pair = _pair(ctx, name, grain, seed)
    originals = [(w, h) for w, h in (Image.open(path).size for path in pair.paths)]
    result = fit(pair)
    sizes = [frame.size or (0, 0) for frame in (result.start, result.end)]
    timings = compare(lambda: fit(pair), lambda: decode_and_encode(pair.paths, sizes), runs=ctx.profile.runs)
    body = pair.limit - pair.budget + result.images_size
    full_fits = decode_and_encode(pair.paths, originals) <= pair.budget
    kept = sizes == originals
    if full_fits:
        ok, outcome = kept, "full resolution kept" if kept else f"downscaled to {sizes[0][0]}×{sizes[0][1]}"
        rule = "a quality-90 re-encode fits, so full resolution must be kept"
    else:
        ok = not kept and 0.9 * pair.limit <= body <= pair.limit
        outcome = f"downscaled to {sizes[0][0]}×{sizes[0][1]}, body {body / pair.limit:.1%} of the limit"
        rule = "a quality-90 re-encode does not fit, so the body must end within 10% under the limit"
    png = sum(path.stat().st_size for path in pair.paths)
    width, height = originals[0]
    return Row(
        case=f"auto-fit ({name})",
        measured=seconds(timings.measured_median),
        floor=seconds(timings.floor_median),
        ratio=timings.ratio,
        target=1.3,
        target_text="≤ 1.3×, and what is kept",
        checks_ok=ok,
        detail=f"two {width}×{height} PNGs ({megabytes(png / 2)} each) into a {megabytes(pair.limit)} body: {rule}; "
        f"outcome: {outcome}{'' if ok else ' (**check failed**)'}. Floor: `Image.open().load()`, then (when "
        "auto-fit sent a smaller picture) the same Lanczos resize, then one JPEG quality-90 encode of each",
    )


def run(ctx: Context) -> list[Row]:
    return [_case(ctx, "re-encode fits", SMOOTH, 5), _case(ctx, "must shrink", DETAILED, 7)]
