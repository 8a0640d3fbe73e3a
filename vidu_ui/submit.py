"""From what a person entered to the exact request sent: check everything, fit the frames, build the body.

The command line and the web page both call ``prepare`` and then ``submit``; neither builds a body itself.
Nothing is sent unless ``prepare`` succeeded, and ``submit`` sends the very bytes that were measured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import frames
from .client import ViduClient
from .errors import InvalidInput, Problem
from .frames import Frame
from .options import TaskOptions, build_body, check_options
from .responses import CreatedTask

Source = str | os.PathLike[str]


@dataclass(frozen=True)
class PreparedRequest:
    """A checked request, ready to send."""

    body: dict[str, Any] = field(repr=False)
    content: bytes = field(repr=False)
    """The exact JSON bytes to send; ``len(content)`` is the body size the service sees."""
    start: Frame
    end: Frame
    changes: tuple[str, ...] = ()
    """What auto-fit changed, one sentence each; empty when the frames went as they were."""

    @property
    def size(self) -> int:
        return len(self.content)

    def shortened_body(self, keep: int = 48) -> dict[str, Any]:
        """The body with each data URI cut to ``keep`` characters, for showing to a person."""
        images = [_shorten(value, keep) for value in self.body["images"]]
        return {**self.body, "images": images}


def _shorten(value: str, keep: int) -> str:
    if not value.startswith("data:") or len(value) <= keep:
        return value
    return f"{value[:keep]}…[{len(value) - keep:,} more characters]"


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def load_frames(start: Source, end: Source) -> tuple[Frame | None, Frame | None, list[Problem]]:
    """Load both frames, collecting the problems of each rather than stopping at the first."""
    loaded: list[Frame | None] = []
    problems: list[Problem] = []
    for source, role in ((start, "start"), (end, "end")):
        try:
            loaded.append(frames.load_frame(source, role))
        except InvalidInput as exc:
            loaded.append(None)
            problems.extend(exc.problems)
    return loaded[0], loaded[1], problems


def _image_budget(fields: dict[str, Any]) -> int:
    """Bytes left for the two image strings once the rest of the body is counted."""
    return frames.MAX_BODY_BYTES - len(orjson.dumps(build_body(fields, ["", ""])))


def prepare(start: Source, end: Source, options: TaskOptions, *, auto_fit: bool = False) -> PreparedRequest:
    """Check the options and both frames; with ``auto_fit``, fix frames that would be refused.

    Raises ``InvalidInput`` listing every problem found; nothing has been sent then.
    """
    fields, problems = check_options(options)
    start_frame, end_frame, frame_problems = load_frames(start, end)
    problems += frame_problems
    if start_frame is None or end_frame is None or problems:
        if start_frame is not None and end_frame is not None and not auto_fit:
            problems += frame_checks(start_frame, end_frame)
        raise InvalidInput(problems)

    budget = _image_budget(fields)
    changes: tuple[str, ...] = ()
    if auto_fit:
        fitted = frames.auto_fit(start_frame, end_frame, budget)
        start_frame, end_frame, changes = fitted.start, fitted.end, tuple(fitted.changes)
    problems = frame_checks(start_frame, end_frame)
    if problems:
        raise InvalidInput(problems)

    body = build_body(fields, [start_frame.image_value(), end_frame.image_value()])
    content = orjson.dumps(body)
    if len(content) > frames.MAX_BODY_BYTES:
        over = len(content) - frames.MAX_BODY_BYTES
        raise InvalidInput(
            [
                Problem(
                    "frames",
                    f"the request would be {megabytes(len(content))}, {megabytes(over)} over the service's "
                    f"{megabytes(frames.MAX_BODY_BYTES)} limit (images travel as base64, a third larger); "
                    "turn on auto-fit or use smaller frames",
                )
            ]
        )
    return PreparedRequest(body=body, content=content, start=start_frame, end=end_frame, changes=changes)


def frame_checks(start: Frame, end: Frame) -> list[Problem]:
    """The checks on each frame and on the pair."""
    return [*frames.check_frame(start), *frames.check_frame(end), *frames.check_pair(start, end)]


def submit(client: ViduClient, request: PreparedRequest) -> CreatedTask:
    """Send a prepared request once. Errors are the client's typed errors (``OutcomeUnknownError`` included)."""
    return client.create(request.content)
