"""What the page's events do. Plain functions of their inputs: no layout, no globals, callable from tests.

Every check, rule and message comes from the core (``options``, ``frames``, ``submit``, ``errors``); this module
only turns page values into core calls and core errors into ``gr.Error`` / ``gr.validate``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import astuple, dataclass
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from .. import frames, reconcile
from ..autofit import Reshape, plan_pair
from ..callbacks import callback_url_for
from ..catalogue import get_model
from ..client import ViduClient
from ..errors import InvalidInput, Problem, ViduError
from ..messages import Lang, Reader, language_of, render_error, render_problem, say
from ..preview import file_name, snippets
from ..request import (
    MODEL_DEPENDENT,
    NAMES,
    PROMPT_MAX,
    SEED_MAX,
    ModelView,
    TaskOptions,
    as_bool,
    as_int,
    model_view,
    shorten_data,
)
from ..responses import CreatedTask
from ..settings import Settings
from ..submit import PreparedRequest, new_reference, prepare, video_resolution
from .access import Viewer, header
from .form import FORM_FIELDS, Form, ImageValue, SessionGuard, image_path, text_or_none, url_problem
from .media import sent_picture
from .prepared import PreparedCache, request_key
from .runtime import Runtime

logger = logging.getLogger("vidu_ui.studio")
Outputs = Generator[tuple[Any, ...], None, None]
"""Generate's successive outputs: the button disabled, then the request shown, then the answer."""
SYNC_OUTPUTS: tuple[str, ...] = (*MODEL_DEPENDENT, "estimate")
"""What follows the model and the duration: their own inputs, the options that apply to some models, the estimate."""
FIT_INPUTS: tuple[str, ...] = ("start_image", "end_image", "model", "duration", "resolution", "auto_fit")
"""What the frames auto-fit will send depend on (``Studio.fit_preview``); it runs when one of them changes."""
FIT_OUTPUTS: tuple[str, ...] = ("fit_preview", "start_sent", "start_sent_note", "end_sent", "end_sent_note")
"""The box of the frames as sent (shown only when auto-fit changes one), each frame's picture and its words."""


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


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


def service_error(exc: ViduError, lang: Lang = "en", reader: Reader = "operator") -> gr.Error:
    """The message a person reads for a failed request, in their language: what happened and what to do."""
    title, happened, advice = render_error(exc, lang, reader)
    if isinstance(exc, InvalidInput):
        return gr.Error(happened, title=title, print_exception=False)
    text = happened + "".join(f". {say(lang, 'what_to_do', hint=line)}" for line in advice)
    return gr.Error(text, title=title, duration=None, print_exception=False)


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
        image: ImageValue,
        url: str | None = None,
        role: str = "start",
        max_pixels: int = frames.MAX_PIXELS,
        request: gr.Request | None = None,
    ) -> str:
        """Format, pixel size and file size of a frame, or the reason it cannot be used, in the viewer's language."""
        lang = language_of(header(request, "accept-language"))
        refused = url_problem(role, url) if image_path(image) is None else None
        if refused is not None:
            return "⚠ " + render_problem(refused, lang, with_field=False)
        source = image_path(image) or text_or_none(url)
        if source is None:
            return ""
        try:
            frame = frames.load_frame(source, role, max_pixels=max_pixels)
        except InvalidInput as exc:
            return "⚠ " + "; ".join(render_problem(p, lang, with_field=False) for p in exc.problems)
        problems = frames.check_frame(frame)
        summary = frame.summary(lang)
        return summary + "".join(f"  \n⚠ {render_problem(p, lang, with_field=False)}" for p in problems)

    def frame_summarizer(self, role: str) -> Callable[..., str]:
        """``frame_summary`` for one frame's inputs, as an event function Gradio hands the request (for the
        viewer's language): a ``functools.partial`` would hide the parameter's type from it."""

        def summarise(image: ImageValue, url: str | None = None, request: gr.Request | None = None) -> str:
            return self.frame_summary(image, url, role, self.settings.max_pixels, request)

        return summarise

    def fit_preview(
        self,
        start_image: ImageValue,
        end_image: ImageValue,
        model: str | None,
        duration: object,
        resolution: str | None,
        auto_fit: object,
        request: gr.Request | None = None,
    ) -> tuple[Any, ...]:
        """The frames auto-fit will send, beside the originals, when it changes one (``FIT_OUTPUTS``): its own plan
        (``autofit.plan_pair``, what Generate applies) for the video's resolution as Generate reads it, each picture
        drawn from a reduced-size decode (``media.sent_picture``). Nothing when auto-fit is off, a frame is missing
        or given by URL, or nothing would change."""
        hidden = (gr.update(visible=False), None, "", None, "")
        start_path, end_path = image_path(start_image), image_path(end_image)
        if as_bool(auto_fit) is not True or start_path is None or end_path is None:
            return hidden
        try:
            start = frames.load_frame(start_path, "start", max_pixels=self.settings.max_pixels, defer=True)
            end = frames.load_frame(end_path, "end", max_pixels=self.settings.max_pixels, defer=True)
        except InvalidInput:  # the summary under the frame says why
            return hidden
        fields = {"model": model, "duration": as_int(duration), "resolution": resolution or None}
        plan = plan_pair(start, end, video_resolution(fields))
        if plan is None:
            return hidden
        lang = language_of(header(request, "accept-language"))
        shown: list[Any] = [gr.update(visible=True)]
        for frame in (start, end):
            reshape = plan.of(frame.role)
            picture = sent_picture(frame, reshape)
            shown += [picture, self.sent_words(reshape, lang, drawn=picture is not None)]
        return tuple(shown)

    @staticmethod
    def sent_words(reshape: Reshape, lang: Lang, *, drawn: bool = True) -> str:
        """What auto-fit does to one frame, under its picture: the size sent (and before), each change."""
        if not reshape.changed:
            head = say(lang, "fit_preview_unchanged", size=_dims(reshape.before))
        else:
            head = say(lang, "fit_preview_size", after=_dims(reshape.after), before=_dims(reshape.before))
        if not drawn:
            head += "  \n" + say(lang, "fit_preview_no_picture")
        return "\n".join([head, "", *(f"- {change.render(lang)}" for change in reshape.changes)]).rstrip()

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
    def estimate(model_name: str | None, duration: object, resolution: str | None, is_rec: object) -> str:
        """An indicative credit estimate where the catalogue has a figure; labelled an estimate on the page."""
        model = get_model(model_name) if isinstance(model_name, str) else None
        seconds = as_int(duration)
        if model is None or seconds is None or not resolution:
            return t("no_estimate")
        credits = model.estimate_credits(seconds, resolution, is_rec is True)
        return t("no_estimate") if credits is None else f"≈ {credits:,}"

    @classmethod
    def view_updates(cls, view: ModelView, is_rec: object = False) -> dict[str, Any]:
        """The updates that make the form match ``view`` (``SYNC_OUTPUTS``, by name): the durations and
        resolutions offered (a single duration is shown fixed), which options show, the estimate."""
        updates: dict[str, Any] = {
            "duration": gr.update(
                choices=[(str(d), d) for d in view.durations],
                value=view.duration,
                interactive=len(view.durations) > 1,
            ),
            "resolution": gr.update(
                choices=list(view.resolutions), value=view.resolution, interactive=len(view.resolutions) > 1
            ),
            "estimate": gr.update(value=cls.estimate(view.model.name, view.duration, view.resolution, is_rec)),
        }
        for name, visible in view.visible.items():
            updates[name] = gr.update(visible=visible)
        return updates

    def sync(self, model_name: str | None, duration: object, resolution: str | None, is_rec: object) -> tuple[Any, ...]:
        """Whatever changed the model, the duration, the resolution or ``is_rec`` (a person, "Reuse settings", a
        deep link): the inputs of ``SYNC_OUTPUTS`` as the catalogue offers them, keeping the duration and
        resolution where still offered.

        A duration or resolution still offered is not sent back: the page may already hold a newer one than this
        event read. "Reuse settings" sets the model, the duration and the resolution at once, yet the page reads
        them for this event as each lands (the model first): sending back the older duration and resolution it
        read undid the reused ones."""
        view = model_view(model_name, duration, resolution)
        updates = self.view_updates(view, is_rec)
        if as_int(duration) == view.duration:
            del updates["duration"]["value"]
        if resolution == view.resolution:
            del updates["resolution"]["value"]
        return tuple(updates[name] for name in SYNC_OUTPUTS)

    @staticmethod
    def watermark_changed(watermark: object) -> tuple[dict[str, Any], dict[str, Any]]:
        shown = as_bool(watermark) is True
        return gr.update(visible=shown), gr.update(visible=shown)

    @staticmethod
    def release_button() -> dict[str, Any]:
        return gr.update(interactive=True, value=t("generate"))

    def check_key(self, api_key: str | None, request: gr.Request | None = None) -> str:
        """A visitor's key checked with the credits call (which spends nothing): the credits it has left."""
        viewer = Viewer.of(self.settings, request, api_key)
        key = (api_key or "").strip() if isinstance(api_key, str) else ""
        if not key:
            return "⚠ " + say(viewer.lang, "problem_no_key_visitor")
        try:
            with ViduClient(self.settings_for(key)) as client:
                answer = client.credits()
        except ViduError as exc:
            title, happened, advice = render_error(exc, viewer.lang, self.reader())
            return "⚠ " + " ".join([f"**{title}**:", happened.rstrip(".") + ".", *advice])
        lines = [
            say(viewer.lang, "key_credits_line", kind=line.type or "—", credits=f"{line.credit_remain:g}")
            for line in answer.remains
            if line.credit_remain is not None
        ]
        if not lines:
            return say(viewer.lang, "key_credits_unknown")
        return "✓ " + say(viewer.lang, "key_ok") + "  \n" + "  \n".join(lines)

    # --- checks, preview, generate --------------------------------------------------------------------------

    def options(self, form: Form) -> TaskOptions:
        """The form's options; an empty callback URL becomes this app's own receiver when it has a public URL."""
        options = form.task_options()
        own = callback_url_for(self.settings)
        if options.get("callback_url") is None and own is not None:
            options = options.replace(callback_url=own)
        return options

    def reader(self) -> Reader:
        """Who must act on an error: a visitor with their own key, or the operator of a server key."""
        return "visitor" if self.visitor_key else "operator"

    def problems(self, form: Form) -> list[Problem]:
        """Every problem the core finds with this form; empty when Generate may send it."""
        found: list[Problem] = []
        if self.visitor_key and not (form.api_key if isinstance(form.api_key, str) else "").strip():
            found.append(Problem.of("api_key", "problem_no_key_visitor"))
        refused = form.url_problems()
        found += refused
        options, auto_fit = self.options(form), form.wants_auto_fit
        try:
            request = self.prepare_now(form, options, auto_fit)
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

    def validate(self, form: Form, *extras: Any, request: gr.Request | None = None) -> list[dict[str, Any]]:
        """Gradio's validator: one ``gr.validate`` per input, each message at its own input (without the field's
        name) in the viewer's language, before queueing."""
        lang = Viewer.of(self.settings, request, form.api_key).lang
        messages: dict[str, list[str]] = {}
        for problem in self.problems(form):
            shown = render_problem(problem, lang, with_field=False)
            messages.setdefault(self._input_for(problem.field, form), []).append(shown)
        results = [gr.validate(name not in messages, "\n".join(messages.get(name, []))) for name in FORM_FIELDS]
        return results + [gr.validate(True, "")] * len(extras)

    @staticmethod
    def _input_for(field: str, form: Form) -> str:
        """The input a problem belongs to; pair and body-size problems go to the end frame (auto-fit's target)."""
        if field in FORM_FIELDS and field not in ("start_image", "end_image"):
            return field
        if field in ("start_frame", "start", "images"):
            return form.frame_input("start")
        if field in ("end_frame", "end", "frames", "pair"):
            return form.frame_input("end")
        return NAMES[0]  # anything else: the first option, in view

    def prepare_now(self, form: Form, options: TaskOptions, auto_fit: bool) -> PreparedRequest:
        """``submit.prepare`` of this form, its body carrying a new reference (``submit.new_reference``) unless the
        settings turn references off: Generate sends it as it is, encoded once. Raises ``InvalidInput``."""
        return prepare(
            form.start or "",
            form.end or "",
            options,
            auto_fit=auto_fit,
            max_pixels=self.settings.max_pixels,
            reference=new_reference(self.settings),
        )

    def prepare(self, form: Form, lang: Lang = "en") -> PreparedRequest:
        """The checked request (auto-fit applied when on): the validator's, when it just prepared the same one.

        Raises ``gr.Error`` listing every problem; warns (``gr.Warning``) of what may not work as asked."""
        refused = form.url_problems()
        if refused:
            raise service_error(InvalidInput(refused), lang)
        options, auto_fit = self.options(form), form.wants_auto_fit
        prepared = self.checked.take(request_key(form.start, form.end, options, auto_fit))
        if prepared is None:
            try:
                prepared = self.prepare_now(form, options, auto_fit)
            except InvalidInput as exc:
                raise service_error(exc, lang) from None
        for warning in prepared.warnings:
            gr.Warning(say(lang, "warning", text=render_problem(warning, lang)))
        return prepared

    def describe_changes(self, request: PreparedRequest, lang: Lang = "en") -> str:
        """What auto-fit changed, each change naming its frame, in the viewer's language."""
        if not request.changes:
            return t("no_changes")
        return f"**{t('changes')}**\n" + "\n".join(f"- {change.render(lang)}" for change in request.changes)

    def preview(self, form: Form, request: gr.Request | None = None) -> tuple[str, str, str]:
        """What auto-fit changes and the exact request, without sending anything."""
        lang = Viewer.of(self.settings, request, form.api_key).lang
        prepared = self.prepare(form, lang)
        curl, python = self.snippets(form, prepared)
        return self.describe_changes(prepared, lang), curl, python

    def snippets(self, form: Form, prepared: PreparedRequest) -> tuple[str, str]:
        """The request as cURL and Python, reading the frames from files named as the form's."""
        code = snippets(
            prepared.shortened_body(),
            self.settings,
            file_name(form.start),
            file_name(form.end),
            fitted=bool(prepared.changes),
        )
        return code["curl"], code["python"]

    def send(self, form: Form, request: PreparedRequest, viewer: Viewer) -> CreatedTask:
        """Send once, with a client built for this request from this visitor's (or the server's) key; the task is
        filed under this viewer before it leaves (``reconcile.send``), so no answer never means a lost task. Without
        an answer the viewer is told "checking whether the task was created…" and this waits for the service's task
        list to tell (``settings.settle_seconds`` at most, with this request's key, which a visitor's may be): the
        answer is the task, "not created, nothing charged", or "needs a look"."""
        try:
            with ViduClient(self.settings_for(form.api_key)) as client:
                _, task = reconcile.send(
                    client,
                    self.runtime.store,
                    request,
                    self.settings,
                    user=viewer.user,
                    key_kind=viewer.owner.kind,
                    on_unknown=lambda text: gr.Info(text),
                    sleep=time.sleep,
                    lang=viewer.lang,
                    frame_sources=(form.start, form.end),
                )
                return task
        except ViduError as exc:
            raise service_error(exc, viewer.lang, self.reader()) from None

    def record(self, task: CreatedTask, viewer: Viewer) -> None:
        """Start following the new task (already in the history, with its frames' sources). A failure here must not
        hide the id."""
        try:
            self.runtime.tracker.track(task.task_id, viewer.owner)
        except Exception as exc:
            logger.exception("task %s was created but could not be recorded", task.task_id)
            gr.Warning(say(viewer.lang, "recorded_failed", task_id=task.task_id, error=exc))

    def run(self, form: Form, guard: SessionGuard | None = None, request: gr.Request | None = None) -> Outputs:
        """Create a Vidu start–end frame video task from two frames and a prompt; returns the task id.

        Prepare, then show the changes and the request with the button disabled, send, record, show the answer.
        Yields the outputs twice: each yield costs Gradio's work on all seven outputs (about 13 ms of CPU), and the
        request is normally prepared already (the validator's), so the button waits for nothing by waiting for it."""
        viewer = Viewer.of(self.settings, request, form.api_key)
        if guard is not None and not guard.acquire():
            raise gr.Error(say(viewer.lang, "busy"), print_exception=False)
        try:
            prepared = self.prepare(form, viewer.lang)
            curl, python = self.snippets(form, prepared)
            changes = self.describe_changes(prepared, viewer.lang)
            yield ("", "", None, changes, curl, python, gr.update(interactive=False, value=t("generating")))
            task = self.send(form, prepared, viewer)
            self.record(task, viewer)
            credits = "—" if task.credits is None else f"{task.credits:g}"
            outcome = Outcome(task.task_id, credits, shorten_data(task.raw), changes, curl, python)
            yield (*astuple(outcome), self.release_button())
        finally:
            if guard is not None:
                guard.release()
