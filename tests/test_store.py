"""``store``: the history database: round trips, filters, order, permissions, thumbnails, no key ever stored. The
tests on ``db`` run on SQLite and on a real PostgreSQL server (``test_store_pg`` has what only a server has)."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

import vidu_ui.store
from tests.support.tracking import data_uri, fake_settings, status
from vidu_ui import frames
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


class _Frame:
    """A checked frame as ``prepare`` leaves it, without the check's thumbnail: the store makes one."""

    data = images.encode(images.photo(300, 200), "PNG")
    thumbnail = None


class _Prepared:
    """A prepared request as the store and the tracker read it: its two frames and its body as recorded."""

    start = _Frame()
    end = _Frame()

    def __init__(self, prompt: str = "a fox runs") -> None:
        self.prompt = prompt

    def shortened_body(self) -> dict[str, Any]:
        return _body(prompt=self.prompt)


def _record(db: Store, task_id: str, **kw: Any) -> None:
    body = kw.pop("body", None) or _body()
    response = kw.pop("response", None) or {
        "task_id": task_id,
        "state": "created",
        "credits": 80,
        "images": body["images"],
    }
    db.record_submission(task_id=task_id, body=body, response=response, **kw)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The history on each engine: a SQLite file, and a fresh database on the session's PostgreSQL server."""
    if request.param == "postgresql":
        store = Store(request.getfixturevalue("postgres_url"), clock=Clock())
    else:
        store = Store(tmp_path / "data" / DB_NAME, clock=Clock())
    yield store
    store.close()


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


def test_a_batch_of_answers_is_written_as_the_same_answers_one_by_one(db: Store) -> None:
    """``Changes.statuses`` (the follower's commit: one read, one ``executemany``) leaves every row as
    ``update_status`` called for each answer in turn does: a late unfinished answer never replaces a final state,
    the URLs of the last answer that had them are kept, the version moves only on a change, a task answered
    twice in the batch ends as its last answer says, an unknown task is passed over."""
    answers = [
        ("1", status("1", "processing")),
        ("2", status("2", "success", wm=True)),
        ("1", status("1", "processing")),  # the same again: no change
        ("3", status("3", "processing")),  # after its success below: ignored
        ("4", status("4", "success")),
        ("4", status("4", "queueing")),  # overtaken in the same batch: ignored
        ("5", status("5", "failed", err_code="CreationPolicyViolation", credits=0)),
        ("6", status("6", "queueing")),
        ("6", status("6", "success")),  # answered twice: the last wins
        ("999", status("999", "success")),  # no such row
    ]
    for prefix in ("a", "b"):
        for n in range(1, 7):
            db.record_submission(
                task_id=f"{prefix}{n}", body=_body(), response={"task_id": f"{prefix}{n}", "state": "created"}
            )
        db.update_status(f"{prefix}3", TaskStatus.from_json(status(f"{prefix}3", "success")), fetched_at=1.0)

    def renamed(prefix: str, task_id: str, answer: dict[str, Any]) -> tuple[str, TaskStatus]:
        return prefix + task_id, TaskStatus.from_json({**answer, "id": prefix + task_id})

    with db.changes() as changes:
        changes.statuses([renamed("a", task_id, answer) for task_id, answer in answers], fetched_at=9.0)
        batch_refs = list(changes.refs)
    one_by_one = [
        db.get("b" + task_id).ref  # type: ignore[union-attr]
        for task_id, answer in answers
        if db.update_status(*renamed("b", task_id, answer), fetched_at=9.0)
    ]

    def kept(record: Any) -> tuple[Any, ...]:
        return (
            record.state,
            record.err_code,
            record.credits,
            record.video_url and record.video_url.replace(record.task_id, "#"),
            record.watermarked_url and record.watermarked_url.replace(record.task_id, "#"),
            record.urls_fetched_at,
            record.version,
            json.dumps(record.last_status).replace(record.task_id, "#"),
        )

    for n in range(1, 7):
        batch, alone = db.get(f"a{n}"), db.get(f"b{n}")
        assert batch is not None and alone is not None
        assert kept(batch) == kept(alone), n
    assert [db.get(f"a{n}").state for n in range(1, 7)] == [  # type: ignore[union-attr]
        "processing",
        "success",
        "success",
        "success",
        "failed",
        "success",
    ]
    fresh = db.version("a1") - 1  # recorded, then one change
    assert [db.version(f"a{n}") - fresh for n in range(1, 7)] == [1, 1, 1, 1, 1, 2]
    number = {db.get(prefix + str(n)).ref: n for prefix in "ab" for n in range(1, 7)}  # type: ignore[union-attr]
    assert [number[ref] for ref in batch_refs] == [number[ref] for ref in one_by_one] == [1, 2, 4, 5, 6, 6]
    assert db.get("a999") is None and db.get("999") is None


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
    created = CreatedTask.from_json({"task_id": "55", "state": "created", "credits": 10})
    db.record_prepared(_Prepared(), created, user="bo", key_kind="visitor")
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


def test_the_history_queries_read_through_their_indexes(db: Store) -> None:
    """The History tab's filters, its text search and what a starting app reads use the indexes of revision
    0005 (SQLite says which index serves a query; on PostgreSQL the indexes exist and the answers are right)."""
    _record(db, "1", body=_body(prompt="a heron at dawn"))
    _record(db, "2", body=_body(prompt="a fox"))
    _record(db, "3", body=_body(prompt="HERON in rain"))
    db.update_status("2", TaskStatus.from_json(status("2", "success")))
    assert [r.task_id for r in db.list(state="unfinished")] == ["3", "1"]
    assert [r.task_id for r in db.list(text="heron")] == ["3", "1"]
    assert [r.task_id for r in db.unfinished()] == ["1", "3"]
    assert [r.task_id for r in db.missing_videos()] == ["2"]
    with db.read() as conn:
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("tasks")}
    assert {"tasks_unfinished", "tasks_missing_video", "tasks_newest", "tasks_state_created"} <= indexes
    if db.dialect != "sqlite":
        return
    captured: list[str] = []

    def capture(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.startswith("SELECT"):
            captured.append(sql)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    db.list(state="unfinished")
    db.list(text="heron")  # two statements: how many rows hold it (few), then those rows from the trigram index
    db.list()
    db.unfinished()
    db.missing_videos()
    db.list(state="success")
    sa.event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.read() as conn:
        for sql in captured:
            assert "NOT IN (?" not in sql, sql  # the condition inline, as the index has it
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, _params(sql)).all()
            plans.append(" ".join(row[-1] for row in rows))
    text = "tasks_text VIRTUAL TABLE"  # revision 0008's trigram index
    expected = ["INDEX tasks_unfinished", text, text, "INDEX tasks_newest", "INDEX tasks_unfinished"]
    for plan, used in zip(plans, [*expected, "INDEX tasks_missing_video", "INDEX tasks_state_created"], strict=True):
        assert used in plan, plan


@pytest.mark.parametrize("few", [vidu_ui.store.FEW_MATCHES, 0], ids=["as-set", "always-many"])
def test_a_search_finds_what_the_text_holds_whichever_way_it_looks(
    db: Store, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the trigram index (a text few rows hold) or along the newest rows (many hold it: ``few`` 0 makes
    every text "many"), a search finds the same rows: any case, quotes and wildcards as typed, a task id taken
    after its write-ahead record, and nothing once a prompt no longer holds it."""
    monkeypatch.setattr(vidu_ui.store, "FEW_MATCHES", few)
    _record(db, "101", body=_body(prompt='a Heron says "hi" at 100%'))
    _record(db, "102", body=_body(prompt="HERONS on a dog_run", model="viduq2-pro"))
    _record(db, "103", body=_body(prompt="herring, not a bird"))
    db.begin("wa", body={"model": "viduq1", "prompt": "a kite over the sea"})
    db.created("wa", "9876543", {"task_id": "9876543", "state": "created"})

    def ids(text: str) -> list[str | None]:
        return [r.task_id for r in db.list(text=text)]

    assert ids("heron") == ["102", "101"]
    assert ids("HER") == ["103", "102", "101"]
    assert ids('"hi"') == ["101"]
    assert ids("00%") == ["101"] and ids("g_r") == ["102"] and ids("100_") == []
    assert ids("q2-pro") == ["102"]  # the model
    assert ids("6543") == ["9876543"]  # the task id, set when the create answered
    assert ids("kite over") == ["9876543"]  # spaces inside the text
    assert ids("eron, not") == []
    with db.write() as conn:
        conn.execute(sa.update(vidu_ui.store.tasks).where(vidu_ui.store.tasks.c.task_id == "103").values(prompt="x"))
    assert ids("herring") == []


def _params(sql: str) -> tuple[Any, ...]:
    """Stand-in values for the statement's parameters (a plan does not depend on them)."""
    return tuple("x" if "LIKE" in part else 200 for part in sql.split("?")[:-1])


def test_the_schema_head_is_alembics() -> None:
    """``SCHEMA_VERSION`` is read from the migration files without Alembic; Alembic must agree."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(vidu_ui.store.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_VERSION


def _schema(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as raw:
        made = raw.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        return [*made, *raw.execute("SELECT * FROM alembic_version"), *raw.execute("SELECT * FROM tasks_text_config")]


def test_a_new_history_has_the_schema_every_migration_makes(tmp_path: Path) -> None:
    """A new SQLite file is made from the statements of a schema migrated once per process; step by step through
    Alembic, revision after revision, the same file results (tables, indexes, triggers, the text index's own)."""
    from alembic import command

    stepped = tmp_path / "stepped.sqlite3"
    engine = sa.create_engine(f"sqlite:///{stepped}")
    with engine.begin() as conn:
        config = vidu_ui.store._alembic_config()
        config.attributes["connection"] = conn
        for revision in ("0001", "0004", "head"):
            command.upgrade(config, revision)
    engine.dispose()
    made = tmp_path / "new.sqlite3"
    with Store(made) as db:
        _record(db, "41", body=_body(prompt="a heron over the marsh"))
        assert [r.task_id for r in db.list(text="heron")] == ["41"]  # the text index's triggers are there
    assert _schema(made) == _schema(stepped)
    assert ("table", "tasks_text", "tasks_text") in [row[:3] for row in _schema(made)]


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


def test_a_jpeg_frames_thumbnail_comes_from_its_check_and_is_stored_as_is(tmp_path: Path) -> None:
    """The check's reduced-size decode of a JPEG gives its thumbnail (upright, as displayed): the history keeps
    it without decoding the frame a second time."""
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned a quarter: 2400×1800 stored, 1800×2400 shown
    data = images.encode(images.photo(2400, 1800, seed=8), "JPEG", quality=90, exif=exif.tobytes())
    (tmp_path / "big.jpg").write_bytes(data)
    frame = frames.load_frame(tmp_path / "big.jpg", "start")
    assert frame.thumbnail is not None
    with Image.open(io.BytesIO(frame.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (192, 256)
    assert make_thumbnail(frame.thumbnail) == frame.thumbnail
    again = make_thumbnail(data)  # the same picture, made from the whole file
    assert again is not None
    with Image.open(io.BytesIO(again)) as thumb:
        assert thumb.size == (192, 256)
    # A 720p frame is decoded reduced only as far as a thumbnail's side (4×, not 8×), so it has one too.
    (tmp_path / "hd.jpg").write_bytes(images.encode(images.photo(1280, 720, seed=9), "JPEG"))
    hd = frames.load_frame(tmp_path / "hd.jpg", "end")
    assert hd.thumbnail is not None
    with Image.open(io.BytesIO(hd.thumbnail)) as thumb:
        assert thumb.size == (256, 144)
    (tmp_path / "small.jpg").write_bytes(images.encode(images.photo(200, 150, seed=9), "JPEG"))
    small = frames.load_frame(tmp_path / "small.jpg", "end")
    assert small.thumbnail is None  # smaller than a thumbnail: the history keeps the file itself
    assert make_thumbnail(small.data) == small.data


def _save_v(url: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"v")
    return dest


def test_api_key_is_never_stored(tmp_path: Path) -> None:
    from tests.support.tracking import FakeService, FakeTime, fake_async_client, fake_client
    from vidu_ui.settings import Settings
    from vidu_ui.tracker import KeyOwner, Tracker

    settings = fake_settings(tmp_path, api_key=CANARY)
    db = Store.open(settings)
    fake = FakeTime()
    service = FakeService({"1": ["processing", "success"], "2": ["processing", "failed"]}, fake)
    service.files = {"1.mp4": b"video"}

    def keyed(owner: KeyOwner) -> Settings:
        return settings.with_key(owner.api_key.get_secret_value() if owner.api_key else CANARY)

    tracker = Tracker(
        settings,
        db,
        client_factory=lambda owner: fake_client(keyed(owner), service, fake),
        async_client_factory=lambda owner: fake_async_client(keyed(owner), service, fake),
        clock=fake.clock,
        downloader=_save_v,
    )
    prepared = _Prepared("canary test")
    tracker.add(prepared, CreatedTask.from_json({"task_id": "1"}))
    tracker.add(prepared, CreatedTask.from_json({"task_id": "2"}), KeyOwner.visitor(CANARY + "-visitor"))
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


# The schema of the store before Alembic (``PRAGMA user_version`` 2), as that code created it: frozen here on
# purpose, for the upgrade test. Do not change it to follow the current schema.
_LEGACY_V1 = """
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY, created_at REAL NOT NULL, user TEXT, key_kind TEXT NOT NULL DEFAULT 'server',
    model TEXT, prompt TEXT NOT NULL DEFAULT '', options TEXT NOT NULL DEFAULT '{}', start_thumbnail BLOB,
    end_thumbnail BLOB, create_response TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL DEFAULT 'created',
    err_code TEXT, credits REAL, video_url TEXT, cover_url TEXT, watermarked_url TEXT, urls_fetched_at REAL,
    last_status TEXT, video_path TEXT, watermarked_path TEXT, problem TEXT, updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_created ON tasks (created_at DESC);
CREATE INDEX tasks_state ON tasks (state);
CREATE INDEX tasks_user ON tasks (user, created_at DESC);
"""
_LEGACY_V2 = "ALTER TABLE tasks ADD COLUMN frame_sources TEXT"


def _legacy_file(path: Path, version: int) -> None:
    """A history file as the store before Alembic left it, with three tasks (two created in the same second)."""
    thumb = make_thumbnail(images.encode(images.photo(64, 48, seed=2), "PNG"))
    with sqlite3.connect(path) as raw:
        raw.executescript(_LEGACY_V1)
        if version == 2:
            raw.execute(_LEGACY_V2)
        raw.execute(f"PRAGMA user_version = {version}")
        insert = (
            "INSERT INTO tasks (task_id, created_at, user, model, prompt, options, start_thumbnail, create_response, "
            "state, credits, video_url, urls_fetched_at, video_path, updated_at, version) "
            "VALUES (?, ?, ?, 'viduq1', ?, ?, ?, '{}', ?, 80, ?, ?, ?, ?, ?)"
        )
        raw.execute(
            insert, ("11", 100.0, "ana", "first", '{"seed": 1}', thumb, "success", "u", 5.0, "/v/11.mp4", 6.0, 4)
        )
        raw.execute(insert, ("12", 200.0, None, "second", "{}", None, "processing", None, None, None, 7.0, 2))
        raw.execute(insert, ("13", 200.0, "bo", "third", "{}", None, "created", None, None, None, 8.0, 1))
        if version == 2:
            raw.execute("UPDATE tasks SET frame_sources = ? WHERE task_id = '11'", ('["/up/a.png", null]',))


@pytest.mark.parametrize("version", [1, 2])
def test_a_history_from_before_alembic_upgrades_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / DB_NAME
    _legacy_file(path, version)
    with Store(path) as db:
        assert [r.task_id for r in db.list()] == ["13", "12", "11"]  # newest first, same-second order kept
        first = db.get("11")
        assert first is not None
        assert (first.user, first.prompt, first.options, first.state, first.credits) == (
            "ana",
            "first",
            {"seed": 1},
            "success",
            80,
        )
        assert (first.video_url, first.urls_fetched_at, first.video_path, first.version) == ("u", 5.0, "/v/11.mp4", 4)
        assert first.start_thumbnail is not None and first.start_thumbnail[:3] == b"\xff\xd8\xff"
        assert first.frame_sources == (("/up/a.png", None) if version == 2 else (None, None))
        assert [r.task_id for r in db.unfinished()] == ["12", "13"]
        assert db.update_status("12", TaskStatus.from_json(status("12", "success")))
        _record(db, "14")
        assert db.get("14") is not None
    with Store(path) as db:  # opening again changes nothing
        assert [r.task_id for r in db.list()] == ["14", "13", "12", "11"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {row[1] for row in raw.execute("PRAGMA index_list(tasks)")}
        assert "tasks_state_created" in indexes


OLD_HISTORY = Path(__file__).parent / "data" / "history-before-alembic.sqlite3"
"""Written by the store before Alembic itself (``scripts/make_old_history.py`` run with that code), not rebuilt."""


def test_a_history_written_by_the_old_code_upgrades_in_place_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(OLD_HISTORY.read_bytes())
    with sqlite3.connect(path) as raw:
        raw.row_factory = sqlite3.Row
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
        before = {row["task_id"]: dict(row) for row in raw.execute("SELECT * FROM tasks")}
    assert len(before) == 4
    with Store(path) as db:
        assert [r.task_id for r in db.list()] == ["900004", "900003", "900002", "900001"]
        assert [r.task_id for r in db.unfinished()] == ["900003", "900004"]
        done = db.get("900001")
        assert done is not None and done.state == "success" and done.video_path == "/data/videos/900001.mp4"
        assert done.user == "ana" and done.frame_sources == ("/uploads/dawn.png", "https://example.com/dusk.jpg")
        assert done.start_thumbnail is not None and done.start_thumbnail[:3] == b"\xff\xd8\xff"
        visitor = db.get("900003")
        assert visitor is not None and visitor.key_kind == "visitor" and visitor.problem
        db.begin("ref-after-upgrade", body={"model": "viduq1", "prompt": "new"})  # the new schema's write-ahead
        db.created("ref-after-upgrade", "900005", {"task_id": "900005", "state": "created"})
    with sqlite3.connect(path) as raw:
        raw.row_factory = sqlite3.Row
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_VERSION
        after = {row["task_id"]: dict(row) for row in raw.execute("SELECT * FROM tasks")}
    for task_id, old in before.items():  # every old column of every old row, unchanged
        assert {name: after[task_id][name] for name in old} == old, task_id
    assert set(after) == {*before, "900005"}


def test_a_newer_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    Store(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    legacy = tmp_path / "old" / DB_NAME
    legacy.parent.mkdir()
    with sqlite3.connect(legacy) as raw:
        raw.executescript(_LEGACY_V1)
        raw.execute("PRAGMA user_version = 7")
    with pytest.raises(StoreError, match="newer"):
        Store(legacy)


def test_write_ahead_record_then_created(db: Store) -> None:
    body = _body(prompt="kept before sending", payload="vidu-ui:abc")
    db.begin("abc", body=body, content_fingerprint="f" * 64, reference="vidu-ui:abc", user="ana")
    assert db.get_ref("abc") is not None and db.list() == [] and db.unfinished() == []
    pending = db.get_ref("abc")
    assert pending is not None
    assert (pending.state, pending.task_id, pending.reference, pending.fingerprint, pending.settled) == (
        "sending",
        "",
        "vidu-ui:abc",
        "f" * 64,
        False,
    )
    assert [r.ref for r in db.unsettled()] == ["abc"]
    assert [r.ref for r in db.list(unsent=True)] == ["abc"]
    db.created("abc", "501", {"task_id": "501", "state": "queueing", "credits": 20})
    record = db.get("501")
    assert record is not None and record.ref == "abc" and record.user == "ana" and record.state == "queueing"
    assert record.options["payload"] == "vidu-ui:abc" and db.unsettled() == []
    # A look-up of the same task never takes it over.
    assert not db.record_submission(task_id="501", body={}, response={}, user="bo")
    assert db.get("501").user == "ana"  # type: ignore[union-attr]


def test_the_creator_owns_a_task_looked_up_before_its_answer_was_recorded(db: Store) -> None:
    """Issue 11, finding 8: bob looks up alice's in-flight task; it stays alice's."""
    db.begin("alice-create", body=_body(prompt="alice's"), user="alice")
    assert db.record_submission(task_id="808", body={}, response={"state": "created"}, user="bob")
    db.created("alice-create", "808", {"task_id": "808", "state": "created"})
    [record] = db.list(unsent=True)
    assert (record.task_id, record.user, record.prompt, record.ref) == ("808", "alice", "alice's", "alice-create")
    assert not db.record_submission(task_id="808", body={}, response={}, user="bob")
    assert db.get("808").user == "alice"  # type: ignore[union-attr]


def test_settled_without_a_task(db: Store) -> None:
    db.begin("r1", body=_body())
    db.begin("r2", body=_body())
    db.settle("r1", "not_created", note="nothing charged")
    db.settle("r2", "needs_look", candidates=[{"id": "1"}, {"id": "2"}])
    assert [r.ref for r in db.unsettled()] == ["r2"]
    assert db.get_ref("r1").finished  # type: ignore[union-attr]
    assert db.get_ref("r2").candidates == ({"id": "1"}, {"id": "2"})  # type: ignore[union-attr]
    db.discard("r2")
    assert db.get_ref("r2") is None
    assert db.list(state="unfinished", unsent=True) == []


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
