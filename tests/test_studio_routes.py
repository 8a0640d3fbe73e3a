"""The launched app's own routes: ``/healthz``, the simulator's signed callbacks on ``/vidu/callback`` moving a
task at once, Gradio's file route refusing the history and every other file it should not serve, and, with
sign-in on, nothing but the login page, static assets and ``/healthz`` answering without a session."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client, handle_file

import app
from tests.images import photo, write
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks

KEY = "sk-CANARY-r0utes"
POLL = 60.0  # seconds between the tracker's own queries: only a callback can move a task sooner


@dataclass
class Running:
    url: str
    page: StudioBlocks
    sim: Simulator
    data_dir: Path


def launch(page: StudioBlocks, port: int, **options: Any) -> str:
    page.launch(
        **app.ServeOptions(host="127.0.0.1", port=port, **options).launch_kwargs(), prevent_thread_lock=True, quiet=True
    )
    return page.local_url or ""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("routes") / "data"
    port = app.free_port("127.0.0.1", 7900)
    with Simulator(KEY, queue_seconds=0.3, process_seconds=0.6) as sim:
        base = Settings.build(data_dir=data_dir, poll_interval=POLL, poll_max_interval=POLL)
        settings = app.demo_settings(base, sim, KEY, public_url=app.own_url("127.0.0.1", port))
        page = app.build_app(settings, demo=True)
        url = launch(page, port)
        try:
            yield Running(url, page, sim, data_dir)
        finally:
            page.close()


@pytest.fixture(scope="module")
def submitted(running: Running, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A task sent through the API, followed to its saved video."""
    folder = tmp_path_factory.mktemp("frames")
    start = write(folder / "start.png", photo(480, 270, 41), "PNG")
    end = write(folder / "end.png", photo(480, 270, 42), "PNG")
    client = Client(running.url, verbose=False)
    task_id: str = client.predict(
        start_image=handle_file(str(start)),
        start_url="",
        end_image=handle_file(str(end)),
        end_url="",
        prompt="A paper boat crosses a puddle",
        model="viduq1",
        duration=5,
        resolution="1080p",
        seed=0,
        movement_amplitude="auto",
        is_rec=False,
        bgm=False,
        audio=False,
        off_peak=False,
        watermark=False,
        wm_position=3,
        wm_url="",
        meta_data="",
        payload="",
        callback_url="",
        auto_fit=True,
        api_name="/generate",
    )[0]
    store = running.page.runtime.store
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        record = store.get(task_id)
        if record is not None and record.video_path:
            return task_id
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never got its video: {store.get(task_id)}")


def test_healthz(running: Running) -> None:
    response = httpx.get(running.url + "healthz", timeout=10)
    assert (response.status_code, response.text) == (200, "ok")


def test_signed_callbacks_reach_the_app_and_trigger_a_query_at_once(running: Running, submitted: str) -> None:
    task = running.sim.store.get(submitted)
    assert task is not None and task.start is not None and task.end is not None
    create = next(r for r in running.sim.log.snapshot() if r.call == "create" and r.status == 200)
    assert create.body["callback_url"] == app.own_url("127.0.0.1", running.page.server_port or 0) + "/vidu/callback"
    delivered = [(state, status) for task_id, state, status in running.sim.callbacks.deliveries if task_id == submitted]
    assert ("processing", 200) in delivered and ("success", 200) in delivered
    queries = [r.time for r in running.sim.log.snapshot() if r.call == "query" and submitted in r.path]
    # The first query follows the create; with a 60 s poll interval every later one was a callback's doing.
    assert len(queries) >= 3
    assert any(task.start <= t <= task.start + 2.0 for t in queries[1:]), "no query soon after processing began"
    assert any(task.end <= t <= task.end + 2.0 for t in queries[1:]), "no query soon after the task succeeded"
    assert all(t < task.end + 2.0 for t in queries)


def test_the_file_route_serves_a_published_video_but_nothing_of_the_data_folder(
    running: Running, submitted: str
) -> None:
    record = running.page.runtime.store.get(submitted)
    assert record is not None and record.video_path
    data = running.data_dir.resolve()
    (data.parent / ".env").write_text("VIDU_API_KEY=sk-CANARY-leak\n")
    published = running.page.runtime.stage.publish(record.video_path)
    assert published is not None
    with httpx.Client(base_url=running.url, timeout=10) as http:
        served = http.get(f"/gradio_api/file={published}")
        assert served.status_code == 200 and served.content == Path(record.video_path).read_bytes()
        forbidden = [
            f"{data}/history.sqlite3",
            f"{data}/history.sqlite3-wal",
            record.video_path,
            f"{data}/videos",
            f"{data.parent}/.env",
            ".env",
            "/etc/passwd",
            "../../../../etc/passwd",
            f"{published}/../../../../etc/passwd",
            f"{Path(published).parent}/../../../../../etc/passwd",
            f"{data}/../{data.name}/history.sqlite3",
        ]
        for path in forbidden:
            for form in (path, quote(path, safe="")):
                for route in ("/gradio_api/file=", "/gradio_api/file/"):
                    response = http.get(route + form)
                    assert response.status_code in (403, 404), (route + form, response.status_code)
                    assert b"SQLite" not in response.content and b"CANARY" not in response.content


# --- with sign-in on --------------------------------------------------------------------------------------------

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


def test_with_sign_in_only_the_login_page_and_healthz_answer_without_a_session(
    running: Running, submitted: str, tmp_path: Path
) -> None:
    page = app.build_app(Settings.build(api_key=KEY, base_url=running.sim.base_url, data_dir=tmp_path / "data"))
    url = launch(page, app.free_port("127.0.0.1", 7950), auth=(("alice", "correct horse"),))
    try:
        found = list(routes(page.app))
        assert ("POST", "/vidu/callback", False) in found and ("GET", "/healthz", False) in found
        with httpx.Client(base_url=url, timeout=5) as http:
            assert http.get("/healthz").status_code == 200
            shell = http.get("/")  # the login page: Gradio's shell, without the app's config
            assert shell.status_code == 200 and "vu-generate" not in shell.text and KEY not in shell.text
            for method, path, checked in found:
                if (method, path) in PUBLIC:
                    continue
                assert checked, f"{method} {path} answers without a session"
                concrete = re.sub(r"\{[^}]+\}", "x", path).replace("=x", "=/etc/passwd")
                response = http.request(method, concrete)
                assert response.status_code == 401, (method, concrete, response.status_code)
            for path in ("/config", "/gradio_api/info", "/gradio_api/file=/etc/passwd", "/openapi.json"):
                assert http.get(path).status_code in (401, 404), path
            assert http.post("/gradio_api/queue/join", json={}).status_code == 401
            assert http.post("/gradio_api/call/generate", json={"data": []}).status_code == 401
            assert http.post("/vidu/callback", json={"id": "1"}).status_code == 400  # unsigned: refused
    finally:
        page.close()
