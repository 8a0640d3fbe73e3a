"""Helpers shared by the tests (and ``scripts/``) that launch the app: launching it, the generate call's values,
the system Chromium, the app's routes with and without sign-in, and the file paths its file route must refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import app
from bench.concurrency import FORM
from bench.concurrency import arguments as arguments  # re-exported: the tests call it from here
from vidu_ui.studio import StudioBlocks

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: Playwright drives it; ``playwright install`` is never run."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(page: StudioBlocks, port: int, **options: Any) -> str:
    """Launch ``page`` on 127.0.0.1:``port`` with the options ``app.py`` uses; returns its URL."""
    page.launch(
        **app.ServeOptions(host="127.0.0.1", port=port, **options).launch_kwargs(), prevent_thread_lock=True, quiet=True
    )
    return page.local_url or ""


def form_values(start: Any, end: Any, **changes: Any) -> dict[str, Any]:
    """The page's Generate values as its handlers receive them (frames as paths or Gradio payloads, no key)."""
    return {"api_key": None, "start_image": start, "end_image": end, **FORM, **changes}


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
