"""What the service returns, as pydantic models.

Tolerant where resellers differ (missing fields are ``None``, unknown fields are kept). States are parsed here
once (``docs/contract.md``): the documented five as they are; ``canceled``/``cancelled`` become ``failed`` with
``err_code`` ``UserCancelled`` (``outcome`` names both "cancelled"); any other state word (``scheduling``,
``preparation``) is kept as it is and means "not finished yet". Each model keeps the decoded JSON it came from in
``.raw`` so the UI can show the full response.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from .request import TASK_STATES as TASK_STATES  # re-exported: ``request`` holds the documented states
from .request import task_id_problem

FINISHED_STATES: frozenset[str] = frozenset({"success", "failed"})
CANCELLED_STATES: frozenset[str] = frozenset({"canceled", "cancelled"})
CANCELLED_CODE = "UserCancelled"
Outcome = Literal["created", "queueing", "processing", "success", "failed", "cancelled", "running"]
_STATE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def outcome(state: str, err_code: str | None = None) -> Outcome:
    """What a state means to a person: a documented state, ``cancelled`` (however the service spells it), or
    ``running`` for a state outside the documented ones (still going: follow on)."""
    if state in CANCELLED_STATES or (state == "failed" and err_code == CANCELLED_CODE):
        return "cancelled"
    if state in TASK_STATES:
        return state  # type: ignore[return-value]  # one of the documented five
    return "running"


def _state(value: Any) -> Any:
    """A state word, lower-cased; anything else (a number, a sentence) is refused by the field's type."""
    if isinstance(value, str) and _STATE_WORD.fullmatch(value.strip()):
        return value.strip().lower()
    if isinstance(value, str):
        raise ValueError("not a state word")
    return value


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
OptState = Annotated[str | None, BeforeValidator(_blank_to_none), BeforeValidator(_state)]
State = Annotated[str, BeforeValidator(_state)]


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True, defer_build=True)

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
    """The task's id (Vidu: a decimal integer as a string; relays: ``task_…``, UUIDs); keep it to query, cancel
    or find the task later."""
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
            if task_id_problem(value) is not None:
                raise ValueError("the task id is empty or has characters a task id cannot have")
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


class BlockedResource(_Response):
    """An input the moderation blocked."""

    content_type: str | None = None
    """What kind of input: ``image``, ``prompt``…"""
    index: OptInt = None
    """Which one of its kind (0: the start frame)."""


class TaskStatus(_Response):
    """The query call's answer: where a task is and, once it succeeded, its videos."""

    id: OptId = None
    """The task's id (the official API echoes it; resellers may not)."""
    state: State
    """``created``, ``queueing``, ``processing``, ``success`` or ``failed``; a cancelled task reads ``failed``
    with ``UserCancelled``; another word (``scheduling``, ``preparation``) means not finished yet."""
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
    progress: OptNumber = None
    """How far the task is, 0–100, when the service says."""
    blocked_resources: list[BlockedResource] = Field(default_factory=list)
    """Which inputs the moderation blocked, when it did."""

    @model_validator(mode="after")
    def _cancelled(self) -> Self:
        # "canceled"/"cancelled" (Vidu's other API) are one outcome with "failed" + UserCancelled: store that.
        if self.state in CANCELLED_STATES:
            self.state = "failed"
            self.err_code = self.err_code or CANCELLED_CODE
        if self.progress is not None:
            self.progress = min(100, max(0, self.progress))
        return self

    @field_validator("creations", "blocked_resources", mode="before")
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
    def outcome(self) -> Outcome:
        return outcome(self.state, self.err_code)

    @property
    def cancelled(self) -> bool:
        return self.outcome == "cancelled"

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
            parts.append(f"the task state {shown} is not a state word")
        elif err["type"] == "missing":
            parts.append(f"the field {loc!r} is missing")
        else:
            parts.append(f"the field {loc!r} is invalid: {err['msg']}")
    if not isinstance(data, dict):
        return f"the service answered with JSON {type(data).__name__}, not an object"
    return "; ".join(parts) or "the response is not valid"


class CreditBalance(_Response):
    """One line of the credits answer: a kind of credit and the account's use of its concurrency."""

    type: str | None = None
    credit_remain: OptNumber = None
    concurrency_limit: OptInt = None
    current_concurrency: OptInt = None
    queue_count: OptInt = None


class Credits(_Response):
    """The credits answer in its documented shape (``remains: [...]``, the table's ``remaining_credits``), or the
    older flat one (``{"credit_remain": …}`` at the top), read as one list."""

    remains: list[CreditBalance] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        lines = data.get("remains")
        if lines is None:
            lines = data.get("remaining_credits")
        if lines is None and any(k in data for k in ("credit_remain", "credits", "remain")):
            flat = data.get("credit_remain", data.get("credits", data.get("remain")))
            lines = [{**{k: v for k, v in data.items() if k in CreditBalance.model_fields}, "credit_remain": flat}]
        return {**data, "remains": lines if isinstance(lines, list) else []}

    @property
    def total(self) -> float | None:
        amounts = [line.credit_remain for line in self.remains if line.credit_remain is not None]
        return sum(amounts) if amounts else None
