"""``tracking``: the polling policy (backoff, maximum wait, transient faults), atomic downloads, stale ``.part`` files.

Also home of the helpers the tracker, store, callback and restart tests share: a fake clock, a scripted fake
service on ``httpx.MockTransport``, and create bodies for the simulator drawn with ``tests/images.py``.
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.fakes import MP4_HEAD, FakeTime, cdn_policy
from vidu_ui import tracking
from vidu_ui.client import ViduClient
from vidu_ui.downloads import DownloadPolicy, DownloadRefused
from vidu_ui.errors import AuthenticationError, ViduError
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator

from . import images

KEY = "sk-TEST-key"


# --- shared helpers --------------------------------------------------------------------------------------------


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


def data_uri(img_bytes: bytes, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64," + base64.b64encode(img_bytes).decode()


def frame_pair(seed: int = 0, size: tuple[int, int] = (320, 240)) -> tuple[bytes, bytes]:
    return (
        images.encode(images.photo(*size, seed=seed), "PNG"),
        images.encode(images.photo(*size, seed=seed + 100), "PNG"),
    )


def sim_body(start: bytes, end: bytes, prompt: str = "a fox runs", **extra: Any) -> dict[str, Any]:
    return {"model": "viduq1", "images": [data_uri(start), data_uri(end)], "prompt": prompt, **extra}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(KEY, queue_seconds=0.05, process_seconds=0.2) as simulator:
        yield simulator


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


# --- the polling policy ----------------------------------------------------------------------------------------


def test_intervals_grow_by_half_up_to_the_cap(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, poll_interval=2, poll_max_interval=7)
    waits = tracking.intervals(settings)
    assert [next(waits) for _ in range(6)] == [2, 3, 4.5, 6.75, 7, 7]


def test_follow_yields_each_state_and_waits_with_backoff(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    service = FakeService({"1": ["created", "queueing", "processing", "processing", "processing", "success"]}, fake)
    client = fake_client(settings, service, fake)
    states = [s.state for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock)]
    assert states == ["created", "queueing", "processing", "processing", "processing", "success"]
    assert fake.sleeps == [2.0, 3.0, 4.5, 6.75, 10.125]
    times = service.query_times("1")
    assert [b - a for a, b in itertools.pairwise(times)] == fake.sleeps


def test_follow_stops_at_the_maximum_wait(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, poll_max_wait=20)
    fake = FakeTime()
    client = fake_client(settings, FakeService({"1": ["processing"]}, fake), fake)
    seen: list[str] = []
    with pytest.raises(tracking.WaitTimeout) as info:
        for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock):
            seen.append(s.state)
    assert sum(fake.sleeps) == pytest.approx(20)  # the last wait is cut to end exactly at the limit
    assert fake.sleeps[-1] == pytest.approx(20 - 2 - 3 - 4.5 - 6.75)
    assert info.value.last is not None and info.value.last.state == "processing"
    assert "still processing" in str(info.value)
    assert len(seen) == len(fake.sleeps) + 1


def test_follow_survives_transient_faults(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    script: list[Any] = [
        "created",
        httpx.Response(500, json={"code": 500, "reason": "InternalServiceFailure", "message": "x"}),
        httpx.ConnectError("refused"),
        httpx.Response(429, json={"code": 429, "reason": "TooManyRequests", "message": "x"}),
        httpx.Response(502, text="<html>bad gateway</html>"),
        "success",
    ]
    client = fake_client(settings, FakeService({"1": script}, fake), fake)
    states = [s.state for s in tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock)]
    assert states == ["created", "success"]
    assert len(fake.sleeps) == 5


def test_follow_stops_at_once_on_a_refusal(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    fake = FakeTime()
    refused = httpx.Response(401, json={"code": 401, "reason": "Unauthorized", "message": "bad key"})
    client = fake_client(settings, FakeService({"1": ["created", refused]}, fake), fake)
    with pytest.raises(AuthenticationError):
        list(tracking.follow(client, "1", settings, sleep=fake.sleep, clock=fake.clock))
    assert fake.sleeps == [2.0]


def test_policy_is_usable_without_waiting(tmp_path: Path) -> None:
    policy = tracking.PollPolicy("1", fake_settings(tmp_path, poll_max_wait=5), started=100.0)
    assert policy.next_wait(100.0) == 2.0
    assert policy.next_wait(102.0) == 3.0
    assert policy.next_wait(104.0) == 1.0  # cut to the limit
    with pytest.raises(tracking.WaitTimeout):
        policy.next_wait(105.0)
    with pytest.raises(ViduError):
        policy.failed(ViduError("not transient"))


# --- against the simulator -------------------------------------------------------------------------------------


def _create(sim: Simulator, settings: Settings, **extra: Any) -> str:
    with ViduClient(settings) as client:
        return client.create(orjson.dumps(sim_body(*frame_pair(), **extra))).task_id


def test_simulated_task_runs_to_success(sim: Simulator, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    task_id = _create(sim, settings)
    with ViduClient(settings) as client:
        statuses = list(tracking.follow(client, task_id, settings))
    states = [s.state for s in statuses]
    assert states[-1] == "success"
    order = ["created", "queueing", "processing", "success"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    url = statuses[-1].video_url
    assert url is not None
    path = tracking.download(url, tmp_path / "out" / f"{task_id}.mp4", DownloadPolicy.for_settings(settings))
    assert mp4_ok(path)


def test_simulated_failure_reason(sim: Simulator, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    sim.fail_next("CreationPolicyViolation")
    task_id = _create(sim, settings)
    with ViduClient(settings) as client:
        last = list(tracking.follow(client, task_id, settings))[-1]
    assert last.state == "failed"
    assert last.err_code == "CreationPolicyViolation"
    assert last.video_url is None


def test_simulated_cancel(tmp_path: Path) -> None:
    with Simulator(KEY, queue_seconds=5, process_seconds=5) as slow:
        settings = sim_settings(slow, tmp_path)
        task_id = _create(slow, settings)
        with ViduClient(settings) as client:
            client.cancel(task_id)
            last = list(tracking.follow(client, task_id, settings))[-1]
    assert (last.state, last.err_code) == ("failed", "UserCancelled")


# --- downloads -------------------------------------------------------------------------------------------------


class _Broken(httpx.SyncByteStream):
    """Some bytes, then the connection drops."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"\x00\x00\x00\x18ftypmp42" + b"x" * 50_000
        raise httpx.ReadError("connection reset")


def _transport(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def test_download_is_atomic(tmp_path: Path) -> None:
    dest = tmp_path / "videos" / "1.mp4"
    broken = _transport(lambda r: httpx.Response(200, stream=_Broken()))
    with pytest.raises(httpx.ReadError):
        tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=broken)
    assert list(dest.parent.iterdir()) == []  # no partial file, under any name

    whole = _transport(lambda r: httpx.Response(200, content=MP4_HEAD + b"A"))
    tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=whole)
    with pytest.raises(httpx.ReadError):  # a failed second download leaves the first one whole
        tracking.download("https://cdn.test/1.mp4", dest, cdn_policy(), transport=broken)
    assert dest.read_bytes() == MP4_HEAD + b"A"
    assert [p.name for p in dest.parent.iterdir()] == ["1.mp4"]

    with pytest.raises(DownloadRefused):
        tracking.download(
            "https://cdn.test/1.mp4", dest, cdn_policy(), transport=_transport(lambda r: httpx.Response(403))
        )
    assert dest.read_bytes() == MP4_HEAD + b"A"


def test_clean_partials_removes_only_dead_processes_files(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    folder = tmp_path / "videos"
    folder.mkdir()
    mine = folder / f".1.mp4.{os.getpid()}.abc_12.part"
    stale = folder / f".2.mp4.{dead_pid}.xyz.part"
    unnamed = folder / ".3.mp4.q.part"
    video = folder / "4.mp4"
    for path in (mine, stale, unnamed, video):
        path.write_bytes(b"x")
    removed = tracking.clean_partials(folder)
    assert sorted(removed) == sorted([stale, unnamed])
    assert mine.exists() and video.exists()
    assert tracking.clean_partials(tmp_path / "missing") == []


def test_polling_is_sparser_when_callbacks_reach_the_app() -> None:
    plain = Settings.build(poll_interval=2)
    with_callbacks = Settings.build(poll_interval=2, public_url="https://studio.example.com")
    assert max(itertools.islice(tracking.intervals(plain), 30)) == 15
    assert max(itertools.islice(tracking.intervals(with_callbacks, callbacks=True), 30)) == 60
    assert max(itertools.islice(tracking.intervals(Settings.build(poll_max_interval=5), callbacks=True), 30)) == 5
