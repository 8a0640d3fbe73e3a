"""Real processes on one PostgreSQL history (the issue's "done when", in part): ``python app.py`` and ``python -m
vidu_ui submit`` killed mid-create, then ``reconcile``; ``python -m vidu_ui worker`` following alone. The
simulator runs in this process, PostgreSQL is started by the tests (``tests/servers.py``). Slow: minutes on a
loaded machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from tests.images import photo, write
from tests.support.apps import arguments, os_port
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

KEY = "sk-CANARY-replicas"
ROOT = Path(__file__).resolve().parents[1]
POLL = 0.3


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(KEY, queue_seconds=0.5, process_seconds=3.0) as simulator:
        yield simulator


def environment(sim: Simulator, database: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "VIDU_API_KEY": KEY,
        "VIDU_BASE_URL": sim.base_url,
        "VIDU_UI_DATA_DIR": str(data_dir),
        "VIDU_UI_DATABASE_URL": database,
        "VIDU_POLL_INTERVAL": str(POLL),
        "VIDU_POLL_MAX_INTERVAL": str(POLL),
        "VIDU_UI_LEASE_SECONDS": "2",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("VIDU_DEMO", "VIDU_UI_PUBLIC_URL", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH"):
        env.pop(name, None)
    return env


def start_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
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
    deadline = time.monotonic() + 300  # a loaded machine builds a Gradio app slowly
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the app did not start:\n" + log.read_text())


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def generate(url: str, start: Path, end: Path, prompt: str) -> str:
    client = Client(f"{url}/", verbose=False)
    try:
        return str(client.predict(**arguments(start, end, prompt=prompt), api_name="/generate")[0])
    finally:
        client.close()


def cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vidu_ui", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def until(condition: Any, timeout: float, store: Store, what: str) -> None:
    """Wait for ``condition()`` on the store's change event (PostgreSQL NOTIFY), looking at least every second."""
    changed = threading.Event()
    store.on_change(lambda _ref: changed.set())
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        changed.wait(1.0)
        changed.clear()


def test_killed_mid_create_every_billed_task_is_found_none_invented(
    sim: Simulator,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    start = write(tmp_path / "start.png", photo(480, 270, 71), "PNG")
    end = write(tmp_path / "end.png", photo(480, 270, 72), "PNG")
    env = environment(sim, postgres_url, tmp_path / "app", VIDU_DEADLINE="4", VIDU_UI_SETTLE_SECONDS="1")
    log = tmp_path / "app.log"
    app_process, url = start_app(env, log)
    store = Store.open(Settings.build(database_url=postgres_url, data_dir=tmp_path / "reader"))
    sim.inject(Fault(call="create", delay=120, times=2))  # made and billed; the answer never comes in time
    try:
        threading.Thread(target=lambda: _ignore(generate, url, start, end, "the app's"), daemon=True).start()
        billed_cli = cli(["submit", str(start), str(end), "-p", "the CLI's"], env)

        def arrived(n: int) -> bool:
            return sum(r.call == "create" for r in sim.requests) >= n

        until(lambda: sim.create_count == 2, 300, store, "both creates to reach the service")
        sim.inject(Fault(call="create", action="hang"))  # reaches the service, never carried out
        unbilled_cli = cli(["submit", str(start), str(end), "-p", "never made"], env)
        until(lambda: arrived(3), 120, store, "the third create to arrive")
        for process in (app_process, billed_cli, unbilled_cli):
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    finally:
        stop(app_process)
    # Each create was written before it left; the app's own reconciliation may already have found the billed ones.
    written = store.list(unsent=True, limit=100)
    assert len(written) == 3 and [r.state for r in written if not r.task_id] in (["sending"], ["sending"] * 3)

    def reconciled() -> bool:
        result = subprocess.run([sys.executable, "-m", "vidu_ui", "reconcile"], cwd=ROOT, env=env, capture_output=True)
        return result.returncode == 0

    until(reconciled, 300, store, "reconcile to settle everything")
    billed = {t.id for t in sim.store.all()}
    assert len(billed) == 2
    records = store.list(unsent=True, limit=100)
    assert {r.task_id for r in records if r.task_id} == billed  # every billed task, and no other
    [unmade] = [r for r in records if not r.task_id]
    assert unmade.state == "not_created" and unmade.prompt == "never made"
    assert {r.prompt for r in records if r.task_id} == {"the app's", "the CLI's"}
    store.close()


def _ignore(function: Any, *args: Any) -> None:
    try:
        function(*args)
    except Exception:  # the app is killed under it: the answer is not the point
        return


def test_the_worker_follows_alone_and_stops_on_sigterm(
    sim: Simulator,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    """``python -m vidu_ui worker`` with the app's follower off: a task created elsewhere is followed to its video."""
    env = environment(sim, postgres_url, tmp_path / "worker")
    store = Store.open(Settings.build(database_url=postgres_url, data_dir=tmp_path / "reader"))
    start = write(tmp_path / "start.png", photo(320, 180, 81), "PNG")
    end = write(tmp_path / "end.png", photo(320, 180, 82), "PNG")
    submitted = cli(["submit", str(start), str(end), "-p", "for the worker"], env)
    out, err = submitted.communicate(timeout=300)
    assert submitted.returncode == 0, err
    task_id = json.loads(out)["task_id"]
    worker = cli(["worker"], env)
    try:

        def saved() -> bool:
            record = store.get(task_id)
            return record is not None and record.state == "success" and record.video_path is not None

        until(saved, 300, store, "the worker to follow the task to its video")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    assert KEY not in err
    store.close()
