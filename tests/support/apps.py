"""Launching the app in the test process, the generate call's values, the system Chromium, the app's routes with
and without sign-in, and the file paths its file route must refuse."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from gradio_client import Client, handle_file

import app
from tests.support.machine import os_port
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks
from vidu_ui.studio.form import SAMPLE_VALUES

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-CANARY-tests"
"""The simulator's key unless a test names its own: a canary, searched for wherever a key must not appear."""
LAUNCH_ATTEMPTS = 3


SKIP_SELF_PROBE: dict[str, Any] = {"_frontend": False}
"""``Blocks.launch``'s switch for its probe of the page it serves (``tests/test_gradio_guard.py`` checks it is
still the probe's only switch)."""


@contextlib.contextmanager
def launched(
    build: Callable[[int], StudioBlocks], *, gradio: dict[str, Any] | None = None, **options: Any
) -> Iterator[tuple[StudioBlocks, str]]:
    """The page ``build(port)`` makes, launched on 127.0.0.1 with the options ``app.py`` uses (``gradio``: further
    arguments of Gradio's ``launch``, such as ``max_threads``); yields it and its URL, and closes it afterwards.

    Gradio needs a port number up front (with port 0 it would announce port 0), and the demo settings name the
    app's own address, so the port comes from the OS just before the page is built. Should another process take
    it in between, the launch is tried again on a fresh port: a test never fails for a port it did not choose.

    Gradio's own "is localhost reachable" probe (a HEAD of the whole page, with a fresh HTTP client, some 0.5 s
    of CPU) is left out (``SKIP_SELF_PROBE``): the server's socket listens when ``launch`` returns, and the
    tests reach it at once.
    """
    failure: Exception | None = None
    for _ in range(LAUNCH_ATTEMPTS):
        port = os_port()
        page = build(port)
        try:
            page.launch(
                **app.ServeOptions(host="127.0.0.1", port=port, **options).launch_kwargs(),
                **SKIP_SELF_PROBE,
                **(gradio or {}),
                prevent_thread_lock=True,
                quiet=True,
            )
        except (OSError, ValueError) as exc:  # the port was taken, or Gradio could not reach its own page in time
            page.close()
            failure = exc
            continue
        try:
            yield page, page.local_url or ""
        finally:
            page.close()
        return
    assert failure is not None
    raise failure


@dataclass(frozen=True)
class AppConfig:
    """How the module's ``running`` app is set up: its simulator's key and task times, and its settings."""

    api_key: str = CANARY
    queue_seconds: float = 0.3
    process_seconds: float = 0.6
    settings: dict[str, Any] = field(default_factory=dict)
    """``Settings`` fields (before the demo settings point them at the simulator)."""
    serve: dict[str, Any] = field(default_factory=dict)
    """Launch flags: ``ServeOptions`` fields (``mcp``, ``auth``…)."""


@dataclass
class Running:
    """The app in demo mode as ``app.py --demo`` runs it (on its own simulator), launched in this process."""

    url: str
    page: StudioBlocks
    sim: Simulator
    data_dir: Path


FORM: dict[str, Any] = SAMPLE_VALUES
"""Generate's values other than the two frames: a valid viduq1 request (``vidu_ui.studio.form``)."""


def arguments(start: Path | str, end: Path | str, **changes: Any) -> dict[str, Any]:
    """Generate's inputs by name, as an API user sends them (frames as files ``gradio_client`` uploads);
    ``changes`` replace any of them."""
    return {"start_image": handle_file(str(start)), "end_image": handle_file(str(end)), **FORM, **changes}


def form_values(start: Any, end: Any, **changes: Any) -> dict[str, Any]:
    """The page's Generate values as its handlers receive them (frames as paths or Gradio payloads, no key)."""
    return {"api_key": None, "start_image": start, "end_image": end, **FORM, **changes}


# --- ``python app.py`` as a child process -------------------------------------------------------------------------

"""Tries to start a child app: a start fails only for a port taken in between or Gradio's 3 s self-check on a
loaded machine; a broken app fails every try, and the last one's log is shown."""


def app_environment(base_url: str, api_key: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of ``python app.py`` against ``base_url`` with ``api_key`` (server key) on ``data_dir``; the
    caller's ``VIDU_DEMO``, public URL and Gradio server variables are dropped."""
    env = {
        **os.environ,
        "VIDU_API_KEY": api_key,
        "VIDU_BASE_URL": base_url,
        "VIDU_UI_DATA_DIR": str(data_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("VIDU_DEMO", "VIDU_UI_PUBLIC_URL", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH"):
        env.pop(name, None)
    return env


def spawn_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python app.py`` on a port from the OS, its output appended to ``log``; not waited for (``app_up``)."""
    port = os_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def app_up(process: subprocess.Popen[bytes], url: str, timeout: float = 300) -> bool:
    """Whether the child app answers ``/healthz`` before it exits or ``timeout`` passes (a child process has no
    event to wait on: this asks every fifth of a second)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as http:
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{url}/healthz").status_code == 200:
                    return True
            time.sleep(0.2)
    return False


def start_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python app.py`` (``spawn_app``), returned once ``/healthz`` answers; tried again on a fresh port when a
    start fails (``LAUNCH_ATTEMPTS``)."""
    for _ in range(LAUNCH_ATTEMPTS):
        process, url = spawn_app(env, log)
        if app_up(process, url):
            return process, url
        process.kill()
        process.wait()
    raise AssertionError("the app did not start:\n" + log.read_text())


@contextlib.contextmanager
def app_process(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``start_app`` as a context: yields the app and its URL, stopped (``stop_app``) afterwards."""
    process, url = start_app(env, log)
    try:
        yield process, url
    finally:
        stop_app(process)


def stop_app(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
    """Send ``how`` (SIGTERM: a container stop; SIGKILL: a crash) and return the exit code; killed if it does not
    exit within ``timeout``."""
    try:
        if process.poll() is None:
            process.send_signal(how)
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def generate(url: str, start: Path, end: Path, prompt: str) -> str:
    """One Generate through ``gradio_client`` as an API user makes it; the task id."""
    client = Client(f"{url.rstrip('/')}/", verbose=False)
    try:
        return str(client.predict(**arguments(start, end, prompt=prompt), api_name="/generate")[0])
    finally:
        client.close()


# --- the file route ---------------------------------------------------------------------------------------------

FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")


def forbidden_files(data_dir: Path, *, published: str | None = None, video: str | None = None) -> list[str]:
    """Paths ``/gradio_api/file=`` must refuse: the history, the videos, a ``.env`` beside the data folder, system
    files, and ``../`` walks (from a published video's folder too, when given)."""
    data = data_dir.resolve()
    paths = [
        f"{data}/history.sqlite3",
        f"{data}/history.sqlite3-wal",
        f"{data}/videos",
        f"{data.parent}/.env",
        ".env",
        "/etc/passwd",
        "../../../../etc/passwd",
        f"{data}/../{data.name}/history.sqlite3",
    ]
    if video:
        paths.append(video)
    if published:
        paths += [f"{published}/../../../../etc/passwd", f"{Path(published).parent}/../../../../../etc/passwd"]
    return paths


def file_requests(path: str) -> Iterator[str]:
    """The request paths that ask the file route for ``path``: both routes, plain and percent-encoded."""
    for form in (path, quote(path, safe="")):
        for route in FILE_ROUTES:
            yield route + form


# --- sign-in ----------------------------------------------------------------------------------------------------

# Routes Gradio serves without a session, and why that is fine: the login page and what it needs to draw itself,
# who is signed in (nobody), and calls that only act on a running event or session whose random id they must
# name. Everything else must answer 401. The app's own: /healthz ("ok") and the callback (signature-checked).
PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("POST", "/vidu/callback"),
    ("POST", "/login"),
    ("POST", "/login/"),
    ("GET", "/logout"),
    ("GET", "/favicon.ico"),
    ("GET", "/theme.css"),
    ("GET", "/robots.txt"),
    ("GET", "/manifest.json"),
    ("GET", "/pwa_icon"),
    ("GET", "/pwa_icon/{size}"),
    ("GET", "/svelte/{path:path}"),
    ("GET", "/static/{path:path}"),
    ("GET", "/assets/{path:path}"),
    ("GET", "/monitoring/{key}"),
    ("GET", "/gradio_api/theme.css"),
    ("GET", "/gradio_api/user"),
    ("GET", "/gradio_api/user/"),
    ("GET", "/gradio_api/token"),
    ("GET", "/gradio_api/token/"),
    ("GET", "/gradio_api/app_id"),
    ("GET", "/gradio_api/app_id/"),
    ("GET", "/gradio_api/login_check"),
    ("GET", "/gradio_api/login_check/"),
    ("GET", "/gradio_api/startup-events"),
    ("GET", "/gradio_api/heartbeat/{session_hash}"),
    ("GET", "/gradio_api/custom_component/{id}/{environment}/{type}/{file_name}"),
    ("POST", "/gradio_api/stream/{event_id}"),
    ("POST", "/gradio_api/stream/{event_id}/close"),
    ("GET", "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist.m3u8"),
    ("GET", "/gradio_api/stream/{session_hash}/{run}/{component_id}/{segment_id}.{ext}"),
    ("GET", "/gradio_api/stream/{session_hash}/{run}/{component_id}/playlist-file"),
    ("POST", "/gradio_api/reset"),
    ("POST", "/gradio_api/reset/"),
    ("POST", "/gradio_api/cancel"),
    ("GET", "/gradio_api/runs"),
    ("GET", "/gradio_api/runs/"),
    ("POST", "/gradio_api/vibe-edit"),
    ("POST", "/gradio_api/vibe-edit/"),
    ("POST", "/gradio_api/undo-vibe-edit"),
    ("POST", "/gradio_api/undo-vibe-edit/"),
    ("GET", "/gradio_api/vibe-code"),
    ("GET", "/gradio_api/vibe-code/"),
    ("POST", "/gradio_api/vibe-code"),
    ("POST", "/gradio_api/vibe-code/"),
    ("POST", "/gradio_api/vibe-starter-queries"),
    ("POST", "/gradio_api/vibe-starter-queries/"),
}


def routes(fastapi_app: Any) -> Iterator[tuple[str, str, bool]]:
    """Every (method, path, has Gradio's login check) of the app, its included routers flattened."""

    def walk(items: list[Any], prefix: str) -> Iterator[tuple[str, str, bool]]:
        for route in items:
            original = getattr(route, "original_router", None)
            if original is not None:
                context = getattr(route, "include_context", None)
                yield from walk(original.routes, prefix + (getattr(context, "prefix", "") or ""))
                continue
            checked = any(d.dependency.__name__ == "login_check" for d in getattr(route, "dependencies", []))
            for method in sorted(getattr(route, "methods", None) or []):
                if method != "HEAD":
                    yield method, prefix + route.path, checked

    yield from walk(fastapi_app.routes, "")
