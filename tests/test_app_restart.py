"""``python app.py`` stopped in the middle of a task (SIGTERM, as a container stop sends, or SIGKILL) and started
again on the same data folder: the tasks it was following complete in the history, their videos saved and playable.

The service is the simulator in this process, so it lives on while the app restarts. The two stopped apps are real
child processes launched exactly as in production (two replicas on one data folder, started at once), driven
through ``gradio_client``; the restart is ``app.build_app`` launched in this process on the same data folder.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import app
from tests.images import photo, write
from tests.support.apps import app_environment, app_up, generate, launched, spawn_app, stop_app
from tests.support.tracking import mp4_ok
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.store import Store, TaskRecord
from vidu_ui.tracker import Tracker

KEY = "sk-CANARY-restart"
POLL = {"poll_interval": 0.2, "poll_max_interval": 0.5}
LEASE_SECONDS = 3.0
"""The children's lease: a task the killed app held in a query changes hands within seconds, not 30."""

# The task stays in processing until the test ends it (``Simulator.finish``): the stop always lands mid-task.
pytestmark = pytest.mark.simulator(api_key=KEY, queue_seconds=0.1, process_seconds=3600)


def saved(settings: Settings, store: Store, task_id: str, timeout: float = 120) -> TaskRecord:
    """The task's record once it succeeded with its video saved (``wait_for_change``: woken by the writes)."""
    watcher = Tracker(settings, store)
    record = store.get(task_id)
    while record is not None and not (record.state == "success" and record.video_path):
        changed = watcher.wait_for_change(task_id, record.version, timeout)
        if changed is None:
            raise AssertionError(f"task {task_id}: {record}")
        record = changed
    assert record is not None
    return record


@pytest.mark.timeout(600)  # two app processes: on a loaded machine each can take a minute to start
def test_tasks_left_running_complete_after_a_sigterm_and_after_a_sigkill(sim: Simulator, tmp_path: Path) -> None:
    """Two runs of ``app.py`` on one data folder, started together, each given a task: one is stopped (SIGTERM)
    and the other killed (SIGKILL) while their tasks process; the app started again completes both."""
    data_dir, log = tmp_path / "data", tmp_path / "app.log"
    start = write(tmp_path / "start.png", photo(480, 270, 51), "PNG")
    end = write(tmp_path / "end.png", photo(480, 270, 52), "PNG")
    settings = Settings.build(api_key=KEY, base_url=sim.base_url, data_dir=data_dir, **POLL)
    store = Store.open(settings)  # the history exists before the two apps open it at once
    env = app_environment(
        sim.base_url,
        KEY,
        data_dir,
        VIDU_POLL_INTERVAL=str(POLL["poll_interval"]),
        VIDU_POLL_MAX_INTERVAL=str(POLL["poll_max_interval"]),
        VIDU_UI_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    try:
        apps = [spawn_app(env, log) for _ in ("termed", "killed")]
        try:
            for process, url in apps:
                assert app_up(process, url), log.read_text()
            (termed_app, termed_url), (killed_app, killed_url) = apps
            termed = generate(termed_url, start, end, "Clouds roll over the ridge")
            killed = generate(killed_url, start, end, "Rain sweeps across the bay")
            assert stop_app(termed_app, signal.SIGTERM) == 0, log.read_text()
            assert stop_app(killed_app, signal.SIGKILL) == -signal.SIGKILL
        finally:
            for process, _ in apps:
                stop_app(process, signal.SIGKILL)
        for task_id in (termed, killed):
            left = store.get(task_id)
            assert left is not None and not left.finished and left.video_path is None  # stopped mid-task

        with launched(lambda _port: app.build_app(settings)):  # started again: it resumes what was left
            assert sim.finish(termed) and sim.finish(killed)
            records = [saved(settings, store, task_id) for task_id in (termed, killed)]
    finally:
        store.close()
    for task_id, record in zip((termed, killed), records, strict=True):
        assert record.video_path == str(data_dir / "videos" / f"{task_id}.mp4")
        assert mp4_ok(Path(record.video_path))
    assert not list((data_dir / "videos").glob("*.part"))
    assert KEY not in log.read_text()
