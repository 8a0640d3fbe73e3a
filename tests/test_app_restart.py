"""``python app.py`` stopped in the middle of a task (SIGTERM, as a container stop sends, or SIGKILL) and started
again on the same data folder: the task it was following completes in the history, its video saved and playable.

The service is the simulator in this process, so it lives on while the app restarts; the app is a real child
process launched exactly as in production, driven through ``gradio_client``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import app
from tests.apphelpers import arguments
from tests.images import photo, write
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store, TaskRecord

from .test_tracking import mp4_ok

KEY = "sk-CANARY-restart"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(KEY, queue_seconds=0.3, process_seconds=2.5) as simulator:
        yield simulator


def start_app(sim: Simulator, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
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
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the app did not start:\n" + log.read_text())


def wait_for(store: Store, task_id: str, done: bool, timeout: float) -> TaskRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = store.get(task_id)
        if record is not None and (not done or (record.state == "success" and record.video_path)):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id}: {record}")
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_task_left_running_completes_after_a_restart(sim: Simulator, tmp_path: Path, stop: signal.Signals) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "app.log"
    start = write(tmp_path / "start.png", photo(480, 270, 51), "PNG")
    end = write(tmp_path / "end.png", photo(480, 270, 52), "PNG")
    port = app.free_port("127.0.0.1", 7960)
    first = start_app(sim, data_dir, port, log)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        task_id = client.predict(**arguments(start, end, prompt="Clouds roll over the ridge"), api_name="/generate")[0]
        client.close()
        store = Store.open(Settings.build(data_dir=data_dir))
        assert not wait_for(store, task_id, done=False, timeout=5).finished
        first.send_signal(stop)
        code = first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert code == (0 if stop == signal.SIGTERM else -signal.SIGKILL), log.read_text()
    left = store.get(task_id)
    assert left is not None and not left.finished and left.video_path is None  # stopped mid-task

    second = start_app(sim, data_dir, port, log)
    try:
        record = wait_for(store, task_id, done=True, timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()
        store.close()
    assert record.video_path == str(data_dir / "videos" / f"{task_id}.mp4")
    assert mp4_ok(Path(record.video_path))
    assert not list((data_dir / "videos").glob("*.part"))
    assert KEY not in log.read_text()
