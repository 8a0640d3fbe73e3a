"""What the page's events do. Plain functions of their inputs: no layout, no globals, callable from tests.

Every check, rule and message comes from the core (``options``, ``frames``, ``submit``, ``errors``); this module
only turns page values into core calls and core errors into ``gr.Error`` / ``gr.validate``.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Generator
from dataclasses import astuple, dataclass
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from .. import frames
from ..callbacks import callback_url_for
from ..catalogue import MODELS, Model, get_model
from ..client import ViduClient
from ..errors import APIError, APIStatusError, InvalidInput, OutcomeUnknownError, Problem, ViduError
from ..options import PROMPT_MAX, SEED_MAX, TaskOptions
from ..preview import file_name, snippets
from ..responses import CreatedTask
from ..settings import Settings
from ..submit import PreparedRequest, prepare, submit
from ..ui_text import say
from .access import Viewer
from .form import FORM_FIELDS, Form, ImageValue, SessionGuard, image_path, text_or_none, url_problem
from .prepared import PreparedCache, request_key
from .runtime import Runtime

logger = logging.getLogger("vidu_ui.studio")
Outputs = Generator[tuple[Any, ...], None, None]
"""Generate's successive outputs: the button disabled, then the request shown, then the answer."""
_DATA_URI_KEEP = 48


def t(key: str) -> str:
    """A translation key in the form Gradio's browser side translates (labels, info, values)."""
    return str(I18nData(key))


@dataclass(frozen=True)
class Outcome:
    """What Generate shows once the service answered."""

    task_id: str
    credits: str
    response: dict[str, Any]
    changes: str
    curl: str
    python: str


def shorten_data(value: Any, keep: int = _DATA_URI_KEEP) -> Any:
    """``value`` with every long ``data:`` URI cut short, so a response echoing image data stays readable."""
    if isinstance(value, dict):
        return {k: shorten_data(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_data(v, keep) for v in value]
    if isinstance(value, str) and value.startswith("data:") and len(value) > keep:
        return f"{value[:keep]}…[{len(value) - keep:,} more characters]"
    return value


def service_error(exc: ViduError) -> gr.Error:
    """The message a person reads for a failed request: what happened and what to do. Never the key."""
    if isinstance(exc, InvalidInput):
        return gr.Error("\n".join(str(p) for p in exc.problems), title="Nothing was sent", print_exception=False)
    if isinstance(exc, OutcomeUnknownError):
        return gr.Error(
            f"{exc.message}. The task may exist and may be billed: do NOT resubmit blindly. {exc.hint}",
            title="Outcome unknown",
            duration=None,
            print_exception=False,
        )
    if isinstance(exc, APIStatusError):
        parts = [f"HTTP {exc.status_code}" + (f" {exc.reason}" if exc.reason else "")]
        if exc.service_message:
            parts.append(exc.service_message)
        if exc.trace_id:
            parts.append(f"trace id {exc.trace_id}")
        return gr.Error(
            f"{' · '.join(parts)}. What to do: {exc.hint}",
            title=exc.reason or "The service refused the request",
            duration=None,
            print_exception=False,
        )
    if isinstance(exc, APIError):
        return gr.Error(
            f"{exc.message}. What to do: {exc.hint}", title="The service could not be reached", print_exception=False
        )
    return gr.Error(str(exc), print_exception=False)


class Studio:
    """The page's form handlers for one server configuration. Holds no per-user state.

    Generate records each task it creates in the runtime's history and hands it to its tracker.
    """

    def __init__(self, runtime: Runtime, *, demo: bool = False) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.demo = demo
        self.checked = PreparedCache()

    @property
    def visitor_key(self) -> bool:
        """True when there is no server key: each visitor pastes their own."""
        return self.settings.api_key is None

    def settings_for(self, api_key: str | None) -> Settings:
        """The server's settings, or a copy with this visitor's key (never written anywhere else)."""
        if not self.visitor_key:
            return self.settings
        return self.settings.with_key((api_key or "").strip() or None)

    # --- small live updates --------------------------------------------------------------------------------

    @staticmethod
    def frame_summary(
        image: ImageValue, url: str | None = None, role: str = "start", max_pixels: int = frames.MAX_PIXELS
    ) -> str:
        """Format, pixel size and file size of a frame, or the reason it cannot be used."""
        refused = url_problem(role, url) if image_path(image) is None else None
        if refused is not None:
            return "⚠ " + refused.message
        source = image_path(image) or text_or_none(url)
        if source is None:
            return ""
        try:
            frame = frames.load_frame(source, role, max_pixels=max_pixels)
        except InvalidInput as exc:
            return "⚠ " + "; ".join(p.message for p in exc.problems)
        problems = frames.check_frame(frame)
        summary = frame.summary()
        return summary + "".join(f"  \n⚠ {p.message}" for p in problems)

    @staticmethod
    def character_count(prompt: str | None) -> str:
        n = len(prompt or "")
        text = f"{n:,} / {PROMPT_MAX:,}"
        return f"**⚠ {text}**" if n > PROMPT_MAX else text

    @staticmethod
    def swap(
        start_image: ImageValue, end_image: ImageValue, start_url: str | None, end_url: str | None
    ) -> tuple[str | None, str | None, str, str]:
        return image_path(end_image), image_path(start_image), end_url or "", start_url or ""

    @staticmethod
    def random_seed() -> int:
        return random.randint(1, SEED_MAX)

    @staticmethod
    def estimate(model_name: str | None, duration: float | None, resolution: str | None, is_rec: bool | None) -> str:
        """An indicative credit estimate where the catalogue has a figure; labelled an estimate on the page."""
        model = get_model(model_name) if isinstance(model_name, str) else None
        if model is None or duration is None or not resolution:
            return t("no_estimate")
        credits = model.estimate_credits(int(duration), resolution, bool(is_rec))
        return t("no_estimate") if credits is None else f"≈ {credits:,}"

    def model_changed(self, model_name: str | None, is_rec: bool | None = False) -> tuple[dict[str, Any], ...]:
        """Duration range and default, resolution choices and default, which options show, the estimate."""
        model = get_model(model_name) if isinstance(model_name, str) else None
        model = model or MODELS[0]
        low, high = model.duration_range
        steps = {b - a for a, b in zip(model.durations, model.durations[1:], strict=False)}
        duration = gr.update(
            minimum=low,
            maximum=high,
            step=min(steps) if steps else 1,
            value=model.default_duration,
            interactive=low != high,
        )
        resolution = self._resolution_update(model, model.default_duration)
        return (
            duration,
            resolution,
            gr.update(visible=model.audio),
            gr.update(visible=model.bgm),
            gr.update(visible=model.movement_amplitude),
            gr.update(
                value=self.estimate(model.name, model.default_duration, model.default_resolution_for(None), is_rec)
            ),
        )

    def duration_changed(
        self, model_name: str | None, duration: float | None, resolution: str | None, is_rec: bool | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Resolution choices for this duration (vidu2.0: 4 s → 360p/720p/1080p, 8 s → 720p) and the estimate."""
        model = get_model(model_name) if isinstance(model_name, str) else None
        if model is None or duration is None:
            return gr.update(), gr.update()
        seconds = int(duration)
        choices = model.resolutions_for(seconds)
        keep = resolution if resolution in choices else model.default_resolution_for(seconds)
        return (
            gr.update(choices=list(choices), value=keep),
            gr.update(value=self.estimate(model.name, seconds, keep, is_rec)),
        )

    @staticmethod
    def _resolution_update(model: Model, duration: int) -> dict[str, Any]:
        choices = model.resolutions_for(duration)
        return gr.update(
            choices=list(choices), value=model.default_resolution_for(duration), interactive=len(choices) > 1
        )

    @staticmethod
    def watermark_changed(watermark: bool | None) -> tuple[dict[str, Any], dict[str, Any]]:
        return gr.update(visible=bool(watermark)), gr.update(visible=bool(watermark))

    @staticmethod
    def release_button() -> dict[str, Any]:
        return gr.update(interactive=True, value=t("generate"))

    # --- checks, preview, generate --------------------------------------------------------------------------

    def options(self, form: Form) -> TaskOptions:
        """The form's options; an empty callback URL becomes this app's own receiver when it has a public URL."""
        options = form.options()
        own = callback_url_for(self.settings)
        if options.callback_url is None and own is not None:
            options = dataclasses.replace(options, callback_url=own)
        return options

    def problems(self, form: Form) -> list[Problem]:
        """Every problem the core finds with this form; empty when Generate may send it."""
        found: list[Problem] = []
        if self.visitor_key and not (form.api_key if isinstance(form.api_key, str) else "").strip():
            found.append(Problem("api_key", "no API key: paste your Vidu API key"))
        refused = form.url_problems()
        found += refused
        options, auto_fit = self.options(form), bool(form.auto_fit)
        try:
            request = prepare(
                form.start or "", form.end or "", options, auto_fit=auto_fit, max_pixels=self.settings.max_pixels
            )
        except InvalidInput as exc:
            # A refused URL box leaves its frame empty: its own message says why, not "is missing" as well.
            found += [p for p in exc.problems if p.field not in {r.field for r in refused}]
        except Exception:
            # A bug, not a user error: let the event itself fail with Gradio's generic message (show_error is
            # off), rather than the validator sending the exception's text to the browser.
            logger.exception("checking the form failed")
        else:
            self.checked.put(request_key(form.start, form.end, options, auto_fit), request)
        return found

    def validate(self, *values: Any) -> list[dict[str, Any]]:
        """Gradio's validator: one ``gr.validate`` per input, each message at its own input, before queueing."""
        form = Form(*values[: len(FORM_FIELDS)])
        messages: dict[str, list[str]] = {}
        for problem in self.problems(form):
            messages.setdefault(self._input_for(problem.field, form), []).append(str(problem))
        results = [gr.validate(name not in messages, "\n".join(messages.get(name, []))) for name in FORM_FIELDS]
        return results + [gr.validate(True, "")] * (len(values) - len(FORM_FIELDS))

    @staticmethod
    def _input_for(field: str, form: Form) -> str:
        """The input a problem belongs to; pair and body-size problems go to the end frame (auto-fit's target)."""
        if field in FORM_FIELDS and field not in ("start_image", "end_image"):
            return field
        if field in ("start_frame", "start", "images"):
            return form.frame_input("start")
        if field in ("end_frame", "end", "frames", "pair"):
            return form.frame_input("end")
        return "model"  # anything else: the first option, in view

    def prepare(self, form: Form) -> PreparedRequest:
        """The checked request (auto-fit applied when on): the validator's, when it just prepared the same one.

        Raises ``gr.Error`` listing every problem."""
        refused = form.url_problems()
        if refused:
            raise service_error(InvalidInput(refused))
        options, auto_fit = self.options(form), bool(form.auto_fit)
        checked = self.checked.take(request_key(form.start, form.end, options, auto_fit))
        if checked is not None:
            return checked
        try:
            return prepare(
                form.start or "", form.end or "", options, auto_fit=auto_fit, max_pixels=self.settings.max_pixels
            )
        except InvalidInput as exc:
            raise service_error(exc) from None

    def describe_changes(self, request: PreparedRequest) -> str:
        if not request.changes:
            return t("no_changes")
        return f"**{t('changes')}**\n" + "\n".join(f"- {change}" for change in request.changes)

    def preview(self, *values: Any) -> tuple[str, str, str]:
        """What auto-fit changes and the exact request, without sending anything."""
        form = Form(*values[: len(FORM_FIELDS)])
        request = self.prepare(form)
        code = snippets(
            request.shortened_body(),
            self.settings,
            file_name(form.start),
            file_name(form.end),
            fitted=bool(request.changes),
        )
        return self.describe_changes(request), code["curl"], code["python"]

    def send(self, form: Form, request: PreparedRequest) -> CreatedTask:
        """Send once, with a client built for this request from this visitor's (or the server's) key."""
        try:
            with ViduClient(self.settings_for(form.api_key)) as client:
                return submit(client, request)
        except ViduError as exc:
            raise service_error(exc) from None

    def record(self, form: Form, request: PreparedRequest, task: CreatedTask, viewer: Viewer) -> None:
        """File the new task under this viewer and start following it. A failure here must not hide the id."""
        try:
            self.runtime.tracker.add(request, task, viewer.owner, user=viewer.user)
            self.runtime.store.set_frame_sources(task.task_id, form.start, form.end)
        except Exception as exc:
            logger.exception("task %s was created but could not be recorded", task.task_id)
            gr.Warning(say(viewer.lang, "recorded_failed", task_id=task.task_id, error=exc))

    def run(self, form: Form, guard: SessionGuard | None = None, http: gr.Request | None = None) -> Outputs:
        """Prepare (showing the changes and the request), send, record, show the answer. Yields the outputs."""
        if guard is not None and not guard.acquire():
            raise gr.Error(
                "A request from this page is already being sent; wait for its answer.", print_exception=False
            )
        try:
            yield (gr.skip(),) * 6 + (gr.update(interactive=False, value=t("generating")),)
            request = self.prepare(form)
            code = snippets(
                request.shortened_body(),
                self.settings,
                file_name(form.start),
                file_name(form.end),
                fitted=bool(request.changes),
            )
            curl, python = code["curl"], code["python"]
            changes = self.describe_changes(request)
            yield ("", "", None, changes, curl, python, gr.skip())
            task = self.send(form, request)
            self.record(form, request, task, Viewer.of(self.settings, http, form.api_key))
            credits = "—" if task.credits is None else f"{task.credits:g}"
            outcome = Outcome(task.task_id, credits, shorten_data(task.raw), changes, curl, python)
            yield (*astuple(outcome), self.release_button())
        finally:
            if guard is not None:
                guard.release()

    def generate(
        self,
        api_key: str | None,
        start_image: ImageValue,
        start_url: str | None,
        end_image: ImageValue,
        end_url: str | None,
        prompt: str | None,
        model: str | None,
        duration: float | None,
        resolution: str | None,
        seed: float | None,
        movement_amplitude: str | None,
        is_rec: bool | None,
        bgm: bool | None,
        audio: bool | None,
        off_peak: bool | None,
        watermark: bool | None,
        wm_position: int | str | None,
        wm_url: str | None,
        meta_data: str | None,
        payload: str | None,
        callback_url: str | None,
        auto_fit: bool | None,
        guard: SessionGuard | None = None,
        request: gr.Request | None = None,
    ) -> Outputs:
        """Create a Vidu start–end frame video task from two frames and a prompt; returns the task id.

        Args:
            api_key: your Vidu API key (only when the server has none)
            start_image: the start frame (PNG, JPEG or WebP)
            start_url: the start frame as an http(s) URL, when no file is given
            end_image: the end frame (PNG, JPEG or WebP)
            end_url: the end frame as an http(s) URL, when no file is given
            prompt: what happens between the frames (at most 2000 characters)
            model: the model name, e.g. viduq3-pro
            duration: seconds; allowed values depend on the model
            resolution: e.g. 720p; allowed values depend on the model and duration
            seed: 0 = random
            movement_amplitude: auto, small, medium or large (q1 and vidu2.0 models)
            is_rec: let the service write the prompt (+10 credits)
            bgm: add background music (not on q3 models)
            audio: generate sound (q3 models)
            off_peak: cheaper, may take up to 48 h
            watermark: also make a watermarked copy
            wm_position: 1 top left, 2 top right, 3 bottom right, 4 bottom left
            wm_url: URL of a watermark image
            meta_data: a JSON object as text
            payload: passed through untouched
            callback_url: http(s) URL that receives status callbacks
            auto_fit: fix frames the service would refuse (resize or crop the end frame)
        """
        values = locals()
        form = Form(**{name: values[name] for name in FORM_FIELDS})
        yield from self.run(form, guard, request)
