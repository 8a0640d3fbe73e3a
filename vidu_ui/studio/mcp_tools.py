"""The API endpoints an agent needs besides ``generate``: a task's status, and cancelling it.

With ``--mcp`` Gradio serves every public API endpoint as an MCP tool, named after its function and described by
its docstring: ``generate`` (two frames and a prompt → a task id), ``task_status`` and ``cancel_task``. Both read
and act through the same history, tracker and access rules as the page (``Results``, ``Viewer``): a task is shown
only to a caller who may see it, and the tracker, not the caller, queries the service.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
from gradio.events import api

from ..messages import reason_hint
from ..store import TaskRecord
from .access import Viewer
from .results import Results

__all__ = ["TOOLS", "Tools", "register"]

TOOLS = ("task_status", "cancel_task")
"""The endpoints (and MCP tools) this module adds, by name."""


class Tools:
    """The handlers behind the tools, over the page's ``Results``. Holds no per-user state."""

    def __init__(self, results: Results) -> None:
        self.results = results

    def describe(self, record: TaskRecord, viewer: Viewer) -> dict[str, Any]:
        """What an agent reads about a task: its state, whether it is finished, and where the video is."""
        fresh = record.urls_fresh(time.time())
        return {
            "task_id": record.task_id,
            "state": record.state,
            "finished": record.finished,
            "followed": self.results.tracker.is_following(record.task_id),
            "credits": record.credits,
            "err_code": record.err_code,
            "reason": reason_hint(viewer.lang, record.err_code) if record.state == "failed" else None,
            "video_url": record.video_url if fresh else None,
            "cover_url": record.cover_url if fresh else None,
            "watermarked_url": record.watermarked_url if fresh else None,
        }

    def task_status(self, task_id: str, api_key: str = "", request: gr.Request | None = None) -> dict[str, Any]:
        """The state of a video task made by generate: created, queueing, processing, success or failed.

        The app follows every task it created; call again (every 10 seconds or so) until "finished" is true.
        On success "video_url" is the video (valid for about a day); on failure "reason" says why.

        Args:
            task_id: the task id that generate returned
            api_key: your Vidu API key, only when this app has no key of its own (otherwise leave empty)

        Returns:
            task_id, state, finished, credits, err_code, reason, video_url, cover_url, watermarked_url
        """
        task_id = _task_id(task_id)
        viewer = Viewer.of(self.results.settings, request, api_key)
        record = viewer.visible(self.results.store, task_id)
        return self.describe(record, viewer)

    def cancel_task(self, task_id: str, api_key: str = "", request: gr.Request | None = None) -> dict[str, Any]:
        """Cancel a video task made by generate that has not started processing (created or queueing).

        Returns the task's state right after the request; call task_status to see the cancel confirmed (the task
        ends "failed" with err_code "UserCancelled", and its credits are refunded).

        Args:
            task_id: the task id that generate returned
            api_key: your Vidu API key, only when this app has no key of its own (otherwise leave empty)

        Returns:
            the same fields as task_status
        """
        task_id = _task_id(task_id)
        if request is None:  # Gradio passes one to every call; the page's cancel needs it to know who asks
            raise gr.Error("cancel_task was called without a request", print_exception=False)
        self.results.cancel(task_id, api_key, request)
        viewer = Viewer.of(self.results.settings, request, api_key)
        return self.describe(viewer.visible(self.results.store, task_id), viewer)


def _task_id(value: object) -> str:
    """The task id an agent sent: text, or a refusal in the tool's own words (an API call may send any JSON)."""
    if not isinstance(value, str) or not value.strip():
        raise gr.Error("task_id must be the task id text that generate returned", print_exception=False)
    return value.strip()


def register(results: Results) -> Tools:
    """Add the endpoints to the page being built (call inside its ``with gr.Blocks()``)."""
    tools = Tools(results)
    for name in TOOLS:
        api(getattr(tools, name), api_name=name, queue=False)
    return tools
