"""The page's components, laid out: the form, the result, the History tab. No wiring here (``page.py``).

Every visible word is a translation key (``ui_text.py``); ``I18N`` is the page's translator.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..catalogue import MODELS, MOVEMENT_AMPLITUDES, Model
from ..options import SEED_MAX, WM_POSITIONS
from ..ui_text import MESSAGES_EN, TRANSLATIONS
from . import examples
from .handlers import Studio
from .history import COLUMNS, STATE_FILTERS

I18N = gr.I18n(**TRANSLATIONS)
Named = dict[str, Any]
"""Components by name."""


def _model_choices() -> list[tuple[str | gr.i18n.I18nData, str]]:
    return [(I18N(f"model_{m.name.replace('.', '_')}"), m.name) for m in MODELS]


def form_column(studio: Studio, model: Model) -> Named:
    """The inputs: key (visitor mode), frames, prompt, model and its options, Preview and Generate."""
    c: Named = {}
    if studio.visitor_key:
        c["api_key"] = gr.Textbox(
            label=I18N("api_key"),
            info=I18N("api_key_info"),
            placeholder=I18N("api_key_placeholder"),
            type="password",
            elem_id="vu-api-key",
        )
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
    c["swap"] = gr.Button(I18N("swap"), size="sm", variant="secondary")
    c["prompt"] = gr.Textbox(
        label=I18N("prompt"), placeholder=I18N("prompt_placeholder"), lines=4, max_lines=12, elem_id="vu-prompt"
    )
    c["count"] = gr.Markdown(studio.character_count(""), elem_classes=["vu-count"], elem_id="vu-count")
    examples.offer(c["start_image"], c["end_image"], c["prompt"])
    c["model"] = gr.Dropdown(
        choices=_model_choices(), value=model.name, label=I18N("model"), info=I18N("model_info"), elem_id="vu-model"
    )
    with gr.Row(equal_height=True):
        low, high = model.duration_range
        c["duration"] = gr.Slider(
            low, high, model.default_duration, step=1, label=I18N("duration"), scale=2, elem_id="vu-duration"
        )
        c["resolution"] = gr.Dropdown(
            choices=list(model.resolutions_for(None)),
            value=model.default_resolution_for(None),
            label=I18N("resolution"),
            scale=1,
            elem_id="vu-resolution",
        )
        c["estimate"] = gr.Textbox(
            studio.estimate(model.name, model.default_duration, model.default_resolution_for(None), False),
            label=I18N("estimate"),
            info=I18N("estimate_info"),
            interactive=False,
            scale=2,
            elem_id="vu-estimate",
        )
    c["auto_fit"] = gr.Checkbox(True, label=I18N("auto_fit"), info=I18N("auto_fit_info"), elem_id="vu-autofit")
    with gr.Accordion(I18N("more_options"), open=False, elem_id="vu-more"):
        with gr.Row(equal_height=True):
            c["seed"] = gr.Number(
                0, label=I18N("seed"), info=I18N("seed_info"), precision=0, minimum=0, maximum=SEED_MAX, scale=3
            )
            c["random_seed"] = gr.Button(I18N("random_seed"), size="sm", scale=1)
        c["movement_amplitude"] = gr.Radio(
            [(I18N(f"amplitude_{a}"), a) for a in MOVEMENT_AMPLITUDES],
            value="auto",
            label=I18N("movement_amplitude"),
            info=I18N("movement_info"),
            visible=model.movement_amplitude,
        )
        with gr.Row():
            c["is_rec"] = gr.Checkbox(False, label=I18N("is_rec"), info=I18N("is_rec_info"))
            c["off_peak"] = gr.Checkbox(False, label=I18N("off_peak"), info=I18N("off_peak_info"))
        with gr.Row():
            c["audio"] = gr.Checkbox(True, label=I18N("audio"), info=I18N("audio_info"), visible=model.audio)
            c["bgm"] = gr.Checkbox(False, label=I18N("bgm"), info=I18N("bgm_info"), visible=model.bgm)
        c["watermark"] = gr.Checkbox(False, label=I18N("watermark"), info=I18N("watermark_info"))
        with gr.Row():
            c["wm_position"] = gr.Radio(
                [(I18N(f"wm_position_{k}"), k) for k in WM_POSITIONS],
                value=3,
                label=I18N("wm_position"),
                visible=False,
            )
            c["wm_url"] = gr.Textbox(label=I18N("wm_url"), info=I18N("wm_url_info"), visible=False)
        c["meta_data"] = gr.Textbox(label=I18N("meta_data"), info=I18N("meta_data_info"), lines=2)
        c["payload"] = gr.Textbox(label=I18N("payload"), info=I18N("payload_info"))
        c["callback_url"] = gr.Textbox(label=I18N("callback_url"), info=I18N("callback_url_info"))
    with gr.Row():
        c["preview"] = gr.Button(I18N("preview"), variant="secondary", scale=1)
        c["generate"] = gr.Button(I18N("generate"), variant="primary", scale=2, elem_id="vu-generate")
    return c


def result_column() -> Named:
    """The task shown: its state, video, cover, downloads, credits, Cancel; Look up; the request sent."""
    c: Named = {}
    gr.Markdown("### " + I18N("result"))
    c["status"] = gr.Markdown(I18N("result_empty"), elem_classes=["vu-status"], elem_id="vu-status")
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
    with gr.Row():
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
    c["response"] = gr.JSON(label=I18N("response"), open=False, buttons=["copy"], elem_id="vu-response")
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
    """Filters, the table, and the selected task with Open and Reuse settings."""
    c: Named = {}
    with gr.Row():
        c["state"] = gr.Dropdown(
            [(I18N(f"filter_{name}"), name) for name in STATE_FILTERS],
            value="all",
            label=I18N("history_state"),
            scale=1,
            elem_id="vu-history-state",
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
        headers=[MESSAGES_EN[f"col_{name}"] for name in COLUMNS],  # in the viewer's language once loaded
        datatype="str",
        interactive=False,
        wrap=True,
        max_height=420,
        column_widths=["16%", "12%", "13%", "33%", "8%", "18%"],
        label=I18N("history_tasks"),
        elem_id="vu-history-table",
    )
    with gr.Row(elem_id="vu-history-selected"):
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
        with gr.Column(scale=3):
            c["selected_text"] = gr.Markdown(I18N("history_pick"), elem_id="vu-history-summary")
            c["selected"] = gr.Textbox(
                label=I18N("history_selected"), interactive=False, elem_id="vu-history-selected-id"
            )
            with gr.Row():
                c["open"] = gr.Button(I18N("history_open"), variant="primary", elem_id="vu-history-open")
                c["reuse"] = gr.Button(I18N("history_reuse"), elem_id="vu-history-reuse")
    return c
