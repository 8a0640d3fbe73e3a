"""``python app.py`` stopped in the middle of a task (SIGTERM, as a container stop sends, or SIGKILL) and started
again on the same data folder: the tasks it was following complete in the history, their videos saved and playable.

The service is the simulator in this process, so it lives on while the app restarts; the app is a real child
process launched exactly as in production, driven through ``gradio_client``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.images import photo, write
from tests.support.apps import arguments, os_port
from tests.support.tracking import mp4_ok
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store, TaskRecord
from vidu_ui.tracker import Tracker

KEY = "sk-CANARY-restart"
ROOT = Path(__file__).resolve().parents[1]
STARTS = 3
"""Tries to start the app: a start fails only for a port taken in between or Gradio's 3 s self-check on a loaded
machine; a broken app fails every try, and the last one's log is shown."""

# The task stays in processing until the test ends it (``Simulator.finish``): the stop always lands mid-task.
pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.1, process_seconds=3600)


def start_app(sim: Simulator, data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python app.py`` on a port of the OS's choosing, as in production; returns it once ``/healthz`` answers."""
    env = {
        **os.environ,
        "VIDU_API_KEY": KEY,
        "VIDU_BASE_URL": sim.base_url,
        "VIDU_UI_DATA_DIR": str(data_dir),
        "VIDU_POLL_INTERVAL": "0.2",
        "VIDU_POLL_MAX_INTERVAL": "0.5",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("VIDU_DEMO", "VIDU_UI_PUBLIC_URL", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH"):
        env.pop(name, None)
    for _ in range(STARTS):
        port = os_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        if healthy(process, url):
            return process, url
        process.kill()
        process.wait()
    raise AssertionError("the app did not start:\n" + log.read_text())


def healthy(process: subprocess.Popen[bytes], url: str, timeout: float = 120) -> bool:
    """Whether the app answers ``/healthz`` before it exits or ``timeout`` passes (a child process has no event
    to wait on: this asks every tenth of a second)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return True
        time.sleep(0.1)
    return False


def saved(settings: Settings, store: Store, task_id: str, timeout: float = 120) -> TaskRecord:
    """The task's record once it succeeded with its video saved (written by the app process: ``wait_for_change``
    notices another process's writes)."""
    watcher = Tracker(settings, store)
    deadline = time.monotonic() + timeout
    record = store.get(task_id)
    while record is not None and not (record.state == "success" and record.video_path):
        left = deadline - time.monotonic()
        changed = watcher.wait_for_change(task_id, record.version, max(left, 0.0)) if left > 0 else None
        if changed is None:
            raise AssertionError(f"task {task_id}: {record}")
        record = changed
    assert record is not None
    return record


def submit(url: str, start: Path, end: Path, prompt: str) -> str:
    client = Client(url + "/", verbose=False)
    try:
        task_id: str = client.predict(**arguments(start, end, prompt=prompt), api_name="/generate")[0]
    finally:
        client.close()
    return task_id


def stop_app(process: subprocess.Popen[bytes], how: signal.Signals, log: Path) -> None:
    """Stop the app as a container stop does (SIGTERM: a clean exit) or as a crash does (SIGKILL)."""
    try:
        process.send_signal(how)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == (0 if how == signal.SIGTERM else -signal.SIGKILL), log.read_text()


@pytest.mark.timeout(600)  # three app starts: on a loaded machine each can take a minute
def test_tasks_left_running_complete_after_a_sigterm_and_after_a_sigkill(sim: Simulator, tmp_path: Path) -> None:
    """Three runs of ``app.py`` on one data folder: the first is stopped (SIGTERM) while its task processes, the
    second, following that task again, submits another and is killed (SIGKILL); the third completes both."""
    data_dir, log = tmp_path / "data", tmp_path / "app.log"
    start = write(tmp_path / "start.png", photo(480, 270, 51), "PNG")
    end = write(tmp_path / "end.png", photo(480, 270, 52), "PNG")
    settings = Settings.build(data_dir=data_dir)
    store = Store.open(settings)
    try:
        first, url = start_app(sim, data_dir, log)
        termed = submit(url, start, end, "Clouds roll over the ridge")
        stop_app(first, signal.SIGTERM, log)
        second, url = start_app(sim, data_dir, log)  # a new port: the history, not the address, carries the task
        killed = submit(url, start, end, "Rain sweeps across the bay")
        stop_app(second, signal.SIGKILL, log)
        for task_id in (termed, killed):
            left = store.get(task_id)
            assert left is not None and not left.finished and left.video_path is None  # stopped mid-task

        third, _ = start_app(sim, data_dir, log)
        try:
            assert sim.finish(termed) and sim.finish(killed)
            records = [saved(settings, store, task_id) for task_id in (termed, killed)]
        finally:
            stop_app(third, signal.SIGTERM, log)
    finally:
        store.close()
    for task_id, record in zip((termed, killed), records, strict=True):
        assert record.video_path == str(data_dir / "videos" / f"{task_id}.mp4")
        assert mp4_ok(Path(record.video_path))
    assert not list((data_dir / "videos").glob("*.part"))
    assert KEY not in log.read_text()
