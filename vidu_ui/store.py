"""The task history: one SQLite row per task submitted from this app (page or CLI), kept under ``data_dir``.

What a row holds: the task id, when it was recorded, the user (when sign-in is on), the model and every option
sent (the request body without its images), the prompt, small JPEG thumbnails of the two frames, the create
response, the latest state with its err_code and credits, the result URLs and when they were fetched (they
expire after about 24 hours: query again for fresh ones), the local video path once downloaded, and where the
page got the frames (an upload's path on this server or a URL, for "Reuse settings").

What it never holds: an API key (the client adds the key to a header; nothing here is given it) or the frames
themselves (data URIs are cut out of everything stored).

The folder is created with mode 0700 and the database file 0600, so other users of the machine cannot read it.
The database runs in WAL mode with ``synchronous=FULL``: a write has reached the disk when its method returns.
Each thread gets its own connection, so a ``Store`` may be shared by threads.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from PIL import Image, ImageOps

from .responses import FINISHED_STATES, TaskStatus
from .settings import Settings

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "THUMBNAIL_SIDE",
    "KeyKind",
    "Store",
    "StoreError",
    "TaskRecord",
    "make_thumbnail",
    "private_dir",
    "strip_images",
]

DB_NAME = "history.sqlite3"
THUMBNAIL_SIDE = 256
"""Longest side of a stored frame thumbnail, in pixels."""
MAX_LIST = 1000
KeyKind = Literal["server", "visitor"]
"""Whose API key created a task: the server's configured key, or a visitor's own key (never stored)."""
_DATA_URI_KEEP = 40


class StoreError(Exception):
    """The history database cannot be opened or is newer than this app."""


@dataclass(frozen=True)
class TaskRecord:
    """One task of the history, as stored."""

    task_id: str
    created_at: float
    """When the task was recorded (Unix time, right after the create call returned)."""
    user: str | None
    """The signed-in user who submitted it; None when sign-in is off."""
    key_kind: KeyKind
    """Whose key created it: ``server`` or ``visitor`` (a visitor's key is never stored)."""
    model: str | None
    prompt: str
    options: dict[str, Any] = field(repr=False)
    """The request body as sent, without its images (and so every option sent)."""
    start_thumbnail: bytes | None = field(repr=False)
    """JPEG, longest side at most ``THUMBNAIL_SIDE``."""
    end_thumbnail: bytes | None = field(repr=False)
    create_response: dict[str, Any] = field(repr=False)
    """The create call's JSON answer (data URIs cut short)."""
    state: str
    """The latest state a query returned (``created`` until the first query)."""
    err_code: str | None
    credits: float | None
    video_url: str | None
    cover_url: str | None
    watermarked_url: str | None
    urls_fetched_at: float | None
    """When the result URLs were fetched (Unix time); they expire about 24 hours later."""
    video_path: str | None
    """The downloaded video, once complete (never a partial file)."""
    watermarked_path: str | None
    problem: str | None
    """Why the app stopped following the task or could not keep its video, for showing; None when all is well."""
    frame_sources: tuple[str | None, str | None] = field(repr=False)
    """Where the page got the two frames (an upload's path on this server, or an http(s) URL), so "Reuse
    settings" can put them back while they still exist; None when unknown (the CLI, a looked-up task)."""
    updated_at: float
    version: int
    """Grows by one at each change of the row; the page waits for a version above the one it shows."""
    last_status: dict[str, Any] | None = field(default=None, repr=False)
    """The last query's answer (image data cut short): its ``progress`` and ``blocked_resources`` for showing."""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def urls_fresh(self, now: float, max_age: float = 23 * 3600) -> bool:
        """Whether the stored result URLs are probably still valid (they expire after about 24 hours)."""
        return self.urls_fetched_at is not None and now - self.urls_fetched_at < max_age

    def summary(self, excerpt: int = 60) -> dict[str, Any]:
        """The fields a history list shows: the CLI's ``history`` and the page's History tab use this."""
        prompt = " ".join(self.prompt.split())
        if len(prompt) > excerpt:
            prompt = prompt[: excerpt - 1] + "…"
        return {
            "task_id": self.task_id,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created_at)),
            "model": self.model,
            "state": self.state,
            "err_code": self.err_code,
            "credits": self.credits,
            "prompt": prompt,
            "video_path": self.video_path,
            "problem": self.problem,
        }


class FrameLike(Protocol):
    @property
    def data(self) -> bytes | None: ...


class PreparedLike(Protocol):
    """What ``record_prepared`` reads of a ``submit.PreparedRequest``."""

    def shortened_body(self) -> dict[str, Any]: ...
    @property
    def start(self) -> FrameLike: ...
    @property
    def end(self) -> FrameLike: ...


class CreatedLike(Protocol):
    """What ``record_prepared`` reads of a ``responses.CreatedTask``."""

    @property
    def task_id(self) -> str: ...
    @property
    def raw(self) -> dict[str, Any]: ...


def make_thumbnail(data: bytes | None, max_side: int = THUMBNAIL_SIDE) -> bytes | None:
    """A small JPEG of an image's bytes (longest side ≤ ``max_side``); None when there is nothing readable."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced size, much faster
            small = ImageOps.exif_transpose(img)
            small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            if small.mode not in ("RGB", "L"):
                rgba = small.convert("RGBA")
                small = Image.new("RGB", rgba.size, (255, 255, 255))
                small.paste(rgba, mask=rgba.getchannel("A"))
            out = io.BytesIO()
            small.save(out, format="JPEG", quality=80, optimize=True)
            return out.getvalue()
    except Exception:  # any unreadable image just has no thumbnail
        return None


def strip_images(value: Any) -> Any:
    """A copy of a JSON value without frames: ``images`` dropped, and any data URI cut to a short label."""
    if isinstance(value, dict):
        return {k: strip_images(v) for k, v in value.items() if k != "images"}
    if isinstance(value, list):
        return [strip_images(v) for v in value]
    if isinstance(value, str) and value.startswith("data:") and len(value) > _DATA_URI_KEEP:
        return f"{value[:_DATA_URI_KEEP]}…({len(value)} chars)"
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# --- schema ----------------------------------------------------------------------------------------------------


def _v1(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE tasks (
            task_id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            user TEXT,
            key_kind TEXT NOT NULL DEFAULT 'server',
            model TEXT,
            prompt TEXT NOT NULL DEFAULT '',
            options TEXT NOT NULL DEFAULT '{}',
            start_thumbnail BLOB,
            end_thumbnail BLOB,
            create_response TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'created',
            err_code TEXT,
            credits REAL,
            video_url TEXT,
            cover_url TEXT,
            watermarked_url TEXT,
            urls_fetched_at REAL,
            last_status TEXT,
            video_path TEXT,
            watermarked_path TEXT,
            problem TEXT,
            updated_at REAL NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        )
        """
    )
    db.execute("CREATE INDEX tasks_created ON tasks (created_at DESC)")
    db.execute("CREATE INDEX tasks_state ON tasks (state)")
    db.execute("CREATE INDEX tasks_user ON tasks (user, created_at DESC)")


def _v2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE tasks ADD COLUMN frame_sources TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
"""``MIGRATIONS[n]`` takes the schema from version ``n`` to ``n + 1`` (``PRAGMA user_version``). Append only."""
SCHEMA_VERSION = len(MIGRATIONS)

_STATUS_COLUMNS = "state, err_code, credits, video_url, cover_url, watermarked_url, urls_fetched_at"
_URL_COLUMNS = ("video_url", "cover_url", "watermarked_url", "urls_fetched_at")


def _old_urls(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _URL_COLUMNS}


_COLUMNS = (
    "task_id, created_at, user, key_kind, model, prompt, options, start_thumbnail, end_thumbnail, create_response, "
    "state, err_code, credits, video_url, cover_url, watermarked_url, urls_fetched_at, video_path, "
    "watermarked_path, problem, frame_sources, updated_at, version, last_status"
)


def _record(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        task_id=row["task_id"],
        created_at=row["created_at"],
        user=row["user"],
        key_kind="visitor" if row["key_kind"] == "visitor" else "server",
        model=row["model"],
        prompt=row["prompt"],
        options=json.loads(row["options"]),
        start_thumbnail=row["start_thumbnail"],
        end_thumbnail=row["end_thumbnail"],
        create_response=json.loads(row["create_response"]),
        state=row["state"],
        err_code=row["err_code"],
        credits=_number(row["credits"]),
        video_url=row["video_url"],
        cover_url=row["cover_url"],
        watermarked_url=row["watermarked_url"],
        urls_fetched_at=row["urls_fetched_at"],
        video_path=row["video_path"],
        watermarked_path=row["watermarked_path"],
        problem=row["problem"],
        frame_sources=_sources(row["frame_sources"]),
        updated_at=row["updated_at"],
        version=row["version"],
        last_status=json.loads(row["last_status"]) if row["last_status"] else None,
    )


def _sources(text: str | None) -> tuple[str | None, str | None]:
    try:
        start, end = json.loads(text) if text else (None, None)
    except (ValueError, TypeError):
        return None, None
    return (start if isinstance(start, str) else None), (end if isinstance(end, str) else None)


def _number(value: float | None) -> float | None:
    """Credits come back from SQLite as REAL; a whole number reads better as an int (80, not 80.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700; a folder this process creates is made 0700 whatever the umask."""
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


class Store:
    """The history database at ``path``. Safe to share between threads (one connection per thread)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        self._connections: builtins.list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        private_dir(self.path.parent)
        # Create the file 0600 before SQLite does (it would follow the umask); its -wal and -shm files copy it.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        self._migrate()

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The history of ``settings.data_dir`` (created 0700 if missing)."""
        private_dir(settings.data_dir)
        return cls(settings.data_dir / DB_NAME)

    # --- connections -------------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection. The store must not be used afterwards."""
        with self._lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this app's {SCHEMA_VERSION}; "
                    "upgrade vidu-ui or use another VIDU_UI_DATA_DIR"
                )
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](db)
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    # --- writing -----------------------------------------------------------------------------------------------

    def record_submission(
        self,
        *,
        task_id: str,
        body: Mapping[str, Any],
        response: Mapping[str, Any],
        start_image: bytes | None = None,
        end_image: bytes | None = None,
        user: str | None = None,
        key_kind: KeyKind = "server",
        created_at: float | None = None,
    ) -> None:
        """Record a task right after the create call returned its id; on the disk when this returns.

        ``body`` is the create request as sent (its images are left out), ``response`` the create answer;
        ``start_image``/``end_image`` are the frames' bytes, of which only small thumbnails are kept.
        Recording the same task id again keeps the first row.
        """
        now = self._clock()
        options = strip_images(dict(body))
        answer = strip_images(dict(response))
        state = answer.get("state") if answer.get("state") in ("created", "queueing", "processing") else "created"
        credits = answer.get("credits")
        with self._write() as db:
            db.execute(
                """
                INSERT OR IGNORE INTO tasks (task_id, created_at, user, key_kind, model, prompt, options,
                    start_thumbnail, end_thumbnail, create_response, state, credits, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    task_id,
                    now if created_at is None else created_at,
                    user,
                    key_kind,
                    body.get("model"),
                    str(body.get("prompt") or ""),
                    _dumps(options),
                    make_thumbnail(start_image),
                    make_thumbnail(end_image),
                    _dumps(answer),
                    state,
                    credits if isinstance(credits, int | float) and not isinstance(credits, bool) else None,
                    now,
                ),
            )

    def record_prepared(
        self, request: PreparedLike, created: CreatedLike, *, user: str | None = None, key_kind: KeyKind = "server"
    ) -> None:
        """``record_submission`` from a ``submit.PreparedRequest`` and the ``CreatedTask`` it returned."""
        self.record_submission(
            task_id=created.task_id,
            body=request.shortened_body(),  # its images are dropped: the full ones stay out of the history
            response=created.raw,
            start_image=request.start.data,
            end_image=request.end.data,
            user=user,
            key_kind=key_kind,
        )

    def update_status(self, task_id: str, status: TaskStatus, fetched_at: float | None = None) -> bool:
        """Store a query's answer (fetched at Unix time ``fetched_at``, default now); True when the row changed.

        A finished state is never replaced by an unfinished one (an answer that overtook a later one).
        Result URLs are kept from the last answer that had them.
        """
        fetched = self._clock() if fetched_at is None else fetched_at
        with self._write() as db:
            row = db.execute(f"SELECT {_STATUS_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()  # noqa: S608
            if row is None:
                return False
            if row["state"] in FINISHED_STATES and status.state not in FINISHED_STATES:
                return False
            old = dict(zip(row.keys(), tuple(row), strict=True))
            new = {
                "state": status.state,
                "err_code": status.err_code or None,
                "credits": status.credits if status.credits is not None else old["credits"],
                **_old_urls(old),
            }
            if any((status.video_url, status.cover_url, status.watermarked_url)):
                new.update(
                    video_url=status.video_url,
                    cover_url=status.cover_url,
                    watermarked_url=status.watermarked_url,
                    urls_fetched_at=fetched,
                )
            changed = {k: v for k, v in new.items() if k != "urls_fetched_at"} != {
                k: v for k, v in old.items() if k != "urls_fetched_at"
            }
            db.execute(
                """
                UPDATE tasks SET state = ?, err_code = ?, credits = ?, video_url = ?, cover_url = ?,
                    watermarked_url = ?, urls_fetched_at = ?, last_status = ?, updated_at = ?, version = version + ?
                WHERE task_id = ?
                """,
                (
                    *(new[name] for name in _STATUS_COLUMNS.split(", ")),
                    _dumps(strip_images(status.raw or status.model_dump(mode="json"))),
                    self._clock(),
                    1 if changed else 0,
                    task_id,
                ),
            )
            return changed

    def set_video(self, task_id: str, path: Path | str | None, *, watermarked: bool = False) -> None:
        """Record where the (complete) video, or its watermarked copy, was saved; None forgets it."""
        self._set(task_id, "watermarked_path" if watermarked else "video_path", None if path is None else str(path))

    def set_problem(self, task_id: str, problem: str | None) -> None:
        """Note why the app stopped following the task or could not keep its video (None clears it)."""
        self._set(task_id, "problem", problem)

    def set_frame_sources(self, task_id: str, start: str | None, end: str | None) -> None:
        """Note where the page got the frames (a path on this server or an http(s) URL; never a data URI)."""
        kept = [s if s and not s.startswith("data:") and len(s) <= 4096 else None for s in (start, end)]
        self._set(task_id, "frame_sources", _dumps(kept) if any(kept) else None)

    def _set(
        self,
        task_id: str,
        column: Literal["video_path", "watermarked_path", "problem", "frame_sources"],
        value: Any,
    ) -> None:
        with self._write() as db:
            row = db.execute(f"SELECT {column} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()  # noqa: S608
            if row is None or row[0] == value:
                return
            db.execute(
                f"UPDATE tasks SET {column} = ?, updated_at = ?, version = version + 1 WHERE task_id = ?",  # noqa: S608
                (value, self._clock(), task_id),
            )

    # --- reading -----------------------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRecord | None:
        row = self._db().execute(f"SELECT {_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()  # noqa: S608
        return None if row is None else _record(row)

    def version(self, task_id: str) -> int | None:
        """The row's version (cheap: for waiting on a change); None when the task is unknown."""
        row = self._db().execute("SELECT version FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return None if row is None else int(row[0])

    def list(
        self,
        *,
        user: str | None = None,
        shared: bool = False,
        state: str | None = None,
        text: str | None = None,
        limit: int = 100,
    ) -> builtins.list[TaskRecord]:
        """Tasks newest first.

        ``user``: only that user's tasks, unless ``shared`` (everyone's history is visible); with ``user=None``
        (sign-in off) every task is listed. ``state``: only tasks in that state (``unfinished`` matches
        created, queueing and processing). ``text``: a case-insensitive match in the prompt, model or task id.
        ``limit`` is capped at 1000.
        """
        where: list[str] = []
        params: list[Any] = []
        if user is not None and not shared:
            where.append("user = ?")
            params.append(user)
        if state == "unfinished":
            where.append("state NOT IN ('success', 'failed')")
        elif state:
            where.append("state = ?")
            params.append(state)
        if text and text.strip():
            pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(prompt LIKE ? ESCAPE '\\' OR model LIKE ? ESCAPE '\\' OR task_id LIKE ? ESCAPE '\\')")
            params += [pattern] * 3
        sql = f"SELECT {_COLUMNS} FROM tasks"  # noqa: S608 - fixed fragments; values are bound
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        params.append(max(1, min(int(limit), MAX_LIST)))
        return [_record(row) for row in self._db().execute(sql, params)]

    def unfinished(self) -> builtins.list[TaskRecord]:
        """Tasks whose last known state is not final, oldest first (the order to resume them in)."""
        sql = f"SELECT {_COLUMNS} FROM tasks WHERE state NOT IN ('success', 'failed') ORDER BY created_at, rowid"  # noqa: S608
        return [_record(row) for row in self._db().execute(sql)]

    def missing_videos(self) -> builtins.list[TaskRecord]:
        """Succeeded tasks whose video has not been saved (a download interrupted or failed), oldest first."""
        sql = (
            f"SELECT {_COLUMNS} FROM tasks WHERE state = 'success' AND video_path IS NULL "  # noqa: S608
            "ORDER BY created_at, rowid"
        )
        return [_record(row) for row in self._db().execute(sql)]
