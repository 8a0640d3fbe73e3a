"""``store``: the history database: round trips, filters, order, permissions, thumbnails, no key ever stored."""

from __future__ import annotations

import io
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.tracking import data_uri, fake_settings, status
from vidu_ui import store as store_module
from vidu_ui.responses import CreatedTask, TaskStatus
from vidu_ui.store import DB_NAME, SCHEMA_VERSION, Store, StoreError, make_thumbnail

from . import images

CANARY = "sk-CANARY-never-stored-0451"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _body(prompt: str = "a fox runs", model: str = "viduq1", **extra: Any) -> dict[str, Any]:
    start = images.encode(images.photo(64, 48, seed=1), "PNG")
    return {"model": model, "images": [data_uri(start), "https://img.test/end.png"], "prompt": prompt, **extra}


def _record(db: Store, task_id: str, **kw: Any) -> None:
    body = kw.pop("body", None) or _body()
    response = kw.pop("response", None) or {
        "task_id": task_id,
        "state": "created",
        "credits": 80,
        "images": body["images"],
    }
    db.record_submission(task_id=task_id, body=body, response=response, **kw)


@pytest.fixture
def db(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / DB_NAME, clock=Clock())


def test_round_trip(db: Store) -> None:
    start = images.encode(images.photo(800, 600, seed=3), "JPEG", quality=95)
    end = images.encode(images.photo(800, 600, seed=4), "PNG")
    body = _body(
        prompt="a fox runs through snow", duration=5, seed=42, watermark=True, callback_url="https://x.test/cb"
    )
    db.record_submission(
        task_id="101",
        body=body,
        response={"task_id": "101", "state": "created", "credits": 80, "images": body["images"], "seed": 42},
        start_image=start,
        end_image=end,
        user="ana",
    )
    record = db.get("101")
    assert record is not None
    assert (record.task_id, record.user, record.model, record.prompt) == ("101", "ana", "viduq1", body["prompt"])
    assert record.options == {k: v for k, v in body.items() if k != "images"}
    assert record.create_response["seed"] == 42 and "images" not in record.create_response
    assert (record.state, record.credits, record.key_kind, record.finished) == ("created", 80, "server", False)
    assert record.start_thumbnail is not None and record.end_thumbnail is not None
    assert record.video_url is None and record.video_path is None and record.problem is None
    assert db.get("nope") is None

    version = record.version
    assert db.update_status("101", TaskStatus.from_json(status("101", "processing")), fetched_at=5.0)
    assert not db.update_status("101", TaskStatus.from_json(status("101", "processing")), fetched_at=6.0)
    assert db.version("101") == version + 1
    assert db.update_status("101", TaskStatus.from_json(status("101", "success", wm=True)), fetched_at=7.0)
    record = db.get("101")
    assert record is not None
    assert record.state == "success" and record.finished
    assert record.video_url == "https://cdn.test/101.mp4"
    assert record.cover_url == "https://cdn.test/101.jpg"
    assert record.watermarked_url == "https://cdn.test/101-wm.mp4"
    assert record.urls_fetched_at == 7.0
    assert record.urls_fresh(7.0 + 3600) and not record.urls_fresh(7.0 + 86400)
    # A late "processing" never replaces a final state.
    assert not db.update_status("101", TaskStatus.from_json(status("101", "processing")), fetched_at=8.0)
    assert db.get("101").state == "success"  # type: ignore[union-attr]

    db.set_video("101", "/videos/101.mp4")
    db.set_video("101", "/videos/101.wm.mp4", watermarked=True)
    db.set_problem("101", "something")
    record = db.get("101")
    assert record is not None
    assert (record.video_path, record.watermarked_path, record.problem) == (
        "/videos/101.mp4",
        "/videos/101.wm.mp4",
        "something",
    )
    assert record.summary()["video_path"] == "/videos/101.mp4"


def test_failed_state_keeps_reason_and_no_urls(db: Store) -> None:
    _record(db, "7")
    db.update_status("7", TaskStatus.from_json(status("7", "failed", err_code="CreationPolicyViolation", credits=0)))
    record = db.get("7")
    assert record is not None
    assert (record.state, record.err_code, record.credits, record.video_url) == (
        "failed",
        "CreationPolicyViolation",
        0,
        None,
    )
    assert db.unfinished() == []


def test_record_twice_keeps_the_first(db: Store) -> None:
    _record(db, "1", body=_body(prompt="first"))
    _record(db, "1", body=_body(prompt="second"))
    assert [r.prompt for r in db.list()] == ["first"]


def test_record_prepared_reads_a_prepared_request(db: Store) -> None:
    class _Frame:
        data = images.encode(images.photo(300, 200), "PNG")

    class _Request:
        start = _Frame()
        end = _Frame()

        def shortened_body(self) -> dict[str, Any]:
            return _body()

    created = CreatedTask.from_json({"task_id": "55", "state": "created", "credits": 10})
    db.record_prepared(_Request(), created, user="bo", key_kind="visitor")
    record = db.get("55")
    assert record is not None and record.user == "bo" and record.key_kind == "visitor" and record.credits == 10


def test_list_filters_and_newest_first(db: Store) -> None:
    _record(db, "1", body=_body(prompt="a cat sleeps"), user="ana")
    _record(db, "2", body=_body(prompt="a dog_runs 100%", model="viduq2"), user="bo")
    _record(db, "3", body=_body(prompt="A CAT jumps"), user="ana")
    _record(db, "4", body=_body(prompt="clouds"))
    db.update_status("3", TaskStatus.from_json(status("3", "success")))
    db.update_status("2", TaskStatus.from_json(status("2", "failed", err_code="X")))

    def ids(**kw: Any) -> list[str]:
        return [r.task_id for r in db.list(**kw)]

    assert ids() == ["4", "3", "2", "1"]
    assert ids(user="ana") == ["3", "1"]
    assert ids(user="ana", shared=True) == ["4", "3", "2", "1"]
    assert ids(state="success") == ["3"]
    assert ids(state="unfinished") == ["4", "1"]
    assert ids(text="cat") == ["3", "1"]  # case-insensitive
    assert ids(text="viduq2") == ["2"]
    assert ids(text="3") == ["3"]  # the task id
    assert ids(text="%") == ["2"]  # wildcards match literally
    assert ids(text="g_r") == ["2"]
    assert ids(user="ana", text="jumps", state="success") == ["3"]
    assert ids(limit=2) == ["4", "3"]
    assert [r.task_id for r in db.unfinished()] == ["1", "4"]  # oldest first: the order to resume
    assert [r.task_id for r in db.missing_videos()] == ["3"]


def test_permissions(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path)
    db = Store.open(settings)
    _record(db, "1")
    mode = stat.S_IMODE
    assert mode(settings.data_dir.stat().st_mode) == 0o700
    files = [p for p in settings.data_dir.iterdir() if p.name.startswith(DB_NAME)]
    assert {p.name for p in files} >= {DB_NAME, f"{DB_NAME}-wal"}
    for path in files:
        assert mode(path.stat().st_mode) == 0o600, path.name
    assert db.path == settings.data_dir / DB_NAME
    with sqlite3.connect(db.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_thumbnails_are_small_jpegs() -> None:
    big = images.encode(images.photo(1500, 1000, seed=5), "PNG")
    thumb = make_thumbnail(big)
    assert thumb is not None and thumb[:3] == b"\xff\xd8\xff"
    assert len(thumb) < 40_000 < len(big)
    with Image.open(io.BytesIO(thumb)) as img:
        assert max(img.size) <= 256 and img.size == (256, 171)
    rgba = images.encode(images.photo(500, 400, mode="RGBA"), "WEBP")
    assert make_thumbnail(rgba) is not None
    assert make_thumbnail(b"not an image") is None
    assert make_thumbnail(None) is None


def _save_v(url: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"v")
    return dest


def test_api_key_is_never_stored(tmp_path: Path) -> None:
    from tests.support.tracking import FakeService, FakeTime, fake_client
    from vidu_ui.tracker import KeyOwner, Tracker

    settings = fake_settings(tmp_path, api_key=CANARY)
    db = Store.open(settings)
    fake = FakeTime()
    service = FakeService({"1": ["processing", "success"], "2": ["processing", "failed"]}, fake)
    service.files = {"1.mp4": b"video"}

    class _Frame:
        data = images.encode(images.photo(300, 200), "PNG")

    class _Request:
        start = _Frame()
        end = _Frame()

        def shortened_body(self) -> dict[str, Any]:
            return _body(prompt="canary test")

    tracker = Tracker(
        settings,
        db,
        client_factory=lambda owner: fake_client(
            settings.with_key(owner.api_key.get_secret_value() if owner.api_key else CANARY), service, fake
        ),
        clock=fake.clock,
        downloader=_save_v,
    )
    tracker.add(_Request(), CreatedTask.from_json({"task_id": "1"}))
    tracker.add(_Request(), CreatedTask.from_json({"task_id": "2"}), KeyOwner.visitor(CANARY + "-visitor"))
    while (due := tracker.step()) is not None:
        fake.now = max(fake.now, due)
    assert any(CANARY in k for k in service.keys)  # the key was used…
    db.close()
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path  # …and never written anywhere


def test_threads_share_a_store(db: Store) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                task_id = str(n * 100 + i)
                _record(db, task_id)
                db.update_status(task_id, TaskStatus.from_json(status(task_id, "processing")))
                db.list(limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(db.list(limit=1000)) == 160


def test_schema_version_and_migration_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

    def add_column(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE tasks ADD COLUMN rating INTEGER")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, add_column])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    Store(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert "rating" in [row[1] for row in raw.execute("PRAGMA table_info(tasks)")]
    monkeypatch.undo()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_history_command(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from vidu_ui.cli import app

    env = {"VIDU_UI_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    empty = runner.invoke(app, ["history", "--json"], env=env)
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []
    db = Store.open(fake_settings(tmp_path))
    _record(db, "1", body=_body(prompt="a cat sleeps"))
    _record(db, "2", body=_body(prompt="a dog runs " * 20))
    db.update_status("1", TaskStatus.from_json(status("1", "success")))
    db.set_video("1", "/v/1.mp4")
    rows = json.loads(runner.invoke(app, ["history", "--json"], env=env).stdout)
    assert [r["task_id"] for r in rows] == ["2", "1"]
    assert rows[1] == {**db.get("1").summary(), "credits": 80}  # type: ignore[union-attr]
    assert len(rows[0]["prompt"]) == 60 and rows[0]["prompt"].endswith("…")
    table = runner.invoke(app, ["history", "--state", "success", "--search", "cat", "--limit", "5"], env=env)
    assert table.exit_code == 0
    assert "a cat sleeps" in table.stdout and "video: /v/1.mp4" in table.stdout and "dog" not in table.stdout
    assert runner.invoke(app, ["history", "--state", "done"], env=env).exit_code == 2
