"""From what a person entered to the exact request sent: check everything, fit the frames, build the body.

The command line and the web page both call ``prepare`` and then ``submit``; neither builds a body itself.
Nothing is sent unless ``prepare`` succeeded, and ``submit`` sends the very bytes that were measured.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from . import frames
from .catalogue import get_model
from .errors import APIStatusError, InvalidInput, Problem
from .frames import Frame
from .messages import Phrase
from .request import DATA_URI_KEEP, TaskOptions, build_body, check, shortened_uri

if TYPE_CHECKING:
    from .client import ViduClient
    from .responses import CreatedTask
    from .settings import Settings

Source = str | os.PathLike[str]

REFERENCE_PREFIX = "vidu-ui:"
"""What the app's own ``payload`` reference starts with; the rest is the row's ``ref`` (a UUID, ``reconcile``)."""


def new_reference(settings: Settings) -> str | None:
    """A new reference for ``prepare`` to put in ``payload`` (``vidu-ui:<uuid>``), or None when the settings turn
    references off (``VIDU_UI_PAYLOAD_REFERENCE=0``). Each request gets its own: the history's row takes its ``ref``
    from it, so one prepared request can be written ahead, and sent, only once."""
    return REFERENCE_PREFIX + uuid.uuid4().hex if settings.payload_reference else None


@dataclass(frozen=True)
class PreparedRequest:
    """A checked request, ready to send. The full image data lives only in ``content``."""

    fields: dict[str, Any] = field(repr=False)
    """The body's fields other than ``images``."""
    content: bytes = field(repr=False)
    """The exact JSON bytes to send; ``len(content)`` is the body size the service sees."""
    start: Frame
    end: Frame
    changes: tuple[Phrase, ...] = ()
    """What auto-fit changed, one message each (``Phrase.render`` in the reader's language); empty when the frames
    went as they were."""
    auto_fit: bool = False
    """Auto-fit prepared these frames (whether or not it changed them)."""
    warnings: tuple[Problem, ...] = ()
    """What may not work as asked though nothing is wrong (``off_peak`` where relays say it is unavailable)."""
    reference: str | None = None
    """The app's own reference (``new_reference``) that this body carries in ``payload``; None when the user set
    the payload, or none was asked for."""

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def body(self) -> dict[str, Any]:
        """The body as sent, images in full (decoded from ``content``: for tests and reuse, not the hot path)."""
        decoded: dict[str, Any] = orjson.loads(self.content)
        return decoded

    def shortened_body(self, keep: int = DATA_URI_KEEP) -> dict[str, Any]:
        """The body with each data URI cut to ``keep`` characters, for showing to a person."""
        return build_body(self.fields, [_shortened_value(frame, keep) for frame in (self.start, self.end)])


def _shortened_value(frame: Frame, keep: int) -> str:
    """``frame.image_value()`` cut to ``keep`` characters, without encoding the whole image."""
    if frame.url is not None:
        return frame.url
    assert frame.data is not None and frame.format is not None
    prefix = f"data:image/{frame.format};base64,"
    head = base64.b64encode(frame.data[: max(3, keep) * 3 // 4 + 3]).decode("ascii")
    return shortened_uri(prefix + head, frame.data_uri_length(), keep)


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def load_frames(
    start: Source, end: Source, *, max_pixels: int = frames.MAX_PIXELS, defer: bool = False
) -> tuple[Frame | None, Frame | None, list[Problem]]:
    """Load both frames at once (their checks run outside the GIL), collecting the problems of each."""

    def load(source: Source, role: str) -> Frame | InvalidInput:
        try:
            return frames.load_frame(source, role, max_pixels=max_pixels, defer=defer)
        except InvalidInput as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vidu-frames") as pool:
        results = list(pool.map(load, (start, end), ("start", "end")))
    loaded = [r if isinstance(r, Frame) else None for r in results]
    problems = [p for r in results if isinstance(r, InvalidInput) for p in r.problems]
    return loaded[0], loaded[1], problems


_CHUNK = 3 * 256 * 1024
"""Bytes of a frame base64-encoded at a time: a multiple of 3, so the chunks' base64 joins into the whole's."""
_MARKERS = ("\x00vidu-ui start image\x00", "\x00vidu-ui end image\x00")
"""Stand-ins for the two images while the rest of the body is encoded (control characters: never in a field)."""


def encode_body(fields: dict[str, Any], start: Frame, end: Frame) -> bytes:
    """The exact JSON bytes of the body: ``orjson.dumps(build_body(fields, [start.image_value(),
    end.image_value()]))``, written once into a buffer of its known size, each image's base64 a chunk at a time,
    so that no base64 string or data URI of a whole frame exists besides the body."""
    skeleton = orjson.dumps(build_body(fields, list(_MARKERS)))
    marks = [orjson.dumps(marker)[1:-1] for marker in _MARKERS]
    head, rest = skeleton.split(marks[0], 1) if skeleton.count(marks[0]) == 1 else (b"", b"")
    middle, tail = rest.split(marks[1], 1) if rest.count(marks[1]) == 1 else (b"", b"")
    if not tail:  # never expected: the plain way
        return orjson.dumps(build_body(fields, [start.image_value(), end.image_value()]))
    total = len(head) + len(middle) + len(tail) + start.value_length() + end.value_length()
    buffer = io.BytesIO()
    buffer.seek(total - 1)
    buffer.write(b"\0")  # the buffer is allocated once, at its final size
    buffer.seek(0)
    for piece, frame in ((head, start), (middle, end)):
        buffer.write(piece)
        _write_value(buffer, frame)
    buffer.write(tail)
    if buffer.tell() != total:
        raise AssertionError(f"the body is {buffer.tell()} bytes, not the {total} measured")
    return buffer.getvalue()  # the buffer itself (exactly filled): not a copy


def _write_value(buffer: io.BytesIO, frame: Frame) -> None:
    """``frame.image_value()`` as JSON writes it (plain ASCII, no escapes: ``frames.images_size``)."""
    if frame.url is not None:
        buffer.write(frame.url.encode("ascii"))
        return
    assert frame.data is not None and frame.format is not None
    buffer.write(f"data:image/{frame.format};base64,".encode("ascii"))
    data = memoryview(frame.data)
    for at in range(0, len(data), _CHUNK):
        buffer.write(binascii.b2a_base64(data[at : at + _CHUNK], newline=False))


def _image_budget(fields: dict[str, Any]) -> int:
    """Bytes left for the two image strings once the rest of the body is counted."""
    return frames.MAX_BODY_BYTES - len(orjson.dumps(build_body(fields, ["", ""])))


def prepare(
    start: Source,
    end: Source,
    options: TaskOptions,
    *,
    auto_fit: bool = False,
    max_pixels: int = frames.MAX_PIXELS,
    reference: str | None = None,
) -> PreparedRequest:
    """Check the options and both frames; with ``auto_fit``, fix frames that would be refused.

    ``max_pixels`` is the frame budget (``Settings.max_pixels``), checked on each header before any decode.
    ``reference`` (``new_reference``) goes in ``payload`` when the user left it empty, so the body is encoded once,
    with it, and its size checked with it.
    Each frame's pixels are decoded at most once, and only when auto-fit re-encodes it.
    Raises ``InvalidInput`` listing every problem found; nothing has been sent then.
    """
    checked = check(options)
    fields, problems = checked.fields, list(checked.problems)
    if reference is not None and not fields.get("payload"):
        fields["payload"] = reference
    else:
        reference = None
    # With auto-fit, a PNG's data is inflated once: by auto-fit's decode if it re-encodes it, else just below.
    start_frame, end_frame, frame_problems = load_frames(start, end, max_pixels=max_pixels, defer=auto_fit)
    problems += frame_problems
    if start_frame is None or end_frame is None or problems:
        if start_frame is not None and end_frame is not None and not auto_fit:
            problems += frame_checks(start_frame, end_frame)
        raise InvalidInput(problems)

    budget = _image_budget(fields)
    changes: tuple[Phrase, ...] = ()
    if auto_fit:
        fitted = frames.auto_fit(start_frame, end_frame, budget, video_resolution(fields))
        start_frame, end_frame, changes = fitted.start, fitted.end, tuple(fitted.changes)
        start_frame, end_frame = load_checked(start_frame, end_frame)
    problems = frame_checks(start_frame, end_frame)
    if problems:
        raise InvalidInput(problems)

    # The body keeps shortened images, the full ones living only in ``content``.
    content = encode_body(fields, start_frame, end_frame)
    if len(content) > frames.MAX_BODY_BYTES:
        over = len(content) - frames.MAX_BODY_BYTES
        sizes = {"size": megabytes(len(content)), "over": megabytes(over), "limit": megabytes(frames.MAX_BODY_BYTES)}
        raise InvalidInput([Problem.of("frames", "problem_body_too_large", **sizes)])
    return PreparedRequest(
        fields=fields,
        content=content,
        start=start_frame,
        end=end_frame,
        changes=changes,
        auto_fit=auto_fit,
        warnings=tuple(checked.warnings),
        reference=reference,
    )


def video_resolution(fields: dict[str, Any]) -> str | None:
    """The resolution of the video asked for (auto-fit sizes the frames for it): the one chosen, else the model's
    default at the chosen duration; None for a model the catalogue does not know."""
    chosen = fields.get("resolution")
    if isinstance(chosen, str):
        return chosen
    model = get_model(str(fields.get("model")))
    return model.default_resolution_for(fields.get("duration")) if model is not None else None


def load_checked(start: Frame, end: Frame) -> tuple[Frame, Frame]:
    """The frames, each PNG whose data was left unchecked (sent as it is) now checked; raises ``InvalidInput``."""
    results: list[Frame] = []
    problems: list[Problem] = []
    for frame in (start, end):
        try:
            results.append(frames.check_data(frame))
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput(problems)
    return results[0], results[1]


def frame_checks(start: Frame, end: Frame) -> list[Problem]:
    """The checks on each frame and on the pair."""
    return [*frames.check_frame(start), *frames.check_frame(end), *frames.check_pair(start, end)]


def submit(client: ViduClient, request: PreparedRequest) -> CreatedTask:
    """Send a prepared request once. Errors are the client's typed errors (``OutcomeUnknownError`` included);
    a refusal of a request auto-fit prepared says so, so that its hint does not suggest auto-fit."""
    try:
        return client.create(request.content)
    except APIStatusError as exc:
        exc.auto_fit = request.auto_fit
        raise
