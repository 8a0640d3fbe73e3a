"""The page's components, laid out: the form, the result, the History tab. No wiring here (``page.py``).

The request's inputs are made from its description (``request.FIELDS``): each field's widget, label and help,
default, limits and choices, whether it shows for the model, and whether it sits under "More options". Every
visible word is a translation key (``messages.py``); ``I18N`` is the page's translator.
"""

from __future__ import annotations

from typing import Any, TypeVar

import gradio as gr

from ..catalogue import MODELS, WM_POSITIONS, Model
from ..messages import EN, TRANSLATIONS, model_key
from ..request import FIELDS, Field, ModelView, model_view
from . import examples
from .handlers import Studio
from .history import ALL_BATCHES, CARDS_JS, COLUMN_TYPES, COLUMN_WIDTHS, COLUMNS, STATE_FILTERS

I18N = gr.I18n(**TRANSLATIONS)
Named = dict[str, Any]
"""Components by name."""


C = TypeVar("C", gr.Dropdown, gr.Radio)


def whole_numbers(component: C) -> C:
    """A dropdown or radio of whole numbers (duration, the watermark's position), described to API and MCP clients
    as integers: Gradio describes every dropdown and radio as text, with an enum of numbers no text matches. (Its
    own ``api_info`` is replaced on this instance: a subclass would make Gradio write a ``.pyi`` beside this file.)"""
    described = component.api_info
    setattr(component, "api_info", lambda: {**described(), "type": "integer"})  # noqa: B010 - an instance's method
    return component


def _choices(spec: Field, view: ModelView) -> list[Any]:
    if spec.kind == "model":
        return [(I18N(model_key(m.name)), m.name) for m in MODELS]
    if spec.name == "duration":
        return [(str(d), d) for d in view.durations]
    if spec.name == "resolution":
        return list(view.resolutions)
    if spec.name == "wm_position":
        return [(I18N(f"wm_position_{k}"), k) for k in WM_POSITIONS]
    return [(I18N(f"amplitude_{c}"), c) for c in spec.choices]


def option_input(spec: Field, view: ModelView) -> gr.components.Component:
    """The input of one field of the request, as its description says, for the model and duration of ``view``."""
    common: dict[str, Any] = {
        "label": I18N(spec.label_key),
        "info": I18N(spec.help_key),
        "elem_id": "vu-" + spec.name.replace("_", "-"),
        "visible": view.visible.get(spec.name, spec.requires is None),
    }
    chosen: dict[str, Any] = {"model": view.model.name, "duration": view.duration, "resolution": view.resolution}
    value: Any = chosen.get(spec.name, spec.default)
    if spec.widget == "checkbox":
        return gr.Checkbox(value, **common)
    if spec.widget == "number":
        low, high = spec.bounds or (None, None)
        return gr.Number(value, precision=0, minimum=low, maximum=high, **common)
    if spec.widget == "radio":
        radio = gr.Radio(_choices(spec, view), value=value, **common)
        return whole_numbers(radio) if spec.kind == "int" else radio
    if spec.widget == "dropdown":
        choices = _choices(spec, view)
        dropdown = gr.Dropdown(choices=choices, value=value, interactive=len(choices) > 1, **common)
        return whole_numbers(dropdown) if spec.kind == "int" else dropdown
    placeholder = I18N("prompt_placeholder") if spec.required else None
    return gr.Textbox(value, lines=spec.lines, max_lines=max(spec.lines * 3, 1), placeholder=placeholder, **common)


def form_column(studio: Studio, model: Model) -> Named:
    """The inputs: key (visitor mode), frames, the request's fields (the advanced ones under "More options"),
    auto-fit, Preview and Generate."""
    c: Named = {}
    view = model_view(model.name)
    if studio.visitor_key:
        c["api_key"] = gr.Textbox(
            label=I18N("api_key"),
            info=I18N("api_key_info"),
            placeholder=I18N("api_key_placeholder"),
            type="password",
            elem_id="vu-api-key",
        )
        with gr.Row(elem_classes=["vu-key-check"]):
            c["check_key"] = gr.Button(I18N("check_key"), size="sm", scale=0, min_width=120, elem_id="vu-check-key")
            c["key_credits"] = gr.Markdown(elem_classes=["vu-empty"], elem_id="vu-key-credits")
    else:
        c["api_key"] = gr.State(None)
    with gr.Row(equal_height=True):
        for role in ("start", "end"):
            with gr.Column(min_width=220):
                c[f"{role}_image"] = gr.Image(
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    label=I18N(f"{role}_frame"),
                    height=260,
                    elem_id=f"vu-{role}-image",
                    placeholder=str(I18N("frame_hint")),
                )
                c[f"{role}_summary"] = gr.Markdown(elem_classes=["vu-summary"], elem_id=f"vu-{role}-summary")
                c[f"{role}_url"] = gr.Textbox(
                    label=I18N(f"{role}_url"),
                    info=I18N("url_info"),
                    placeholder=I18N("url_placeholder"),
                    elem_id=f"vu-{role}-url",
                )
    # What auto-fit will send, under the originals; shown only when it changes a frame (``Studio.fit_preview``).
    with gr.Column(visible=False, elem_id="vu-fit-preview", elem_classes=["vu-fit-preview"]) as c["fit_preview"]:
        gr.Markdown("#### " + I18N("fit_preview_title"))
        with gr.Row(equal_height=True):
            for role in ("start", "end"):
                with gr.Column(min_width=220):
                    c[f"{role}_sent"] = gr.Image(
                        label=I18N(f"fit_preview_{role}"),
                        type="pil",
                        interactive=False,
                        height=180,
                        buttons=[],
                        elem_id=f"vu-{role}-sent",
                    )
                    c[f"{role}_sent_note"] = gr.Markdown(elem_classes=["vu-summary"], elem_id=f"vu-{role}-sent-note")
    c["swap"] = gr.Button(I18N("swap"), size="sm", variant="secondary", elem_id="vu-swap")
    main = [spec for spec in FIELDS if not spec.advanced]
    with gr.Row(equal_height=True, elem_classes=["vu-model-row"]):
        for spec in main:
            if spec.widget == "dropdown":
                c[spec.name] = option_input(spec, view)
        c["estimate"] = gr.Textbox(
            studio.estimate(model.name, view.duration, view.resolution, False),
            label=I18N("estimate"),
            info=I18N("estimate_info"),
            interactive=False,
            elem_id="vu-estimate",
        )
    for spec in main:
        if spec.widget != "dropdown":
            c[spec.name] = option_input(spec, view)
            if spec.limit is not None and spec.required:
                c["count"] = gr.Markdown(studio.character_count(""), elem_classes=["vu-count"], elem_id="vu-count")
                examples.offer(c["start_image"], c["end_image"], c[spec.name], I18N("examples"))
    c["auto_fit"] = gr.Checkbox(True, label=I18N("auto_fit"), info=I18N("auto_fit_info"), elem_id="vu-autofit")
    with gr.Accordion(I18N("more_options"), open=False, elem_id="vu-more"):
        checkboxes = [spec for spec in FIELDS if spec.advanced and spec.widget == "checkbox" and not spec.requires]
        with gr.Row():
            for spec in checkboxes:
                c[spec.name] = option_input(spec, view)
        for spec in FIELDS:
            if spec.advanced and spec.name not in c:
                c[spec.name] = option_input(spec, view)
                if spec.bounds is not None:
                    c["random_seed"] = gr.Button(I18N("random_seed"), size="sm")
    with gr.Row():
        c["preview"] = gr.Button(I18N("preview"), variant="secondary", scale=1)
        c["generate"] = gr.Button(I18N("generate"), variant="primary", scale=2, elem_id="vu-generate")
    return c


def result_column() -> Named:
    """The task shown: its state, video, cover, downloads, credits, Cancel; Look up; the request sent."""
    c: Named = {}
    gr.Markdown("### " + I18N("result"))
    c["status"] = gr.Markdown(I18N("result_empty"), elem_classes=["vu-status"], elem_id="vu-status")
    c["timeline"] = gr.Markdown(elem_classes=["vu-timeline"], elem_id="vu-timeline")
    c["video"] = gr.Video(
        label=I18N("result_video"),
        interactive=False,
        buttons=["download"],
        height=360,
        elem_id="vu-video",
    )
    with gr.Row():
        c["cover"] = gr.Image(
            label=I18N("cover"),
            interactive=False,
            height=120,
            visible=False,
            scale=1,
            buttons=["fullscreen"],
            elem_id="vu-cover",
        )
        with gr.Column(scale=2, min_width=200):
            c["download"] = gr.DownloadButton(
                str(I18N("download")), visible=False, variant="primary", size="md", elem_id="vu-download"
            )
            c["download_watermarked"] = gr.DownloadButton(
                str(I18N("download_watermarked")), visible=False, size="md", elem_id="vu-download-wm"
            )
            c["cancel"] = gr.Button(I18N("cancel"), visible=False, variant="stop", size="md", elem_id="vu-cancel")
    with gr.Row(elem_classes=["vu-id-row"]):
        c["task_id"] = gr.Textbox(
            label=I18N("task_id"), interactive=False, buttons=["copy"], scale=3, elem_id="vu-task-id"
        )
        c["credits"] = gr.Textbox(label=I18N("credits"), interactive=False, scale=1, elem_id="vu-credits")
    c["lookup"] = gr.Textbox(
        label=I18N("lookup"),
        info=I18N("lookup_info"),
        placeholder=I18N("lookup_placeholder"),
        submit_btn=True,
        elem_id="vu-lookup",
    )
    c["changes"] = gr.Markdown(elem_classes=["vu-empty"], elem_id="vu-changes")
    c["response"] = gr.JSON(
        label=I18N("response"), open=False, buttons=["copy"], elem_id="vu-response", elem_classes=["vu-json"]
    )
    with gr.Accordion(I18N("request_preview"), open=False, elem_id="vu-request"):
        gr.Markdown(I18N("request_preview_info"), elem_classes=["vu-empty"])
        with gr.Tabs():
            with gr.Tab(I18N("curl")):
                c["curl"] = gr.Code(
                    label=I18N("curl"), language="shell", buttons=["copy"], lines=8, show_label=False, elem_id="vu-curl"
                )
            with gr.Tab(I18N("python")):
                c["python"] = gr.Code(
                    label=I18N("python"),
                    language="python",
                    buttons=["copy"],
                    lines=8,
                    show_label=False,
                    elem_id="vu-python",
                )
    return c


def history_tab() -> Named:
    """Filters, the tasks (a table on a wide screen, cards on a narrow one: the same rows), and the selected task
    with Open and Reuse settings."""
    c: Named = {}
    with gr.Row():
        c["state"] = gr.Dropdown(
            [(I18N(f"filter_{name}"), name) for name in STATE_FILTERS],
            value="all",
            label=I18N("history_state"),
            scale=1,
            elem_id="vu-history-state",
        )
        c["batch"] = gr.Dropdown(
            [(I18N("history_batch_all"), ALL_BATCHES)],  # the viewer's batches once loaded (``History.batches``)
            value=ALL_BATCHES,
            label=I18N("history_batch"),
            scale=1,
            min_width=160,
            elem_id="vu-history-batch",
        )
        c["search"] = gr.Textbox(
            label=I18N("history_search"),
            placeholder=I18N("history_search_placeholder"),
            scale=3,
            elem_id="vu-history-search",
        )
        with gr.Column(scale=0, min_width=130):
            c["refresh"] = gr.Button(I18N("history_refresh"), size="md", elem_id="vu-history-refresh")
    c["note"] = gr.Markdown(elem_classes=["vu-empty"], elem_id="vu-history-note")
    c["table"] = gr.Dataframe(
        headers=[EN[f"col_{name}"] for name in COLUMNS],  # in the viewer's language once loaded
        datatype=[COLUMN_TYPES.get(name, "str") for name in COLUMNS],
        interactive=False,
        wrap=True,
        max_height=520,
        column_widths=[f"{COLUMN_WIDTHS[name]}px" for name in COLUMNS],
        label=I18N("history_tasks"),
        elem_id="vu-history-table",
        elem_classes=["vu-history-table"],
    )
    # A phone's view of the same rows (``History.rows``): shown instead of the table at narrow widths (the CSS).
    c["cards"] = gr.HTML("", js_on_load=CARDS_JS, elem_id="vu-history-cards", elem_classes=["vu-history-cards"])
    with gr.Row(elem_id="vu-history-selected", elem_classes=["vu-history-selected"]):
        c["start_thumb"] = gr.Image(
            label=I18N("start_frame"),
            interactive=False,
            height=120,
            scale=1,
            type="pil",
            buttons=[],
            elem_id="vu-thumb-start",
        )
        c["end_thumb"] = gr.Image(
            label=I18N("end_frame"),
            interactive=False,
            height=120,
            scale=1,
            type="pil",
            buttons=[],
            elem_id="vu-thumb-end",
        )
        with gr.Column(scale=3, elem_classes=["vu-history-detail"]):
            c["selected_text"] = gr.Markdown(I18N("history_pick"), elem_id="vu-history-summary")
            c["selected"] = gr.Textbox(
                label=I18N("history_selected"), interactive=False, elem_id="vu-history-selected-id"
            )
            with gr.Row():
                # Enabled once a row is selected (``History.select``): never a button that does nothing.
                c["open"] = gr.Button(
                    I18N("history_open"), variant="primary", interactive=False, elem_id="vu-history-open"
                )
                c["reuse"] = gr.Button(I18N("history_reuse"), interactive=False, elem_id="vu-history-reuse")
    return c
