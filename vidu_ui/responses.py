"""What the service returns, as pydantic models.

Tolerant where resellers differ (missing fields are ``None``, unknown fields are kept), strict where it matters:
a ``state`` this app does not know is rejected, so a caller never mistakes it for "still running".
Each model keeps the decoded JSON it came from in ``.raw`` so the UI can show the full response.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from typing_extensions import Self

TaskState = Literal["created", "queueing", "processing", "success", "failed"]
TASK_STATES: tuple[str, ...] = get_args(TaskState)
FINISHED_STATES: frozenset[str] = frozenset({"success", "failed"})


def _blank_to_none(value: Any) -> Any:
    # Resellers send "" for "not set" where the official API sends a number or omits the field.
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _id_to_str(value: Any) -> Any:
    # Ids are decimal integers; some serialisers send them as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
OptBool = Annotated[bool | None, BeforeValidator(_blank_to_none)]
OptNumber = Annotated[int | float | None, BeforeValidator(_blank_to_none)]
OptId = Annotated[str | None, BeforeValidator(_id_to_str)]
OptState = Annotated[TaskState | None, BeforeValidator(_blank_to_none)]


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The decoded JSON object this model was read from, every field included."""
        return self._raw

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Validate a decoded JSON value; raises ``pydantic.ValidationError`` (see ``describe_validation_error``)."""
        model = cls.model_validate(data)
        if isinstance(data, dict):
            model._raw = data
        return model


class CreatedTask(_Response):
    """The create call's answer: the task as the service accepted it."""

    task_id: str
    """The task's id, a decimal integer as a string; keep it to query, cancel or find the task later."""
    type: str | None = None
    """The task type; ``headtailimg2video`` for a start–end frame task."""
    state: OptState = None
    """The task's state when accepted, usually ``created``."""
    model: str | None = None
    """The model that will run the task."""
    style: str | None = None
    """The style the service applied (``general`` by default)."""
    prompt: str | None = None
    """The prompt as the service received it."""
    images: list[str] | None = None
    """The start and end frames as the service stored them (URLs)."""
    duration: OptInt = None
    """The video's length in seconds."""
    seed: OptInt = None
    """The seed actually used; pass it again to reproduce the video."""
    aspect_ratio: str | None = None
    """The aspect ratio, when the service reports one."""
    resolution: str | None = None
    """The video's resolution, e.g. ``1080p``."""
    movement_amplitude: str | None = None
    """How much the camera and subjects move: ``auto``, ``small``, ``medium`` or ``large``."""
    created_at: str | None = None
    """When the task was created, as the service wrote it (RFC 3339, nanoseconds possible)."""
    credits: OptNumber = None
    """Credits charged for the task."""
    payload: str | None = None
    """The pass-through text sent with the request."""
    cus_priority: OptInt = None
    """The account's queue priority, when reported."""
    off_peak: OptBool = None
    """Whether the task runs off-peak (cheaper, finishes within 48 h)."""
    watermark: OptBool = None
    """Whether a watermarked copy is made."""
    is_rec: OptBool = None
    """Whether the service writes its own prompt (10 extra credits)."""
    wm_position: int | str | None = None
    """Watermark corner: 1 top left, 2 top right, 3 bottom right, 4 bottom left; the seed shows ``"unspecified"``."""
    wm_url: str | None = None
    """URL of the watermark image, empty for the default watermark."""
    meta_data: str | None = None
    """The metadata JSON string sent with the request."""
    client_request_id: str | None = None
    """A client request id, when the service echoes one."""
    audio: OptBool = None
    """Whether sound is generated (q3 models)."""
    bgm: OptBool = None
    """Whether background music is added."""

    @field_validator("task_id", mode="before")
    @classmethod
    def _task_id(cls, value: Any) -> Any:
        value = _id_to_str(value)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("the task id is empty")
        return value


class Creation(_Response):
    """One generated video."""

    id: OptId = None
    """The creation's id."""
    url: str | None = None
    """The video's URL; signed, valid for about 24 hours: query the task again for a fresh one."""
    cover_url: str | None = None
    """A still image of the video; signed like ``url``."""
    watermarked_url: str | None = None
    """The watermarked copy's URL, when a watermark was asked for."""


class TaskStatus(_Response):
    """The query call's answer: where a task is and, once it succeeded, its videos."""

    id: OptId = None
    """The task's id (the official API echoes it; resellers may not)."""
    state: TaskState
    """``created``, ``queueing``, ``processing``, ``success`` or ``failed``."""
    err_code: str | None = None
    """Why the task failed, as a reason such as ``CreditInsufficient``; empty otherwise."""
    credits: OptNumber = None
    """Credits the task spent."""
    payload: str | None = None
    """The pass-through text sent with the create request."""
    bgm: OptBool = None
    """Whether background music was added."""
    off_peak: OptBool = None
    """Whether the task ran off-peak."""
    creations: list[Creation] = Field(default_factory=list)
    """The generated videos; empty until the task succeeds."""

    @field_validator("creations", mode="before")
    @classmethod
    def _null_creations(cls, value: Any) -> Any:
        return [] if value is None else value

    @classmethod
    def from_json(cls, data: Any) -> Self:
        model = super().from_json(data)
        # Keep each creation's own raw dict too.
        raw_creations = data.get("creations") if isinstance(data, dict) else None
        if isinstance(raw_creations, list):
            for creation, raw in zip(model.creations, raw_creations, strict=False):
                if isinstance(raw, dict):
                    creation._raw = raw
        return model

    @property
    def finished(self) -> bool:
        """True once the task succeeded or failed: nothing more will change."""
        return self.state in FINISHED_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    @property
    def video_url(self) -> str | None:
        """The first creation's video URL, if any."""
        return next((c.url for c in self.creations if c.url), None)

    @property
    def cover_url(self) -> str | None:
        """The first creation's cover image URL, if any."""
        return next((c.cover_url for c in self.creations if c.cover_url), None)

    @property
    def watermarked_url(self) -> str | None:
        """The first creation's watermarked video URL, if any."""
        return next((c.watermarked_url for c in self.creations if c.watermarked_url), None)


def describe_validation_error(exc: ValidationError, data: Any) -> str:
    """One sentence a person understands for why ``data`` is not a response this app can read.

    Names an unknown state by its value; other problems by field, never echoing long values (image data).
    """
    state = data.get("state") if isinstance(data, dict) else None
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "response"
        if err["loc"] and err["loc"][0] == "state" and state is not None:
            shown = repr(state) if isinstance(state, str) and len(state) <= 40 else "a value"
            parts.append(f"the task state {shown} is not one this app knows ({', '.join(TASK_STATES)})")
        elif err["type"] == "missing":
            parts.append(f"the field {loc!r} is missing")
        else:
            parts.append(f"the field {loc!r} is invalid: {err['msg']}")
    if not isinstance(data, dict):
        return f"the service answered with JSON {type(data).__name__}, not an object"
    return "; ".join(parts) or "the response is not valid"
