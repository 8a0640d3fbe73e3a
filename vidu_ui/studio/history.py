"""The History tab: the tasks this viewer may see, newest first; open one, or put its settings back in the form.

"Reuse settings" puts back every option the task was sent with. The frames go back only while their originals
are still available: an http(s) URL as it was given, or an upload still in Gradio's upload folder on this
server (Gradio keeps uploads until its cache is cleared). Otherwise the frames in the form are left as they are
and the page says so: the history keeps only thumbnails, which are too small to send again.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal
from PIL import Image

from .. import request
from ..callbacks import callback_url_for
from ..messages import Lang, say, state_text
from ..request import task_id_problem
from ..store import BatchRecord, TaskRecord
from .access import Viewer
from .form import FRAME_FIELDS
from .handlers import Studio
from .media import is_url
from .results import Results

__all__ = [
    "ALL_BATCHES",
    "CARDS_JS",
    "COLUMNS",
    "COLUMN_TYPES",
    "COLUMN_WIDTHS",
    "LINK_PARAMETER",
    "REUSE_FIELDS",
    "STATE_FILTERS",
    "STUDIO_TAB",
    "History",
]

STUDIO_TAB, HISTORY_TAB = "studio", "history"
COLUMNS = ("frames", "state", "prompt", "created", "model", "credits", "task")
"""The table's columns, what a phone shows first leftmost (the rest scrolls inside the table's box)."""
COLUMN_WIDTHS = {"frames": 116, "state": 130, "prompt": 260, "created": 150, "model": 130, "credits": 80, "task": 200}
"""Pixels: fixed, so that a narrow window scrolls the table in its box instead of wrapping headers letter by
letter; ids and dates never wrap."""
COLUMN_TYPES: dict[str, Literal["str", "html"]] = {"frames": "html"}
STATE_FILTERS = ("all", "unfinished", "created", "queueing", "processing", "success", "failed", "cancelled")
ALL_BATCHES = "all"
"""The batch filter's value for "every task" (single tasks and every batch's)."""
LINK_PARAMETER = "task"
"""A task's link is the page's address with ``?task=<id>``: it opens the task for a viewer who may see it."""
MINI_SIDE = 96
"""The longest side of a frame's picture in a table row (the stored thumbnail, smaller)."""
REUSE_FIELDS: tuple[str, ...] = (*request.NAMES, "estimate", *FRAME_FIELDS)
"""The form inputs "Reuse settings" fills (every field of the request, the estimate, the frames), in the order
of its outputs (then the tabs)."""


def _thumbnail(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


@lru_cache(maxsize=2048)
def _mini(data: bytes) -> str:
    """A stored thumbnail made small for a table row, as a data URI (the table is sent as one JSON value)."""
    with Image.open(io.BytesIO(data)) as opened:
        small = opened.convert("RGB")
    small.thumbnail((MINI_SIDE, MINI_SIDE))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def frames_cell(record: TaskRecord) -> str:
    """The two frames of a row as small pictures (HTML); empty when the history has no thumbnails (the CLI's or a
    looked-up task)."""
    pictures = [f'<img src="{_mini(data)}" alt="">' for data in (record.start_thumbnail, record.end_thumbnail) if data]
    return f'<span class="vu-frames">{"".join(pictures)}</span>' if pictures else ""


def task_link(task_id: str) -> str:
    """The task's link, relative to the page (it works behind a reverse proxy's prefix too)."""
    return f"?{LINK_PARAMETER}={quote(task_id, safe='')}"


CARDS_JS = """
element.addEventListener('click', (event) => {
  if (event.target.closest('a')) return;  // a task's link opens the task; it does not select the card
  const card = event.target.closest('.vu-card');
  const pick = card && card.querySelector('.vu-card-pick');
  if (!pick) return;
  for (const other of element.querySelectorAll('.vu-card-pick[aria-pressed="true"]')) {
    other.setAttribute('aria-pressed', 'false');
  }
  pick.setAttribute('aria-pressed', 'true');
  trigger('select', {task: pick.dataset.task});
});
"""
"""The cards' script (``gr.HTML``'s ``js_on_load``): a click on a card, or Enter on its button, selects its task
as a click on a table row does (``History.pick``); the card's link is left to the browser."""


def card(cells: dict[str, str], record: TaskRecord, lang: Lang) -> str:
    """One task as a card for a narrow screen: the frames, the state, the prompt (wrapped), when, model and credits,
    the whole id and the task's link. Every value from the history is escaped (ids and prompts are user data)."""
    task_id = html.escape(record.task_id)
    prompt = html.escape(" ".join(record.prompt.split()) or "—")
    details = " · ".join(
        f'<span class="vu-nowrap">{html.escape(cells[name])}</span>'
        for name in ("created", "model", "credits")
        if cells[name]
    )
    frames = cells["frames"] or '<span class="vu-frames"></span>'
    link = html.escape(task_link(record.task_id))
    return (
        '<li class="vu-card">'
        f'<button type="button" class="vu-card-pick" data-task="{task_id}" aria-pressed="false">'
        f"{frames}"
        '<span class="vu-card-text">'
        f'<span class="vu-card-state vu-state-{html.escape(record.state)}">{html.escape(cells["state"])}</span>'
        f'<span class="vu-card-prompt">{prompt}</span>'
        f'<span class="vu-card-details">{details}</span>'
        "</span></button>"
        f'<span class="vu-card-foot"><code class="vu-card-id">{task_id}</code>'
        f'<a class="vu-card-link" href="{link}">{html.escape(say(lang, "history_link"))}</a></span>'
        "</li>"
    )


def batch_label(batch: BatchRecord, lang: Lang) -> str:
    """A batch as the filter offers it: when it was planned, its name, how many jobs."""
    created = time.strftime("%Y-%m-%d %H:%M", time.localtime(batch.created_at))
    return say(lang, "history_batch_choice", created=created, name=batch.name or batch.batch_id, jobs=batch.jobs)


def linked_task(request: gr.Request | None) -> str | None:
    """The task id a page was opened for (``?task=<id>``), or None."""
    params = getattr(request, "query_params", None) if request is not None else None
    value = params.get(LINK_PARAMETER) if params is not None else None
    return str(value).strip() or None if value else None


def original_frame(source: str | None) -> tuple[str | None, str] | None:
    """``(image path, url)`` to put a frame back in the form, or None when its original is gone."""
    if not source:
        return None
    if is_url(source):
        return None, source
    path = Path(source)
    if path.is_file() and is_in_or_equal(path, get_upload_folder()):
        return str(path), ""
    return None


class History:
    """The History tab's handlers. Every record passes ``Viewer.may_see`` before anything of it is returned."""

    def __init__(self, studio: Studio, results: Results) -> None:
        self.studio = studio
        self.results = results
        self.settings = results.settings
        self.store = results.store

    def rows(
        self, state: str | None, text: str | None, api_key: str | None, request: gr.Request, batch: str | None = None
    ) -> tuple[dict[str, Any], str, str]:
        """The tasks as a table (headers in the viewer's language) and as cards (a phone's view: ``card``), from one
        query; and a note when there are none. ``batch``: only that batch's tasks (``ALL_BATCHES``: every task)."""
        viewer = self.results.viewer(request, api_key)
        chosen = None if state in (None, "", "all") else state
        batch = None if batch in (None, "", ALL_BATCHES) else batch
        records = viewer.tasks(self.store, state=chosen, text=text, batch=batch)
        headers = [say(viewer.lang, f"col_{name}") for name in COLUMNS]
        lines = [(record, self._cells(record, viewer)) for record in records]
        data = [[cells[name] for name in COLUMNS] for _, cells in lines]
        cards = "".join(card(cells, record, viewer.lang) for record, cells in lines)
        note = ""
        if not data:
            filtered = chosen or batch or (text or "").strip()
            note = say(viewer.lang, "history_none_match" if filtered else "history_empty")
        return gr.update(value={"headers": headers, "data": data}), f'<ul class="vu-cards">{cards}</ul>', note

    def batches(self, chosen: str | None, api_key: str | None, request: gr.Request) -> dict[str, Any]:
        """The batch filter's choices: every task, then the viewer's batches newest first (``Viewer.batches``); the
        chosen one stays chosen while the viewer still sees it. The value is set only when the chosen batch is gone:
        ``chosen`` is the value when this listing began, and a person may have chosen another since (setting it
        back would list every task under a batch's name)."""
        viewer = self.results.viewer(request, api_key)
        choices = [(say(viewer.lang, "history_batch_all"), ALL_BATCHES)]
        choices += [(batch_label(batch, viewer.lang), batch.batch_id) for batch in viewer.batches(self.store)]
        if chosen in {value for _, value in choices}:
            return gr.update(choices=choices)
        return gr.update(choices=choices, value=ALL_BATCHES)

    @staticmethod
    def _cells(record: TaskRecord, viewer: Viewer) -> dict[str, str]:
        summary = record.summary()
        state = state_text(viewer.lang, record.state, record.err_code)
        if record.err_code and record.err_code != "UserCancelled":
            state += f" · {record.err_code}"
        credits = "" if record.credits is None else f"{record.credits:g}"
        return {
            "frames": frames_cell(record),
            "state": state,
            "prompt": summary["prompt"] or "—",
            "created": summary["created_at"],
            "model": record.model or "—",
            "credits": credits,
            "task": record.task_id,
        }

    def select(self, api_key: str | None, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
        """A clicked row (``select_task``)."""
        row = evt.row_value if isinstance(evt.row_value, list) else []
        task_id = str(row[COLUMNS.index("task")]) if len(row) == len(COLUMNS) else ""
        return self.select_task(task_id, api_key, request)

    def pick(self, api_key: str | None, request: gr.Request, evt: gr.EventData) -> tuple[Any, ...]:
        """A clicked card (``CARDS_JS`` sends its task id): as a clicked row (``select_task``)."""
        data = evt._data if isinstance(evt._data, dict) else {}
        task = data.get("task")
        return self.select_task(task if isinstance(task, str) else "", api_key, request)

    def select_task(self, task_id: str, api_key: str | None, request: gr.Request) -> tuple[Any, ...]:
        """A selected task: its id, a one-line summary with the task's link, the frames' thumbnails, and Open and
        Reuse enabled (they stay disabled until a task is selected). Only a task the viewer may see."""
        if not task_id:
            return "", "", None, None, gr.update(interactive=False), gr.update(interactive=False)
        viewer = self.results.viewer(request, api_key)
        record = viewer.visible(self.store, task_id)
        state = state_text(viewer.lang, record.state, record.err_code)
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
        line = say(viewer.lang, "selected", task_id=task_id, created=created, model=record.model or "—", state=state)
        line += " · " + say(viewer.lang, "task_link", link=task_link(task_id))
        if record.prompt:
            line += "  \n" + record.prompt
        enabled = gr.update(interactive=True)
        return task_id, line, _thumbnail(record.start_thumbnail), _thumbnail(record.end_thumbnail), enabled, enabled

    def linked(self, request: gr.Request) -> tuple[Any, Any]:
        """On page load: the task of the page's link (``?task=<id>``) for a viewer who may see it, shown like an
        opened task; anyone else gets the words an unknown id gets (``Viewer.visible``). A visitor with their own
        key has not entered it yet when the page loads: the id waits in Look up, with a note."""
        task_id = linked_task(request)
        if task_id is None:
            return gr.skip(), gr.skip()
        viewer = self.results.viewer(request)
        if task_id_problem(task_id) is not None:
            raise gr.Error(say(viewer.lang, "not_yours", task_id=task_id[:128]), print_exception=False)
        if self.studio.visitor_key and viewer.user is None:
            gr.Info(say(viewer.lang, "link_needs_key", task_id=task_id))
            return gr.skip(), task_id
        self.results.refresh(viewer.visible(self.store, task_id), viewer)
        return task_id, gr.skip()

    def open(self, task_id: str | None, api_key: str | None, request: gr.Request) -> tuple[str, Any]:
        """Query the task again (fresh links, the confirmed state), then show it on the Studio tab."""
        if not task_id:
            return gr.skip(), gr.skip()
        viewer = self.results.viewer(request, api_key)
        self.results.refresh(viewer.visible(self.store, task_id), viewer)
        return task_id, gr.update(selected=STUDIO_TAB)

    def reuse(self, task_id: str | None, api_key: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The form filled with the task's options (and its frames while their originals exist)."""
        if not task_id:
            return (gr.skip(),) * (len(REUSE_FIELDS) + 1)
        viewer = self.results.viewer(request, api_key)
        record = viewer.visible(self.store, task_id)
        options = {**record.options, "prompt": record.prompt or record.options.get("prompt", "")}
        if not options.get("model") and record.model:
            options["model"] = record.model
        return self.fill(options, record.frame_sources, viewer.lang, say(viewer.lang, "reuse_done", task_id=task_id))

    def fill(
        self, options: Mapping[str, Any], frame_sources: Sequence[str | None], lang: Lang, message: str
    ) -> tuple[Any, ...]:
        """The form's values for ``options`` and the frames (while their originals exist), then the Studio tab:
        "Reuse settings" of a task, and of a batch's job (``studio/batch.py``). ``message`` is said with what
        became of the frames."""
        values = self._form_values(options)
        start, end = (original_frame(source) for source in frame_sources)
        if start is not None and end is not None:
            values.update(start_image=start[0], start_url=start[1], end_image=end[0], end_url=end[1])
            message += " " + say(lang, "reuse_frames_back")
        else:
            message += " " + say(lang, "reuse_frames_gone")
        gr.Info(message)
        return (*(values.get(name, gr.skip()) for name in REUSE_FIELDS), gr.update(selected=STUDIO_TAB))

    def _form_values(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The form's inputs for a task's options (``request.form_values``): the model-dependent ones with the
        catalogue's choices for that model and duration (``Studio.view_updates``), the watermark's details shown
        when it was on; this app's own callback URL left out (it is added again when sent)."""
        values: dict[str, Any] = request.form_values(options)
        if values.get("callback_url") == callback_url_for(self.settings):
            values["callback_url"] = ""
        view = request.model_view(values["model"], values["duration"], values["resolution"])
        updates = self.studio.view_updates(view, values.get("is_rec"))
        shown = request.as_bool(values.get("watermark")) is True
        for name, value in values.items():
            spec = request.BY_NAME[name]
            visible = shown if spec.requires else None
            if name in updates:
                values[name] = {**updates[name], "value": value}
            elif visible is not None:
                values[name] = gr.update(value=value, visible=visible)
        values["estimate"] = updates["estimate"]["value"]
        return values
