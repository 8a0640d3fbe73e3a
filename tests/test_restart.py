"""A process that records tasks and saves their videos is killed (SIGKILL) in the middle of it; a fresh tracker
with ``resume()`` completes every task, the history has each task that got an id, and no video is partial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.tracking import KEY, mp4_ok, sim_settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store
from vidu_ui.tracker import Tracker

# Submits tasks one after another, each recorded then followed; downloads trickle so the kill lands mid-file.
WORKER = r"""
import sys, time, orjson, httpx
from pathlib import Path
from vidu_ui import tracking
from vidu_ui.client import ViduClient
from vidu_ui.downloads import DownloadPolicy
from vidu_ui.settings import Settings
from vidu_ui.store import Store
from vidu_ui.tracker import Tracker
from tests.support.tracking import frame_pair, sim_body

class Trickle(httpx.BaseTransport):
    def __init__(self):
        self.inner = httpx.HTTPTransport()
    def handle_request(self, request):
        response = self.inner.handle_request(request)
        data = response.read()
        def chunks():
            for i in range(0, len(data), 2048):
                time.sleep(0.02)
                yield data[i:i + 2048]
        return httpx.Response(response.status_code, headers=response.headers, content=chunks())

def slow_download(url, dest):
    return tracking.download(url, dest, DownloadPolicy.for_settings(settings), transport=Trickle())

settings = Settings.from_env()
store = Store.open(settings)
tracker = Tracker(settings, store, downloader=slow_download).start()
with ViduClient(settings) as client:
    for n in range(int(sys.argv[1])):
        start, end = frame_pair(n)
        body = sim_body(start, end, prompt=f"restart {n}")
        created = client.create(orjson.dumps(body))
        store.record_submission(task_id=created.task_id, body=body, response=created.raw,
                                start_image=start, end_image=end)
        tracker.track(created.task_id)
        print(created.task_id, flush=True)
        time.sleep(0.15)
time.sleep(60)
"""


def test_killed_mid_work_then_resumed(tmp_path: Path) -> None:
    with Simulator(KEY, queue_seconds=0.05, process_seconds=0.2) as sim:
        settings = sim_settings(sim, tmp_path, lease_seconds=2.0)  # the dead follower's tasks change hands in 2 s
        videos = settings.data_dir / "videos"
        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "VIDU_API_KEY": KEY,
            "VIDU_BASE_URL": sim.base_url,
            "VIDU_UI_DATA_DIR": str(settings.data_dir),
            "VIDU_POLL_INTERVAL": "0.02",
            "VIDU_POLL_MAX_INTERVAL": "0.1",
            "VIDU_UI_LEASE_SECONDS": "2",
        }
        worker = subprocess.Popen(
            [sys.executable, str(script), "12"], env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path
        )
        try:
            deadline = time.monotonic() + 60  # a bound for a stuck worker, not a speed check
            while time.monotonic() < deadline:
                done = list(videos.glob("*.mp4")) if videos.exists() else []
                partial = list(videos.glob("*.part")) if videos.exists() else []
                if done and partial and sim.create_count >= 4:
                    break
                time.sleep(0.01)
            else:
                raise AssertionError("the worker never got to downloading")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        assert worker.stdout is not None
        printed = worker.stdout.read().split()
        assert list(videos.glob("*.part")), "the kill should have interrupted a download"

        # A fresh start: the history, then resume.
        store = Store.open(settings)
        history = {r.task_id: r for r in store.list(limit=1000)}
        assert set(printed) <= set(history)  # every task that got an id and was reported is in the history
        assert sim.create_count - len(history) <= 1  # at most one created in the instant before recording
        unfinished_or_missing = [r for r in history.values() if not r.finished or r.video_path is None]
        assert unfinished_or_missing, "the kill should have left work to resume"

        with Tracker(settings, store) as tracker:
            assert tracker.resume() == []
            deadline = time.monotonic() + 60  # a bound for a stuck worker, not a speed check
            while time.monotonic() < deadline and any(tracker.is_following(t) for t in history):
                time.sleep(0.05)
            assert not any(tracker.is_following(t) for t in history)

    for record in store.list(limit=1000):
        assert record.state == "success", record
        assert record.video_path == str(videos / f"{record.task_id}.mp4")
    assert not list(videos.glob("*.part"))  # the dead process's temp files were cleaned at start
    files = sorted(videos.glob("*.mp4"))
    assert {p.stem for p in files} == set(history)
    assert all(mp4_ok(p) for p in files)
