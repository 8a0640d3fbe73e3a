"""The page: three tabs (Studio, History, Batch) laid out in ``layout.py`` (Batch: ``batch.py``), each event
wired to a handler.

Handlers: the form's in ``handlers.py``, the result view's (follow, cancel, look up) in ``results.py``, the
History tab's in ``history.py``. Events that wait (Generate, following a task, opening one) have no concurrency
limit: one visitor never waits for another's.
"""

from __future__ import annotations

import os
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import gradio as gr
from gradio.events import Dependency

from ..catalogue import DEFAULT_MODEL, get_model
from ..frames import MAX_FILE_BYTES
from ..messages import TRANSLATIONS
from ..settings import Settings
from . import batch as batch_page
from . import mcp_tools
from .form import FORM_FIELDS, SessionGuard, form_function
from .handlers import FIT_INPUTS, FIT_OUTPUTS, SYNC_OUTPUTS, Studio
from .history import HISTORY_TAB, REUSE_FIELDS, STUDIO_TAB, History
from .layout import I18N, form_column, history_tab, result_column
from .results import VIEW_FIELDS, Results, Watching
from .runtime import Runtime, StudioBlocks

__all__ = ["CSS", "I18N", "THEME", "build_studio", "launch_options"]

THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="violet", neutral_hue="slate", radius_size="md").set(
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
    button_primary_text_color="white",
)
CSS = """
.gradio-container { width: 100% !important; max-width: min(1360px, 100%) !important; margin: 0 auto !important; }
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
#vu-generate { min-height: 52px; font-size: 1.05rem; }
#vu-output { position: sticky; top: 12px; }
.vu-empty { color: var(--body-text-color-subdued); padding: 4px; }
.vu-status { padding: 10px 14px; border-radius: 10px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); min-height: 3.2em; scroll-margin-top: 12px; }
.vu-status p { margin: 2px 0; }
.vu-timeline { font-size: 0.86rem; color: var(--body-text-color-subdued); padding: 0 6px; }
.vu-step, .vu-queue { white-space: nowrap; }
.vu-fit-preview { border: 1px dashed var(--border-color-accent); border-radius: 10px; padding: 6px 10px; }
.vu-fit-preview h4 { margin: 0; }
.vu-model-row #vu-model { flex: 2 1 260px !important; }
/* Nothing is wider than the window: a flex child may shrink below its content, long values wrap or scroll
   inside their own box, and ids and reason codes never break mid-word. */
.gradio-container .column, .gradio-container .row > * { min-width: 0; }
.gradio-container .tabitem { min-width: 0; }
.gradio-container .prose { overflow-wrap: anywhere; }
.gradio-container .prose code, .vu-nowrap { overflow-wrap: normal; word-break: keep-all; white-space: nowrap; }
.vu-json .json-holder, .vu-json > div:last-child { overflow-x: auto; max-height: 420px; overflow-y: auto; }
.vu-json .line .content { white-space: pre-wrap; overflow-wrap: anywhere; }
#vu-examples .table-wrap { overflow-x: auto; }
#vu-examples table { table-layout: fixed; width: 100%; }
#vu-examples td { white-space: normal; overflow-wrap: break-word; }
#vu-examples td:nth-child(3) { width: 50%; text-align: left; }
#vu-task-id textarea, #vu-task-id input, #vu-history-selected-id textarea, #vu-history-selected-id input {
  white-space: pre; overflow-x: auto; }
.vu-history-table .table-wrap, .vu-history-table .virtual-table-viewport { overflow-x: auto; }
.vu-history-table th, .vu-history-table td { word-break: keep-all; overflow-wrap: normal; hyphens: none; }
.vu-frames { display: inline-flex; gap: 4px; }
.vu-frames img { width: 48px; height: 32px; object-fit: cover; border-radius: 4px;
  border: 1px solid var(--border-color-primary); }
.vu-signout { text-align: right; font-size: 0.9rem; }
/* History: a table on a wide screen, the same rows as cards on a phone (one shown at a time, never the table's
   columns hidden one by one: that broke Gradio's alignment). */
#vu-history-cards { display: none; }
.vu-cards { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.vu-card { border: 1px solid var(--border-color-primary); border-radius: 10px; background: var(--block-background-fill);
  padding: 8px 10px; cursor: pointer; }
.vu-card:has(.vu-card-pick[aria-pressed="true"]) { border-color: var(--color-accent); box-shadow: 0 0 0 1px
  var(--color-accent); }
.vu-card .vu-card-pick { display: flex; gap: 10px; align-items: flex-start; width: 100%; padding: 0; border: 0;
  box-shadow: none; background: none; color: inherit; font: inherit; text-align: left; cursor: pointer; }
.vu-card-pick .vu-frames { flex: none; flex-direction: column; }
.vu-card-pick .vu-frames img { width: 72px; height: 44px; }
.vu-card-text { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.vu-card-state { font-weight: 600; }
.vu-card-prompt { overflow-wrap: anywhere; white-space: normal; }
.vu-card-details { font-size: 0.82rem; color: var(--body-text-color-subdued); }
.vu-card-foot { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; margin-top: 6px;
  font-size: 0.85rem; }
.vu-card-id { white-space: nowrap; }
@media (max-width: 640px) {
  .gradio-container { padding-left: 8px !important; padding-right: 8px !important; }
  #vu-header h1 { font-size: 1.3rem; }
  #vu-output { position: static; }
  .vu-model-row .block { flex: 1 1 40% !important; }
  .vu-model-row #vu-model, .vu-id-row .block { flex: 1 1 100% !important; }
  #vu-thumb-start, #vu-thumb-end { flex: 1 1 40% !important; min-width: 0 !important; }
  .vu-history-selected > .vu-history-detail { flex-basis: 100% !important; }
}
@media (max-width: 600px) {
  #vu-history-table { display: none !important; }
  #vu-history-cards { display: block; }
}
"""


ANALYTICS_EVERY = "GRADIO_ANALYTICS_CACHE_FREQUENCY"
"""After how many events Gradio's queue summarises them for its monitoring dashboard (default 1: after each, a
pandas DataFrame of up to 10,000 events grouped by function: 3.6 ms of CPU an event with 50 recorded, 11 ms with
10,000). The page turns the dashboard off (``enable_monitoring``), so unless this is set it is once in a billion."""

UPLOADS_KEPT = (900, 3600)
"""Gradio's ``delete_cache``: every 15 minutes, its cached files (uploaded frames) older than an hour are removed."""


def launch_options() -> dict[str, Any]:
    """What ``launch()`` needs besides host and port; tests launch with the same options as ``app.py``."""
    return {
        "i18n": I18N,
        "theme": THEME,
        "css": CSS,
        "run_history": False,  # otherwise inputs (a pasted key among them) are saved in the browser's storage
        "enable_monitoring": False,
        "show_error": False,  # gr.Error messages are shown regardless; anything else never reaches the browser
        # Gradio's browser check prints its limit in MiB ("Mb"): 50 MiB reads "50.0 Mb", as the README's 50 MB; the
        # frames' own check (50,000,000 bytes) refuses the few files in between with its message, in MB.
        "max_file_size": MAX_FILE_BYTES // 10**6 * 2**20,
        "footer_links": ["api", "settings"],
    }


def _mode(studio: Studio) -> tuple[str, str]:
    if studio.demo:
        return "mode_demo", "vu-badge vu-demo"
    return ("mode_visitor", "vu-badge") if studio.visitor_key else ("mode_server", "vu-badge")


def build_studio(
    settings: Settings, *, demo: bool = False, runtime: Runtime | None = None, max_queue: int | None = None
) -> StudioBlocks:
    """The whole page for these settings, over ``runtime`` (opened from ``settings`` when not given), its queue
    holding at most ``max_queue`` waiting requests (None: no bound).

    No per-user state outside ``gr.State`` and event values.
    """
    runtime = runtime or Runtime.open(settings)
    studio = Studio(runtime, demo=demo)
    results = Results(runtime)
    history = History(studio, results)
    model = get_model(DEFAULT_MODEL)
    assert model is not None
    mode_key, mode_class = _mode(studio)
    host = urlsplit(settings.base_url).netloc

    page = StudioBlocks(runtime, title=TRANSLATIONS["en"]["title"], analytics_enabled=False, delete_cache=UPLOADS_KEPT)
    # The queue is set while the page is still empty: Gradio's ``queue()`` builds the server app again (a
    # ``create_app`` over every event), which on the finished page doubled that work at each start.
    os.environ.setdefault(ANALYTICS_EVERY, str(10**9))  # read by the queue made just below
    page.queue(max_size=max_queue)
    with page:
        guard = gr.State(SessionGuard())
        watching = gr.State(Watching())
        with gr.Row(elem_id="vu-header", equal_height=True):
            with gr.Column(scale=3, min_width=280):
                gr.Markdown("# " + I18N("title"))
                gr.Markdown(I18N("tagline"))
            with gr.Column(scale=4, min_width=280):
                gr.Markdown(I18N(mode_key), elem_classes=mode_class.split())
                gr.Markdown(I18N("service") + f": `{host}`", elem_classes=["vu-host"])
                # Gradio's own /logout ends the session; shown only to a signed-in user (``_signed_in``).
                sign_out = gr.Markdown(
                    "[" + I18N("sign_out") + "](logout)",
                    visible=False,
                    elem_classes=["vu-signout"],
                    elem_id="vu-sign-out",
                )
        with gr.Tabs(selected=STUDIO_TAB, elem_id="vu-tabs") as tabs:
            with gr.Tab(I18N("tab_studio"), id=STUDIO_TAB, elem_id="vu-tab-studio"), gr.Row(equal_height=False):
                with gr.Column(scale=7, min_width=420):
                    f = form_column(studio, model)
                with gr.Column(scale=5, min_width=380, elem_id="vu-output"):
                    r = result_column()
            with gr.Tab(I18N("tab_history"), id=HISTORY_TAB, elem_id="vu-tab-history") as history_tab_item:
                h = history_tab()
            with gr.Tab(I18N("tab_batch"), id="batch", elem_id="vu-tab-batch"):
                b = batch_page.batch_tab()
        if studio.visitor_key:
            page.keep_secret(f["api_key"])
        generate = _wire_form(studio, f, r, guard)
        show = _wire_results(results, f, r, watching, generate)
        _wire_history(history, f, r, h, tabs, history_tab_item, page, generate, show)
        reuse_outputs = [*(f[name] for name in REUSE_FIELDS), tabs]
        batch_page.wire(batch_page.BatchTab(runtime, history.fill), b, gr.State(None), reuse_outputs)
        page.load(_signed_in, None, sign_out, **QUICK)
        if studio.visitor_key:
            f["check_key"].click(studio.check_key, f["api_key"], f["key_credits"], **WAITS)
        mcp_tools.register(results)  # the API (and MCP) endpoints besides generate: task_status, cancel_task
    return page


def _signed_in(request: gr.Request) -> dict[str, Any]:
    """The sign-out link shows when sign-in is on (a signed-in user: ``request.username``)."""
    return gr.update(visible=bool(getattr(request, "username", None)))


SCROLL_TO_STATUS = "() => document.getElementById('vu-status')?.scrollIntoView({behavior: 'smooth', block: 'nearest'})"
"""After Generate sent the task: its status in view (on a phone it sits below the form)."""

SCROLL_TO_SELECTED = (
    "() => document.getElementById('vu-history-selected')?.scrollIntoView({behavior: 'smooth', block: 'nearest'})"
)
"""After a card was picked: the selected task, with Open and Reuse, in view (on a phone it sits below the cards)."""
QUICK: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
WAITS: dict[str, Any] = {"concurrency_limit": None, "api_visibility": "private"}


class Then(Protocol):
    """Chains "show this task" (``Results.follow``) after an event that put a task id in the page."""

    def __call__(self, event: Dependency, *, by_key: bool = True) -> Dependency: ...


def _wire_form(studio: Studio, f: dict[str, Any], r: dict[str, Any], guard: gr.State) -> Dependency:
    for role in ("start", "end"):
        image, url, summary = f[f"{role}_image"], f[f"{role}_url"], f[f"{role}_summary"]
        summarise = studio.frame_summarizer(role)
        image.change(summarise, [image, url], summary, preprocess=False, **QUICK)
        url.change(summarise, [image, url], summary, **QUICK)
    # Once per change of what the frames as sent depend on; pictures drawn on the server (postprocess on). One
    # event for the four changes, run again with the latest values when one comes while it runs (as with ``sync``
    # below): as four events, a preview worked out from the frames alone could come back after the one for auto-fit
    # turned off, showing a plan that will not be sent, and end after Generate, clearing its message at a frame.
    gr.on(
        [f[name].change for name in ("start_image", "end_image", "resolution", "auto_fit")],
        studio.fit_preview,
        [f[name] for name in FIT_INPUTS],
        [f[name] for name in FIT_OUTPUTS],
        preprocess=False,
        trigger_mode="always_last",
        **QUICK,
    )
    frames = [f["start_image"], f["end_image"], f["start_url"], f["end_url"]]
    f["swap"].click(studio.swap, frames, frames, preprocess=False, **QUICK)
    prompt, count = f["prompt"], f["count"]
    prompt.input(studio.character_count, prompt, count, trigger_mode="always_last", **QUICK)
    prompt.change(studio.character_count, prompt, count, trigger_mode="always_last", **QUICK)
    # ``change``, not ``input``: the form follows the model, the duration, the resolution and ``is_rec``
    # whatever set them (a person, "Reuse settings", a deep link); durations and resolutions still offered
    # are kept. One event for all four, run again with the latest values when one changes while it runs: as four
    # events their answers could come back out of order, and an estimate worked out before the last change (from
    # "Reuse settings", which sets them all at once) stayed shown.
    sizing = [f["model"], f["duration"], f["resolution"], f["is_rec"]]
    gr.on(
        [f[name].change for name in ("model", "duration", "resolution", "is_rec")],
        studio.sync,
        sizing,
        [f[name] for name in SYNC_OUTPUTS],
        trigger_mode="always_last",
        **QUICK,
    )
    f["watermark"].change(studio.watermark_changed, f["watermark"], [f["wm_position"], f["wm_url"]], **QUICK)
    f["random_seed"].click(studio.random_seed, None, f["seed"], **QUICK)

    form = [f[name] for name in FORM_FIELDS]
    f["preview"].click(
        form_function(studio.preview, "preview", doc=studio.preview.__doc__),
        form,
        [r["changes"], r["curl"], r["python"]],
        validator=form_function(studio.validate, "validate"),
        preprocess=False,
        **WAITS,
    )
    outputs = [r[name] for name in ("task_id", "credits", "response", "changes", "curl", "python")]
    generate: Dependency = f["generate"].click(
        form_function(studio.run, "generate", extras=["guard"], doc=(studio.run.__doc__ or "").split("\n")[0]),
        [*form, guard],
        [*outputs, f["generate"]],
        validator=form_function(studio.validate, "validate", extras=["guard"]),
        preprocess=False,
        concurrency_limit=None,  # one visitor's request never waits for another's
        trigger_mode="once",
        api_name="generate",
    )
    # After an error too: the button was disabled by the handler's first yield. Gradio 6.31 runs ``then`` only
    # after a success, so the failure case needs its own listener.
    generate.then(studio.release_button, None, f["generate"], **QUICK)
    generate.success(None, None, None, js=SCROLL_TO_STATUS, **QUICK)
    generate.failure(studio.release_button, None, f["generate"], **QUICK)
    return generate


def _wire_results(
    results: Results, f: dict[str, Any], r: dict[str, Any], watching: gr.State, generate: Dependency
) -> Then:
    view = [r[name] for name in VIEW_FIELDS]
    inputs = [r["task_id"], f["api_key"], watching]
    # postprocess=False: the view is already in the browser's form (``Results.view``), URLs left to the browser.
    # trigger_mode="multiple": a new task shown while the last one is still followed starts its own loop at once
    # (Gradio's default, "once", would drop it and leave the old task on the page); ``Watching`` ends the old one.
    options: dict[str, Any] = {
        "trigger_mode": "multiple",
        "show_progress": "hidden",  # the status says where the task is, as the service reports it
        "postprocess": False,
        **WAITS,
    }

    def show(event: Dependency, *, by_key: bool = True) -> Dependency:
        """``by_key=False``: the viewer by their sign-in only (the task of the page's link, at load)."""
        if by_key:
            shown: Dependency = event.success(results.follow, inputs, view, **options)
        else:
            shown = event.success(results.follow_linked, [r["task_id"], watching], view, **options)
        return shown

    show(generate)
    cancel = r["cancel"].click(results.cancel, [r["task_id"], f["api_key"]], None, **WAITS)
    cancel.then(results.follow, inputs, view, **options)  # the outcome, either way
    show(r["lookup"].submit(results.lookup, [r["lookup"], f["api_key"]], r["task_id"], **WAITS))
    return show


def _wire_history(
    history: History,
    f: dict[str, Any],
    r: dict[str, Any],
    h: dict[str, Any],
    tabs: gr.Tabs,
    tab: gr.Tab,
    page: gr.Blocks,
    generate: Dependency,
    show: Then,
) -> None:
    listing = [h["state"], h["search"], f["api_key"], h["batch"]]
    table = [h["table"], h["cards"], h["note"]]
    # One listener for every way the list is asked again, "always_last": a listing still running when the filter
    # changes (the tab's own, over many thumbnails) is followed by the newest one, never shown after it.
    # A Generate's end asks for the list through a stamp (an event's ``success`` cannot be one of ``gr.on``'s
    # triggers), so that it too waits its turn behind a listing still running.
    # Not on page load: the page opens on the Studio tab, and opening History lists anyway. A listing at load (it
    # takes the key box as an input) would also wipe the key box's "no API key" message when it starts late,
    # after a quick Generate: Gradio clears an input's validation message whenever an event using it starts.
    asked = gr.State(0)
    generate.success(time.monotonic_ns, None, asked, **QUICK)
    gr.on(
        [
            tab.select,
            h["refresh"].click,
            h["state"].change,
            h["search"].submit,
            h["batch"].input,
            asked.change,
        ],
        history.rows,
        listing,
        table,
        show_progress="hidden",
        trigger_mode="always_last",
        **WAITS,
    )
    for trigger in (tab.select, h["refresh"].click):
        trigger(history.batches, [h["batch"], f["api_key"]], h["batch"], show_progress="hidden", **WAITS)
    selection = [h["selected"], h["selected_text"], h["start_thumb"], h["end_thumb"], h["open"], h["reuse"]]
    h["table"].select(history.select, [f["api_key"]], selection, show_progress="hidden", **WAITS)
    picked = h["cards"].select(history.pick, [f["api_key"]], selection, show_progress="hidden", **WAITS)
    picked.success(None, None, None, js=SCROLL_TO_SELECTED, **QUICK)  # a phone: Open and Reuse below the cards
    show(h["open"].click(history.open, [h["selected"], f["api_key"]], [r["task_id"], tabs], **WAITS))
    # ``?task=<id>``; no loader on the two boxes while it runs at every page load, for a page without a link too
    linked = page.load(history.linked, None, [r["task_id"], r["lookup"]], show_progress="hidden", **WAITS)
    show(linked, by_key=False)
    h["reuse"].click(history.reuse, [h["selected"], f["api_key"]], [*(f[name] for name in REUSE_FIELDS), tabs], **WAITS)
