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


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


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


def _model_problem(name: object) -> tuple[Model | None, Problem | None]:
    model = get_model(name) if isinstance(name, str) else None
    if model is None:
        shown = f"'{name}' is not a known model" if not _blank(name) else "is required"
        return None, Problem("model", f"{shown}; choose one of {', '.join(MODEL_NAMES)}")
    return model, None


def check_options(opts: TaskOptions) -> tuple[dict[str, Any], list[Problem]]:
    """The body fields (without ``images``) for ``opts``, and every problem found.

    The fields are meaningful only when the problem list is empty.
    """
    out: dict[str, Any] = {}
    problems: list[Problem] = []

    def problem(p: Problem | None) -> None:
        if p is not None:
            problems.append(p)

    model, p = _model_problem(opts.model)
    problem(p)
    if model is not None:
        out["model"] = model.name

    problem(check_prompt(opts.prompt))
    if isinstance(opts.prompt, str):
        out["prompt"] = opts.prompt

    duration: int | None = None
    if not _blank(opts.duration):
        duration = _as_int(opts.duration)
        if duration is None:
            problem(Problem("duration", f"'{opts.duration}' is not a whole number of seconds"))
        elif model is not None and duration not in model.durations:
            problem(
                Problem("duration", f"{duration} s is not offered by {model.name}; choose {model.describe_durations()}")
            )
            duration = None
        else:
            out["duration"] = duration

    if not _blank(opts.resolution) and model is not None:
        allowed = model.resolutions_for(duration)
        resolution = str(opts.resolution).strip().lower()
        if resolution not in allowed:
            at = f" at {duration if duration is not None else model.default_duration} s"
            problem(
                Problem(
                    "resolution", f"'{opts.resolution}' is not offered by {model.name}{at}; choose {', '.join(allowed)}"
                )
            )
        else:
            out["resolution"] = resolution

    if not _blank(opts.seed):
        seed = _as_int(opts.seed)
        if seed is None or not 0 <= seed <= SEED_MAX:
            problem(
                Problem("seed", f"'{opts.seed}' is not accepted; give a whole number from 0 to {SEED_MAX} (0 = random)")
            )
        elif seed:
            out["seed"] = seed

    if not _blank(opts.movement_amplitude):
        amplitude = str(opts.movement_amplitude).strip().lower()
        if amplitude not in MOVEMENT_AMPLITUDES:
            problem(
                Problem(
                    "movement_amplitude",
                    f"'{opts.movement_amplitude}' is not accepted; choose {', '.join(MOVEMENT_AMPLITUDES)}",
                )
            )
        elif amplitude != "auto":
            if model is not None and not model.movement_amplitude:
                on = ", ".join(models_with("movement_amplitude"))
                problem(Problem("movement_amplitude", f"has no effect on {model.name}; it applies to {on}"))
            else:
                out["movement_amplitude"] = amplitude

    flags: dict[str, bool] = {}
    for name in ("is_rec", "audio", "bgm", "off_peak", "watermark"):
        raw = getattr(opts, name)
        if raw is None:
            continue
        value = _as_bool(raw)
        if value is None:
            problem(Problem(name, f"'{raw}' is not accepted; give true or false"))
            continue
        flags[name] = value

    if "audio" in flags and model is not None and not model.audio:
        if flags["audio"]:
            problem(
                Problem("audio", f"{model.name} makes no sound; audio applies to {', '.join(models_with('audio'))}")
            )
        del flags["audio"]
    if flags.get("bgm") and model is not None and not model.bgm:
        problem(
            Problem(
                "bgm", f"background music has no effect on {model.name}; it applies to {', '.join(models_with('bgm'))}"
            )
        )
    for name, value in flags.items():
        # Leave defaults out (false, except audio whose default is true and an explicit false must be sent).
        if value or name == "audio":
            out[name] = value

    if not _blank(opts.wm_position):
        position = _as_int(opts.wm_position)
        choices = ", ".join(f"{k} ({v})" for k, v in WM_POSITIONS.items())
        if position not in WM_POSITIONS:
            problem(Problem("wm_position", f"'{opts.wm_position}' is not accepted; choose {choices}"))
        elif not flags.get("watermark"):
            problem(
                Problem("wm_position", "applies only when watermark is on; turn the watermark on or leave it unset")
            )
        else:
            out["wm_position"] = position
    if not _blank(opts.wm_url):
        url = str(opts.wm_url).strip()
        if not flags.get("watermark"):
            problem(Problem("wm_url", "applies only when watermark is on; turn the watermark on or leave it empty"))
        else:
            problem(check_url("wm_url", url))
            out["wm_url"] = url

    if not _blank(opts.meta_data):
        text = str(opts.meta_data)
        if len(text) > META_DATA_MAX:
            problem(Problem("meta_data", f"is {len(text):,} characters long; at most {META_DATA_MAX:,} are accepted"))
        else:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                problem(
                    Problem("meta_data", f"is not valid JSON ({exc.msg} at character {exc.pos}); give {_META_EXAMPLE}")
                )
            else:
                if not isinstance(parsed, dict):
                    kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(parsed), "a number")
                    if parsed is None:
                        kind = "null"
                    problem(Problem("meta_data", f"is JSON {kind}, not an object; give {_META_EXAMPLE}"))
                else:
                    out["meta_data"] = text

    if opts.payload is not None and opts.payload != "":
        if len(opts.payload) > PAYLOAD_MAX:
            problem(
                Problem("payload", f"is {len(opts.payload):,} characters long; at most {PAYLOAD_MAX:,} are accepted")
            )
        else:
            out["payload"] = opts.payload

    if not _blank(opts.callback_url):
        url = str(opts.callback_url).strip()
        problem(check_url("callback_url", url))
        out["callback_url"] = url

    return out, problems


def build_body(fields_: dict[str, Any], images: list[str]) -> dict[str, Any]:
    """The create body in the contract's field order: only known fields, ``images`` as ``[start, end]``."""
    merged = {**fields_, "images": images}
    return {name: merged[name] for name in BODY_FIELDS if name in merged}
