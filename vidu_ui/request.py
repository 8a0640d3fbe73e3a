"""The create request, described once: every option's type, default, limits, help, models and presentation.

``FIELDS`` is the only list of the create call's options. Everything else derives from it:

- the body, in the contract's field order (``BODY_ORDER``, ``build_body``), only the fields a person set;
- the checks (``check``): each failure a ``Problem`` with a message key, each caveat a warning;
- the command line's flags of ``check`` and ``submit`` (``cli_parameters``);
- the page's inputs, their labels and help (``studio/layout.py`` walks ``FIELDS``), the form's values
  (``page_values``), "Reuse settings" (``form_values``) and the model-dependent updates (``model_view``);
- the simulator's validation (``simulator/validate.py`` takes ``BODY_ORDER`` and the limits).

Adding an option is one ``Field`` here plus its two translations in ``messages.py`` (``field_<name>`` and
``field_<name>_info``). Also here: the one rule for a task id, for a URL, and for shortening a data URI.
"""

from __future__ import annotations

import inspect
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote, urlsplit

from .catalogue import DEFAULT_MODEL, MODEL_NAMES, MOVEMENT_AMPLITUDES, WM_POSITIONS, Model, get_model, models_with
from .errors import InvalidInput, Problem
from .messages import Phrase

PROMPT_MAX = 2000
PAYLOAD_MAX = 1_048_576
META_DATA_MAX = 1_048_576
META_DATA_DEPTH = 32
"""How deep a meta_data JSON value may nest; checked before parsing (a parser recursing 5,000 levels crashes)."""
SEED_MAX = 2_147_483_647
URL_MAX = 2048
DATA_URI_KEEP = 48
"""Characters of a data URI kept when it is shown to a person."""

Kind = Literal["model", "text", "int", "bool", "choice", "url", "json"]
Widget = Literal["dropdown", "textbox", "number", "radio", "checkbox"]

TaskState = Literal["created", "queueing", "processing", "success", "failed"]
TASK_STATES: tuple[str, ...] = get_args(TaskState)
"""A task's documented states (the service's answers are read in ``vidu_ui.responses``): the ones a list can be
filtered by."""


@dataclass(frozen=True)
class Field:
    """One option of the create call."""

    name: str
    kind: Kind
    widget: Widget
    default: Any = None
    """What the page and the command line start with (None: not set)."""
    omit: Any = None
    """A checked value equal to this is left out of the body (the service's own default)."""
    limit: int | None = None
    """Longest text accepted, in characters."""
    bounds: tuple[int, int] | None = None
    """Smallest and largest whole number accepted."""
    choices: tuple[Any, ...] = ()
    """Fixed choices (those depending on the model come from the catalogue)."""
    applies: str | None = None
    """The catalogue's flag naming the models this option applies to; None: every model."""
    requires: str | None = None
    """A yes/no option that must be on for this one to mean anything."""
    advanced: bool = False
    """Shown under "More options" on the page."""
    required: bool = False
    short: str | None = None
    """The command line's short flag (``-m``)."""
    lines: int = 1

    @property
    def label_key(self) -> str:
        return f"field_{self.name}"

    @property
    def help_key(self) -> str:
        return f"field_{self.name}_info"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


FIELDS: tuple[Field, ...] = (
    Field("model", "model", "dropdown", default=DEFAULT_MODEL, required=True, short="-m"),
    Field("prompt", "text", "textbox", default="", limit=PROMPT_MAX, required=True, short="-p", lines=4),
    Field("is_rec", "bool", "checkbox", default=False, omit=False, advanced=True),
    Field("duration", "int", "dropdown"),
    Field("seed", "int", "number", default=0, omit=0, bounds=(0, SEED_MAX), advanced=True),
    Field("resolution", "choice", "dropdown"),
    Field(
        "movement_amplitude",
        "choice",
        "radio",
        default="auto",
        omit="auto",
        choices=MOVEMENT_AMPLITUDES,
        applies="movement_amplitude",
        advanced=True,
    ),
    Field("audio", "bool", "checkbox", default=True, applies="audio", advanced=True),
    Field("bgm", "bool", "checkbox", default=False, omit=False, applies="bgm", advanced=True),
    Field("off_peak", "bool", "checkbox", default=False, omit=False, advanced=True),
    Field("payload", "text", "textbox", default="", omit="", limit=PAYLOAD_MAX, advanced=True),
    Field("watermark", "bool", "checkbox", default=False, omit=False, advanced=True),
    Field("wm_position", "int", "radio", default=3, choices=tuple(WM_POSITIONS), requires="watermark", advanced=True),
    Field("wm_url", "url", "textbox", default="", omit="", requires="watermark", advanced=True),
    Field("meta_data", "json", "textbox", default="", omit="", limit=META_DATA_MAX, advanced=True, lines=2),
    Field("callback_url", "url", "textbox", default="", omit="", advanced=True),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
BODY_ORDER: tuple[str, ...] = (NAMES[0], "images", *NAMES[1:])
"""Every field the create call accepts, in the order sent. The service refuses others (FieldUnwanted)."""
MODEL_DEPENDENT: tuple[str, ...] = ("duration", "resolution", *(f.name for f in FIELDS if f.applies))
"""The inputs whose choices or visibility follow the model."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_INT_RE = re.compile(r"\+?[0-9]{1,30}")


class TaskOptions:
    """What a person asked for, by field name; a name left out (or None) is "not set". Text is fine for any field."""

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(NAMES))
        if unknown:
            raise TypeError(f"not options of the create call: {', '.join(unknown)}")
        self._values = {name: values[name] for name in NAMES if values.get(name) is not None}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TaskOptions:
        """Build from a mapping, ignoring keys that are not options (so a saved request can be reused)."""
        return cls(**{k: v for k, v in values.items() if k in BY_NAME})

    def get(self, name: str) -> Any:
        return self._values.get(name)

    def __getattr__(self, name: str) -> Any:
        if name in BY_NAME:
            return self._values.get(name)
        raise AttributeError(name)

    def replace(self, **changes: Any) -> TaskOptions:
        return TaskOptions(**{**self._values, **changes})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TaskOptions) and self._values == other._values

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        return f"TaskOptions({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


# --- the one rule for each shared thing -------------------------------------------------------------------------

TASK_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def task_id_problem(value: object, field: str = "task_id") -> Problem | None:
    """Why ``value`` is not a task id, or None. A task id is opaque: 1–128 characters of ``[A-Za-z0-9_.-]``
    (Vidu's decimal numbers, new-api's ``task_…``, octopusx's UUIDs), never read as a number."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if TASK_ID_RE.fullmatch(text) and text not in (".", ".."):
        return None
    shown = text if len(text) <= 40 else text[:40] + "…"
    return Problem.of(field, "problem_task_id", value=shown.encode("unicode_escape").decode("ascii"))


def checked_task_id(value: object, field: str = "task_id") -> str:
    """The task id, stripped; raises ``InvalidInput`` (nothing is sent) for anything else."""
    problem = task_id_problem(value, field)
    if problem is not None:
        raise InvalidInput([problem])
    return str(value).strip()


def task_path(template: str, task_id: str) -> str:
    """A path template with ``{task_id}`` filled in, the id percent-quoted (it never adds a path segment)."""
    return template.replace("{task_id}", quote(checked_task_id(task_id), safe=""))


_IMAGE_SCHEMES = {"data": "problem_frame_data_uri", "file": "problem_frame_file_url"}
"""Schemes a person gives for a frame by mistake, each with its own advice."""


def url_problem(field: str, value: str, *, image: bool = False) -> Problem | None:
    """The one URL rule: an http(s) URL with a host and a valid port, no credentials, no spaces or control
    characters, at most 2048 characters.

    ``image``: a frame given as a URL. Its scheme is judged first, with advice for a frame (a ``data:`` URI, a
    ``file:`` URL); and it must be plain ASCII without quotes, backslashes or angle brackets, as the request's
    size is counted on the assumption that JSON writes it as it is (``frames.images_size``)."""
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if image and scheme not in ("http", "https"):
        return Problem.of(field, _IMAGE_SCHEMES.get(scheme, "problem_frame_scheme"), scheme=scheme)
    if len(value) > URL_MAX:
        return Problem.of(field, "problem_url_long", length=len(value), limit=URL_MAX)
    if image and (not value.isascii() or not value.isprintable() or any(ch in value for ch in ' "\\<>')):
        return Problem.of(field, "problem_frame_url_chars")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        return Problem.of(field, "problem_url_spaces")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return Problem.of(field, "problem_url_invalid")
    if parts.scheme.lower() not in ("http", "https"):
        named = f"'{parts.scheme}:'" if parts.scheme else Phrase.of("problem_url_no_scheme")
        return Problem.of(field, "problem_url_scheme", scheme=named)
    if not host:
        return Problem.of(field, "problem_url_host")
    if parts.username is not None or parts.password is not None:
        return Problem.of(field, "problem_url_credentials")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        port = parts.netloc.rsplit(":", 1)[-1][:20]
        return Problem.of(field, "problem_url_port", port=port)
    return None


def is_web_url(value: object) -> bool:
    """Whether ``value`` passes the URL rule (a frame given as a URL, say)."""
    return isinstance(value, str) and url_problem("url", value.strip()) is None


def shorten_data(value: Any, keep: int = DATA_URI_KEEP) -> Any:
    """``value`` with every long ``data:`` URI cut to ``keep`` characters, so a body or an answer echoing image
    data stays readable. The one shortening rule (``shortened_uri`` does it without the whole string)."""
    if isinstance(value, dict):
        return {k: shorten_data(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_data(v, keep) for v in value]
    if isinstance(value, str) and value.startswith("data:") and len(value) > keep:
        return shortened_uri(value[:keep], len(value), keep)
    return value


def shortened_uri(head: str, total: int, keep: int = DATA_URI_KEEP) -> str:
    """A data URI of ``total`` characters shown as its first ``keep`` (``head`` holds at least those)."""
    shown = head[:keep]
    return shown if total <= keep else f"{shown}…[{total - len(shown):,} more characters]"


# --- reading values ---------------------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_int(value: object) -> int | None:
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
    """A bool or its text (true/false, 1/0, yes/no, on/off; empty is false); None for anything else.

    Strict on purpose: ``bool("false")`` is true, and a Gradio API call may hand a checkbox text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _json_kind(value: object) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def json_too_deep(text: str, limit: int = META_DATA_DEPTH) -> bool:
    """Whether JSON ``text`` nests deeper than ``limit``, found without parsing it (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _surrogates(text: str) -> str | None:
    """The lone surrogates in ``text`` (which JSON cannot carry). A text field may hold a megabyte (``payload``),
    too long to walk character by character on every check: UTF-8 refuses exactly these, so its encoder tells
    whether there are any, and a regular expression names them."""
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        bad = sorted({f"U+{ord(ch):04X}" for ch in _SURROGATE.findall(text)})
    return ", ".join(bad[:3]) if bad else None


# --- the checks -------------------------------------------------------------------------------------------------


@dataclass
class Checked:
    """The body's fields (without ``images``), what is wrong (nothing is sent), and what only deserves a warning."""

    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check(options: TaskOptions) -> Checked:
    """Every field of ``options`` checked against its description and the chosen model's catalogue entry."""
    out = Checked()
    values: dict[str, Any] = {}
    raw_model = options.get("model")
    model = get_model(raw_model) if isinstance(raw_model, str) else None
    for spec in FIELDS:
        raw = options.get(spec.name)
        problem, value = _parse(spec, raw, model, values)
        if problem is None and value is not None:
            problem, value = _model_rules(spec, value, model, values)
        if problem is not None:
            out.problems.append(problem)
            continue
        if value is None:
            continue
        values[spec.name] = value
        if spec.omit is None or value != spec.omit:
            out.fields[spec.name] = value
    warning = _off_peak_warning(model, values)
    if warning is not None:
        out.warnings.append(warning)
    return out


def check_options(options: TaskOptions) -> tuple[dict[str, Any], list[Problem]]:
    """The body fields (without ``images``) and every problem; the fields mean something only without problems."""
    checked = check(options)
    return checked.fields, checked.problems


def _parse(spec: Field, raw: Any, model: Model | None, values: Mapping[str, Any]) -> tuple[Problem | None, Any]:
    """One field's value as the body carries it, or the problem with it; (None, None) when it is not set."""
    name = spec.name
    if isinstance(raw, str):
        bad = _surrogates(raw)
        if bad is not None:
            return Problem.of(name, "problem_surrogates", chars=bad), None
    if spec.kind == "text":
        return _text(spec, raw)
    if _blank(raw):
        return (Problem.of(name, "problem_required"), None) if spec.required else (None, None)
    if spec.kind == "model":
        if model is None:
            return Problem.of(name, "problem_unknown_model", value=str(raw)[:60], choices=", ".join(MODEL_NAMES)), None
        return None, model.name
    if spec.kind == "bool":
        flag = as_bool(raw)
        return (Problem.of(name, "problem_bool", value=str(raw)[:60]), None) if flag is None else (None, flag)
    if spec.kind == "int":
        return _whole(spec, raw, model)
    if spec.kind == "choice":
        return _choice(spec, raw, model, values)
    if not isinstance(raw, str):
        return Problem.of(name, "problem_not_text", kind=_json_kind(raw)), None
    text = raw.strip()
    if spec.kind == "url":
        return url_problem(name, text), text
    return _json(spec, raw)


def _text(spec: Field, raw: Any) -> tuple[Problem | None, Any]:
    name = spec.name
    if raw is None or raw == "":
        return (Problem.of(name, f"problem_{name}_required"), None) if spec.required else (None, None)
    if not isinstance(raw, str):
        return Problem.of(name, "problem_not_text", kind=_json_kind(raw)), None
    if spec.required and not raw.strip():
        return Problem.of(name, f"problem_{name}_required"), None
    if spec.limit is not None and len(raw) > spec.limit:
        return Problem.of(name, "problem_too_long", length=len(raw), limit=spec.limit), None
    if spec.required:  # the prompt: words for the model, no control characters
        bad = sorted({f"U+{ord(ch):04X}" for ch in raw if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"})
        if bad:
            return Problem.of(name, "problem_control_chars", chars=", ".join(bad[:5])), None
    return None, raw


def _whole(spec: Field, raw: Any, model: Model | None) -> tuple[Problem | None, Any]:
    name, number = spec.name, as_int(raw)
    shown = str(raw)[:40]
    if name == "duration":
        if number is None:
            return Problem.of(name, "problem_not_whole", value=shown), None
        if model is not None and number not in model.durations:
            return Problem.of(name, "problem_duration", value=number, model=model.name,
                              choices=model.describe_durations()), None  # fmt: skip
        return None, number
    if spec.choices and number not in spec.choices:
        choices = ", ".join(f"{k} ({v})" for k, v in WM_POSITIONS.items()) if name == "wm_position" else spec.choices
        return Problem.of(name, "problem_choice", value=shown, choices=choices), None
    if spec.bounds is not None and (number is None or not spec.bounds[0] <= number <= spec.bounds[1]):
        return Problem.of(name, "problem_range", value=shown, low=spec.bounds[0], high=spec.bounds[1]), None
    return None, number


def _choice(spec: Field, raw: Any, model: Model | None, values: Mapping[str, Any]) -> tuple[Problem | None, Any]:
    name = spec.name
    if not isinstance(raw, str):
        return Problem.of(name, "problem_not_text", kind=_json_kind(raw)), None
    text = raw.strip().lower()
    if name == "resolution":
        if model is None:
            return None, None
        duration = values.get("duration")
        allowed = model.resolutions_for(duration)
        if text in allowed:
            return None, text
        at = duration if duration is not None else model.default_duration
        return Problem.of(name, "problem_resolution", value=raw[:20], model=model.name, duration=at,
                          choices=", ".join(allowed)), None  # fmt: skip
    if text not in spec.choices:
        return Problem.of(name, "problem_choice", value=raw[:40], choices=", ".join(spec.choices)), None
    return None, text


def _json(spec: Field, raw: str) -> tuple[Problem | None, Any]:
    name, limit = spec.name, spec.limit or META_DATA_MAX
    if len(raw) > limit:
        return Problem.of(name, "problem_too_long", length=len(raw), limit=limit), None
    if json_too_deep(raw):
        return Problem.of(name, "problem_json_too_deep", limit=META_DATA_DEPTH), None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        return Problem.of(name, "problem_json_invalid", detail=exc.msg, position=exc.pos), None
    except RecursionError:  # unreachable after the depth bound; kept so a parser change cannot crash a check
        return Problem.of(name, "problem_json_too_deep", limit=META_DATA_DEPTH), None
    if not isinstance(parsed, dict):
        return Problem.of(name, "problem_json_not_object", kind=_json_kind(parsed)), None
    return None, raw


def _model_rules(spec: Field, value: Any, model: Model | None, values: Mapping[str, Any]) -> tuple[Problem | None, Any]:
    """An option the model does not take: silently dropped at its default, refused otherwise; an option that
    needs another one on (the watermark's details)."""
    name = spec.name
    if spec.applies is not None and model is not None and not getattr(model, spec.applies):
        if value is False or value == spec.omit:
            return None, None  # an explicit "no" (or the default) is simply not sent
        models = ", ".join(models_with(spec.applies))
        if name == "audio":
            return Problem.of(name, "problem_no_sound", model=model.name, models=models), None
        return Problem.of(name, "problem_not_for_model", model=model.name, models=models), None
    if spec.requires is not None and value != spec.omit and values.get(spec.requires) is not True:
        return Problem.of(name, "problem_needs_watermark"), None
    return None, value


def _off_peak_warning(model: Model | None, values: Mapping[str, Any]) -> Problem | None:
    """Relays document off-peak only for some models with sound on: warn, never refuse (the contract)."""
    if values.get("off_peak") is not True or model is None:
        return None
    if model.off_peak and values.get("audio", True) is not False:
        return None
    return Problem.of("off_peak", "warning_off_peak", models=", ".join(models_with("off_peak")))


def build_body(fields_: Mapping[str, Any], images: list[str]) -> dict[str, Any]:
    """The create body in the contract's field order: only known fields, ``images`` as ``[start, end]``."""
    merged = {**fields_, "images": images}
    return {name: merged[name] for name in BODY_ORDER if name in merged}


# --- the command line -------------------------------------------------------------------------------------------


def cli_help(spec: Field) -> str:
    """A flag's help: the field's English help and what it accepts."""
    from .messages import EN

    text = EN[spec.help_key]
    if spec.kind == "model":
        return f"{text}: {', '.join(MODEL_NAMES)}"
    if spec.choices:
        shown = [f"{k} {v}" for k, v in WM_POSITIONS.items()] if spec.name == "wm_position" else spec.choices
        return f"{text}: {', '.join(map(str, shown))}"
    if spec.bounds is not None:
        return f"{text} ({spec.bounds[0]}–{spec.bounds[1]})"
    if spec.limit is not None:
        return f"{text} (≤ {spec.limit:,} characters)"
    return text


def cli_parameters() -> list[inspect.Parameter]:
    """The options of ``check`` and ``submit`` as parameters typer reads: one per field, flags from the names
    (``--movement-amplitude``, ``--audio/--no-audio``), the model's and the prompt's with their short flags."""
    import typer

    parameters = []
    for spec in FIELDS:
        names = [spec.flag, *([spec.short] if spec.short else [])]
        if spec.kind == "bool":
            names = [f"{spec.flag}/--no-{spec.flag[2:]}"]
        option = typer.Option(*names, help=cli_help(spec), show_default=spec.kind == "model")
        if spec.kind == "model":
            annotation: Any = Annotated[str, option]
            default: Any = spec.default
        elif spec.name == "prompt":
            annotation, default = Annotated[str, option], inspect.Parameter.empty
        elif spec.kind == "bool":
            annotation, default = Annotated[bool | None, option], None
        else:
            annotation, default = Annotated[str | None, option], None
        parameters.append(inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))  # fmt: skip
    return parameters


# --- the page ---------------------------------------------------------------------------------------------------


def page_values(values: Mapping[str, Any]) -> TaskOptions:
    """The options as the page's inputs hold them; an input hidden for the model, or a watermark detail with the
    watermark off, is "not set", so a check never complains about a value the person cannot see."""
    raw_model = values.get("model")
    model = get_model(raw_model) if isinstance(raw_model, str) else None
    chosen: dict[str, Any] = {}
    for spec in FIELDS:
        value = values.get(spec.name)
        if spec.applies is not None and model is not None and not getattr(model, spec.applies):
            continue
        if spec.requires is not None and as_bool(values.get(spec.requires)) is not True:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # Gradio numbers arrive as floats
        if spec.kind == "bool" and value is None:
            value = False if spec.omit is False else None  # an unset checkbox is off
        elif spec.kind in ("url", "json", "choice") and _blank(value):
            value = None
        chosen[spec.name] = value
    return TaskOptions(**chosen)


@dataclass(frozen=True)
class ModelView:
    """What the model-dependent inputs show for a model and a duration."""

    model: Model
    duration: int
    durations: tuple[int, ...]
    resolution: str
    resolutions: tuple[str, ...]
    visible: dict[str, bool]
    """For each option that applies to some models only: whether it shows."""


def model_view(model_name: object, duration: object = None, resolution: object = None) -> ModelView:
    """The inputs for ``model_name`` at ``duration`` (kept when the model offers it, else its default), with
    ``resolution`` kept when offered there, else the default. An unknown model shows the default model."""
    model = (get_model(model_name) if isinstance(model_name, str) else None) or get_model(DEFAULT_MODEL)
    assert model is not None
    seconds = as_int(duration)
    seconds = seconds if seconds in model.durations else model.default_duration
    choices = model.resolutions_for(seconds)
    chosen = resolution if isinstance(resolution, str) and resolution in choices else None
    visible = {f.name: bool(getattr(model, f.applies)) for f in FIELDS if f.applies}
    return ModelView(model, seconds, model.durations, chosen or model.default_resolution_for(seconds), choices, visible)


def form_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """Every field's value for the page, from a sent request's options (``record.options``): what was left out of
    the body comes back as its default; model, duration and resolution as the catalogue offers them."""
    values = {spec.name: options.get(spec.name, spec.default) for spec in FIELDS}
    values["watermark"] = as_bool(values["watermark"]) is True
    if values.get("wm_position") is None:
        values["wm_position"] = BY_NAME["wm_position"].default
    view = model_view(values["model"], values.get("duration"), values.get("resolution"))
    values.update(model=view.model.name, duration=view.duration, resolution=view.resolution)
    return values


def field_names(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` that are fields of the create call, in the description's order."""
    wanted = set(names)
    return tuple(n for n in NAMES if n in wanted)
