"""The two frames: loading them, checking them against the image rules, and the room they take in the request.

No Gradio and no network. A URL frame is checked as text: the service downloads it. A file is read once and
decoded fully once (only a full decode shows a truncated file); the picture stays on the ``Frame`` so auto-fit
(``autofit.py``) never decodes it again.

The format is judged from the bytes, never the name. Pillow's plugin for it is called directly, not through
``Image.open``, so Pillow's global decompression-bomb warning never fires: ``MAX_PIXELS`` is checked here, on the
header, before decoding. A JPEG with data appended (a "polyglot", e.g. a ZIP after the end marker) is accepted:
the picture decodes, decoders stop at the marker, and phones append data there routinely (MPF previews).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import re
import stat
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from .errors import InvalidInput, Problem

if TYPE_CHECKING:
    from .autofit import FitResult

MAX_FILE_BYTES = 50_000_000  # the seed's "50M" per image, read as decimal: the stricter reading
MAX_BODY_BYTES = 20_000_000  # the whole HTTP body, decimal
MAX_PIXELS = 100_000_000  # refuses decompression bombs; a 24 MP photo is a quarter of this
MAX_URL_LENGTH = 2048
ASPECT_MIN, ASPECT_MAX = Fraction(1, 4), Fraction(4, 1)  # width ÷ height of each frame
PAIR_MIN, PAIR_MAX = Fraction(4, 5), Fraction(5, 4)  # start ÷ end, for aspect ratios and for pixel counts

ROLES = ("start", "end")
FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}
ACCEPTED = "a PNG, JPEG or WebP image"
_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NAME_CLAIMS = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: "C:\..." is a Windows path
_HTTP = re.compile(r"^https?://", re.IGNORECASE)
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_SCHEME_MESSAGES = {
    "data": "is a data: URI; give the image file itself (the app builds the data URI) or an http(s) URL",
    "file": "is a file: URL; give the file's path instead, or upload the file",
}
# What other files are, by their first bytes (lower-cased), for formats Pillow has no plugin for.
_SIGNATURES = {
    b"%pdf": "a PDF document",
    b"pk\x03\x04": "a ZIP archive",
    b"<svg": "an SVG drawing (text, not a picture)",
    b"<!doctype html": "a web page (HTML)",
    b"<html": "a web page (HTML)",
    b"<?xml": "an XML text file",
}


@dataclass(frozen=True)
class Frame:
    """One frame as it will be sent: an http(s) URL, or a file's original bytes (never re-encoded here)."""

    role: str  # "start" or "end"
    source: str  # the path or URL as given
    url: str | None = None  # URL frames: the service downloads the image itself
    data: bytes | None = dataclasses.field(default=None, repr=False)  # the file's bytes, exactly as read
    format: str | None = None  # "png", "jpeg" or "webp", judged from the bytes
    width: int | None = None  # as displayed, after EXIF orientation: 4000×3000 with orientation 6 is 3000×4000
    height: int | None = None
    n_frames: int = 1  # more than one: an animation
    orientation: int = 1  # the EXIF orientation tag (1 = upright), which the original bytes keep
    # The decoded picture as stored (orientation not applied), kept so auto-fit need not decode again.
    image: Image.Image | None = dataclasses.field(default=None, repr=False, compare=False)
    mode: str | None = None  # Pillow's mode from the header: "RGB", "CMYK", "I;16", "P"…

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
        return f"{self.role.capitalize()} frame"

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

    def summary(self) -> str:
        """A short line for under the frame: "JPEG · 1920×1080 · 1.2 MB"."""
        if self.url is not None:
            return f"URL · {urlsplit(self.url).hostname} · downloaded by the service"
        assert self.data is not None and self.format is not None
        animated = [f"animated, {self.n_frames} frames"] if self.n_frames > 1 else []
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


def _fail(role: str, message: str) -> InvalidInput:
    return InvalidInput([Problem(f"{role}_frame", message)])


Keep = Literal["keep", "drop", "auto"]


def load_frame(source: str | os.PathLike[str], role: str, *, picture: Keep = "keep") -> Frame:
    """A URL frame (checked, not downloaded) or a local file (read, identified and decoded once).

    Every file is decoded to the end, so truncated and damaged files are refused. ``picture`` says what to keep:
    ``"keep"`` the decoded picture (for auto-fit); ``"drop"`` nothing, which lets a JPEG be checked with a
    reduced-size decode (libjpeg's DCT scaling still reads every byte of the compressed data, two to three times
    faster); ``"auto"`` keeps PNG and WebP pictures, whose second decode would cost more than the memory, and
    checks JPEGs as with ``"drop"`` (decoding one again later costs about what the check saved).
    Raises ``InvalidInput`` naming the frame and what would be accepted; never a bare Pillow error.
    """
    _check_role(role)
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise _fail(role, f"is missing: choose {ACCEPTED} file or give an http(s) URL")
        if _HTTP.match(text):
            return Frame(role=role, source=source, url=_checked_url(text, role))
        scheme = _SCHEME.match(text)
        if scheme:
            name = scheme.group(1).lower()
            default = f"uses the '{name}:' scheme; give {ACCEPTED} file or an http:// or https:// URL"
            raise _fail(role, _SCHEME_MESSAGES.get(name, default))
    return _load_file(Path(source), role, picture)


def _checked_url(url: str, role: str) -> str:
    example = "give one such as https://example.com/start.png"
    if len(url) > MAX_URL_LENGTH:
        raise _fail(role, f"is a URL of {len(url):,} characters; at most {MAX_URL_LENGTH:,} are accepted")
    if not url.isascii() or not url.isprintable() or any(ch in url for ch in ' "\\<>'):
        raise _fail(role, "is a URL with spaces, quotes or non-ASCII characters; percent-encode them (%20 …)")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise _fail(role, f"is not a valid URL; {example}") from None
    if not host:
        raise _fail(role, f"is a URL without a host name; {example}")
    if parts.username is not None or parts.password is not None:
        raise _fail(role, "is a URL with a user name or password in it; remove the credentials")
    return url


def _load_file(path: Path, role: str, picture: Keep) -> Frame:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _fail(role, f"is a folder, not an image file: {path}")
        if not stat.S_ISREG(info.st_mode):
            raise _fail(role, f"is not a regular file: {path}")
        _check_file_size(info.st_size, path, role)
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail(role, f"was not found: {path}") from None
    except OSError as exc:
        raise _fail(role, f"cannot be read ({exc.strerror or exc}): {path}") from None
    _check_file_size(len(data), path, role)  # it may have changed since stat()
    return _decode(data, str(path), role, picture)


def _check_file_size(n: int, path: Path, role: str) -> None:
    if n == 0:
        raise _fail(role, f"is an empty file (0 bytes): {path.name}; choose {ACCEPTED}")
    if n > MAX_FILE_BYTES:
        limit = f"{human_bytes(MAX_FILE_BYTES)} ({MAX_FILE_BYTES:,} bytes)"
        raise _fail(role, f"is {human_bytes(n)} ({n:,} bytes); at most {limit} per image is accepted: save it smaller")


def sniff_image(head: bytes) -> str | None:
    """ "png", "jpeg" or "webp" from the first bytes: the signatures Pillow's plugins accept."""
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "webp" if head[:4] == b"RIFF" and head[8:12] == b"WEBP" else None


def _describe(head: bytes) -> str:
    """What a file that is not PNG, JPEG or WebP is, as far as its first bytes tell."""
    if head[4:8] == b"ftyp":
        return "an AVIF image" if head[8:12] == b"avif" else "a HEIC/HEIF photo or an MP4-family video"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<?xml") and b"<svg" in text:
        return _SIGNATURES[b"<svg"]
    for signature, what in _SIGNATURES.items():
        if text.startswith(signature):
            return what
    Image.init()
    for name in Image.ID:  # Pillow's own registry of formats, each with its signature test
        if _pillow_accepts(name, head[:16]):
            return f"{'an' if name[0] in 'AEIOU' else 'a'} {name} image"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut in two by the end of the sample
            return "not an image this app recognises"
    return "a text file"


def _pillow_accepts(name: str, head: bytes) -> bool:
    accept = Image.OPEN[name][1]
    try:
        return accept is not None and accept(head) is True
    except Exception:  # a signature test failing on odd bytes just means "not this format"
        return False


def _decode(data: bytes, name: str, role: str, picture: Keep = "keep") -> Frame:
    fmt = sniff_image(data[:16])
    if fmt is None:
        suffix = Path(name).suffix
        despite = f", whatever its name ({suffix}) says" if suffix.lower() in _NAME_CLAIMS else ""
        what = _describe(data[:1024])
        raise _fail(role, f"is {what}{despite}; only PNG, JPEG and WebP are accepted: convert it to one of those")
    kind = FORMAT_NAMES[fmt]
    try:
        width, height = _webp_size(data) if fmt == "webp" else (0, 0)  # its decoder allocates the canvas up front
        if width * height <= MAX_PIXELS:
            image = _PLUGINS[fmt](io.BytesIO(data))  # reads the header only
            width, height = image.size
        if width * height > MAX_PIXELS:
            raise _fail(
                role,
                f"is {width}×{height}, {width * height / 1e6:,.0f} megapixels; at most {MAX_PIXELS / 1e6:.0f} "
                "megapixels are accepted (larger pictures can exhaust memory): scale it down first",
            )
        damage = _png_damage(data) if fmt == "png" else None
        if damage:
            raise _fail(role, f"is a damaged PNG file ({damage}); export or download it again")
        mode = image.mode
        keep = picture == "keep" or (picture == "auto" and fmt != "jpeg")
        if fmt == "jpeg" and not keep:
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    except InvalidInput:
        raise
    except Exception as exc:  # Pillow reports bad files with OSError, SyntaxError, struct.error, EOFError…
        raise _damaged(role, kind, exc) from None
    orientation = _orientation(image)
    if orientation in _ROTATED:
        width, height = height, width
    n_frames = int(getattr(image, "n_frames", 1))
    kept = image if keep else None
    return Frame(role, name, None, data, fmt, width, height, n_frames, orientation, image=kept, mode=mode)


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
        return _fail(role, f"is a {kind} file too large to decode safely ({detail}); scale it down first")
    if isinstance(exc, EOFError) or "truncated" in detail:
        return _fail(role, f"is a truncated {kind} file: it ends before the picture does; export or download it again")
    return _fail(role, f"is a damaged {kind} file that cannot be decoded ({detail}); export it again as {ACCEPTED}")


def _png_damage(data: bytes) -> str | None:
    """Walks the PNG chunks checking every CRC (Pillow skips the image data's); None when all is well."""
    view, pos, end = memoryview(data), len(_PNG_MAGIC), len(data)
    while pos + 12 <= end:
        length = int.from_bytes(view[pos : pos + 4], "big")
        kind, stop = bytes(view[pos + 4 : pos + 8]), pos + 8 + length
        if stop + 4 > end:
            break
        if zlib.crc32(view[pos + 4 : stop]) != int.from_bytes(view[stop : stop + 4], "big"):
            return f"bad checksum in its {kind.decode('latin-1')} chunk"
        if kind == b"IEND":
            return None  # anything after IEND is ignored, as decoders do
        pos = stop + 4
    return "truncated: it ends before the picture does"


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # malformed EXIF is common and harmless: treat the picture as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def picture(frame: Frame) -> Image.Image:
    """The frame's decoded picture (as stored, orientation not applied); decodes ``data`` if it was not kept."""
    if frame.image is None and frame.data is not None:
        return picture(_decode(frame.data, frame.source, frame.role, "keep"))
    if frame.image is None:
        raise ValueError("a URL frame has no picture here: the service downloads it")
    return frame.image


def _show(ratio: Fraction, *limits: Fraction) -> str:
    """Two decimals, or four when two would print a limit the value does not meet."""
    text = f"{float(ratio):.2f}"
    return f"{float(ratio):.4f}" if any(text == f"{float(x):.2f}" and ratio != x for x in limits) else text


def aspect_problem(width: int, height: int) -> str | None:
    """Why a frame of this size breaks the 1:4–4:1 aspect rule, or None when it does not."""
    ratio = Fraction(width, height)
    if ASPECT_MIN <= ratio <= ASPECT_MAX:
        return None
    shape = f"{_show(ratio, ASPECT_MAX)}:1" if width >= height else f"1:{_show(1 / ratio, 1 / ASPECT_MIN)}"
    return f"is {width}×{height}, an aspect ratio of {shape}; it must be between 1:4 and 4:1: crop it"


def pair_problems(start: tuple[int, int], end: tuple[int, int]) -> list[str]:
    """Why the end frame does not match the start frame: start ÷ end aspect and pixels, each within 0.8–1.25."""
    (ws, hs), (we, he) = start, end
    problems = []
    aspects, pixels = Fraction(ws * he, hs * we), Fraction(ws * hs, we * he)
    if not PAIR_MIN <= aspects <= PAIR_MAX:
        problems.append(
            f"is {we}×{he} (aspect {we / he:.2f}) against the start frame's {ws}×{hs} (aspect {ws / hs:.2f}): "
            f"start ÷ end aspect ratio {_show(aspects, PAIR_MIN, PAIR_MAX)}, and 0.80–1.25 is accepted; "
            "turn on auto-fit, or crop the end frame to the start frame's shape"
        )
    if not PAIR_MIN <= pixels <= PAIR_MAX:
        problems.append(
            f"has {we * he / 1e6:.2f} MP against the start frame's {ws * hs / 1e6:.2f} MP: start ÷ end resolution "
            f"ratio {_show(pixels, PAIR_MIN, PAIR_MAX)}, and 0.80–1.25 is accepted; turn on auto-fit, "
            f"or resize the end frame to the start frame's {ws}×{hs}"
        )
    return problems


def check_frame(frame: Frame) -> list[Problem]:
    """The rules one frame must meet on its own: aspect ratio, and a still picture. URL frames are not sized."""
    if frame.size is None:
        return []
    messages = [aspect_problem(*frame.size)]
    if frame.n_frames > 1:
        kind = FORMAT_NAMES.get(frame.format or "", "image")
        messages.append(
            f"is an animated {kind} ({frame.n_frames} frames); only still images are accepted: "
            "auto-fit would use its first frame"
        )
    return [Problem(frame.field, message) for message in messages if message]


def check_pair(start: Frame, end: Frame) -> list[Problem]:
    """The rules the pair must meet together; only when both frames are files (a URL's size is unknown here)."""
    if start.size is None or end.size is None:
        return []
    return [Problem(end.field, message) for message in pair_problems(start.size, end.size)]


def auto_fit(start: Frame, end: Frame, budget: int) -> FitResult:
    """Make the pair acceptable and fit ``budget`` (see ``images_size``); the work is in ``autofit.py``."""
    from .autofit import auto_fit as fit  # imported here: autofit builds on this module

    return fit(start, end, budget)
