"""The two frames: loading them, checking them against the image rules, and the room they take in the request.

No Gradio and no network. A URL frame is checked as text: the service downloads it. A file is read once and its
pixels are not decoded to check it: the size comes from the header and is checked against the pixel budget
(``VIDU_UI_MAX_MEGAPIXELS``) before any decoder exists; a JPEG is then decoded at 1/8 scale (libjpeg still reads
every byte of the compressed data, so a truncated file shows), a PNG's image data inflated in pieces and counted,
a WebP's chunks walked. The full picture is decoded only to re-encode it (auto-fit), once, inside ``DECODES``:
a process-wide bound on the pixels decoded at once, so memory follows the budget and not the number of visitors.

The format is judged from the bytes, never the name. Pillow's plugin for it is called directly, not through
``Image.open``, so Pillow's global decompression-bomb warning never fires: the budget is checked here instead.
A JPEG with data appended (a "polyglot", e.g. a ZIP after the end marker) is accepted: the picture decodes,
decoders stop at the marker, and phones append data there routinely (MPF previews).

Orientation has one rule (``orientation``, ``displayed_size``), shared by the checks, auto-fit and the simulator:
a frame is the size it is displayed at, after its EXIF orientation.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import io
import os
import re
import stat
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PIL import ExifTags, Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from .errors import InvalidInput, Problem
from .messages import Lang, Phrase, say
from .request import url_problem
from .settings import DEFAULT_MAX_MEGAPIXELS

if TYPE_CHECKING:
    from .autofit import FitResult

MAX_FILE_BYTES = 50_000_000  # the seed's "50M" per image, read as decimal: the stricter reading
MAX_BODY_BYTES = 20_000_000  # the whole HTTP body, decimal
THUMBNAIL_SIDE = 256
"""Longest side of a frame's thumbnail in the history, in pixels."""
MAX_PIXELS = int(DEFAULT_MAX_MEGAPIXELS * 1_000_000)  # the default budget; ``Settings.max_pixels`` sets another
ASPECT_MIN, ASPECT_MAX = Fraction(1, 4), Fraction(4, 1)  # width ÷ height of each frame
PAIR_MIN, PAIR_MAX = Fraction(4, 5), Fraction(5, 4)  # start ÷ end, for aspect ratios and for pixel counts

ROLES = ("start", "end")
FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}
_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NAME_CLAIMS = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: "C:\..." is a Windows path
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
# What other files are, by their first bytes (lower-cased), for formats Pillow has no plugin for: message keys.
_SIGNATURES = {
    b"%pdf": "frame_kind_pdf",
    b"pk\x03\x04": "frame_kind_zip",
    b"<svg": "frame_kind_svg",
    b"<!doctype html": "frame_kind_html",
    b"<html": "frame_kind_html",
    b"<?xml": "frame_kind_xml",
}


@dataclass(frozen=True)
class Frame:
    """One frame as it will be sent: an http(s) URL, or a file's original bytes (never re-encoded here)."""

    role: str  # "start" or "end"
    source: str  # the path or URL as given
    url: str | None = None  # URL frames: the service downloads the image itself
    data: bytes | None = field(default=None, repr=False)  # the file's bytes, exactly as read
    format: str | None = None  # "png", "jpeg" or "webp", judged from the bytes
    width: int | None = None  # as displayed, after EXIF orientation: 4000×3000 with orientation 6 is 3000×4000
    height: int | None = None
    n_frames: int = 1  # more than one: an animation
    orientation: int = 1  # the EXIF orientation tag (1 = upright), which the original bytes keep
    mode: str | None = None  # Pillow's mode from the header: "RGB", "CMYK", "I;16", "P"…
    inflated: bool = True  # False: a PNG whose image data is still to be checked (``load_frame(defer=True)``)
    thumbnail: bytes | None = field(default=None, repr=False, compare=False)
    """A small JPEG of a JPEG frame (``thumbnail_jpeg``), made from the check's reduced-size decode so that the
    history's thumbnail costs no second decode; None for other frames (the history makes its own)."""

    def __post_init__(self) -> None:
        _check_role(self.role)

    @property
    def is_url(self) -> bool:
        return self.url is not None

    @property
    def field(self) -> str:
        """The name messages use: "start_frame" or "end_frame"."""
        return f"{self.role}_frame"

    @property
    def label(self) -> str:
        """The frame's name as a person reads it ("Start frame"), in English; ``name`` for any language."""
        return str(self.name)

    @property
    def name(self) -> Phrase:
        """The frame's name as a message value: "Start frame", "首帧"…"""
        return frame_name(self.role)

    @property
    def mime(self) -> str | None:
        return f"image/{self.format}" if self.format else None

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) as displayed; None for a URL frame."""
        return (self.width, self.height) if self.width and self.height else None

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None

    def data_uri_length(self) -> int:
        """Exact length of the data URI, computed without encoding. File frames only."""
        if self.data is None or self.format is None:
            raise ValueError("a URL frame has no data URI")
        return data_uri_length(self.format, len(self.data))

    def value_length(self) -> int:
        """Exact length of ``image_value()``, in characters and in bytes alike (both kinds are plain ASCII)."""
        return len(self.url) if self.url is not None else self.data_uri_length()

    def image_value(self) -> str:
        """The string for the request's ``images`` array: the URL, or a data URI typed with the real format."""
        if self.url is not None:
            return self.url
        assert self.data is not None and self.format is not None
        return f"data:image/{self.format};base64,{base64.b64encode(self.data).decode('ascii')}"

    def summary(self, lang: Lang = "en") -> str:
        """A short line for under the frame: "JPEG · 1920×1080 · 1.2 MB"."""
        if self.url is not None:
            return say(lang, "frame_summary_url", host=urlsplit(self.url).hostname)
        assert self.data is not None and self.format is not None
        animated = [say(lang, "frame_summary_animated", count=self.n_frames)] if self.n_frames > 1 else []
        parts = [FORMAT_NAMES[self.format], f"{self.width}×{self.height}", *animated, human_bytes(len(self.data))]
        return " · ".join(parts)


def data_uri_length(fmt: str, n_bytes: int) -> int:
    """Length of ``data:image/<fmt>;base64,<data>`` for ``n_bytes`` of data: base64 writes 4 characters per 3 bytes."""
    return len(f"data:image/{fmt};base64,") + 4 * ((n_bytes + 2) // 3)


def images_size(start: Frame, end: Frame) -> int:
    """Bytes the two image strings add to the JSON body: their characters, without the quotes or the comma.

    Both are ASCII that JSON writes as is (base64; URLs are checked to hold no quotes, backslashes, spaces or
    control characters), so ``len(orjson.dumps(body))`` is the length of the same body with ``"images": ["", ""]``
    plus this number.
    """
    return start.value_length() + end.value_length()


def human_bytes(n: int) -> str:
    """Decimal units, as the limits are stated: 1.2 MB, 412 KB, 900 bytes."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    return f"{n / 1_000:.0f} KB" if n >= 1_000 else f"{n} bytes"


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be 'start' or 'end', not {role!r}")


def frame_name(role: str) -> Phrase:
    """A frame's name as a message value ("Start frame" / "首帧"): the page's own labels."""
    _check_role(role)
    return Phrase.of(f"{role}_frame")


def _fail(role: str, key: str, **values: Any) -> InvalidInput:
    """The frame is refused: ``key`` (a message key) says why, in the reader's language."""
    return InvalidInput([Problem.of(f"{role}_frame", key, **values)])


def load_frame(
    source: str | os.PathLike[str], role: str, *, max_pixels: int = MAX_PIXELS, defer: bool = False
) -> Frame:
    """A URL frame (checked, not downloaded) or a local file (read and checked without decoding its pixels).

    A file larger than ``max_pixels`` is refused from its header; truncated and damaged files are refused.
    ``defer``: a PNG's image data is not inflated yet (``Frame.inflated`` is False); auto-fit's decode checks it
    when it re-encodes the frame, else ``check_data`` must run before its bytes are sent (each PNG inflated once).
    Raises ``InvalidInput`` naming the frame and what would be accepted; never a bare Pillow error.
    """
    _check_role(role)
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise _fail(role, "problem_frame_missing")
        if _SCHEME.match(text):  # a URL: the one URL rule (request.py), for an image; the service downloads it
            problem = url_problem(f"{role}_frame", text, image=True)
            if problem is not None:
                raise InvalidInput([problem])
            return Frame(role=role, source=source, url=text)
    return _load_file(Path(source), role, max_pixels, defer)


def _load_file(path: Path, role: str, max_pixels: int, defer: bool = False) -> Frame:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _fail(role, "problem_frame_folder", path=str(path))
        if not stat.S_ISREG(info.st_mode):
            raise _fail(role, "problem_frame_not_file", path=str(path))
        _check_file_size(info.st_size, path, role)
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail(role, "problem_frame_not_found", path=str(path)) from None
    except OSError as exc:
        raise _fail(role, "problem_frame_unreadable", error=str(exc.strerror or exc), path=str(path)) from None
    _check_file_size(len(data), path, role)  # it may have changed since stat()
    return _decode(data, str(path), role, max_pixels, defer)


def _check_file_size(n: int, path: Path, role: str) -> None:
    if n == 0:
        raise _fail(role, "problem_frame_empty", name=path.name)
    if n > MAX_FILE_BYTES:
        limit, limit_bytes = human_bytes(MAX_FILE_BYTES), MAX_FILE_BYTES
        raise _fail(role, "problem_frame_too_big", size=human_bytes(n), n_bytes=n, limit=limit, limit_bytes=limit_bytes)


def sniff_image(head: bytes) -> str | None:
    """ "png", "jpeg" or "webp" from the first bytes: the signatures Pillow's plugins accept."""
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "webp" if head[:4] == b"RIFF" and head[8:12] == b"WEBP" else None


def _describe(head: bytes) -> Phrase:
    """What a file that is not PNG, JPEG or WebP is, as far as its first bytes tell."""
    if head[4:8] == b"ftyp":
        return Phrase.of("frame_kind_avif" if head[8:12] == b"avif" else "frame_kind_heic")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<?xml") and b"<svg" in text:
        return Phrase.of(_SIGNATURES[b"<svg"])
    for signature, what in _SIGNATURES.items():
        if text.startswith(signature):
            return Phrase.of(what)
    Image.init()
    for name in Image.ID:  # Pillow's own registry of formats, each with its signature test
        if _pillow_accepts(name, head[:16]):
            return Phrase.of("frame_kind_other", name=name)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut in two by the end of the sample
            return Phrase.of("frame_kind_unknown")
    return Phrase.of("frame_kind_text")


def _pillow_accepts(name: str, head: bytes) -> bool:
    accept = Image.OPEN[name][1]
    try:
        return accept is not None and accept(head) is True
    except Exception:  # a signature test failing on odd bytes just means "not this format"
        return False


def _decode(data: bytes, name: str, role: str, max_pixels: int, defer: bool = False) -> Frame:
    """Identify and check a file's bytes without decoding its pixels: the header gives the size, checked against
    ``max_pixels`` first; then a JPEG is decoded at 1/8 scale, a PNG's compressed data inflated and counted
    (never kept) and a WebP's structure walked, so a truncated or damaged file is refused at a small cost."""
    fmt = sniff_image(data[:16])
    if fmt is None:
        suffix = Path(name).suffix
        what = _describe(data[:1024])
        if suffix.lower() in _NAME_CLAIMS:
            raise _fail(role, "problem_frame_not_image_named", what=what, suffix=suffix)
        raise _fail(role, "problem_frame_not_image", what=what)
    kind = FORMAT_NAMES[fmt]
    try:
        width, height = _header_size(data, fmt)
        _check_pixels(width, height, max_pixels, role)
        damage = _webp_damage(data) if fmt == "webp" else None  # before its demuxer reports it less clearly
        if not damage:
            image = _PLUGINS[fmt](io.BytesIO(data))  # reads the header only
            width, height = image.size
            _check_pixels(width, height, max_pixels, role)
            damage = _png_damage(data, image, inflate=not defer) if fmt == "png" else None
        if damage:
            raise _fail(role, "problem_frame_damaged", kind=kind, damage=damage)
        mode = image.mode
        n_frames = int(getattr(image, "n_frames", 1))
        turned = orientation(image, data)
        thumbnail = None
        if fmt == "jpeg":
            # Reduced at most 8× and never below the thumbnail's side where the frame allows, so that the
            # thumbnail comes from this decode even for a 720p frame (an 8× reduction would be 160×90).
            factor = max(1, min(8, max(width, height) // THUMBNAIL_SIDE))
            image.draft(image.mode, (max(1, width // factor), max(1, height // factor)))
            image.load()
            if max(image.size) >= THUMBNAIL_SIDE:  # else a thumbnail from it would be smaller than the others
                thumbnail = thumbnail_jpeg(image)
        image.close()
    except InvalidInput:
        raise
    except Exception as exc:  # Pillow reports bad files with OSError, SyntaxError, struct.error, EOFError…
        raise _damaged(role, kind, exc) from None
    if turned in _ROTATED:
        width, height = height, width
    inflated = not (defer and fmt == "png")
    return Frame(
        role,
        name,
        None,
        data,
        fmt,
        width,
        height,
        n_frames,
        turned,
        mode=mode,
        inflated=inflated,
        thumbnail=thumbnail,
    )


def thumbnail_jpeg(image: Image.Image, max_side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of a picture (upright, longest side at most ``max_side``, transparency on white): what the
    history keeps of each frame."""
    small = ImageOps.exif_transpose(image)
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if small.mode not in ("RGB", "L"):
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()


def check_data(frame: Frame) -> Frame:
    """``frame``, its PNG image data inflated and counted if ``load_frame(defer=True)`` left that for later."""
    if frame.inflated or frame.data is None:
        return frame
    image = _PLUGINS["png"](io.BytesIO(frame.data))
    damage = _png_damage(frame.data, image)
    image.close()
    if damage:
        raise _fail(frame.role, "problem_frame_damaged", kind=FORMAT_NAMES["png"], damage=damage)
    return replace(frame, inflated=True)


def _check_pixels(width: int, height: int, max_pixels: int, role: str) -> None:
    if width * height > max_pixels:
        megapixels, limit = width * height / 1e6, max_pixels / 1e6
        raise _fail(role, "problem_frame_pixels", width=width, height=height, megapixels=megapixels, limit=limit)


def _header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """The size as the file's first header states it, read before any decoder is made; (0, 0) if unreadable
    (then the plugin's header reading decides). WebP's decoder allocates its canvas when it is made."""
    if fmt == "webp":
        return _webp_size(data)
    if fmt == "png" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0


def _webp_size(data: bytes) -> tuple[int, int]:
    """The canvas size from a WebP header (VP8X, VP8 or VP8L); (0, 0) when it is not one of those."""
    kind = data[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8 ":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return 0, 0


def _damaged(role: str, kind: str, exc: Exception) -> InvalidInput:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, (Image.DecompressionBombError, MemoryError)):
        return _fail(role, "problem_frame_bomb", kind=kind, detail=detail)
    if isinstance(exc, EOFError) or "truncated" in detail:
        return _fail(role, "problem_frame_truncated", kind=kind)
    return _fail(role, "problem_frame_undecodable", kind=kind, detail=detail)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1 << 20  # inflated in pieces of this size, never kept


def _png_damage(data: bytes, image: Image.Image, *, inflate: bool = True) -> Phrase | None:
    """Walks the PNG chunks checking every CRC (Pillow skips the image data's), then inflates the image data in
    pieces, counting the bytes: a damaged or short stream is found without holding the pixels. None when well."""
    view, pos, end = memoryview(data), len(_PNG_MAGIC), len(data)
    idat: list[memoryview] = []
    while pos + 12 <= end:
        length = int.from_bytes(view[pos : pos + 4], "big")
        kind, stop = bytes(view[pos + 4 : pos + 8]), pos + 8 + length
        if stop + 4 > end:
            break
        if zlib.crc32(view[pos + 4 : stop]) != int.from_bytes(view[stop : stop + 4], "big"):
            return Phrase.of("frame_damage_checksum", chunk=kind.decode("latin-1"))
        if kind == b"IDAT":
            idat.append(view[pos + 8 : stop])
        if kind == b"IEND":
            # anything after IEND is ignored
            return _inflate_damage(idat, _png_data_size(data, image)) if inflate else None
        pos = stop + 4
    return Phrase.of("frame_damage_truncated")


def _png_data_size(data: bytes, image: Image.Image) -> int:
    """Bytes the image data inflates to: each row (of each interlace pass) is a filter byte and its pixels."""
    width, height = image.size
    depth, colour, interlace = data[24], data[25], data[28]
    bits = depth * _PNG_CHANNELS.get(colour, 4)
    if interlace != 1:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        cols, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if cols > 0 and rows > 0:
            total += rows * (1 + (cols * bits + 7) // 8)
    return total


def _inflate_damage(chunks: list[memoryview], expected: int) -> Phrase | None:
    inflater, produced = zlib.decompressobj(), 0
    try:
        for chunk in chunks:
            pending = bytes(chunk)
            while pending:
                produced += len(inflater.decompress(pending, _INFLATE_STEP))
                pending = inflater.unconsumed_tail
                if produced > expected:
                    return Phrase.of("frame_damage_data_long")
        while not inflater.eof and (piece := inflater.decompress(b"", _INFLATE_STEP)):
            produced += len(piece)
    except zlib.error as exc:
        return Phrase.of("frame_damage_inflate", error=str(exc))
    if not inflater.eof or produced < expected:
        return Phrase.of("frame_damage_data_short")
    return None


def _webp_damage(data: bytes) -> Phrase | None:
    """Walks the RIFF chunks: a file shorter than it says, or a chunk running past the end, is truncated."""
    declared = int.from_bytes(data[4:8], "little") + 8
    if declared > len(data):
        return Phrase.of("frame_damage_truncated")
    pos, seen = 12, set()
    while pos + 8 <= declared:
        kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if pos + 8 + size > declared:
            return Phrase.of("frame_damage_truncated")
        seen.add(kind)
        pos += 8 + size + (size & 1)
    if not seen & {b"VP8 ", b"VP8L", b"ANMF"}:
        return Phrase.of("frame_damage_no_picture")
    return None


def orientation(image: Image.Image, data: bytes | None = None) -> int:
    """The EXIF orientation (1–8) of an opened picture; 1 (upright) when absent or malformed. The one rule of
    this app, its auto-fit and its simulator: a frame is the size it is displayed at, after this orientation.

    ``data``, the picture's bytes, spares a PNG a whole decode: Pillow's PNG ``getexif()`` decodes the picture to
    reach an eXIf chunk placed after the image data, so the chunk is read from the bytes instead."""
    try:
        if data is not None and image.format == "PNG":
            chunk = _png_chunk(data, b"eXIf")
            if chunk is None:
                return 1
            exif = Image.Exif()
            exif.load(chunk)
        else:
            exif = image.getexif()
        value = exif.get(ExifTags.Base.Orientation, 1)
    except Exception:  # malformed EXIF is common and harmless: treat the picture as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def displayed_size(image: Image.Image, data: bytes | None = None) -> tuple[int, int]:
    """(width, height) as shown, after EXIF orientation: 4000×3000 with orientation 6 is 3000×4000. ``data``: the
    picture's bytes, as for :func:`orientation`."""
    width, height = image.size
    return (height, width) if orientation(image, data) in _ROTATED else (width, height)


def _png_chunk(data: bytes, wanted: bytes) -> bytes | None:
    pos = len(_PNG_MAGIC)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == wanted:
            return data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return None


class DecodeBudget:
    """A process-wide bound on the pixels fully decoded at once: peak memory follows the budget, not the number
    of visitors. A request takes its pixels (both frames at once, so two requests never wait on each other)
    for as long as it holds the pictures; a request larger than the whole budget runs alone."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free = capacity
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        need = max(0, min(pixels, self.capacity))
        with self._cond:
            self._cond.wait_for(lambda: self._free >= need)
            self._free -= need
        try:
            yield
        finally:
            with self._cond:
                self._free += need
                self._cond.notify_all()
            _return_memory()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.capacity - self._free


DECODES = DecodeBudget(2 * MAX_PIXELS)
"""Every full decode in this process runs inside ``DECODES.hold``: two frames at the default budget at a time."""


def _return_memory() -> None:
    """Give freed picture memory back to the system (glibc keeps large freed blocks otherwise)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - absent outside glibc
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def decode_picture(frame: Frame) -> Image.Image:
    """The frame's full picture (first frame, as stored: orientation not applied): the one full decode, made only
    to re-encode. Call it inside ``DECODES.hold``; the size was checked on the header when the frame was loaded."""
    if frame.data is None or frame.format is None:
        raise ValueError("a URL frame has no picture here: the service downloads it")
    try:
        image = _PLUGINS[frame.format](io.BytesIO(frame.data))
        image.load()
    except Exception as exc:
        raise _damaged(frame.role, FORMAT_NAMES[frame.format], exc) from None
    return image


def _show(ratio: Fraction, *limits: Fraction) -> str:
    """Two decimals, or four when two would print a limit the value does not meet."""
    text = f"{float(ratio):.2f}"
    return f"{float(ratio):.4f}" if any(text == f"{float(x):.2f}" and ratio != x for x in limits) else text


def aspect_problem(width: int, height: int, field: str = "frame") -> Problem | None:
    """Why a frame of this size breaks the 1:4–4:1 aspect rule, or None when it does not."""
    ratio = Fraction(width, height)
    if ASPECT_MIN <= ratio <= ASPECT_MAX:
        return None
    shape = f"{_show(ratio, ASPECT_MAX)}:1" if width >= height else f"1:{_show(1 / ratio, 1 / ASPECT_MIN)}"
    return Problem.of(field, "problem_frame_aspect", width=width, height=height, shape=shape)


def pair_problems(start: tuple[int, int], end: tuple[int, int], field: str = "end_frame") -> list[Problem]:
    """Why the end frame does not match the start frame: start ÷ end aspect and pixels, each within 0.8–1.25."""
    (ws, hs), (we, he) = start, end
    problems = []
    aspects, pixels = Fraction(ws * he, hs * we), Fraction(ws * hs, we * he)
    sizes = {"start_width": ws, "start_height": hs, "end_width": we, "end_height": he}
    if not PAIR_MIN <= aspects <= PAIR_MAX:
        shapes = {"start_aspect": f"{ws / hs:.2f}", "end_aspect": f"{we / he:.2f}"}
        ratio = _show(aspects, PAIR_MIN, PAIR_MAX)
        problems.append(Problem.of(field, "problem_pair_aspect", **sizes, **shapes, ratio=ratio))
    if not PAIR_MIN <= pixels <= PAIR_MAX:
        counts = {"start_mp": f"{ws * hs / 1e6:.2f}", "end_mp": f"{we * he / 1e6:.2f}"}
        ratio = _show(pixels, PAIR_MIN, PAIR_MAX)
        problems.append(Problem.of(field, "problem_pair_pixels", **sizes, **counts, ratio=ratio))
    return problems


def check_frame(frame: Frame) -> list[Problem]:
    """The rules one frame must meet on its own: aspect ratio, and a still picture. URL frames are not sized."""
    if frame.size is None:
        return []
    problems = [aspect_problem(*frame.size, frame.field)]
    if frame.n_frames > 1:
        kind = FORMAT_NAMES.get(frame.format or "", "image")
        problems.append(Problem.of(frame.field, "problem_frame_animated", kind=kind, count=frame.n_frames))
    return [problem for problem in problems if problem is not None]


def check_pair(start: Frame, end: Frame) -> list[Problem]:
    """The rules the pair must meet together; only when both frames are files (a URL's size is unknown here),
    and only when each frame meets the aspect rule on its own: a 5:1 panorama is the start frame's problem,
    which ``check_frame`` names, not the end frame's."""
    if start.size is None or end.size is None:
        return []
    if aspect_problem(*start.size) or aspect_problem(*end.size):
        return []
    return pair_problems(start.size, end.size, end.field)


def auto_fit(start: Frame, end: Frame, budget: int, resolution: str | None = None) -> FitResult:
    """Make the pair acceptable for a video of ``resolution`` and fit ``budget`` (see ``images_size``); the work
    is in ``autofit.py``."""
    from .autofit import auto_fit as fit  # imported here: autofit builds on this module

    return fit(start, end, budget, resolution)
