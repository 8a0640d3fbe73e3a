"""Where this app reaches into Gradio's private parts (with ``vidu_ui/gradio_import.py``, which must run before
Gradio is imported, and so cannot live here). ``check`` runs at import and raises
``GradioChanged``, naming the installed version, when one of them is not as written for (``WRITTEN_FOR``);
``tests/test_gradio_guard.py`` asserts each of them, and what the app relies on them for, so an upgrade of
Gradio fails there first.

Gradio keeps the last value of every input in the session (for its "deep links"); a visitor's key must live only
in the request that carries it. ``forget_inputs`` blanks those values (``SessionState._update_value_in_config``,
the same call Gradio uses to keep them), and ``StudioBlocks.preprocess_data`` calls it once each event has read
its inputs.

Gradio builds its uvicorn server itself (``gradio.http_server.start_server``) from a fixed ``uvicorn.Config``:
no way to choose the HTTP protocol or its limits through ``launch()``. uvicorn, left alone, waits forever for a
request's headers and accepts connections until the process runs out of file descriptors. ``install`` makes
Gradio's server use ``uvicorn_guard.GuardedH11Protocol`` (a header time limit, a connection cap) by handing
``gradio.http_server`` a ``uvicorn`` whose ``Config`` sets ``http=`` to it; everything else is uvicorn's own.

Gradio's public API routes also answer some malformed requests with a 500 and a traceback in the log (found by
schemathesis, ``tests/test_fuzz.py``):

- ``POST /gradio_api/call/v2/<name>`` without a required argument: a ``TypeError`` from its argument matching;
- ``POST /gradio_api/upload`` with a text part where a file belongs: a ``TypeError`` (or, with an
  ``upload_id``, an ``AttributeError``) from its multipart handling;
- ``GET /gradio_api/call/<name>/<event id>`` (and ``/queue/data``) for an event it does not hold (or no longer
  holds, a moment after the stream started): a 404 raised after the event stream has started, so the client
  gets a broken stream and the log a traceback; for an event already finished and delivered, a stream that
  never sends anything until the client gives up;
- an event given fewer values than it has inputs (``POST /gradio_api/call/<name>`` with a short ``data``): a
  ``ValueError`` its queue prints with a traceback.

A generator's outputs stream to the page as edits of the last value sent (``Blocks.handle_streaming_diffs``,
through ``gradio.utils.diff``): a changed dict or list is sent as edits inside it, which Gradio's page applies in
place, to the very object a component was just given. Under load the page was still showing that object when the
next edits came (a saved video followed a moment later by its cover: the video's value became the "no change"
that followed it), so the video was never shown, though the status said it was saved. ``install`` makes every
changed output go whole (``whole_diff``: a new object each time; a string that grows is still sent as what it
gained); an unchanged one is still sent as no edit.

Gradio's queue looks for work in a loop that sleeps 1 ms between looks when it has none (and 10 ms between looks
for progress to send), so an idle app woke about 1,100 times a second: an idle ``python3 app.py --demo`` used 11 %
of a core, on every Space and every replica. ``calm_queue`` (called by ``StudioBlocks.launch``) gives the queue of
its Blocks Gradio's two loops as written for ``WRITTEN_FOR`` (``QUEUE_LOOPS``, checked by their source's digest),
except that where Gradio's sleep when there is nothing to do they wait to be woken: by an event pushed, by an event
finished (a worker is free), by a job started (progress to look for), or after ``QUEUE_IDLE_WAIT`` seconds
whatever happens. A request starts as soon as it is pushed, and the same idle app uses 1.4 % of a core, not 4.4 %
as with a look every 10 ms (``docs/deploy.md``; the page shows no progress bars, so the looks for progress made
while a job runs find nothing anyway).

Gradio makes a session (``SessionState``) for each page and each client the first time it sends an event, and
works out the configuration of every block of the page for it (``config_values``, for its deep links), though an
event keeps only those of its own inputs and outputs there: 18 ms for this page, the most expensive part of a
first Generate after the upload, and under coverage the largest cost of the hostile-input tests. For a Blocks
with ``configs_on_demand`` set (``StudioBlocks``), ``install`` makes a session work out a block's configuration
when an event first keeps a value of it, or when its deep link asks for them all (``SessionState.components``,
which then lists them in the order Gradio would have); Gradio's own ``__init__`` still sets everything else,
handed only the page's ``default_config`` (``SESSION_READS``).

Gradio builds the whole server app (``App.create_app``: a FastAPI route for each of its routes, every event's
signature read again) when a ``with Blocks()`` ends, and once more at ``launch``, which replaces it: a third of
the CPU of building and starting the page, at every start of the app. ``StudioBlocks`` is always launched, never
mounted, so its ``with`` skips the first build (``built_at_launch``).

``CLIENT_ERRORS`` turns the first two into a 400 on those routes only (anywhere else the error stays a 500: a
bug); ``StreamGuard`` answers 404 before the stream starts when Gradio's queue does not hold the event (or no
longer holds it), and ends the stream cleanly when it goes away later; ``count_inputs`` (called by
``StudioBlocks.validate_inputs``) makes too few values the caller's error: a 400 where Gradio checks before
queueing (endpoints with a validator), else the event's error message, and no traceback either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import re
import threading
import time
import types
from collections.abc import Awaitable, Callable, Collection, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import gradio
import gradio.http_server as http_server
import gradio.routes as gradio_routes
import gradio.utils as gradio_utils
import uvicorn
from gradio.blocks import Blocks
from gradio.queueing import Queue
from gradio.state_holder import SessionState
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .uvicorn_guard import GuardedH11Protocol

__all__ = [
    "CLIENT_ERRORS",
    "SESSION_READS",
    "WRITTEN_FOR",
    "GradioChanged",
    "StreamGuard",
    "built_at_launch",
    "calm_queue",
    "check",
    "component_id",
    "count_inputs",
    "forget_inputs",
    "install",
    "installed",
    "whole_diff",
]

API = "/gradio_api"
_MALFORMED_ON = (f"{API}/upload", f"{API}/call/v2/")

WRITTEN_FOR = "6.31.0"
"""The Gradio version this module was written for (requirements.txt pins it)."""

SIGNATURES: dict[str, tuple[object, str, tuple[str, ...]]] = {
    "SessionState._update_value_in_config": (SessionState, "_update_value_in_config", ("self", "key", "value")),
    "Blocks.preprocess_data": (Blocks, "preprocess_data", ("self", "block_fn", "inputs", "state", "explicit_call")),
    "Blocks.validate_inputs": (Blocks, "validate_inputs", ("self", "block_fn", "inputs")),
    "Blocks.handle_streaming_diffs": (
        Blocks,
        "handle_streaming_diffs",
        ("self", "block_fn", "data", "session_hash", "run", "final", "simple_format"),
    ),
    "gradio.utils.diff": (gradio_utils, "diff", ("old", "new")),
}
"""The private (or undocumented) functions used here: their owner, name and parameters."""
QUEUE_MAPS = ("pending_event_ids_session", "pending_messages_per_session")
"""The maps of Gradio's queue (``Blocks._queue``) that ``StreamGuard`` reads."""

QUEUE_LOOPS = {
    "start_processing": "d65be5a5cbed97d7",
    "start_progress_updates": "7cbbec1cf932324c",
}
"""The queue's two loops that ``calm_queue`` replaces, and the first hex digits of the SHA-256 of their source as
written for ``WRITTEN_FOR`` (``check`` compares them): the replacements are those loops, waiting instead of
sleeping."""
QUEUE_IDLE_WAIT = 1.0
"""Seconds an idle queue loop waits to be woken before it looks anyway."""
QUEUE_PROGRESS_PACE = 0.05
"""Seconds between the looks for progress to send while a job runs (Gradio's own on Linux: 0.01)."""


SESSION_READS = ("default_config", "blocks")
"""What ``SessionState.__init__`` reads of its Blocks (a session of a page with ``configs_on_demand`` is handed
the first, and no blocks)."""
SESSION_CONFIGS = "self.blocks_config.config_for_block(k, [], v)"
"""How ``SessionState.__init__`` works out every block's configuration (skipped for ``configs_on_demand``)."""

SERVER_APP_ON_EXIT = "self.app = App.create_app(self, mcp_server=False)"
"""How ``Blocks.__exit__`` builds the server app that ``launch`` replaces (``built_at_launch`` skips it)."""

STREAMING_DIFF = "utils.diff(prev_chunk, data[i])"
"""How ``Blocks.handle_streaming_diffs`` computes each streamed output's edits (``install`` replaces the function)."""


class GradioChanged(RuntimeError):
    """Gradio's private parts are not as this module was written for."""


def changed(what: str) -> GradioChanged:
    return GradioChanged(
        f"gradio {gradio.__version__}: {what} is not as vidu_ui/studio/gradio_guard.py expects (written for gradio "
        f"{WRITTEN_FOR}); review that module, and tests/test_gradio_guard.py, before using this version"
    )


def check() -> None:
    """Raise ``GradioChanged`` unless every private function used here exists with the parameters expected, and
    Gradio's server module still builds its server from ``uvicorn``."""
    for name, (owner, attribute, parameters) in SIGNATURES.items():
        function = getattr(owner, attribute, None)
        if not callable(function) or tuple(inspect.signature(function).parameters) != parameters:
            raise changed(f"{name}{parameters}")
    if not isinstance(getattr(http_server, "uvicorn", None), types.ModuleType):
        raise changed("gradio.http_server.uvicorn")
    if SERVER_APP_ON_EXIT not in inspect.getsource(Blocks.__exit__) or not callable(
        getattr(gradio_routes.App, "create_app", None)
    ):
        raise changed(f"Blocks.__exit__ (no {SERVER_APP_ON_EXIT!r})")
    if STREAMING_DIFF not in inspect.getsource(Blocks.handle_streaming_diffs):
        raise changed(f"Blocks.handle_streaming_diffs (no {STREAMING_DIFF!r})")
    session = inspect.getsource(_gradio_session_init)
    if SESSION_CONFIGS not in session or set(re.findall(r"(?<![.\w])blocks\.(\w+)", session)) != set(SESSION_READS):
        raise changed(f"SessionState.__init__ (reading more of its Blocks than {', '.join(SESSION_READS)})")
    if not isinstance(_gradio_components, property) or "self.config_values" not in inspect.getsource(
        _gradio_components.fget  # type: ignore[arg-type]
    ):
        raise changed("SessionState.components (not a property listing config_values)")
    for name, digest in QUEUE_LOOPS.items():
        source = inspect.getsource(getattr(Queue, name, None) or (lambda: None))
        if hashlib.sha256(source.encode()).hexdigest()[: len(digest)] != digest:
            raise changed(f"Queue.{name} (its source is not the one written for)")


_gradio_session_init = SessionState.__init__
"""Gradio's own ``SessionState.__init__``."""
_gradio_components: Any = SessionState.__dict__["components"]
"""Gradio's own ``SessionState.components`` (a property)."""

check()


def _session_init(self: SessionState, blocks: Blocks) -> None:
    if not getattr(blocks, "configs_on_demand", False):
        _gradio_session_init(self, blocks)
        return
    _gradio_session_init(self, types.SimpleNamespace(default_config=blocks.default_config, blocks={}))  # type: ignore[arg-type]
    self._config_order = [key for key in self.blocks_config.blocks if key in blocks.blocks]  # type: ignore[attr-defined]


def _components(self: SessionState) -> Iterator[dict[str, Any]]:
    order: list[int] | None = getattr(self, "_config_order", None)
    if order is not None:  # every block's configuration, in Gradio's order, then those of blocks added since
        blocks, kept = self.blocks_config.blocks, self.config_values
        every = {
            key: kept[key] if key in kept else self.blocks_config.config_for_block(key, [], blocks[key])
            for key in order
            if key in kept or key in blocks
        }
        self.config_values = every | kept
    components: Iterator[dict[str, Any]] = _gradio_components.fget(self)
    return components


def component_id(component: object) -> int:
    """A component's id in Gradio's session state (``Block._id``)."""
    key = getattr(component, "_id", None)
    if not isinstance(key, int):
        raise changed("Block._id")
    return key


def count_inputs(block_fn: Any, inputs: list[Any]) -> None:
    """Refuse an event given fewer values than it has inputs, as the caller's mistake: a ``gr.Error`` naming the
    counts, printed nowhere (Gradio's own check raises a ``ValueError``, which its queue prints with a traceback,
    listing the values)."""
    wanted = len(block_fn.inputs)
    if len(inputs) < wanted:
        raise gradio.Error(f"malformed request: {wanted} values expected, {len(inputs)} given", print_exception=False)


def forget_inputs(state: SessionState | None, block_fn: Any, secret: Collection[int]) -> None:
    """Blank the value the session ``state`` keeps of each input of ``block_fn`` whose id is in ``secret``."""
    if state is None or not secret:
        return
    for block in block_fn.inputs:
        key = component_id(block)
        if key in secret and key in state.config_values:
            state._update_value_in_config(key, "")


class _Wakes:
    """What wakes the idle loops of one queue, made in the event loop that runs them."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.work = asyncio.Event()
        """An event was pushed or finished: the processing loop looks for work."""
        self.jobs = asyncio.Event()
        """A job started: the progress loop looks for progress."""


def _wakes(queue: Queue) -> _Wakes:
    wakes: _Wakes | None = queue.__dict__.get("_vidu_wakes")
    if wakes is None or wakes.loop is not asyncio.get_running_loop():
        wakes = queue.__dict__["_vidu_wakes"] = _Wakes()
    return wakes


def _wake(queue: Queue, *, all_loops: bool = False) -> None:
    wakes: _Wakes | None = queue.__dict__.get("_vidu_wakes")
    if wakes is None:
        return
    if not all_loops:
        wakes.work.set()
        return
    for event in (wakes.work, wakes.jobs):  # from any thread: the loops see ``stopped`` at once
        with contextlib.suppress(RuntimeError):  # its event loop has closed
            wakes.loop.call_soon_threadsafe(event.set)


async def _idle(event: asyncio.Event) -> None:
    """Wait until ``event`` is set from now on, or ``QUEUE_IDLE_WAIT`` seconds."""
    event.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), QUEUE_IDLE_WAIT)


async def _start_processing(self: Queue) -> None:
    """Gradio's ``Queue.start_processing`` (``QUEUE_LOOPS``), waiting to be woken where it sleeps."""
    wakes = _wakes(self)
    try:
        while not self.stopped:
            if len(self) == 0:
                await _idle(wakes.work)
                continue

            if None not in self.active_jobs:
                await _idle(wakes.work)
                continue

            # Using mutex to avoid editing a list in use
            async with self.delete_lock:
                event_batch = self.get_events()

            if event_batch:
                events, batch, concurrency_id = event_batch
                self.active_jobs[self.active_jobs.index(None)] = events
                event_queue = self.event_queue_per_concurrency_id[concurrency_id]
                event_queue.current_concurrency += 1
                start_time = time.time()
                fn = events[0].fn
                event_queue.start_times_per_fn[fn].add(start_time)
                for event in events:
                    if (a := self.event_analytics.get(event._id)) is not None:
                        a["status"] = "processing"
                process_event_task = gradio_utils.run_coro_in_background(
                    self.process_events, events, batch, start_time, fn
                )
                gradio_utils.set_task_name(
                    process_event_task,
                    events[0].session_hash,
                    fn._id,
                    events[0]._id,
                    batch,
                )

                self._asyncio_tasks.add(process_event_task)
                process_event_task.add_done_callback(self._asyncio_tasks.discard)
                wakes.jobs.set()
                if self.live_updates:
                    self.broadcast_estimations(concurrency_id)
            else:
                await _idle(wakes.work)
    finally:
        self.stopped = True
        self._cancel_asyncio_tasks()  # type: ignore[no-untyped-call]


async def _start_progress_updates(self: Queue) -> None:
    """Gradio's ``Queue.start_progress_updates`` (``QUEUE_LOOPS``), waiting for a job to start when none runs."""
    wakes = _wakes(self)
    while not self.stopped:
        events = [evt for job in self.active_jobs if job is not None for evt in job]

        if len(events) == 0:
            await _idle(wakes.jobs)
            continue

        for event in events:
            if event.progress_pending and event.progress:
                event.progress_pending = False
                self.send_message(event, event.progress)

        await asyncio.sleep(QUEUE_PROGRESS_PACE)


def calm_queue(blocks: Blocks) -> None:
    """Give the queue of ``blocks`` (``Blocks.queue`` made it) loops that wait to be woken when they have nothing
    to do (``QUEUE_LOOPS``), and wake them when an event is pushed or finished, or the queue closes. Call it before
    the queue starts."""
    queue = getattr(blocks, "_queue", None)
    if not isinstance(queue, Queue):
        raise changed("Blocks._queue")
    push, process_events, close = queue.push, queue.process_events, queue.close

    async def pushed(*args: Any, **kwargs: Any) -> Any:
        try:
            return await push(*args, **kwargs)
        finally:
            _wake(queue)

    async def processed(*args: Any, **kwargs: Any) -> Any:
        try:
            return await process_events(*args, **kwargs)
        finally:
            _wake(queue)

    def closed() -> None:
        close()  # type: ignore[no-untyped-call]
        _wake(queue, all_loops=True)

    queue.__dict__.update(
        push=pushed,
        process_events=processed,
        close=closed,
        start_processing=types.MethodType(_start_processing, queue),
        start_progress_updates=types.MethodType(_start_progress_updates, queue),
    )


_create_app = gradio_routes.App.create_app
"""Gradio's own ``App.create_app``."""
_deferred = threading.local()


def _create_app_unless_deferred(blocks: Blocks, *args: Any, **kwargs: Any) -> Any:
    if getattr(_deferred, "blocks", None) is blocks:
        return None  # what ``Blocks.app`` is until launch builds it: Gradio reads it only once launched
    return _create_app(blocks, *args, **kwargs)


@contextlib.contextmanager
def built_at_launch(blocks: Blocks) -> Iterator[None]:
    """Within it, in this thread, Gradio builds no server app for ``blocks`` (its ``launch`` builds the one it
    serves); any other Blocks gets its own as before."""
    if gradio_routes.App.create_app is not _create_app_unless_deferred:
        gradio_routes.App.create_app = staticmethod(_create_app_unless_deferred)  # type: ignore[method-assign]
    _deferred.blocks = blocks
    try:
        yield
    finally:
        _deferred.blocks = None


class _GuardedConfig(uvicorn.Config):
    """uvicorn's Config, serving HTTP/1.1 with ``GuardedH11Protocol``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["http"] = GuardedH11Protocol
        super().__init__(*args, **kwargs)


def whole_diff(old: Any, new: Any) -> list[list[Any]]:
    """The edits that turn a streamed output's last value ``old`` into ``new``, as Gradio's page applies them:
    none when they are equal, what a string gained when it grew, else the whole new value (never edits inside a
    dict or list the page has already given to a component)."""
    if old == new and type(old) is type(new):
        return []
    if isinstance(old, str) and isinstance(new, str) and new.startswith(old):
        return [["append", [], new[len(old) :]]]
    return [["replace", [], new]]


def installed() -> bool:
    """Whether Gradio's server is built with the guarded protocol, streams changed outputs whole, and makes sessions
    that work out configurations on demand."""
    guarded = getattr(getattr(http_server, "uvicorn", None), "Config", None) is _GuardedConfig
    on_demand = SessionState.__init__ is _session_init
    return guarded and on_demand and getattr(gradio_utils, "diff", None) is whole_diff


def install() -> None:
    """Make every server Gradio starts from now on use ``GuardedH11Protocol``, every generator's changed outputs go
    to the page whole (``whole_diff``), and the sessions of a page with ``configs_on_demand`` work out a block's
    configuration only when it is needed. Safe to call again."""
    if installed():
        return
    check()
    gradio_utils.diff = whole_diff
    SessionState.__init__ = _session_init  # type: ignore[method-assign]
    SessionState.components = property(_components)  # type: ignore[assignment,method-assign]
    shim = types.ModuleType("uvicorn", "uvicorn, with Config serving HTTP through uvicorn_guard.GuardedH11Protocol")
    shim.__dict__.update({k: v for k, v in vars(uvicorn).items() if not k.startswith("__")})
    shim.Config = _GuardedConfig  # type: ignore[attr-defined]
    http_server.uvicorn = shim  # type: ignore[attr-defined]


def _malformed(request: Request, exc: Exception) -> Response:
    """A malformed call on the routes where Gradio lets one escape as an exception: 400, its reason, no trace."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path
    if not any(path.startswith(prefix) for prefix in _MALFORMED_ON):
        raise exc  # anywhere else it is a bug: a 500, logged
    reason = str(exc) if isinstance(exc, TypeError) else "a part of the upload is not a file"
    return JSONResponse({"error": f"malformed request: {reason[:200]}"}, status_code=400)


CLIENT_ERRORS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    TypeError: _malformed,
    AttributeError: _malformed,
}
"""Exception handlers for Gradio's app (``Runtime.app_kwargs``)."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StreamGuard:
    """Answers 404 before an event stream starts when Gradio's queue holds no such event or session."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET":
            target = self._stream_target(scope)
            if target is not None:
                # With sign-in on, Gradio's own check answers first (401); the stream is still ended cleanly.
                if getattr(scope.get("app"), "auth", None) is None and not self._held(scope, *target):
                    await JSONResponse({"error": "no such event"}, status_code=404)(scope, receive, send)
                    return
                await self._stream(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gradio's stream, ended cleanly if the session goes away after it started (Gradio then raises a 404
        that can no longer be sent, and the server logs a traceback): the client sees the stream end."""
        state = {"started": False, "ended": False}

        async def watched(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except (RuntimeError, HTTPException):
            if not state["started"]:
                raise
            if not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    def _stream_target(scope: Scope) -> tuple[str, str] | None:
        """("session", hash) or ("event", id) for an event-stream route; None for any other route."""
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        path = path[len(root) :] if root and path.startswith(root) else path
        if path.rstrip("/") == f"{API}/queue/data":
            query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
            return "session", str(query.get("session_hash", [""])[0])
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["gradio_api", "call"]:
            return "event", parts[3]
        return None

    @staticmethod
    def _held(scope: Scope, kind: str, name: str) -> bool:
        """Whether Gradio's queue holds this session, or the session of this event (as its route finds it)."""
        app = scope.get("app")
        blocks = app.get_blocks() if app is not None and hasattr(app, "get_blocks") else None
        queue = getattr(blocks, "_queue", None)
        if queue is None:
            return True  # not Gradio's app as this module knows it: let Gradio answer
        if not all(isinstance(getattr(queue, name, None), dict) for name in QUEUE_MAPS):
            raise changed(f"Blocks._queue's {', '.join(QUEUE_MAPS)}")
        session: str | None = name
        if kind == "event":
            # An event is held from its queueing until its last message is delivered: Gradio lists it in its
            # session's pending ids for exactly that time. (Its map of events may still hold a finished one a moment
            # after the delivery: a stream opened then would wait for messages that never come.)
            pending = queue.pending_event_ids_session.items()
            session = next((s for s, ids in pending if name in ids), None)
        return session is not None and session in queue.pending_messages_per_session
