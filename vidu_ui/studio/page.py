"""The page: layout, then the wiring of each event to a handler in ``handlers.py``.

Inputs on the left, the result on the right. Every visible word is a translation key (``ui_text.py``).
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

import gradio as gr

from ..catalogue import DEFAULT_MODEL, MODELS, MOVEMENT_AMPLITUDES, get_model
from ..options import SEED_MAX, WM_POSITIONS
from ..settings import Settings
from ..ui_text import TRANSLATIONS
from .form import FORM_FIELDS, SessionGuard
from .handlers import Studio

I18N = gr.I18n(**TRANSLATIONS)
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="violet", neutral_hue="slate", radius_size="md").set(
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
    button_primary_text_color="white",
)
CSS = """
.gradio-container { max-width: 1360px !important; margin: 0 auto !important; }
#vu-header { align-items: center; gap: 12px; padding: 4px 2px 10px;
  border-bottom: 1px solid var(--border-color-primary); }
#vu-header h1 { margin: 0; font-size: 1.6rem; letter-spacing: -0.01em; }
#vu-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.prose.vu-badge { padding: 8px 14px; border-radius: 10px; font-size: 0.9rem;
  background: var(--color-accent-soft); border: 1px solid var(--border-color-accent); }
.prose.vu-badge.vu-demo { background: #fff7e6; border-color: #f5c16c; color: #7a4a00; }
.prose.vu-badge p { margin: 0; }
.vu-host code { font-size: 0.85rem; }
.vu-summary { min-height: 1.6em; font-size: 0.86rem; color: var(--body-text-color-subdued); padding: 0 4px; }
.vu-count { text-align: right; font-size: 0.82rem; color: var(--body-text-color-subdued); margin-top: -6px; }
.vu-section { font-weight: 600; font-size: 0.95rem; margin: 6px 0 -4px; }
#vu-generate { min-height: 52px; font-size: 1.05rem; }
#vu-output { position: sticky; top: 12px; }
.vu-empty { color: var(--body-text-color-subdued); padding: 8px 4px; }
"""


def launch_options() -> dict[str, Any]:
    """What ``launch()`` needs besides host and port; tests launch with the same options as ``app.py``."""
    return {
        "i18n": I18N,
        "theme": THEME,
        "css": CSS,
        "run_history": False,  # otherwise inputs (a pasted key among them) are saved in the browser's storage
        "enable_monitoring": False,
        "show_error": False,  # gr.Error messages are shown regardless; anything else never reaches the browser
        "max_file_size": "50mb",
        "footer_links": ["api", "settings"],
    }


def _mode(studio: Studio) -> tuple[str, str]:
    if studio.demo:
        return "mode_demo", "vu-badge vu-demo"
    return ("mode_visitor", "vu-badge") if studio.visitor_key else ("mode_server", "vu-badge")


def _model_choices() -> list[tuple[str | gr.i18n.I18nData, str]]:
    return [(I18N(f"model_{m.name.replace('.', '_')}"), m.name) for m in MODELS]


def build_studio(settings: Settings, *, demo: bool = False) -> gr.Blocks:
    """The whole page for these settings. No per-user state outside ``gr.State`` and event values."""
    studio = Studio(settings, demo=demo)
    model = get_model(DEFAULT_MODEL)
    assert model is not None
    mode_key, mode_class = _mode(studio)
    host = urlsplit(settings.base_url).netloc

    page: gr.Blocks
    with gr.Blocks(title=TRANSLATIONS["en"]["title"], analytics_enabled=False) as page:
        guard = gr.State(SessionGuard())
        with gr.Row(elem_id="vu-header", equal_height=True):
            with gr.Column(scale=3, min_width=280):
                gr.Markdown("# " + I18N("title"))
                gr.Markdown(I18N("tagline"))
            with gr.Column(scale=4, min_width=280):
                gr.Markdown(I18N(mode_key), elem_classes=mode_class.split())
                gr.Markdown(I18N("service") + f": `{host}`", elem_classes=["vu-host"])

        with gr.Row(equal_height=False):
            with gr.Column(scale=7, min_width=420):
                if studio.visitor_key:
                    api_key: gr.components.Component = gr.Textbox(
                        label=I18N("api_key"),
                        info=I18N("api_key_info"),
                        placeholder=I18N("api_key_placeholder"),
                        type="password",
                        elem_id="vu-api-key",
                    )
                else:
                    api_key = gr.State(None)
                with gr.Row(equal_height=True):
                    frames: dict[str, tuple[gr.Image, gr.Textbox, gr.Markdown]] = {}
                    for role in ("start", "end"):
                        with gr.Column(min_width=220):
                            image = gr.Image(
                                type="filepath",
                                image_mode=None,
                                sources=["upload", "clipboard"],
                                label=I18N(f"{role}_frame"),
                                height=260,
                                elem_id=f"vu-{role}-image",
                                placeholder=str(I18N("frame_hint")),
                            )
                            summary = gr.Markdown(elem_classes=["vu-summary"], elem_id=f"vu-{role}-summary")
                            url = gr.Textbox(
                                label=I18N(f"{role}_url"),
                                info=I18N("url_info"),
                                placeholder=I18N("url_placeholder"),
                                elem_id=f"vu-{role}-url",
                            )
                            frames[role] = (image, url, summary)
                swap = gr.Button(I18N("swap"), size="sm", variant="secondary")
                prompt = gr.Textbox(
                    label=I18N("prompt"),
                    placeholder=I18N("prompt_placeholder"),
                    lines=4,
                    max_lines=12,
                    elem_id="vu-prompt",
                )
                count = gr.Markdown(studio.character_count(""), elem_classes=["vu-count"], elem_id="vu-count")
                model_box = gr.Dropdown(
                    choices=_model_choices(),
                    value=model.name,
                    label=I18N("model"),
                    info=I18N("model_info"),
                    elem_id="vu-model",
                )
                with gr.Row(equal_height=True):
                    low, high = model.duration_range
                    duration = gr.Slider(
                        low,
                        high,
                        model.default_duration,
                        step=1,
                        label=I18N("duration"),
                        scale=2,
                        elem_id="vu-duration",
                    )
                    resolution = gr.Dropdown(
                        choices=list(model.resolutions_for(None)),
                        value=model.default_resolution_for(None),
                        label=I18N("resolution"),
                        scale=1,
                        elem_id="vu-resolution",
                    )
                    estimate = gr.Textbox(
                        studio.estimate(model.name, model.default_duration, model.default_resolution_for(None), False),
                        label=I18N("estimate"),
                        info=I18N("estimate_info"),
                        interactive=False,
                        scale=2,
                        elem_id="vu-estimate",
                    )
                auto_fit = gr.Checkbox(True, label=I18N("auto_fit"), info=I18N("auto_fit_info"), elem_id="vu-autofit")
                with gr.Accordion(I18N("more_options"), open=False, elem_id="vu-more"):
                    with gr.Row(equal_height=True):
                        seed = gr.Number(
                            0,
                            label=I18N("seed"),
                            info=I18N("seed_info"),
                            precision=0,
                            minimum=0,
                            maximum=SEED_MAX,
                            scale=3,
                        )
                        random_seed = gr.Button(I18N("random_seed"), size="sm", scale=1)
                    movement = gr.Radio(
                        [(I18N(f"amplitude_{a}"), a) for a in MOVEMENT_AMPLITUDES],
                        value="auto",
                        label=I18N("movement_amplitude"),
                        info=I18N("movement_info"),
                        visible=model.movement_amplitude,
                    )
                    with gr.Row():
                        is_rec = gr.Checkbox(False, label=I18N("is_rec"), info=I18N("is_rec_info"))
                        off_peak = gr.Checkbox(False, label=I18N("off_peak"), info=I18N("off_peak_info"))
                    with gr.Row():
                        audio = gr.Checkbox(True, label=I18N("audio"), info=I18N("audio_info"), visible=model.audio)
                        bgm = gr.Checkbox(False, label=I18N("bgm"), info=I18N("bgm_info"), visible=model.bgm)
                    watermark = gr.Checkbox(False, label=I18N("watermark"), info=I18N("watermark_info"))
                    with gr.Row():
                        wm_position = gr.Radio(
                            [(I18N(f"wm_position_{k}"), k) for k in WM_POSITIONS],
                            value=3,
                            label=I18N("wm_position"),
                            visible=False,
                        )
                        wm_url = gr.Textbox(label=I18N("wm_url"), info=I18N("wm_url_info"), visible=False)
                    meta_data = gr.Textbox(label=I18N("meta_data"), info=I18N("meta_data_info"), lines=2)
                    payload = gr.Textbox(label=I18N("payload"), info=I18N("payload_info"))
                    callback_url = gr.Textbox(label=I18N("callback_url"), info=I18N("callback_url_info"))
                with gr.Row():
                    preview_btn = gr.Button(I18N("preview"), variant="secondary", scale=1)
                    generate_btn = gr.Button(I18N("generate"), variant="primary", scale=2, elem_id="vu-generate")

            with gr.Column(scale=5, min_width=380, elem_id="vu-output"):
                gr.Markdown("### " + I18N("result"))
                with gr.Row():
                    task_id = gr.Textbox(
                        label=I18N("task_id"), interactive=False, buttons=["copy"], scale=3, elem_id="vu-task-id"
                    )
                    credits = gr.Textbox(label=I18N("credits"), interactive=False, scale=1, elem_id="vu-credits")
                changes = gr.Markdown(I18N("result_empty"), elem_classes=["vu-empty"], elem_id="vu-changes")
                response = gr.JSON(label=I18N("response"), open=True, buttons=["copy"], elem_id="vu-response")
                with gr.Accordion(I18N("request_preview"), open=False, elem_id="vu-request"):
                    gr.Markdown(I18N("request_preview_info"), elem_classes=["vu-empty"])
                    with gr.Tabs():
                        with gr.Tab(I18N("curl")):
                            curl = gr.Code(
                                label=I18N("curl"),
                                language="shell",
                                buttons=["copy"],
                                lines=8,
                                show_label=False,
                                elem_id="vu-curl",
                            )
                        with gr.Tab(I18N("python")):
                            python = gr.Code(
                                label=I18N("python"),
                                language="python",
                                buttons=["copy"],
                                lines=8,
                                show_label=False,
                                elem_id="vu-python",
                            )

        # --- wiring ----------------------------------------------------------------------------------------
        quick: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        for role, (image, url, summary) in frames.items():
            summarise = partial(studio.frame_summary, role=role)
            image.change(summarise, [image, url], summary, preprocess=False, **quick)
            url.change(summarise, [image, url], summary, **quick)
        start_image, start_url, _ = frames["start"]
        end_image, end_url, _ = frames["end"]
        swap.click(
            studio.swap,
            [start_image, end_image, start_url, end_url],
            [start_image, end_image, start_url, end_url],
            preprocess=False,
            **quick,
        )
        prompt.input(studio.character_count, prompt, count, trigger_mode="always_last", **quick)
        prompt.change(studio.character_count, prompt, count, trigger_mode="always_last", **quick)
        model_box.change(
            studio.model_changed, [model_box, is_rec], [duration, resolution, audio, bgm, movement, estimate], **quick
        )
        sizing = [model_box, duration, resolution, is_rec]
        duration.change(studio.duration_changed, sizing, [resolution, estimate], **quick)
        for trigger in (resolution.change, is_rec.change):
            trigger(studio.estimate, sizing, estimate, **quick)
        watermark.change(studio.watermark_changed, watermark, [wm_position, wm_url], **quick)
        random_seed.click(studio.random_seed, None, seed, **quick)

        named = {
            "api_key": api_key,
            "start_image": start_image,
            "start_url": start_url,
            "end_image": end_image,
            "end_url": end_url,
            "prompt": prompt,
            "model": model_box,
            "duration": duration,
            "resolution": resolution,
            "seed": seed,
            "movement_amplitude": movement,
            "is_rec": is_rec,
            "bgm": bgm,
            "audio": audio,
            "off_peak": off_peak,
            "watermark": watermark,
            "wm_position": wm_position,
            "wm_url": wm_url,
            "meta_data": meta_data,
            "payload": payload,
            "callback_url": callback_url,
            "auto_fit": auto_fit,
        }
        form = [named[name] for name in FORM_FIELDS]
        preview_btn.click(
            studio.preview,
            form,
            [changes, curl, python],
            validator=studio.validate,
            preprocess=False,
            concurrency_limit=None,
            api_visibility="private",
        )
        generate_event = generate_btn.click(
            studio.generate,
            [*form, guard],
            [task_id, credits, response, changes, curl, python, generate_btn],
            validator=studio.validate,
            preprocess=False,
            concurrency_limit=None,  # one visitor's request never waits for another's
            trigger_mode="once",
            api_name="generate",
        )
        # After an error too: the button was disabled by the handler's first yield.
        generate_event.then(studio.release_button, None, generate_btn, **quick)
    return page
