"""The page's form: the values Generate and Preview read, turned into what the core takes.

Controls that do not apply (hidden for this model, or watermark details without a watermark) become None, so the
core's checks never complain about a value the person cannot see.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, fields
from typing import Any

from ..catalogue import Model, get_model
from ..errors import Problem
from ..options import TaskOptions, as_bool

ImageValue = str | dict[str, Any] | None
"""A file path (preprocessed) or Gradio's file payload ``{"path": …}`` (events with ``preprocess=False``)."""


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


_WEB_URL = re.compile(r"^https?://", re.IGNORECASE)


def url_problem(role: str, url: object) -> Problem | None:
    """Why the URL box's text cannot be a frame, or None. Only an http(s) URL can: the core reads any other text
    as a path (right for the command line), and here that path would be one on this server."""
    text = text_or_none(url)
    if text is None or _WEB_URL.match(text.strip()):
        return None
    return Problem(
        f"{role}_frame", "is not an http:// or https:// URL; give the image's web address or upload the file"
    )


def _flag(value: Any) -> Any:
    """A checkbox's value for the core: unset is off; anything else as sent, so that the core takes true and false
    (also as text) and refuses the rest naming the field, where ``bool("false")`` would turn it on."""
    return False if value is None else value


def _whole(value: Any) -> Any:
    """Gradio numbers arrive as floats (``5.0``); the core takes whole numbers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass
class Form:
    """Every value the Generate and Preview events read, in the order of their inputs."""

    api_key: str | None
    start_image: ImageValue
    start_url: str | None
    end_image: ImageValue
    end_url: str | None
    prompt: str | None
    model: str | None
    duration: float | None
    resolution: str | None
    seed: float | None
    movement_amplitude: str | None
    is_rec: bool | None
    bgm: bool | None
    audio: bool | None
    off_peak: bool | None
    watermark: bool | None
    wm_position: int | str | None
    wm_url: str | None
    meta_data: str | None
    payload: str | None
    callback_url: str | None
    auto_fit: bool | None = True

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

    def options(self) -> TaskOptions:
        """The options as the person set them; controls hidden for this model (or without a watermark) are None."""
        model: Model | None = get_model(self.model) if isinstance(self.model, str) else None

        def applies(flag: str) -> bool:
            return model is None or bool(getattr(model, flag))

        watermark = as_bool(self.watermark) is True
        return TaskOptions(
            model=self.model or "",
            prompt=self.prompt or "",
            duration=_whole(self.duration),
            resolution=text_or_none(self.resolution),
            seed=_whole(self.seed),
            movement_amplitude=text_or_none(self.movement_amplitude) if applies("movement_amplitude") else None,
            is_rec=_flag(self.is_rec),
            audio=self.audio if applies("audio") else None,
            bgm=_flag(self.bgm) if applies("bgm") else None,
            off_peak=_flag(self.off_peak),
            watermark=_flag(self.watermark),
            wm_position=self.wm_position if watermark else None,
            wm_url=text_or_none(self.wm_url) if watermark else None,
            meta_data=text_or_none(self.meta_data),
            payload=self.payload or None,
            callback_url=text_or_none(self.callback_url),
        )


FORM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Form))


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
