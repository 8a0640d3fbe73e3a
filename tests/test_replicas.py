"""Real processes on one PostgreSQL history (the issue's "done when", in part): ``python app.py`` and ``python -m
vidu_ui submit`` killed mid-create, then ``reconcile``; ``python -m vidu_ui worker`` following alone. The
simulator runs in this process, PostgreSQL is started by the tests (``tests/servers.py``). Slow: minutes on a
loaded machine."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
import sqlalchemy as sa

from tests.images import photo, write
from tests.support.apps import app_environment, app_up, generate, spawn_app, start_app, stop_app
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.store import Store, tasks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

KEY = "sk-CANARY-replicas"
ROOT = Path(__file__).resolve().parents[1]
POLL = 0.3


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(KEY, queue_seconds=0.5, process_seconds=3.0) as simulator:
        yield simulator


def environment(sim: Simulator, database: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """``app.py``'s environment for one replica: 2 s leases unless ``extra`` says otherwise."""
    settings = {
        "VIDU_UI_DATABASE_URL": database,
        "VIDU_POLL_INTERVAL": str(POLL),
        "VIDU_POLL_MAX_INTERVAL": str(POLL),
        "VIDU_UI_LEASE_SECONDS": "2",
    }
    return app_environment(sim.base_url, KEY, data_dir, **{**settings, **extra})


def wait_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until the app answers ``/healthz`` (bounded: a loaded machine builds a Gradio app slowly)."""
    if not app_up(process, url):
        process.kill()
        raise AssertionError("the app did not start:\n" + log.read_text())


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_app(process, signal.SIGTERM, timeout=30)


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
    # Each create was written before it left. A create may have passed its 4 s deadline before the kill (a loaded
    # machine starts the third process slowly): its record then says "unknown"; the app's own reconciliation may
    # already have found the billed ones. Either way nothing is lost: reconcile below settles every one.
    written = store.list(unsent=True, limit=100)
    assert len(written) == 3
    assert {r.state for r in written if not r.task_id} <= {"sending", "unknown"}

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


# --- three replicas, one PostgreSQL, one bucket ------------------------------------------------------------------

REPLICAS = 3
PER_REPLICA = 2
BY_CLI = 2
LEASE = 5.0
"""The lease in the three-replica test: long enough for a renewal to land on a loaded machine."""


def query_times(sim: Simulator) -> dict[str, list[float]]:
    """When each task was queried, from the simulator's request log (every follower's queries, oldest first)."""
    pattern = re.compile(re.escape(sim.paths.query).replace(re.escape("{task_id}"), "(?P<task_id>[^/]+)") + "$")
    times: dict[str, list[float]] = {}
    for record in sim.requests:
        match = pattern.match(record.path) if record.call == "query" else None
        if match:
            times.setdefault(unquote(match["task_id"]), []).append(record.time)
    return times


def lease(store: Store, task_id: str) -> tuple[str | None, float | None]:
    """Who holds the task's lease, and until when (Unix time, the follower's clock: this machine's)."""
    with store.read() as conn:
        row = conn.execute(sa.select(tasks.c.lease_owner, tasks.c.lease_until).where(tasks.c.task_id == task_id)).one()
    return row.lease_owner, row.lease_until


def test_three_replicas_one_killed_mid_follow_every_task_followed_once_and_stored_once(
    tmp_path: Path,
    postgres_url: str,
    s3_endpoint: str,
) -> None:
    """Three ``python app.py`` on one PostgreSQL and one bucket (moto), tasks made through each and through the
    CLI; the replica holding a task in the middle of a query is killed with SIGKILL. Every task is followed to
    success, recorded once, its video written once (one object version in a versioned bucket), and no task is
    queried by two followers in the same interval (the log's gaps between one task's queries are never shorter
    than the poll interval; the killed replica's task is queried again only after the lease it held lapsed)."""
    # Tasks stay processing until the test finishes them (``Simulator.finish``): the follow is as long as needed.
    with Simulator(KEY, queue_seconds=0.2, process_seconds=3600) as sim:
        _three_replicas(sim, tmp_path, postgres_url, s3_endpoint)


def _three_replicas(sim: Simulator, tmp_path: Path, postgres_url: str, s3_endpoint: str) -> None:
    aws = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test-access",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    bucket = f"team-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-access",
        aws_secret_access_key="test-secret",
    )
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})  # a second write shows
    start = write(tmp_path / "start.png", photo(320, 180, 91), "PNG")
    end = write(tmp_path / "end.png", photo(320, 180, 92), "PNG")
    common = {**aws, "VIDU_UI_STORAGE_URL": f"s3://{bucket}/videos", "VIDU_UI_LEASE_SECONDS": str(LEASE)}
    envs = [environment(sim, postgres_url, tmp_path / f"replica{i}", **common) for i in range(REPLICAS)]
    logs = [tmp_path / f"replica{i}.log" for i in range(REPLICAS)]
    replicas = [spawn_app(env, log) for env, log in zip(envs, logs, strict=True)]
    store = Store.open(Settings.build(database_url=postgres_url, data_dir=tmp_path / "reader"))
    try:
        # The CLI's creates go while the replicas start; then each replica's, all at once.
        submits = [cli(["submit", str(start), str(end), "-p", f"CLI task {n}"], envs[n]) for n in range(BY_CLI)]
        for (process, url), log in zip(replicas, logs, strict=True):
            wait_up(process, url, log)
        made: dict[str, str] = {}  # task id → who made it
        with ThreadPoolExecutor(REPLICAS * PER_REPLICA) as pool:
            pages = {
                pool.submit(generate, url, start, end, f"replica {i} task {n}"): f"replica {i}"
                for i, (_, url) in enumerate(replicas)
                for n in range(PER_REPLICA)
            }
            made.update({future.result(): who for future, who in pages.items()})
        for submitted in submits:
            out, err = submitted.communicate(timeout=300)
            assert submitted.returncode == 0, err
            made[json.loads(out)["task_id"]] = "CLI"
        assert len(made) == REPLICAS * PER_REPLICA + BY_CLI and set(made) == {t.id for t in sim.store.all()}

        until(lambda: set(query_times(sim)) >= set(made), 300, store, "every task to be followed")
        sim.inject(Fault(call="query", action="hang"))  # whoever queries next holds that task, mid-query

        def hung() -> str | None:
            for record in sim.requests:
                if record.call == "query" and record.fault:
                    return unquote(record.path.rsplit("/", 2)[-2])
            return None

        until(lambda: hung() is not None, 120, store, "a follower to be caught mid-query")
        held = hung()
        assert held is not None
        owner, until_at_least = lease(store, held)  # a renewal before the kill only moves it later
        assert owner is not None and until_at_least is not None, "the task in a query has no lease"
        pids = {process.pid: i for i, (process, _) in enumerate(replicas)}
        victim = pids[int(owner.split(":")[1])]  # follower ids are host:pid:random
        replicas[victim][0].send_signal(signal.SIGKILL)
        replicas[victim][0].wait(30)
        killed_at = time.time()

        def finished() -> bool:
            for task in sim.store.all():
                sim.finish(task.id)  # a task still queued is let through the next time round
            records = [store.get(task_id) for task_id in made]
            return all(r is not None and r.state == "success" and r.video_path for r in records)

        until(finished, 300, store, "every task followed to success and its video saved")
    finally:
        for process, _ in replicas:
            stop(process)
        logs_text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert KEY not in logs_text

    # Recorded once: one row per billed task, nothing else.
    rows = store.list(unsent=True, limit=1000)
    assert sorted(r.task_id or "" for r in rows) == sorted(made)
    # Stored once: one object and one version per task, where the history says.
    versions = s3.list_object_versions(Bucket=bucket, Prefix="videos/").get("Versions", [])
    keys = [v["Key"] for v in versions]
    videos = sorted(key for key in keys if key.endswith(".mp4"))
    covers = sorted(key for key in keys if key.endswith(".cover.jpg"))
    assert len(keys) == len(videos) + len(covers)  # one version of each object, nothing else
    assert videos == sorted(f"videos/{task_id}.mp4" for task_id in made)
    assert covers == sorted(f"videos/{task_id}.cover.jpg" for task_id in made)  # kept beside its video
    assert {r.video_path for r in rows} == {f"s3://{bucket}/{key}" for key in videos}
    assert {r.cover_path for r in rows} == {f"s3://{bucket}/{key}" for key in covers}
    # Followed by one follower at a time: a task's queries are at least the poll interval apart, and the task
    # the killed replica held is queried again only after its lease lapsed.
    times = query_times(sim)
    for task_id, queried in times.items():
        gaps = [b - a for a, b in itertools.pairwise(queried)]
        assert min(gaps, default=POLL) >= POLL, (made[task_id], task_id, gaps)
    after_hang = [t for t in times[held] if t > killed_at]
    assert after_hang, "the killed replica's task was not taken over"
    assert after_hang[0] >= until_at_least  # taken over only once the dead follower's lease lapsed
    store.close()
