"""Auto-fit: change as little as possible so that a pair of frames meets the image rules and fits in the request.

1. A pair whose aspect ratios differ too much: the end frame is centre-cropped to the start frame's aspect ratio.
   A pair whose pixel counts differ too much (start ÷ end outside 0.80–1.25): both are sized (Lanczos) for the
   video asked for. The larger is reduced toward the smaller and toward what the chosen resolution uses
   (``catalogue.resolution_pixels``: about 2.1 MP for 1080p, 0.92 MP for 720p); the smaller is enlarged only as
   far as that resolution needs, never beyond. Both end at the same pixel count, the resolution's clamped between
   the two frames' own, so no frame gains pixels it does not need.
2. An animated frame becomes its first frame; a CMYK frame becomes RGB (through its ICC profile when it has one):
   many decoders show CMYK JPEGs with wrong colours.
3. Too large for the request: re-encoded at full resolution first, JPEG quality 90 when opaque; with real
   transparency WebP quality 90 with lossless alpha (PNG past WebP's 16383-pixel limit), as flattening the alpha
   would change the picture silently. The larger frame goes first; the other keeps its bytes when that is enough.
   Only when that cannot fit are both downscaled, by one factor so the pair still matches, estimated from bytes
   per pixel on samples and corrected at most twice; the quality is never searched.

Frames that need none of this keep their original bytes. A re-encoded picture is upright (EXIF orientation
applied, no EXIF written), 8 bits per channel, and keeps an RGB or grey ICC profile. A frame outside 1:4–4:1 is
left alone: which part of the picture to cut is the user's choice (``check_frame`` says so).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from PIL import Image, ImageCms

from .catalogue import RESOLUTIONS, resolution_pixels
from .errors import InvalidInput, Problem
from .frames import (
    DECODES,
    FORMAT_NAMES,
    PAIR_MAX,
    PAIR_MIN,
    Frame,
    check_pair,
    data_uri_length,
    decode_picture,
    human_bytes,
)
from .messages import Phrase

JPEG_QUALITY = 90
WEBP_QUALITY = 90
WEBP_MAX_SIDE = 16383
MIN_SIDE = 64  # below this a frame is useless to the video model: refuse rather than shrink further
AIM = 0.95  # aim at 95% of the budget: the result lands within 10% under it
_SAMPLE = 256  # side of the patches sampled to predict encoded sizes
_GUESS_EXPONENT = 0.9  # bytes ∝ pixels ** exponent; photos gain detail per pixel as they shrink
_LANCZOS = Image.Resampling.LANCZOS
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class FitResult:
    start: Frame
    end: Frame
    """The frames to send: the same objects as given when nothing needed changing."""
    changes: list[Phrase]
    """One message per change, naming the frame it is about, with sizes and bytes before and after; said in the
    reader's language where it is shown (``Phrase.render``)."""
    images_size: int
    """``images_size(start, end)`` of the result: characters the two image strings take in the body."""

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class _Encoded:
    image: Image.Image
    data: bytes
    format: str
    quality: int | None

    @property
    def length(self) -> int:
        return data_uri_length(self.format, len(self.data))


@dataclass
class _Work:
    """One file frame on its way through auto-fit."""

    frame: Frame
    notes: list[Phrase] = dataclasses.field(default_factory=list)  # how the picture was prepared
    forced: bool = False  # the original bytes cannot be sent as they are
    reshaped: bool = False  # cropped or resized to match the other frame
    downscaled_from: tuple[int, int] | None = None
    full: _Encoded | None = None  # encoded at the working size
    estimate: int | None = None  # the same, predicted
    out: _Encoded | None = None  # what will be sent; None: the original bytes
    icc: bytes | None = None
    slot: _Slot | None = None
    _image: Image.Image | None = None

    @property
    def original(self) -> int:
        return self.frame.value_length()

    @property
    def image(self) -> Image.Image:
        """The picture to encode: upright and 8-bit, decoded and prepared on first use (inside the decode slot)."""
        if self._image is None:
            if self.slot is not None:
                self.slot.take()
            self._image, self.icc = _prepare(self.frame, self.notes)
        return self._image

    @image.setter
    def image(self, value: Image.Image) -> None:
        self._image = value


class _Slot:
    """This call's share of ``frames.DECODES``: taken before the first full decode, for both frames at once (so
    two calls never wait on each other), and kept until the pictures are no longer needed."""

    def __init__(self, pixels: int, stack: contextlib.ExitStack) -> None:
        self.pixels = pixels
        self.stack = stack
        self.taken = False

    def take(self) -> None:
        if not self.taken:
            self.stack.enter_context(DECODES.hold(self.pixels))
            self.taken = True


def auto_fit(start: Frame, end: Frame, budget: int, resolution: str | None = None) -> FitResult:
    """Fix what auto-fit can fix; ``budget`` is the room for the two image strings (see ``images_size``).

    For a body built as ``body``, the budget is ``MAX_BODY_BYTES - len(orjson.dumps(body with images ["", ""]))``.
    ``resolution`` is the video's (``1080p``…), which a pair brought together is sized for; None: the largest any
    model makes.
    Raises ``InvalidInput`` when nothing makes the images fit. A frame is decoded only when it must be re-encoded,
    at most once, inside ``frames.DECODES``; no picture outlives the call.
    """
    if start.role != "start" or end.role != "end":
        raise ValueError("auto_fit takes the start frame, then the end frame")
    with contextlib.ExitStack() as stack:
        files = [frame for frame in (start, end) if not frame.is_url]
        slot = _Slot(sum(frame.pixels or 0 for frame in files), stack)
        works = [_Work(frame, slot=slot) for frame in files]
        return _auto_fit(start, end, budget, works, resolution or RESOLUTIONS[-1])


def _auto_fit(start: Frame, end: Frame, budget: int, works: list[_Work], resolution: str) -> FitResult:
    room = budget - sum(frame.value_length() for frame in (start, end) if frame.is_url)
    changes: list[Phrase] = []
    if len(works) == 2:
        changes += _match(works[0], works[1], resolution)
    for work in works:
        if work.frame.n_frames > 1 or work.frame.mode == "CMYK":
            work.forced = True
    squeezed = False
    if any(w.forced for w in works) or sum(w.original for w in works) > room:
        squeezed = _fit(works, room)
    for work in works:
        if work.out is not None:
            changes += _describe(work)
    frames = {frame.role: frame for frame in (start, end)}
    for work in works:
        if work.out is not None:
            frames[work.frame.role] = _as_frame(work.frame, work.out)
    total = frames["start"].value_length() + frames["end"].value_length()
    if squeezed:
        changes.append(Phrase.of("fit_total", size=human_bytes(total), room=human_bytes(budget)))
    return FitResult(frames["start"], frames["end"], changes, total)


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Reshape:
    """Rule 1 for one frame, in its displayed pixels: the part kept and the size it is sent at."""

    role: str
    before: tuple[int, int]
    box: Box
    """The part of the picture kept: the whole picture unless the frame is centre-cropped."""
    after: tuple[int, int]
    changes: tuple[Phrase, ...]
    """What rule 1 does to this frame, each message naming it."""

    @property
    def cropped(self) -> bool:
        return self.box != (0.0, 0.0, float(self.before[0]), float(self.before[1]))

    @property
    def changed(self) -> bool:
        return self.after != self.before or self.cropped


@dataclass(frozen=True)
class PairPlan:
    """What rule 1 does to a pair (``plan_pair``), before anything is decoded: what ``auto_fit`` then applies."""

    start: Reshape
    end: Reshape
    changes: tuple[Phrase, ...]
    """Every change of the pair, in the order auto-fit reports them."""

    def of(self, role: str) -> Reshape:
        return self.start if role == "start" else self.end


def plan_pair(start: Frame, end: Frame, resolution: str | None = None) -> PairPlan | None:
    """Rule 1 from the frames' sizes alone (no decode): the end frame centre-cropped to the start frame's aspect
    ratio when the two differ too much; then, when the pixel counts differ too much, both sized to the same pixel
    count: the resolution's need, clamped between the two frames' own (the larger reduced, the smaller enlarged at
    most to that need). None when the pair needs none of it (or a frame's size is unknown: a URL). ``auto_fit``
    applies exactly this; the page shows it before anything is sent."""
    if start.size is None or end.size is None or not check_pair(start, end):
        return None
    resolution = resolution or RESOLUTIONS[-1]
    (ws, hs), (we, he) = start.size, end.size
    crops: list[Phrase] = []
    box: Box = (0.0, 0.0, float(we), float(he))
    shape = (float(we), float(he))  # the end frame's picture after any crop, in its own pixels
    end_size = (we, he)
    if not PAIR_MIN <= Fraction(ws * he, hs * we) <= PAIR_MAX:
        shape = (he * ws / hs, float(he)) if we * hs > ws * he else (float(we), we * hs / ws)
        box = ((we - shape[0]) / 2, (he - shape[1]) / 2, (we + shape[0]) / 2, (he + shape[1]) / 2)
        end_size = (max(1, round(shape[0])), max(1, round(shape[1])))
        aspect = f"{ws / hs:.2f}"
        crops.append(Phrase.of("fit_cropped", frame=end.name, before=_dims((we, he)), after=_dims(end_size),
                               aspect=aspect))  # fmt: skip
    cropped = end_size
    start_size = (ws, hs)
    sized: dict[str, list[Phrase]] = {"start": [], "end": []}
    if not PAIR_MIN <= Fraction(ws * hs, end_size[0] * end_size[1]) <= PAIR_MAX:
        need = resolution_pixels(resolution)
        target = min(max(need, min(ws * hs, shape[0] * shape[1])), max(ws * hs, shape[0] * shape[1]))
        start_size = _scaled(ws, hs, target)
        # the end frame takes the start frame's very size when it was cropped to its shape and they meet there
        end_size = start_size if cropped != (we, he) and start_size == (ws, hs) else _scaled(*shape, target)
        for frame, before, after in ((start, (ws, hs), start_size), (end, cropped, end_size)):
            if after != before:
                key = "fit_enlarged" if after[0] * after[1] > before[0] * before[1] else "fit_reduced"
                sized[frame.role].append(Phrase.of(key, frame=frame.name, before=_dims(before), after=_dims(after),
                                         megapixels=f"{after[0] * after[1] / 1e6:.2f}", resolution=resolution,
                                         need=f"{need / 1e6:.2f}"))  # fmt: skip
    return PairPlan(
        Reshape("start", (ws, hs), (0.0, 0.0, float(ws), float(hs)), start_size, tuple(sized["start"])),
        Reshape("end", (we, he), box, end_size, (*crops, *sized["end"])),
        (*crops, *sized["start"], *sized["end"]),
    )


def _match(first: _Work, second: _Work, resolution: str) -> list[Phrase]:
    """Rule 1, as ``plan_pair`` plans it, applied to the pictures."""
    plan = plan_pair(first.frame, second.frame, resolution)
    if plan is None:
        return []
    if plan.end.changed:
        second.image = second.image.resize(plan.end.after, _LANCZOS, box=plan.end.box, reducing_gap=3.0)
        second.forced = second.reshaped = True
    if plan.start.changed:
        first.image = first.image.resize(plan.start.after, _LANCZOS, reducing_gap=3.0)
        first.forced = first.reshaped = True
    return list(plan.changes)


def _scaled(width: float, height: float, pixels: float) -> tuple[int, int]:
    """``width``×``height`` scaled to at most ``pixels`` pixels (never past them), its shape kept; unchanged when it
    has them."""
    if round(width) * round(height) == round(pixels):
        return round(width), round(height)
    factor = math.sqrt(pixels / (width * height))
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _fit(works: list[_Work], room: int) -> bool:
    """Rules 2 and 3: choose what to send. True when the size limit (not only rules 1–2) drove a change."""
    if room <= 0:
        raise _cannot_fit(room)
    forced = [w for w in works if w.forced]
    keep = sorted((w for w in works if not w.forced), key=lambda w: w.original, reverse=True)
    best = sum(_estimate(w) for w in forced) + sum(w.original for w in keep)
    for work in keep:  # the larger first: the other keeps its bytes when that is enough
        if best <= room:
            break
        best -= work.original - min(work.original, _estimate(work))
    if best <= room * 1.05:  # estimates of slow encoders are approximate: try when it may fit
        for work in forced:
            work.out = _full(work)
        for work in keep:
            if _total(works) <= room:
                break
            if _estimate(work) < work.original:
                work.out = _full(work)
                if work.out.length >= work.original:
                    work.out = None
        if _total(works) <= room:
            return any(w.out is not None and not w.forced for w in works)
    _downscale(works, room)
    return True


def _total(works: list[_Work]) -> int:
    return sum(w.out.length if w.out is not None else w.original for w in works)


def _full(work: _Work) -> _Encoded:
    if work.full is None:
        work.full = _encode(work.image, work.icc)
    return work.full


def _estimate(work: _Work) -> int:
    """The data URI length at the working size: exact for JPEG (encoding is cheaper than resizing), and for
    WebP/PNG, which are slow, predicted from a mosaic of patches unless the picture is small."""
    image = work.image
    if work.full is not None or _format_for(image) == "jpeg" or image.width * image.height <= 4 * (3 * _SAMPLE) ** 2:
        return _full(work).length
    if work.estimate is None:
        mosaic = Image.new(image.mode, (3 * _SAMPLE, 3 * _SAMPLE))
        for i in range(3):
            for j in range(3):
                x = max(0, image.width * (2 * i + 1) // 6 - _SAMPLE // 2)
                y = max(0, image.height * (2 * j + 1) // 6 - _SAMPLE // 2)
                mosaic.paste(image.crop((x, y, x + _SAMPLE, y + _SAMPLE)), (i * _SAMPLE, j * _SAMPLE))
        sample = _encode(mosaic, None, _format_for(image))
        predicted = len(sample.data) * image.width * image.height // (mosaic.width * mosaic.height)
        work.estimate = data_uri_length(sample.format, predicted)
    return work.estimate


def _downscale(works: list[_Work], room: int) -> None:
    """Both frames by one factor of their pixel count, aiming at ``AIM`` of the room.

    Bytes ≈ k · pixels ** exponent, the exponent being the pictures' own: measured first on samples resized to
    the planned scale (cheap), then from each real encoding: at most two corrections to land in the 10% under
    the budget, more only to fit.
    """
    fulls = [_estimate(w) for w in works]
    full, target = sum(fulls), AIM * room
    exponent, scale = _GUESS_EXPONENT, min(1.0, target / full)
    for _ in range(2):
        ratios = [_sampled_ratio(w.image, scale) for w in works]
        if scale >= 1.0 or any(r is None for r in ratios):
            break
        predicted = sum(f * (r or 0) for f, r in zip(fulls, ratios, strict=True))
        exponent = _exponent((1.0, full), (scale, predicted))
        scale = min(1.0, scale * (target / predicted) ** (1 / exponent))
    last = (1.0, full)
    for attempt in range(6):
        linear = math.sqrt(scale)
        sizes = [(max(1, round(w.image.width * linear)), max(1, round(w.image.height * linear))) for w in works]
        if min(min(size) for size in sizes) < MIN_SIDE:
            raise _cannot_fit(room, (sizes[0], int(full * scale**exponent)))
        outs = [_encode(_resized(w.image, size), w.icc) for w, size in zip(works, sizes, strict=True)]
        total = sum(out.length for out in outs)
        if total <= room and (total >= 0.9 * room or attempt >= 2 or scale >= 1.0):
            for work, out in zip(works, outs, strict=True):
                work.downscaled_from = work.image.size if out.image.size != work.image.size else None
                work.out = out
            return
        exponent, last = _exponent(last, (scale, total)), (scale, total)
        corrected = scale * (target / total) ** (1 / exponent)
        scale = min(1.0, corrected if total <= room else min(corrected, scale * 0.97))
    raise _cannot_fit(room, (sizes[0], total))


def _exponent(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The slope of log(bytes) against log(pixel scale) between two (scale, bytes) points, within reason."""
    if a[0] == b[0] or a[1] == b[1]:
        return _GUESS_EXPONENT
    return min(1.6, max(0.4, math.log(b[1] / a[1]) / math.log(b[0] / a[0])))


def _sampled_ratio(image: Image.Image, scale: float) -> float | None:
    """Bytes after scaling the pixel count by ``scale``, as a fraction of the bytes at full size: measured on
    nine patches, each encoded both at full size and resized. None when the picture is too small to sample
    (then encoding it whole is cheap anyway)."""
    linear = math.sqrt(scale)
    tile = max(128, 16 * round(_SAMPLE * linear / 16))  # whole JPEG blocks at the planned size
    side = tile / linear
    if 3 * side > min(image.size):
        return None
    margin = math.ceil(4 / linear)  # Lanczos reads this far around the box
    ref_side = 16 * int(side / 16)  # the same centre at full size, also in whole blocks
    small = Image.new(image.mode, (3 * tile, 3 * tile))
    big = Image.new(image.mode, (3 * ref_side, 3 * ref_side))
    for i in range(3):
        for j in range(3):
            left = image.width * (2 * i + 1) / 6 - side / 2
            top = image.height * (2 * j + 1) / 6 - side / 2
            x0, y0 = round(left + (side - ref_side) / 2), round(top + (side - ref_side) / 2)
            big.paste(image.crop((x0, y0, x0 + ref_side, y0 + ref_side)), (i * ref_side, j * ref_side))
            outer = (
                max(0, math.floor(left) - margin),
                max(0, math.floor(top) - margin),
                min(image.width, math.ceil(left + side) + margin),
                min(image.height, math.ceil(top + side) + margin),
            )
            box = (left - outer[0], top - outer[1], left + side - outer[0], top + side - outer[1])
            patch = image.crop(outer).resize((tile, tile), _LANCZOS, box=box, reducing_gap=3.0)
            small.paste(patch, (i * tile, j * tile))
    fmt = _format_for(image)
    overhead = len(_encode(Image.new(image.mode, (16, 16)), None, fmt).data)  # headers, not picture
    small_bytes = len(_encode(small, None, fmt).data) - overhead
    big_bytes = len(_encode(big, None, fmt).data) - overhead
    per_pixel = (small_bytes / (small.width * small.height)) / (big_bytes / (big.width * big.height))
    return per_pixel * scale


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image if image.size == size else image.resize(size, _LANCZOS, reducing_gap=3.0)


def _cannot_fit(room: int, attempt: tuple[tuple[int, int], int] | None = None) -> InvalidInput:
    if attempt is not None and room > 0:
        (width, height), need = attempt
        problem = Problem.of("frames", "problem_fit_too_large", room=room, width=width, height=height, need=need)
    else:
        problem = Problem.of("frames", "problem_fit_no_room", room=max(0, room))
    return InvalidInput([problem])


def _prepare(frame: Frame, notes: list[Phrase]) -> tuple[Image.Image, bytes | None]:
    """Rule 2 and rule 4: the first frame, 8 bits per channel, RGB/RGBA/L, upright; and the ICC profile to keep."""
    image = decode_picture(frame)
    icc: bytes | None = image.info.get("icc_profile")
    if frame.n_frames > 1:
        notes.append(Phrase.of("fit_first_frame", frame=frame.name, count=frame.n_frames))
    grey = image.mode in ("1", "L", "LA", "La", "I", "F") or image.mode.startswith("I;16")
    if image.mode == "CMYK":
        image, how = _cmyk_to_rgb(image, icc)
        notes.append(Phrase.of(how, frame=frame.name))
        icc = None
    elif image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit grey: scale 0–65535 onto 0–255 (a plain convert would clip everything above 255 to white)
        image = (image if image.mode == "I" else image.convert("I")).point(lambda v: v / 257).convert("L")
        notes.append(Phrase.of("fit_grey16", frame=frame.name))
    if image.has_transparency_data:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema() == (255, 255):  # alpha present but fully opaque
            image = image.convert("L" if grey else "RGB")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("L" if grey else "RGB")
    if frame.orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[frame.orientation])
        notes.append(Phrase.of("fit_upright", frame=frame.name, orientation=frame.orientation))
    wanted = b"GRAY" if image.mode == "L" else b"RGB "
    return image, icc if icc and icc[16:20] == wanted else None


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, str]:
    if icc and icc[16:20] == b"CMYK":
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
        if converted is not None:
            return converted, "fit_cmyk_profile"
    return image.convert("RGB"), "fit_cmyk_plain"


def _format_for(image: Image.Image) -> str:
    if image.mode != "RGBA":
        return "jpeg"
    return "webp" if max(image.size) <= WEBP_MAX_SIDE else "png"


def _encode(image: Image.Image, icc: bytes | None, fmt: str | None = None) -> _Encoded:
    fmt = fmt or _format_for(image)
    params: dict[str, Any] = {"icc_profile": icc} if icc else {}
    quality = {"jpeg": JPEG_QUALITY, "webp": WEBP_QUALITY}.get(fmt)
    if quality is not None:
        params["quality"] = quality
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.upper(), **params)
    return _Encoded(image, buffer.getvalue(), fmt, quality)


def _describe(work: _Work) -> list[Phrase]:
    """What was done to one frame: how its picture was prepared, downscaled, re-encoded; each names the frame."""
    assert work.out is not None and work.frame.format is not None
    out, name, size = work.out, work.frame.name, work.out.image.size
    phrases = list(work.notes)
    if work.downscaled_from is not None:
        phrases.append(Phrase.of("fit_downscaled", frame=name, before=_dims(work.downscaled_from), after=_dims(size)))
    fmt = FORMAT_NAMES[out.format]
    target = Phrase.of("fit_target_quality", format=fmt, quality=out.quality) if out.quality else None
    target = target or Phrase.of("fit_target", format=fmt)
    if out.image.mode == "RGBA":
        target = Phrase.of("fit_target_alpha", target=target)
    kept = work.downscaled_from is None and not work.reshaped
    before = {"format": FORMAT_NAMES[work.frame.format], "size": human_bytes(len(work.frame.data or b""))}
    phrases.append(Phrase.of("fit_reencoded_kept" if kept else "fit_reencoded", frame=name, **before, target=target,
                             new_size=human_bytes(len(out.data)), after=_dims(size)))  # fmt: skip
    return phrases


def _as_frame(frame: Frame, out: _Encoded) -> Frame:
    return Frame(frame.role, frame.source, None, out.data, out.format, *out.image.size, mode=out.image.mode)
