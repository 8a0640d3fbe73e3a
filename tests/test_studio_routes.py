"""The launched app's own routes: ``/healthz``, the simulator's signed callbacks on ``/vidu/callback`` moving a
task at once, Gradio's file route refusing the history and every other file it should not serve, and, with
sign-in on, nothing but the login page, static assets and ``/healthz`` answering without a session."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import app
from tests.images import photo, write
from tests.support.apps import PUBLIC, Running, arguments, file_requests, forbidden_files, launched, routes
from vidu_ui.settings import Settings
from vidu_ui.studio import assets, gradio_guard
from vidu_ui.studio.runtime import DEEP_LINK_PATH

KEY = "sk-CANARY-r0utes"
POLL = 600.0  # seconds between the tracker's own queries: only a callback can move a task sooner

pytestmark = pytest.mark.app(
    api_key=KEY, queue_seconds=0.3, process_seconds=0.6, settings={"poll_interval": POLL, "poll_max_interval": POLL}
)


@pytest.fixture(scope="module")
def submitted(running: Running, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A task sent through the API, followed to its saved video."""
    folder = tmp_path_factory.mktemp("frames")
    start = write(folder / "start.png", photo(480, 270, 41), "PNG")
    end = write(folder / "end.png", photo(480, 270, 42), "PNG")
    client = Client(running.url, verbose=False)
    task_id: str = client.predict(
        **arguments(start, end, prompt="A paper boat crosses a puddle"), api_name="/generate"
    )[0]
    seen = list(running.page.runtime.tracker.watch(task_id, timeout=120))  # until finished and saved
    assert seen and seen[-1].video_path, f"task {task_id} never got its video: {seen[-1:]}"
    return task_id


def test_healthz(running: Running) -> None:
    response = httpx.get(running.url + "healthz", timeout=10)
    assert (response.status_code, response.text) == (200, "ok")
    # Its queue, idle, waits to be woken (tests/test_gradio_guard.py).
    assert running.page._queue.start_processing.__func__ is gradio_guard._start_processing


def test_the_pages_scripts_are_compressed_once_and_match_gradios_build(running: Running) -> None:
    page = httpx.get(running.url, timeout=10).text
    scripts = sorted(set(re.findall(r"/assets/[\w.-]+\.js", page)))
    assert scripts, "the page names its scripts"
    with httpx.Client(base_url=running.url, timeout=10) as http:
        plain = http.get(scripts[0], headers={"accept-encoding": "identity"})
        before = assets.SHARED.compressed
        answers = [http.get(scripts[0], headers={"accept-encoding": "br"}) for _ in range(2)]
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert [(a.status_code, a.headers["content-encoding"]) for a in answers] == [(200, "br"), (200, "br")]
    assert answers[0].content == answers[1].content == plain.content
    assert assets.SHARED.compressed - before <= 1, "compressed at most once (another app here may have done it)"


def test_signed_callbacks_reach_the_app_and_trigger_a_query_at_once(running: Running, submitted: str) -> None:
    task = running.sim.store.get(submitted)
    assert task is not None and task.start is not None and task.end is not None
    create = next(r for r in running.sim.log.snapshot() if r.call == "create" and r.status == 200)
    assert create.body["callback_url"] == app.own_url("127.0.0.1", running.page.server_port or 0) + "/vidu/callback"
    delivered = [(state, status) for task_id, state, status in running.sim.callbacks.deliveries if task_id == submitted]
    assert ("processing", 200) in delivered and ("success", 200) in delivered
    queries = [r.time for r in running.sim.log.snapshot() if r.call == "query" and submitted in r.path]
    # The first query follows the create; with a poll interval of minutes every later one was a callback's doing.
    assert 2 <= len(queries) <= 1 + len(delivered)
    assert any(t >= task.end for t in queries[1:]), "no query after the task succeeded"


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
        for path in forbidden_files(data, published=published, video=record.video_path):
            for request in file_requests(path):
                response = http.get(request)
                assert response.status_code in (403, 404), (request, response.status_code)
                assert b"SQLite" not in response.content and b"CANARY" not in response.content


# --- with sign-in on --------------------------------------------------------------------------------------------


def test_with_sign_in_only_the_login_page_and_healthz_answer_without_a_session(
    running: Running, submitted: str, tmp_path: Path
) -> None:
    settings = Settings.build(api_key=KEY, base_url=running.sim.base_url, data_dir=tmp_path / "data")
    with launched(lambda _: app.build_app(settings), auth=(("alice", "correct horse"),)) as (page, url):
        found = list(routes(page.app))
        assert ("POST", "/vidu/callback", False) in found and ("GET", "/healthz", False) in found
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/healthz").status_code == 200
            shell = http.get("/")  # the login page: Gradio's shell, without the app's config
            assert shell.status_code == 200 and "vu-generate" not in shell.text and KEY not in shell.text
            for method, path, checked in found:
                if (method, path) in PUBLIC:
                    continue
                if path == DEEP_LINK_PATH:  # refused to everyone, session or not: it would write inputs to disk
                    assert http.request(method, path).status_code == 404
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
