"""What runs beside the page: the history, the follower, and the app's own routes (``/healthz``, ``/vidu/callback``).

``Runtime.open(settings)`` opens the history (``Store.open``: the SQLite file in the data folder, or PostgreSQL)
and builds one follower (``runtime.tracker``, a ``follower.Follower``) and one callback receiver for this app;
nothing is started. ``StudioBlocks`` is the page: its ``launch`` adds the routes in front of Gradio's and starts
the follower when the server starts (``resume`` picks up the tasks left unfinished; unanswered creates are
reconciled at start and every minute), and stops it when the server stops. With ``VIDU_UI_FOLLOWER=0`` the app
only records and shows: ``python -m vidu_ui worker`` follows. No module globals: two apps in one process each
have their own.

``/healthz`` and ``/vidu/callback`` answer without a session even when sign-in is on: the first says only "ok";
the second is checked by its signature (``vidu_ui.callbacks``) and never changes anything but a query's timing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from gradio.route_utils import FnIndexInferError
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from ..callbacks import CallbackReceiver, callback_router
from ..reconcile import INTERVAL
from ..settings import Settings
from ..store import Store
from ..tracker import ClientFactory, Tracker, default_client_factory
from . import gradio_guard
from .assets import AssetCache
from .limits import LimitsMiddleware
from .media import VideoStage

__all__ = ["HEALTH_PATH", "Runtime", "StudioBlocks"]

log = logging.getLogger("vidu_ui.studio")
HEALTH_PATH = "/healthz"


async def _healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@dataclass(eq=False)
class Runtime:
    """The history, the tracker and the callback receiver of one app."""

    settings: Settings
    store: Store
    tracker: Tracker
    receiver: CallbackReceiver
    client_factory: ClientFactory
    """Builds a client for a key owner: the tracker's, and the page's for looking up a task not yet recorded."""
    stage: VideoStage = field(default_factory=VideoStage)
    waiting_for_key: list[str] = field(default_factory=list)
    """Unfinished tasks made with a visitor's key, found at start: they wait for the visitor to come back."""
    _running: bool = False

    @classmethod
    def open(cls, settings: Settings, *, client_factory: ClientFactory | None = None) -> Runtime:
        store = Store.open(settings)
        factory = client_factory or default_client_factory(settings)
        tracker = Tracker(
            settings, store, client_factory=factory, keep_videos=settings.keep_videos, reconcile_every=INTERVAL
        )
        return cls(settings, store, tracker, CallbackReceiver(settings, store, tracker), factory)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start following: the tracker's threads, then every task the last run left unfinished."""
        if self._running:
            return
        if self.settings.follower:  # else ``python -m vidu_ui worker`` follows (the rows say what to do)
            self.tracker.start()
        self._running = True
        self.waiting_for_key = self.tracker.resume()
        if self.waiting_for_key:
            log.info("%d unfinished task(s) wait for the visitor's own key", len(self.waiting_for_key))

    def stop(self, *, wait: bool = False) -> None:
        """Stop following (unfinished tasks stay in the history for the next start) and unpublish the videos.

        By default a query or download in flight does not hold up shutdown: it is simply repeated next time.
        """
        if not self._running:
            return
        self._running = False
        self.tracker.stop(wait=wait)
        self.stage.clear()

    def routes(self) -> list[BaseRoute]:
        """``GET /healthz`` and ``POST /vidu/callback``, to go before Gradio's own routes."""
        health = APIRoute(HEALTH_PATH, _healthz, methods=["GET", "HEAD"], include_in_schema=False)
        # Gradio's deep links write every input's value, a visitor's key included, to a file: not offered here.
        deep_link = APIRoute(DEEP_LINK_PATH, _not_found, methods=["GET", "POST"], include_in_schema=False)
        return [health, deep_link, *callback_router(self.receiver).routes]

    def app_kwargs(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """FastAPI arguments for Gradio's app: these routes, the start/stop of the tracker, no schema page."""
        kwargs = dict(given or {})
        kwargs["routes"] = [*self.routes(), *kwargs.get("routes", [])]
        # Gradio lets an unknown api_name escape as a 500 with a server traceback: it is a 404.
        kwargs["exception_handlers"] = {
            FnIndexInferError: _unknown_endpoint,
            **gradio_guard.CLIENT_ERRORS,  # malformed calls Gradio lets escape as exceptions: 400, not 500
            **(kwargs.get("exception_handlers") or {}),
        }
        kwargs.setdefault("openapi_url", None)  # FastAPI's schema page would answer without sign-in
        # Body size and pace on every route, and who is signing in (``limits.py``); the page's files compressed once.
        kwargs["middleware"] = [
            Middleware(LimitsMiddleware),
            Middleware(gradio_guard.StreamGuard),  # an unknown event's stream: 404 before it starts
            Middleware(AssetCache),  # Gradio's build compressed once, not on every page load (``assets.py``)
            *(kwargs.get("middleware") or []),
        ]
        outer = kwargs.get("lifespan")

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
            self.start()
            try:
                if outer is None:
                    yield None
                else:
                    async with outer(app) as state:
                        yield state
            finally:
                self.stop()

        kwargs["lifespan"] = lifespan
        return kwargs


DEEP_LINK_PATH = "/gradio_api/deep_link"


def _not_found() -> PlainTextResponse:
    return PlainTextResponse("Not Found", status_code=404)


def _unknown_endpoint(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"no such endpoint: {exc}"}, status_code=404)


class StudioBlocks(gr.Blocks):
    """The page, whose ``launch`` also serves ``/healthz`` and ``/vidu/callback`` and runs the tracker.

    A visitor's key must live only in the request that carries it. Gradio keeps every input's last value in the
    session (for its "deep links", written to disk on request), so the inputs named with ``keep_secret`` are
    blanked there once each event has read them (``gradio_guard.forget_inputs``), and the deep-link route is
    refused.
    """

    configs_on_demand = True
    """A session works out a block's configuration when an event first keeps a value of it, not every block's at
    its first event (``gradio_guard``)."""

    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.secret_inputs: set[int] = set()

    def __exit__(self, *args: Any) -> None:
        # Gradio builds its server app when the page's ``with`` ends, then again at launch, which serves that one.
        with gradio_guard.built_at_launch(self):
            super().__exit__(*args)

    def keep_secret(self, component: gr.components.Component) -> None:
        """The value of ``component`` lives only in the event that reads it, never in the session."""
        self.secret_inputs.add(gradio_guard.component_id(component))

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        gradio_guard.count_inputs(block_fn, inputs)
        super().validate_inputs(block_fn, inputs)

    async def preprocess_data(
        self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False
    ) -> list[Any]:
        processed: list[Any] = await super().preprocess_data(block_fn, inputs, state, explicit_call)
        gradio_guard.forget_inputs(state, block_fn, self.secret_inputs)
        return processed

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        gradio_guard.install()  # header time limit and connection cap on the server Gradio starts
        gradio_guard.calm_queue(self)  # an idle queue waits to be woken instead of looking every 1 ms
        kwargs["app_kwargs"] = self.runtime.app_kwargs(kwargs.get("app_kwargs"))
        return super().launch(*args, **kwargs)
