"""The create call's checks, as the service makes them: each failure is a :class:`Rejection` with its reason."""

from __future__ import annotations

import base64
import binascii
import io
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .. import request
from ..catalogue import MOVEMENT_AMPLITUDES, WM_POSITIONS, Model, get_model
from ..frames import displayed_size

MAX_BODY_BYTES = 20_000_000
MAX_IMAGE_BYTES = 50_000_000
MAX_PROMPT_CHARS = request.PROMPT_MAX
MAX_PAYLOAD_CHARS = request.PAYLOAD_MAX
MAX_SEED = request.SEED_MAX
RATIO_LOW, RATIO_HIGH = 0.8, 1.25

FIELDS = frozenset(request.BODY_ORDER)
_DATA_URI = re.compile(r"data:image/(png|jpeg|webp);base64,(.*)", re.DOTALL)


class Rejection(Exception):
    """A request the service refuses: HTTP ``status`` with ``reason`` and a ``message`` for people."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class CreateRequest:
    """A create body that passed every check, with defaults filled in."""

    model: Model
    prompt: str
    images: tuple[str, str]
    image_bytes: tuple[bytes | None, bytes | None]
    """Decoded data URIs; None for an http(s) URL, which the task downloads."""
    duration: int
    resolution: str
    seed: int
    movement_amplitude: str
    is_rec: bool
    audio: bool
    bgm: bool
    off_peak: bool
    watermark: bool
    wm_position: int
    wm_url: str
    payload: str
    meta_data: str
    callback_url: str


def sniff(data: bytes) -> str | None:
    """The image format from its bytes: ``png``, ``jpeg``, ``webp`` or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes, label: str) -> tuple[int, int]:
    """Width and height of an image's bytes after the size, format and aspect checks."""
    if len(data) > MAX_IMAGE_BYTES:
        raise Rejection("PageSizeOutOfRange", f"{label} is {len(data):,} bytes; the limit is {MAX_IMAGE_BYTES:,}")
    if sniff(data) is None:
        raise Rejection("ImageFormatInvalid", f"{label} is not a PNG, JPEG or WebP image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = displayed_size(img, data)  # the app's one orientation rule
    except Exception:
        raise Rejection("ImageFormatInvalid", f"{label} cannot be read as an image") from None
    if not 0.25 <= width / height <= 4.0:
        raise Rejection("PageSizeOutOfRange", f"{label} is {width}×{height}: its aspect ratio is outside 1:4–4:1")
    return width, height


def check_pair(first: tuple[int, int], second: tuple[int, int]) -> None:
    """Start and end frames must be alike: aspect ratios and pixel counts each within 0.8–1.25 of each other."""
    aspect = (first[0] / first[1]) / (second[0] / second[1])
    if not RATIO_LOW <= aspect <= RATIO_HIGH:
        raise Rejection(
            "PageSizeOutOfRange", f"start/end aspect ratio is {aspect:.3f}; it must be within {RATIO_LOW}–{RATIO_HIGH}"
        )
    pixels = (first[0] * first[1]) / (second[0] * second[1])
    if not RATIO_LOW <= pixels <= RATIO_HIGH:
        raise Rejection(
            "PageSizeOutOfRange",
            f"start/end resolution ratio is {pixels:.3f}; it must be within {RATIO_LOW}–{RATIO_HIGH}",
        )


def _decode_image(value: Any, label: str) -> bytes | None:
    if not isinstance(value, str):
        raise Rejection("FieldInvalid", f"{label} must be a string (a data URI or an http(s) URL)")
    if value.startswith(("http://", "https://")):
        return None
    match = _DATA_URI.fullmatch(value)
    if match is None:
        raise Rejection(
            "ImageFormatInvalid", f"{label} must be an http(s) URL or data:image/(png|jpeg|webp);base64,<data>"
        )
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise Rejection("ImageFormatInvalid", f"{label} is not valid base64") from None
    real = sniff(data)
    if real is not None and real != match.group(1):
        raise Rejection("ImageFormatInvalid", f"{label} is declared image/{match.group(1)} but is {real}")
    return data


def _bool(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Rejection("FieldInvalid", f"{name} must be true or false")


def _int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool):
        raise Rejection("FieldInvalid", f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
        return int(value)
    raise Rejection("FieldInvalid", f"{name} must be an integer")


def _str(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise Rejection("FieldInvalid", f"{name} must be a string")
    return value


def _http_url(value: str, name: str) -> None:
    if request.url_problem(name, value) is not None:
        raise Rejection("FieldInvalid", f"{name} must be an http(s) URL")


def parse_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise Rejection(
            "PageSizeOutOfRange", f"the request body is {len(raw):,} bytes; the limit is {MAX_BODY_BYTES:,}"
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Rejection("BadRequest", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Rejection("BadRequest", "the request body must be a JSON object")
    return body


def validate_create(body: dict[str, Any]) -> CreateRequest:
    """Check a create body field by field, in the order the service reports problems."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise Rejection("FieldUnwanted", f"unknown field(s): {', '.join(unknown)}")
    lacking = [name for name in ("model", "images", "prompt") if name not in body or body[name] is None]
    if lacking:
        raise Rejection("FieldLacking", f"missing required field(s): {', '.join(lacking)}")
    model = get_model(_str(body, "model"))
    if model is None:
        raise Rejection("FieldInvalid", f"model {str(body['model'])[:60]!r} is not a start–end model")
    images = body["images"]
    if not isinstance(images, list):
        raise Rejection("FieldInvalid", "images must be an array of two strings")
    if len(images) != 2:
        raise Rejection("FieldItemCountOutOfRange", f"images must hold exactly 2 items, not {len(images)}")
    is_rec = _bool(body, "is_rec")
    prompt = _str(body, "prompt")
    if not prompt.strip() and not is_rec:
        raise Rejection("FieldLacking", "prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise Rejection("FieldInvalid", f"prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
    duration = _int(body, "duration", model.default_duration)
    if duration not in model.durations:
        allowed_text = model.describe_durations()
        raise Rejection("FieldInvalid", f"duration {duration} is not allowed for {model.name} ({allowed_text} s)")
    resolution = _str(body, "resolution", model.default_resolution_for(duration))
    allowed = model.resolutions_for(duration)
    if resolution not in allowed:
        raise Rejection(
            "FieldInvalid",
            f"resolution {resolution[:20]!r} is not allowed for {model.name} at {duration} s ({', '.join(allowed)})",
        )
    seed = _int(body, "seed", 0)
    if not 0 <= seed <= MAX_SEED:
        raise Rejection("FieldInvalid", f"seed must be within 0–{MAX_SEED}")
    wm_position = _int(body, "wm_position", 3)
    if wm_position not in WM_POSITIONS:
        raise Rejection("FieldInvalid", "wm_position must be 1, 2, 3 or 4")
    amplitude = _str(body, "movement_amplitude", "auto")
    if amplitude not in MOVEMENT_AMPLITUDES:
        raise Rejection("FieldInvalid", f"movement_amplitude must be one of {', '.join(MOVEMENT_AMPLITUDES)}")
    payload = _str(body, "payload")
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise Rejection("FieldInvalid", f"payload is longer than {MAX_PAYLOAD_CHARS:,} characters")
    meta_data = _str(body, "meta_data")
    if meta_data:
        try:
            meta = None if request.json_too_deep(meta_data) else json.loads(meta_data)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise Rejection("FieldInvalid", "meta_data must be a JSON object encoded as a string")
    callback_url, wm_url = _str(body, "callback_url"), _str(body, "wm_url")
    if callback_url:
        _http_url(callback_url, "callback_url")
    if wm_url:
        _http_url(wm_url, "wm_url")
    start, end = _decode_image(images[0], "the start image"), _decode_image(images[1], "the end image")
    sizes = [image_size(data, label) for data, label in ((start, "the start image"), (end, "the end image")) if data]
    if len(sizes) == 2:
        check_pair(sizes[0], sizes[1])
    return CreateRequest(
        model=model,
        prompt=prompt,
        images=(images[0], images[1]),
        image_bytes=(start, end),
        duration=duration,
        resolution=resolution,
        seed=seed or random.randint(1, MAX_SEED),
        movement_amplitude=amplitude,
        is_rec=is_rec,
        audio=_bool(body, "audio", model.audio),
        bgm=_bool(body, "bgm"),
        off_peak=_bool(body, "off_peak"),
        watermark=_bool(body, "watermark"),
        wm_position=wm_position,
        wm_url=wm_url,
        payload=payload,
        meta_data=meta_data,
        callback_url=callback_url,
    )
