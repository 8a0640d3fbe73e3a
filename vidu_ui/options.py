"""The create call's options, their checks, and the request body built from them.

``TaskOptions`` holds what a person entered (strings from a command line or a form are fine); ``check_options``
turns it into the fields to send, or into ``Problem``s that name the field and what would be accepted. The body
carries only the contract's fields, and only those the user set.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from .catalogue import MODEL_NAMES, MOVEMENT_AMPLITUDES, Model, get_model, models_with
from .errors import Problem

PROMPT_MAX = 2000
PAYLOAD_MAX = 1_048_576
META_DATA_MAX = 1_048_576
SEED_MAX = 2_147_483_647
URL_MAX = 2048
_META_EXAMPLE = 'a JSON object such as {"Label": "my-label"}'
WM_POSITIONS = {1: "top left", 2: "top right", 3: "bottom right", 4: "bottom left"}

# Every field the create call accepts, in the order they are sent. The service rejects others (FieldUnwanted).
BODY_FIELDS: tuple[str, ...] = (
    "model",
    "images",
    "prompt",
    "is_rec",
    "duration",
    "seed",
    "resolution",
    "movement_amplitude",
    "audio",
    "bgm",
    "off_peak",
    "payload",
    "watermark",
    "wm_position",
    "wm_url",
    "meta_data",
    "callback_url",
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_INT_RE = re.compile(r"\+?[0-9]+")


@dataclass
class TaskOptions:
    """What the person asked for. ``None`` means "not set": the field is left out of the body."""

    model: str
    prompt: str = ""
    duration: int | str | None = None
    resolution: str | None = None
    seed: int | str | None = None
    movement_amplitude: str | None = None
    is_rec: bool | str | None = None
    audio: bool | str | None = None
    bgm: bool | str | None = None
    off_peak: bool | str | None = None
    watermark: bool | str | None = None
    wm_position: int | str | None = None
    wm_url: str | None = None
    meta_data: str | None = None
    payload: str | None = None
    callback_url: str | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> TaskOptions:
        """Build from a dict, ignoring keys that are not options (so a saved request can be reused)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: object) -> int | None:
    """A whole number from an int or a plain decimal string; None for anything else (``1e9``, ``2.5``, ``abc``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def as_bool(value: object) -> bool | None:
    """A bool or its text (true/false, 1/0, yes/no, on/off; empty is false); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _json_kind(value: object) -> str:
    kinds = {dict: "a JSON object", list: "a JSON array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def check_url(field: str, value: str) -> Problem | None:
    """An http(s) URL with a host, no credentials, no spaces or control characters, at most 2048 characters."""
    accepted = "an http:// or https:// address such as https://example.com/hook"
    if len(value) > URL_MAX:
        return Problem(field, f"is {len(value):,} characters long; at most {URL_MAX} are accepted")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value):
        return Problem(field, f"contains spaces or control characters; give {accepted}")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return Problem(field, f"is not a valid URL; give {accepted}")
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        return Problem(field, f"has {shown}; only {accepted} is accepted")
    if not host:
        return Problem(field, f"has no host name; give {accepted}")
    if parts.username is not None or parts.password is not None:
        return Problem(field, "contains a user name or password; remove the credentials from the URL")
    return None


def check_prompt(prompt: object) -> Problem | None:
    if not isinstance(prompt, str) or not prompt.strip():
        return Problem("prompt", "is required: describe the motion from the start frame to the end frame")
    if len(prompt) > PROMPT_MAX:
        return Problem("prompt", f"is {len(prompt):,} characters long; at most {PROMPT_MAX:,} are accepted")
    bad = sorted({f"U+{ord(ch):04X}" for ch in prompt if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"})
    if bad:
        return Problem("prompt", f"contains control characters ({', '.join(bad[:5])}); remove them")
    return None


def check_options(opts: TaskOptions) -> tuple[dict[str, Any], list[Problem]]:
    """The body fields (without ``images``) for ``opts``, and every problem found.

    The fields are meaningful only when the problem list is empty.
    """
    checker = _Checker(opts)
    checker.run()
    return checker.out, checker.problems


class _Checker:
    """One pass over the options: each ``_field`` method checks one field (or a group that goes together)."""

    def __init__(self, opts: TaskOptions) -> None:
        self.opts = opts
        self.out: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.model: Model | None = None
        self.duration: int | None = None
        self.flags: dict[str, bool] = {}

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message))

    def add(self, problem: Problem | None) -> None:
        if problem is not None:
            self.problems.append(problem)

    def run(self) -> None:
        self._model()
        self.add(check_prompt(self.opts.prompt))
        if isinstance(self.opts.prompt, str):
            self.out["prompt"] = self.opts.prompt
        self._duration()
        self._resolution()
        self._seed()
        self._movement_amplitude()
        self._flags()
        self._watermark()
        self._meta_data()
        self._payload()
        if not _blank(self.opts.callback_url):
            url = str(self.opts.callback_url).strip()
            self.add(check_url("callback_url", url))
            self.out["callback_url"] = url

    def _model(self) -> None:
        name = self.opts.model
        self.model = get_model(name) if isinstance(name, str) else None
        if self.model is not None:
            self.out["model"] = self.model.name
            return
        shown = f"'{name}' is not a known model" if not _blank(name) else "is required"
        self.fail("model", f"{shown}; choose one of {', '.join(MODEL_NAMES)}")

    def _duration(self) -> None:
        raw, model = self.opts.duration, self.model
        if _blank(raw):
            return
        duration = _as_int(raw)
        if duration is None:
            self.fail("duration", f"'{raw}' is not a whole number of seconds")
        elif model is not None and duration not in model.durations:
            self.fail("duration", f"{duration} s is not offered by {model.name}; choose {model.describe_durations()}")
        else:
            self.duration = self.out["duration"] = duration

    def _resolution(self) -> None:
        raw, model = self.opts.resolution, self.model
        if _blank(raw) or model is None:
            return
        allowed = model.resolutions_for(self.duration)
        resolution = str(raw).strip().lower()
        if resolution in allowed:
            self.out["resolution"] = resolution
            return
        at = self.duration if self.duration is not None else model.default_duration
        self.fail("resolution", f"'{raw}' is not offered by {model.name} at {at} s; choose {', '.join(allowed)}")

    def _seed(self) -> None:
        raw = self.opts.seed
        if _blank(raw):
            return
        seed = _as_int(raw)
        if seed is None or not 0 <= seed <= SEED_MAX:
            self.fail("seed", f"'{raw}' is not accepted; give a whole number from 0 to {SEED_MAX} (0 = random)")
        elif seed:  # 0 means random, as does leaving it out
            self.out["seed"] = seed

    def _movement_amplitude(self) -> None:
        raw, model = self.opts.movement_amplitude, self.model
        if _blank(raw):
            return
        amplitude = str(raw).strip().lower()
        if amplitude not in MOVEMENT_AMPLITUDES:
            self.fail("movement_amplitude", f"'{raw}' is not accepted; choose {', '.join(MOVEMENT_AMPLITUDES)}")
        elif amplitude == "auto":
            return  # the default: left out
        elif model is not None and not model.movement_amplitude:
            on = ", ".join(models_with("movement_amplitude"))
            self.fail("movement_amplitude", f"has no effect on {model.name}; it applies to {on}")
        else:
            self.out["movement_amplitude"] = amplitude

    def _flags(self) -> None:
        for name in ("is_rec", "audio", "bgm", "off_peak", "watermark"):
            raw = getattr(self.opts, name)
            if raw is None:
                continue
            value = as_bool(raw)
            if value is None:
                self.fail(name, f"'{raw}' is not accepted; give true or false")
            else:
                self.flags[name] = value
        model = self.model
        if model is not None and not model.audio:
            wanted = self.flags.pop("audio", False)  # an explicit "no sound" is simply not sent
            if wanted:
                self.fail("audio", f"{model.name} makes no sound; audio applies to {', '.join(models_with('audio'))}")
        if self.flags.get("bgm") and model is not None and not model.bgm:
            on = ", ".join(models_with("bgm"))
            self.fail("bgm", f"background music has no effect on {model.name}; it applies to {on}")
        for name, value in self.flags.items():
            # Defaults are left out: false everywhere, except audio, whose default is true.
            if value or name == "audio":
                self.out[name] = value

    def _watermark(self) -> None:
        watermark_on = self.flags.get("watermark", False)
        if not _blank(self.opts.wm_position):
            position = _as_int(self.opts.wm_position)
            if position not in WM_POSITIONS:
                choices = ", ".join(f"{k} ({v})" for k, v in WM_POSITIONS.items())
                self.fail("wm_position", f"'{self.opts.wm_position}' is not accepted; choose {choices}")
            elif not watermark_on:
                self.fail("wm_position", "applies only when watermark is on; turn the watermark on or leave it unset")
            else:
                self.out["wm_position"] = position
        if not _blank(self.opts.wm_url):
            url = str(self.opts.wm_url).strip()
            if not watermark_on:
                self.fail("wm_url", "applies only when watermark is on; turn the watermark on or leave it empty")
            else:
                self.add(check_url("wm_url", url))
                self.out["wm_url"] = url

    def _meta_data(self) -> None:
        if _blank(self.opts.meta_data):
            return
        text = str(self.opts.meta_data)
        if len(text) > META_DATA_MAX:
            self.fail("meta_data", f"is {len(text):,} characters long; at most {META_DATA_MAX:,} are accepted")
            return
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            self.fail("meta_data", f"is not valid JSON ({exc.msg} at character {exc.pos}); give {_META_EXAMPLE}")
            return
        if isinstance(parsed, dict):
            self.out["meta_data"] = text
            return
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(parsed), "a number")
        self.fail("meta_data", f"is JSON {kind}, not an object; give {_META_EXAMPLE}")

    def _payload(self) -> None:
        payload = self.opts.payload
        if payload is None or payload == "":
            return
        if not isinstance(payload, str):  # a JSON API call may put an object or a number here
            self.fail("payload", f"is {_json_kind(payload)}, not text; give the payload as a string")
        elif len(payload) > PAYLOAD_MAX:
            self.fail("payload", f"is {len(payload):,} characters long; at most {PAYLOAD_MAX:,} are accepted")
        else:
            self.out["payload"] = payload


def build_body(fields_: dict[str, Any], images: list[str]) -> dict[str, Any]:
    """The create body in the contract's field order: only known fields, ``images`` as ``[start, end]``."""
    merged = {**fields_, "images": images}
    return {name: merged[name] for name in BODY_FIELDS if name in merged}
