"""The page's form as one value: the key, the two frames, the request's options (``request.FIELDS``), auto-fit.

``FORM_FIELDS`` is the order of the inputs of Generate, Preview and their validator; ``form_function`` turns a
handler taking one ``Form`` into the function Gradio calls with one value per input, its parameters named after
the inputs (so the API's ``/generate`` takes them by name) and documented from the request's help texts.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import gradio as gr

from .. import request
from ..errors import Problem
from ..messages import EN
from ..request import TaskOptions

ImageValue = str | dict[str, Any] | None
"""A file path (preprocessed) or Gradio's file payload ``{"path": …}`` (events with ``preprocess=False``)."""

FRAME_FIELDS: tuple[str, ...] = ("start_image", "start_url", "end_image", "end_url")
FORM_FIELDS: tuple[str, ...] = ("api_key", *FRAME_FIELDS, *request.NAMES, "auto_fit")
"""Every value Generate, Preview and their validator read, in the order of their inputs."""
_HELP = {
    "api_key": "your Vidu API key (only when the server has none)",
    "start_image": "the start frame (PNG, JPEG or WebP)",
    "start_url": "the start frame as an http(s) URL, when no file is given",
    "end_image": "the end frame (PNG, JPEG or WebP)",
    "end_url": "the end frame as an http(s) URL, when no file is given",
    "auto_fit": "fix frames the service would refuse (resize or crop the end frame)",
}


def api_values(**options: Any) -> dict[str, Any]:
    """Generate's values as an API caller sends them, by input name, but for the key and the two frame files: the
    request's ``options`` by field name (the others at the page's defaults, ``request.form_values``), no frame
    URLs, auto-fit on."""
    values = {"start_url": "", "end_url": "", **request.form_values(options), "auto_fit": True}
    return {name: values[name] for name in FORM_FIELDS if name in values}


SAMPLE_VALUES: dict[str, Any] = api_values(model="viduq1", prompt="A slow dolly shot from dawn to dusk", audio=False)
"""A valid viduq1 Generate: the one the test suite and the benchmark send (they may not import each other)."""


def image_path(value: ImageValue) -> str | None:
    """The path of an uploaded frame: the original bytes Gradio stored, never re-encoded."""
    if isinstance(value, dict):
        path = value.get("path")
        return str(path) if path else None
    return value or None


def text_or_none(value: object) -> str | None:
    """A form text as the core expects it: blank means "not set"."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


_NOT_A_WEB_ADDRESS = ("problem_frame_scheme", "problem_frame_file_url", "problem_url_host", "problem_url_invalid")
"""The URL rule's refusals whose advice fits the command line (a path, another scheme) rather than this box: here
they read "give the image's web address or upload the file"."""


def url_problem(role: str, url: object) -> Problem | None:
    """Why the URL box's text cannot be a frame, or None: the one URL rule for a frame given as a URL
    (``request.url_problem(..., image=True)``, as ``frames.load_frame`` judges it). Only an http(s) URL can be a
    frame here: the core reads other text as a path, and here that would be one on this server."""
    text = text_or_none(url)
    if text is None:
        return None
    problem = request.url_problem(f"{role}_frame", text.strip(), image=True)
    if problem is not None and problem.key in _NOT_A_WEB_ADDRESS:
        return Problem.of(f"{role}_frame", "problem_frame_url")
    return problem


@dataclass
class Form:
    """The form's values: the key, the frames, the request's options by field name, auto-fit."""

    api_key: str | None = None
    start_image: ImageValue = None
    start_url: str | None = None
    end_image: ImageValue = None
    end_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """The options' inputs as the page holds them, by field name."""
    auto_fit: bool | None = True

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Form:
        """From values by input name (``FORM_FIELDS``); names that are not inputs are ignored."""
        own = {name: values[name] for name in ("api_key", *FRAME_FIELDS, "auto_fit") if name in values}
        if not isinstance(own.get("api_key"), str):  # a JSON API call may send a number: no key, then
            own["api_key"] = None
        return cls(**own, options={name: values.get(name) for name in request.NAMES})

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> Form:
        """From one value per input, in the order of ``FORM_FIELDS``."""
        return cls.of(dict(zip(FORM_FIELDS, values, strict=False)))

    @property
    def start(self) -> str | None:
        return image_path(self.start_image) or self._url("start")

    @property
    def end(self) -> str | None:
        return image_path(self.end_image) or self._url("end")

    def _url(self, role: str) -> str | None:
        url = self.start_url if role == "start" else self.end_url
        return None if url_problem(role, url) else text_or_none(url)

    def url_problems(self) -> list[Problem]:
        """The URL boxes that hold something other than an http(s) URL (and are not overridden by an upload)."""
        found = []
        for role, image, url in (("start", self.start_image, self.start_url), ("end", self.end_image, self.end_url)):
            problem = url_problem(role, url) if image_path(image) is None else None
            if problem is not None:
                found.append(problem)
        return found

    def frame_input(self, role: str) -> str:
        """The input showing a frame's problems: the URL box when the frame came from it, else the image."""
        image, url = (self.start_image, self.start_url) if role == "start" else (self.end_image, self.end_url)
        return f"{role}_url" if image_path(image) is None and text_or_none(url) else f"{role}_image"

    def task_options(self) -> TaskOptions:
        """The options as the person set them; inputs hidden for this model (or without a watermark) are unset."""
        return request.page_values(self.options)

    @property
    def wants_auto_fit(self) -> bool:
        return request.as_bool(self.auto_fit) is True


R = TypeVar("R")


def form_function(
    handler: Callable[..., R], name: str, *, extras: Sequence[str] = (), doc: str | None = None
) -> Callable[..., R]:
    """The function Gradio calls for ``handler(form, *extras, request=...)``: one parameter per input (named as
    in ``FORM_FIELDS``, then ``extras``), and ``request: gr.Request`` for Gradio to fill in."""

    count = len(FORM_FIELDS) + len(extras)

    def arguments(values: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
        # Gradio passes the request positionally, after the inputs, as the signature below declares it.
        http = values[count] if len(values) > count else None
        return (Form.from_values(values[: len(FORM_FIELDS)]), *values[len(FORM_FIELDS) : count]), http

    def plain(*values: Any) -> R:
        args, http = arguments(values)
        return handler(*args, request=http)

    def generator(*values: Any) -> Any:  # Gradio streams a generator function's outputs: stay one
        args, http = arguments(values)
        yield from handler(*args, request=http)  # type: ignore[misc]

    call: Callable[..., Any] = generator if inspect.isgeneratorfunction(handler) else plain

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter(n, positional, annotation=Any) for n in (*FORM_FIELDS, *extras)]
    parameters.append(inspect.Parameter("request", positional, default=None, annotation=gr.Request))
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    call.__annotations__ = {"request": gr.Request}
    call.__name__ = call.__qualname__ = name
    lines = [f"    {n}: {_HELP.get(n) or EN[request.BY_NAME[n].help_key]}" for n in FORM_FIELDS]
    call.__doc__ = (doc or "") + "\n\nArgs:\n" + "\n".join(lines)
    return call


class SessionGuard:
    """One per browser session (held in ``gr.State``): refuses a second Generate while one is in flight.

    Gradio deep-copies a State's initial value for each session; the copy gets its own lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> SessionGuard:
        return SessionGuard()

    def acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        if self._lock.locked():
            self._lock.release()
