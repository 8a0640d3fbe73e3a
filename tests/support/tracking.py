"""What the tracking, tracker, store, callback and restart tests share: a scripted fake service on
``httpx.MockTransport`` and a tracker driven on it by a fake clock (``Rig``), create bodies for the simulator drawn
with Pillow, and a check that a saved video decodes."""

from __future__ import annotations

import base64
import functools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests import images
from tests.fakes import MP4_HEAD, FakeTime, cdn_policy
from vidu_ui import tracking
from vidu_ui.client import AsyncViduClient, ViduClient
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store
from vidu_ui.tracker import KeyOwner, Tracker

KEY = "sk-TEST-key"


def status(task_id: str, state: str, *, err_code: str = "", credits: int = 80, wm: bool = False) -> dict[str, Any]:
    creations: list[dict[str, Any]] = []
    if state == "success":
        creation = {
            "id": "c1",
            "url": f"https://cdn.test/{task_id}.mp4",
            "cover_url": f"https://cdn.test/{task_id}.jpg",
        }
        if wm:
            creation["watermarked_url"] = f"https://cdn.test/{task_id}-wm.mp4"
        creations.append(creation)
    return {"id": task_id, "state": state, "err_code": err_code, "credits": credits, "creations": creations}


@dataclass
class FakeService:
    """A scripted Vidu service. ``scripts[task_id]`` is what successive queries answer (the last one repeats):
    a state name, a dict (the body), an ``httpx.Response`` or an exception to raise."""

    scripts: dict[str, list[Any]] = field(default_factory=dict)
    time: FakeTime | None = None
    queries: list[tuple[str, float]] = field(default_factory=list)
    """(task id, clock reading) of each query."""
    files: dict[str, bytes] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("authorization", ""))
        parts = request.url.path.strip("/").split("/")
        if request.url.host == "cdn.test":
            name = parts[-1]
            if name not in self.files:
                return httpx.Response(404)
            return httpx.Response(200, content=self.files[name])
        task_id = parts[3]
        if parts[-1] == "cancel":
            self.cancelled.append(task_id)
            self.scripts[task_id] = [status(task_id, "failed", err_code="UserCancelled", credits=0)]
            return httpx.Response(200, json={})
        script = self.scripts.get(task_id)
        if script is None:
            return httpx.Response(404, json={"code": 404, "reason": "TaskNotFound", "message": "no such task"})
        done = sum(1 for t, _ in self.queries if t == task_id)
        self.queries.append((task_id, self.time.now if self.time else 0.0))
        item = script[min(done, len(script) - 1)]
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, httpx.Response):
            return item
        if isinstance(item, str):
            item = status(task_id, item, wm=task_id.endswith("9"))
        return httpx.Response(200, json=item)

    def query_times(self, task_id: str) -> list[float]:
        return [t for i, t in self.queries if i == task_id]


def fake_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": "https://vidu.test",
        "poll_interval": 2.0,
        "poll_max_interval": 15.0,
        "poll_max_wait": 1800.0,
        "query_retries": 0,
        "data_dir": tmp / "data",
        **overrides,
    }
    return Settings.build(**values)


def fake_client(settings: Settings, service: FakeService, fake: FakeTime | None = None) -> ViduClient:
    fake = fake or FakeTime()
    return ViduClient(settings, transport=httpx.MockTransport(service), sleep=fake.sleep, clock=fake.clock)


def fake_async_client(settings: Settings, service: FakeService, fake: FakeTime | None = None) -> AsyncViduClient:
    """The follower's client on the same fake service (``httpx.MockTransport`` serves both kinds)."""
    fake = fake or FakeTime()

    async def sleep(seconds: float) -> None:
        fake.sleep(seconds)

    return AsyncViduClient(settings, transport=httpx.MockTransport(service), sleep=sleep, clock=fake.clock)


def data_uri(img_bytes: bytes, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64," + base64.b64encode(img_bytes).decode()


def frame_pair(seed: int = 0, size: tuple[int, int] = (320, 240)) -> tuple[bytes, bytes]:
    return (
        images.encode(images.photo(*size, seed=seed), "PNG"),
        images.encode(images.photo(*size, seed=seed + 100), "PNG"),
    )


def sim_body(start: bytes, end: bytes, prompt: str = "a fox runs", **extra: Any) -> dict[str, Any]:
    return {"model": "viduq1", "images": [data_uri(start), data_uri(end)], "prompt": prompt, **extra}


def sim_settings(sim: Simulator, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": sim.base_url,
        "poll_interval": 0.02,
        "poll_max_interval": 0.1,
        "poll_max_wait": 30.0,
        "data_dir": tmp / "data",
        **overrides,
    }
    return Settings.build(**values)


def mp4_ok(path: Path) -> bool:
    """Whether ``path`` is a complete, decodable video (PyAV, in a child so a bad file cannot hurt the tests)."""
    code = (
        "import av, sys\n"
        "with av.open(sys.argv[1]) as c:\n"
        "    n = sum(1 for _ in c.decode(video=0))\n"
        "sys.exit(0 if n > 0 else 1)\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=30).returncode == 0


class Rig:
    """A tracker on a fake service and a fake clock, driven by ``run`` (no threads, no real waiting)."""

    def __init__(self, tmp: Path, scripts: dict[str, list[Any]], **settings: Any) -> None:
        self.time = FakeTime()
        self.service = FakeService(scripts, self.time)
        self.settings = fake_settings(tmp, **settings)
        self.store = Store.open(self.settings)
        self.owners: list[KeyOwner] = []
        self.downloads: list[tuple[str, Path]] = []
        self.tracker = self.make_tracker()

    def make_tracker(self, **kw: Any) -> Tracker:
        return Tracker(
            self.settings,
            self.store,
            client_factory=self.client,
            async_client_factory=self.async_client,
            clock=self.time.clock,
            **kw,
        )

    def _settings_of(self, owner: KeyOwner) -> Settings:
        self.owners.append(owner)
        key = owner.api_key.get_secret_value() if owner.api_key is not None else self.settings.api_key
        return self.settings.with_key(key if isinstance(key, str) else KEY)

    def client(self, owner: KeyOwner) -> ViduClient:
        return fake_client(self._settings_of(owner), self.service, self.time)

    def async_client(self, owner: KeyOwner) -> AsyncViduClient:
        return fake_async_client(self._settings_of(owner), self.service, self.time)

    def record(self, task_id: str, *, key_kind: str = "server") -> None:
        self.store.record_submission(
            task_id=task_id,
            body={"model": "viduq1", "prompt": f"task {task_id}"},
            response={"task_id": task_id, "state": "created"},
            key_kind=key_kind,  # type: ignore[arg-type]
        )

    def run(self, tracker: Tracker | None = None, limit: int = 200) -> None:
        tracker = tracker or self.tracker
        for _ in range(limit):
            due = tracker.step()
            if due is None:
                return
            self.time.now = max(self.time.now, due)
        raise AssertionError("still following after many steps")

    def download_with(self, files: dict[str, bytes], fail: int = 0) -> functools.partial[Path]:
        """A downloader on the fake CDN whose first ``fail`` downloads break half way."""
        self.service.files = {name: MP4_HEAD + data for name, data in files.items()}
        failures = {"left": fail}

        def handler(request: httpx.Request) -> httpx.Response:
            self.downloads.append((str(request.url), Path()))
            if failures["left"] > 0:
                failures["left"] -= 1
                return httpx.Response(200, stream=_Broken())
            return self.service(request)

        return functools.partial(tracking.download, policy=cdn_policy(), transport=httpx.MockTransport(handler))


class _Broken(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield MP4_HEAD + b"partial" * 1000
        raise httpx.ReadError("reset")


REFUSAL_WAIT = 60.0
"""How long ``open_until_refused`` holds tasks open waiting for a refused create."""


@contextmanager
def open_until_refused(sim: Simulator) -> Iterator[None]:
    """Tasks created meanwhile stay open until the simulator has refused a create (429: its relay's ``max_open``
    reached), then each ends at once: a test of refused creates meets one whatever the machine's speed (with
    tasks ending on their own, a loaded machine could create each one only after the last had ended). Without a
    refusal within ``REFUSAL_WAIT`` seconds they end all the same, and the test's own assertions say what went
    wrong."""
    sim.process_seconds = 3600.0
    stop = threading.Event()
    give_up = time.monotonic() + REFUSAL_WAIT

    def finish() -> None:
        while not stop.wait(0.05):
            if time.monotonic() > give_up or any(r.call == "create" and r.status == 429 for r in sim.requests):
                for task in sim.store.all():
                    sim.finish(task.id)

    thread = threading.Thread(target=finish, name="finish-once-refused", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5.0)
