"""The task history: one row per task created from this app (page, CLI or worker), in SQLite or PostgreSQL.

Where: ``VIDU_UI_DATABASE_URL`` when set (``postgresql://…``, through psycopg 3; or ``sqlite:///path``), else
``data_dir/history.sqlite3``. Tables are described once (``tasks`` below); their history is the Alembic
migrations in ``vidu_ui/migrations``, run when the store opens (one process at a time: SQLite's write lock, a
PostgreSQL advisory lock). A file made before Alembic (``PRAGMA user_version`` 1 or 2) is upgraded in place.

What a row holds: the client reference ``ref`` (every row has one, from before its create is sent), the task
id once the service gave one, when it was recorded, the user (when sign-in is on), the model and every option
sent (the request body without its images), the prompt, small JPEG thumbnails of the two frames, the body's
fingerprint and the reference put in ``payload``, the create response, the latest state with its err_code and
credits, the result URLs and when they were fetched (they expire after about 24 hours), where the video was
saved, and where the page got the frames (for "Reuse settings").

States beyond the service's: ``sending`` (write-ahead: the create is on its way), ``unknown`` (the create
ended without an answer), ``not_created`` (reconciliation found no task: nothing charged), ``needs_look``
(several tasks could be it: ``candidates`` lists them). See ``vidu_ui.reconcile``.

What it never holds: an API key or the frames themselves (data URIs are cut out of everything stored).

SQLite: the folder is created 0700 and the file 0600; WAL mode with ``synchronous=FULL`` (a write has reached
the disk when its method returns); writes take the write lock at once (``BEGIN IMMEDIATE``). A ``Store`` may be
shared by threads.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import URL, Connection, Engine, make_url

from . import frames
from .responses import CANCELLED_CODE, CANCELLED_STATES, FINISHED_STATES, TaskStatus
from .settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DB_NAME",
    "FINAL_STATES",
    "HISTORY_ERRORS",
    "LOCAL_STATES",
    "SCHEMA_VERSION",
    "THUMBNAIL_SIDE",
    "BatchRecord",
    "Changes",
    "KeyKind",
    "Store",
    "StoreError",
    "TaskRecord",
    "batch_jobs",
    "batches",
    "database_url",
    "fingerprint",
    "make_thumbnail",
    "private_dir",
    "strip_images",
    "tasks",
]

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
THUMBNAIL_SIDE = frames.THUMBNAIL_SIDE
MAX_LIST = 1000
LOCAL_STATES = ("sending", "unknown", "not_created", "needs_look")
"""States of a row the service has not (yet) answered for: see the module docstring and ``vidu_ui.reconcile``."""
FINAL_STATES = frozenset({*FINISHED_STATES, "not_created"})
"""States after which nothing changes: the service's own two, and "not created, nothing charged"."""
KeyKind = Literal["server", "visitor"]
"""Whose API key created a task: the server's configured key, or a visitor's own key (never stored)."""
_DATA_URI_KEEP = 40


def _request_columns(
    body: Mapping[str, Any], start_image: bytes | None, end_image: bytes | None, user: str | None, key_kind: KeyKind
) -> dict[str, Any]:
    """A new row's columns that come from the request: who sent it, its body without images, the thumbnails."""
    return {
        "user": user,
        "key_kind": key_kind,
        "model": body.get("model"),
        "prompt": str(body.get("prompt") or ""),
        "options": _dumps(strip_images(dict(body))),
        "start_thumbnail": make_thumbnail(start_image),
        "end_thumbnail": make_thumbnail(end_image),
    }


def _frame_sources(start: str | None, end: str | None) -> str | None:
    """The ``frame_sources`` column: each frame's path on this server or http(s) URL (never a data URI)."""
    kept = [s if s and not s.startswith("data:") and len(s) <= 4096 else None for s in (start, end)]
    return _dumps(kept) if any(kept) else None


def _created_state(answer: Mapping[str, Any]) -> str:
    """The state a create's answer gives a new task: its own while unfinished, else ``created``."""
    state = answer.get("state")
    return state if isinstance(state, str) and state in ("created", "queueing", "processing") else "created"


class StoreError(Exception):
    """The history database cannot be opened or is newer than this app."""


HISTORY_ERRORS = (OSError, StoreError, sa.exc.SQLAlchemyError)
"""What opening or using the history may raise: for the edges (CLI, app) to report."""


class Conflict(StoreError):
    """The task id is already in the history under another reference (another user's, or another create's)."""


@dataclass(frozen=True)
class TaskRecord:
    """One task of the history, as stored."""

    task_id: str
    """The service's task id; empty while the create has not answered (states ``sending``, ``unknown``…)."""
    created_at: float
    """When the task was recorded (Unix time: just before its create was sent)."""
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
    ref: str = ""
    """The client reference: the row's own key, given before the create is sent."""
    reference: str | None = None
    """What the app put in the body's ``payload`` to find the task in the service's list (``vidu-ui:<uuid>``)."""
    fingerprint: str | None = None
    """SHA-256 of the exact body sent (hex)."""
    candidates: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """For ``needs_look``: the service's tasks that could be this one (id, state, created_at, payload)."""
    last_status: dict[str, Any] | None = field(default=None, repr=False)
    """The last query's answer (image data cut short): its ``progress`` and ``blocked_resources`` for showing."""
    job_key: str | None = None
    """The batch job this task was created for (``vidu_ui.batch``); None for a single task."""
    cover_path: str | None = None
    """The cover image kept beside the video (downloaded under ``vidu_ui.downloads``' rules), once complete; the
    page shows it from there, never from the service's ``cover_url``."""

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def settled(self) -> bool:
        """Whether the create's outcome is known (a task id, or known not to exist)."""
        return bool(self.task_id) or self.state == "not_created"

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
            "ref": self.ref,
        }


@dataclass(frozen=True)
class BatchRecord:
    """One batch of the history (``vidu_ui.batch``), as a list of batches shows it."""

    batch_id: str
    name: str
    created_at: float
    user: str | None
    jobs: int
    """How many jobs it plans."""


class FrameLike(Protocol):
    @property
    def data(self) -> bytes | None: ...
    @property
    def thumbnail(self) -> bytes | None: ...


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
    """A small JPEG of an image's bytes (longest side ≤ ``max_side``); None when there is nothing readable.
    A JPEG already that small and upright is its own thumbnail (a frame's ``thumbnail``: no decode again)."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format == "JPEG" and max(img.size) <= max_side and frames.orientation(img) == 1:
                return data
            img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced size, much faster
            return frames.thumbnail_jpeg(img, max_side)
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

metadata = sa.MetaData()
tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ref", sa.Text, nullable=False, unique=True),
    sa.Column("task_id", sa.Text, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("user", sa.Text),
    sa.Column("key_kind", sa.Text, nullable=False, server_default="server"),
    sa.Column("model", sa.Text),
    sa.Column("prompt", sa.Text, nullable=False, server_default=""),
    sa.Column("options", sa.Text, nullable=False, server_default="{}"),
    sa.Column("start_thumbnail", sa.LargeBinary),
    sa.Column("end_thumbnail", sa.LargeBinary),
    sa.Column("create_response", sa.Text, nullable=False, server_default="{}"),
    sa.Column("state", sa.Text, nullable=False, server_default="created"),
    sa.Column("err_code", sa.Text),
    sa.Column("credits", sa.Float),
    sa.Column("video_url", sa.Text),
    sa.Column("cover_url", sa.Text),
    sa.Column("watermarked_url", sa.Text),
    sa.Column("urls_fetched_at", sa.Float),
    sa.Column("last_status", sa.Text),
    sa.Column("video_path", sa.Text),
    sa.Column("watermarked_path", sa.Text),
    sa.Column("problem", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("frame_sources", sa.Text),
    sa.Column("reference", sa.Text),
    sa.Column("fingerprint", sa.Text),
    sa.Column("candidates", sa.Text),
    sa.Column("follow_at", sa.Float),
    sa.Column("follow_since", sa.Float),
    sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("job", sa.Text, nullable=False, server_default="query"),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", sa.Float),
    sa.Column("download_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("job_key", sa.Text),
    sa.Column("cover_path", sa.Text),
)
"""The history's tasks table, as the newest migration leaves it (``vidu_ui/migrations/versions``)."""

callback_nonces = sa.Table(
    "callback_nonces",
    metadata,
    sa.Column("nonce", sa.Text, primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False),
)
"""Nonces of accepted callbacks, so that a replay to any replica is refused (``vidu_ui.callbacks``)."""

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("user", sa.Text),
    sa.Column("estimate", sa.Float),
)
"""One row per batch (``vidu_ui.batch``; ``migrations/versions/0004_batches.py``)."""

batch_jobs = sa.Table(
    "batch_jobs",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("start", sa.Text, nullable=False),
    sa.Column("end", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False, server_default="{}"),
    sa.Column("estimate", sa.Float),
    sa.Column("problems", sa.Text),
    sa.Column("hold", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_try", sa.Float),
    sa.Column("claimed_until", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("retired", sa.Integer),  # a retry put the job's tasks up to this tasks.id behind it (0006, retry_job)
)
"""One row per job: what it asks for, and what happened before its create (a hold, a refusal to wait out)."""

_MIGRATIONS = resources.files("vidu_ui") / "migrations"
_LEGACY_REVISION = "0001"
"""The revision equal to the schema of ``PRAGMA user_version`` 2 (the store before Alembic)."""
_LOOKED_UP = "task:"
"""The ``ref`` prefix of a row recorded from a known id (a look-up, or a row from before write-ahead)."""
_DUE_NOW = 0.0
"""``follow_at`` of a task recorded by any process (the page, the CLI, a look-up): due for the first follower
that looks (``vidu_ui.follower``; the database is the queue)."""
_CHANNEL = "vidu_tasks"
"""The PostgreSQL notification channel of changes to ``tasks`` (the payload is the row's ``ref``)."""
_LOCK_ID = 0x76696475  # "vidu": the PostgreSQL advisory lock held while migrating


def _alembic_config() -> Config:
    from alembic.config import Config  # Alembic is loaded only when a schema must change (a tenth of a second)

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


_REVISION_LINE = re.compile(r'^(down_revision|revision) = (?:"([^"]*)"|None)\s*(?:#.*)?$', re.MULTILINE)


def _head_revision() -> str:
    """The newest revision, read from the migration files' ``revision``/``down_revision`` lines without loading
    Alembic (every command opens the history; most never migrate). ``tests/test_store.py`` checks that Alembic
    agrees."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in (_MIGRATIONS / "versions").iterdir():
        if entry.name.endswith(".py") and entry.name[:1].isdigit():
            found = dict((key, value) for key, value in _REVISION_LINE.findall(entry.read_text(encoding="utf-8")))
            revisions.add(found.get("revision", ""))
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents - {""}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, not {sorted(heads)}")
    return heads.pop()


TRIGRAM = 3
"""The shortest text the trigram index finds (revision 0008); a shorter one is matched row by row."""
FEW_MATCHES = 2000
"""A search held by at most this many rows takes them from the trigram index (``Store._text_matches``)."""

SCHEMA_VERSION: str = _head_revision()
"""The newest Alembic revision this app knows."""


@functools.cache
def _sqlite_schema() -> tuple[str, ...]:
    """The statements that make a new SQLite history at ``SCHEMA_VERSION``: Alembic's migrations run once per
    process on an in-memory database, read back from its ``sqlite_master`` in the order they were made (a
    virtual table's own tables are made by it). A new file is made with these instead of every migration again
    (0.015 s of CPU instead of 0.08 s); ``tests/test_store.py`` checks that the two schemas are the same."""
    from alembic import command

    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            made = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                "ORDER BY rowid"
            )
            statements = [str(sql) for (sql,) in made]
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    if version != SCHEMA_VERSION:
        raise RuntimeError(f"the migrations end at {version}, not {SCHEMA_VERSION}")
    return tuple(statements)


def _made_by_sqlite(conn: Connection, statement: str) -> bool:
    """Whether ``statement`` makes a table that already exists (a virtual table's own, made with it)."""
    found = re.match(r"CREATE TABLE (?:IF NOT EXISTS )?['\"`\[]?(\w+)", statement, re.IGNORECASE)
    if found is None:
        return False
    named = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (found[1],)).first()
    return named is not None


_RECORD_COLUMNS = tuple(f.name for f in fields(TaskRecord))
_STATUS_COLUMNS = ("state", "err_code", "credits", "video_url", "cover_url", "watermarked_url", "urls_fetched_at")
_URL_COLUMNS = ("video_url", "cover_url", "watermarked_url", "urls_fetched_at")
_STATUS_UPDATE = (
    tasks.update()
    .where(tasks.c.task_id == sa.bindparam("b_task_id"))
    .values(
        {
            **{name: sa.bindparam(f"b_{name}") for name in (*_STATUS_COLUMNS, "last_status", "updated_at")},
            "version": tasks.c.version + sa.bindparam("b_bump"),
        }
    )
)
"""A query's answer written to its row (``Store._statuses_in``), one statement for a batch of answers."""


def _inline(value: Any) -> Any:
    """A value written into the statement itself, not bound: so that SQLite and PostgreSQL match the condition
    of a partial index (``migrations/versions/0005_history_indexes.py``) against it."""
    if isinstance(value, str):
        return sa.literal(value, literal_execute=True)
    return sa.bindparam(None, sorted(value), expanding=True, literal_execute=True)


_UNFINISHED = sa.and_(tasks.c.task_id.is_not(None), tasks.c.state.not_in(_inline(FINAL_STATES)))
"""Rows with an id whose state may still change: the condition of the ``tasks_unfinished`` index."""
_MISSING_VIDEO = sa.and_(tasks.c.state == "success", tasks.c.video_path.is_(None))
"""Succeeded rows without a saved video (the ``tasks_missing_video`` index: rows without a video, by state)."""


def _record(row: sa.RowMapping) -> TaskRecord:
    return TaskRecord(
        task_id=row["task_id"] or "",
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
        ref=row["ref"],
        reference=row["reference"],
        fingerprint=row["fingerprint"],
        candidates=tuple(json.loads(row["candidates"])) if row["candidates"] else (),
        last_status=json.loads(row["last_status"]) if row["last_status"] else None,
        job_key=row["job_key"],
        cover_path=row["cover_path"],
    )


def _sources(text: str | None) -> tuple[str | None, str | None]:
    try:
        start, end = json.loads(text) if text else (None, None)
    except (ValueError, TypeError):
        return None, None
    return (start if isinstance(start, str) else None), (end if isinstance(end, str) else None)


def _number(value: float | None) -> float | None:
    """Credits are stored as floats; a whole number reads better as an int (80, not 80.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _credits(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def fingerprint(content: bytes) -> str:
    """The body's fingerprint: SHA-256 of the exact bytes sent, in hex."""
    return hashlib.sha256(content).hexdigest()


def database_url(settings: Settings) -> URL:
    """Where the history lives: ``settings.database_url``, or the SQLite file in ``data_dir``.

    ``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``; see ``Store``).
    """
    if not settings.database_url:
        return URL.create("sqlite", database=str(settings.data_dir / DB_NAME))
    return make_url(settings.database_url.get_secret_value())


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700; a folder this process creates is made 0700 whatever the umask."""
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


class Changes:
    """Changes to rows inside one transaction (``Store.changes``): a query's answer, a problem note, and any
    statement of the caller's on ``conn`` (the follower lets its lease go in the same commit)."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.refs: builtins.list[str] = []

    def status(self, task_id: str, status: TaskStatus, fetched_at: float | None = None) -> bool:
        """``Store.update_status`` in this transaction."""
        return self._note(self.store._status_in(self.conn, task_id, status, fetched_at))

    def statuses(self, answers: Sequence[tuple[str, TaskStatus]], fetched_at: float | None = None) -> None:
        """``status`` for several answers, in order, with one read and one write statement."""
        self.refs += self.store._statuses_in(self.conn, answers, fetched_at)

    def set_problem(self, task_id: str, problem: str | None) -> bool:
        """``Store.set_problem`` in this transaction."""
        return self.set(task_id, "problem", problem)

    def set(self, task_id: str, column: str, value: Any) -> bool:
        return self._note(self.store._set_in(self.conn, task_id, column, value))

    def _note(self, ref: str | None) -> bool:
        if ref is not None:
            self.refs.append(ref)
        return ref is not None


class Store:
    """The history at ``url`` (a SQLAlchemy URL, or a path to a SQLite file). Safe to share between threads.

    ``clock`` is Unix time (what rows record). ``on_change(ref)`` hooks are called after each committed change
    made through this object (the in-process event; other processes learn through ``vidu_ui.follower``).
    """

    def __init__(self, url: URL | Path | str, *, clock: Callable[[], float] = time.time) -> None:
        if isinstance(url, Path) or (isinstance(url, str) and "://" not in url):
            url = URL.create("sqlite", database=str(url))
        self.url = make_url(url) if isinstance(url, str) else url
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg")  # psycopg 3, not SQLAlchemy's default psycopg2
        self.dialect = self.url.get_backend_name()
        self.path: Path | None = None
        self._clock = clock
        self._hooks: builtins.list[Callable[[str], None]] = []
        self._hooks_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()
        if self.dialect == "sqlite" and self.url.database not in (None, "", ":memory:"):
            self.path = Path(self.url.database or "")
            private_dir(self.path.parent)
            # Create the file 0600 before SQLite does (it would follow the umask); its -wal and -shm files copy it.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
        try:
            self.engine = self._engine()
            self._migrate()
        except sa.exc.SQLAlchemyError as exc:
            where = self.url.render_as_string(hide_password=True)
            raise StoreError(f"the history at {where} cannot be opened: {exc}") from None
        self._writer = self.engine.execution_options(vidu_write=True)

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], float] = time.time) -> Store:
        """The history ``settings`` name: ``VIDU_UI_DATABASE_URL``, else ``data_dir/history.sqlite3``."""
        if not settings.database_url:
            private_dir(settings.data_dir)
        return cls(database_url(settings), clock=clock)

    # --- connections -------------------------------------------------------------------------------------------

    def _engine(self) -> Engine:
        if self.dialect != "sqlite":
            return sa.create_engine(self.url, pool_pre_ping=True, pool_size=8, max_overflow=8)
        engine = sa.create_engine(self.url, connect_args={"timeout": 30.0, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi: Any, _record: Any) -> None:
            dbapi.isolation_level = None  # transactions are begun below, not by the driver
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
                dbapi.execute(f"PRAGMA {pragma}")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write takes SQLite's write lock at once: a read-then-write never fails half way on a busy file.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("vidu_write") else "BEGIN")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction for writing (SQLite: the write lock taken at once); committed when the block ends."""
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Close the connections. The store must not be used afterwards."""
        self._closing.set()
        if self._listener is not None:
            self._listener.join(5.0)
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_change(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(ref)`` after each change this object commits; on PostgreSQL also after each change any
        process commits (``LISTEN``/``NOTIFY`` on one listening connection and thread per store)."""
        with self._hooks_lock:
            self._hooks.append(hook)
            if self.dialect == "postgresql" and self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="vidu-store-listen", daemon=True)
                self._listener.start()

    def notify(self, ref: str) -> None:
        """Call the change hooks (every process's, on PostgreSQL) for a change made outside ``tasks`` (a batch's
        job rows, ``vidu_ui.batch``)."""
        self._changed(ref)

    def off_change(self, hook: Callable[[str], None]) -> None:
        """Stop calling ``hook`` (given to ``on_change`` before)."""
        with self._hooks_lock, contextlib.suppress(ValueError):
            self._hooks.remove(hook)

    def _changed(self, ref: str) -> None:
        if self.dialect == "postgresql":
            with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine.begin() as conn:
                conn.execute(sa.text("SELECT pg_notify(:channel, :ref)"), {"channel": _CHANNEL, "ref": ref[:200]})
        self._run_hooks(ref)

    def _run_hooks(self, ref: str) -> None:
        with self._hooks_lock:
            hooks = builtins.list(self._hooks)
        for hook in hooks:
            hook(ref)

    def _listen(self) -> None:
        import psycopg

        dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._closing.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {_CHANNEL}")
                    while not self._closing.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            self._run_hooks(notice.payload)
            except psycopg.Error as exc:
                log.warning("listening for history changes failed, retrying: %s", exc)
                self._closing.wait(1.0)

    # --- migrations --------------------------------------------------------------------------------------------

    def _current_revision(self) -> str | None:
        """The schema's revision, read without a lock; None when there is none (yet)."""
        with self.engine.connect() as conn:
            try:
                value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.DBAPIError:
                return None
        return None if value is None else str(value)

    def _migrate(self) -> None:
        if self._current_revision() == SCHEMA_VERSION:
            return  # up to date: the usual case, without loading Alembic
        from alembic import command
        from alembic.script import ScriptDirectory

        config = _alembic_config()
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        with self.engine.execution_options(vidu_write=True).begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            names = set(sa.inspect(conn).get_table_names())
            current = None
            if "alembic_version" in names:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                if current is not None and current not in known:
                    raise StoreError(
                        f"the history has schema version {current}, newer than this app's {SCHEMA_VERSION}; "
                        "upgrade vidu-ui or use another VIDU_UI_DATA_DIR / VIDU_UI_DATABASE_URL"
                    )
            if self.dialect == "sqlite" and not names:  # a new file: the schema as the migrations make it
                for statement in _sqlite_schema():
                    if not _made_by_sqlite(conn, statement):
                        conn.exec_driver_sql(statement)
                conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": SCHEMA_VERSION})
                return
            config.attributes["connection"] = conn
            if current is None and "tasks" in names:
                self._adopt_legacy(conn)
                command.stamp(config, _LEGACY_REVISION)
            command.upgrade(config, "head")

    def _adopt_legacy(self, conn: Connection) -> None:
        """A file made before Alembic: bring ``user_version`` 1 up to 2, the schema of revision 0001."""
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() if self.dialect == "sqlite" else 2
        if version is not None and version > 2:
            raise StoreError(f"the history has schema version {version}, newer than this app's; upgrade vidu-ui")
        if version == 1:
            conn.exec_driver_sql("ALTER TABLE tasks ADD COLUMN frame_sources TEXT")

    # --- writing -----------------------------------------------------------------------------------------------

    def begin(
        self,
        ref: str,
        *,
        body: Mapping[str, Any],
        content_fingerprint: str | None = None,
        reference: str | None = None,
        start_image: bytes | None = None,
        end_image: bytes | None = None,
        user: str | None = None,
        key_kind: KeyKind = "server",
        job_key: str | None = None,
        frame_sources: tuple[str | None, str | None] | None = None,
    ) -> None:
        """The write-ahead record: the create of ``body`` is about to be sent (state ``sending``).

        ``body`` without its images; ``reference`` is what the app put in its ``payload`` (or None);
        ``content_fingerprint`` the exact bytes' SHA-256; ``job_key`` the batch job it is for (``vidu_ui.batch``);
        ``frame_sources`` where the page got the frames (a path on this server or an http(s) URL each).
        On the disk (or committed) when this returns.
        """
        now = self._clock()
        with self.write() as conn:
            conn.execute(
                tasks.insert().values(
                    ref=ref,
                    task_id=None,
                    created_at=now,
                    **_request_columns(body, start_image, end_image, user, key_kind),
                    state="sending",
                    reference=reference,
                    fingerprint=content_fingerprint,
                    updated_at=now,
                    job_key=job_key,
                    frame_sources=_frame_sources(*frame_sources) if frame_sources else None,
                )
            )
        self._changed(ref)

    def created(self, ref: str, task_id: str, response: Mapping[str, Any]) -> None:
        """The create answered with ``task_id``: the row ``ref`` takes it, even from a look-up recorded meanwhile
        (the creator owns the task). Raises ``Conflict`` when another create's row has the id (adopted twice)."""
        answer = strip_images(dict(response))
        state = _created_state(answer)
        with self.write() as conn:
            owner = conn.execute(sa.select(tasks.c.ref).where(tasks.c.task_id == task_id)).scalar()
            if owner is not None and owner != ref:
                if not owner.startswith(_LOOKED_UP):
                    raise Conflict(f"task {task_id} is already in the history")
                # Someone looked the id up in the instant before its create's answer was recorded: the creator
                # owns the task, never the one who looked it up.
                conn.execute(tasks.delete().where(tasks.c.ref == owner))
            conn.execute(
                tasks.update()
                .where(tasks.c.ref == ref)
                .values(
                    task_id=task_id,
                    # Due at once for any follower (a visitor's task: for the one holding the key, when it tracks it).
                    follow_at=sa.case((tasks.c.key_kind == "server", _DUE_NOW), else_=tasks.c.follow_at),
                    create_response=_dumps(answer),
                    state=state,
                    credits=_credits(answer.get("credits")),
                    candidates=None,
                    problem=None,
                    updated_at=self._clock(),
                    version=tasks.c.version + 1,
                )
            )
        self._changed(ref)

    def settle(
        self,
        ref: str,
        state: Literal["unknown", "not_created", "needs_look"],
        *,
        note: str | None = None,
        candidates: builtins.list[dict[str, Any]] | None = None,
    ) -> None:
        """Note what is known of a create without an id: no answer yet (``unknown``), no task was made
        (``not_created``), or several could be it (``needs_look``, with the ``candidates``)."""
        with self.write() as conn:
            conn.execute(
                tasks.update()
                .where(tasks.c.ref == ref, tasks.c.task_id.is_(None))
                .values(
                    state=state,
                    problem=note,
                    candidates=_dumps(candidates) if candidates else None,
                    updated_at=self._clock(),
                    version=tasks.c.version + 1,
                )
            )
        self._changed(ref)

    def discard(self, ref: str) -> None:
        """Forget a write-ahead record whose create was refused outright (nothing was created)."""
        with self.write() as conn:
            conn.execute(tasks.delete().where(tasks.c.ref == ref, tasks.c.task_id.is_(None)))
        self._changed(ref)

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
    ) -> bool:
        """Record a task whose id is already known (a look-up, or a create without write-ahead).

        ``body`` is the create request (its images are left out), ``response`` the create or query answer.
        A task id already in the history keeps its row, and its owner: True only when a row was added.
        """
        now = self._clock()
        answer = strip_images(dict(response))
        state = _created_state(answer)
        ref = f"{_LOOKED_UP}{task_id}"
        with self.write() as conn:
            if conn.execute(sa.select(tasks.c.id).where(tasks.c.task_id == task_id)).first() is not None:
                return False
            conn.execute(
                tasks.insert().values(
                    ref=ref,
                    task_id=task_id,
                    created_at=now if created_at is None else created_at,
                    **_request_columns(body, start_image, end_image, user, key_kind),
                    create_response=_dumps(answer),
                    state=state,
                    credits=_credits(answer.get("credits")),
                    updated_at=now,
                    follow_at=_DUE_NOW if key_kind == "server" else None,
                )
            )
        self._changed(ref)
        return True

    def record_prepared(
        self, request: PreparedLike, created: CreatedLike, *, user: str | None = None, key_kind: KeyKind = "server"
    ) -> None:
        """``record_submission`` from a ``submit.PreparedRequest`` and the ``CreatedTask`` it returned."""
        self.record_submission(
            task_id=created.task_id,
            body=request.shortened_body(),  # its images are dropped: the full ones stay out of the history
            response=created.raw,
            start_image=request.start.thumbnail or request.start.data,
            end_image=request.end.thumbnail or request.end.data,
            user=user,
            key_kind=key_kind,
        )

    def update_status(self, task_id: str, status: TaskStatus, fetched_at: float | None = None) -> bool:
        """Store a query's answer (fetched at Unix time ``fetched_at``, default now); True when the row changed.

        A finished state is never replaced by an unfinished one (an answer that overtook a later one).
        Result URLs are kept from the last answer that had them.
        """
        with self.changes() as changes:
            return changes.status(task_id, status, fetched_at)

    @contextmanager
    def changes(self) -> Iterator[Changes]:
        """One write transaction for several changes (``Changes``): all of them are committed, or none; the change
        hooks run once it is committed, for each row that changed."""
        with self.write() as conn:
            changes = Changes(self, conn)
            yield changes
            if self.dialect == "postgresql":  # NOTIFY is delivered at commit, with the changes
                for ref in dict.fromkeys(changes.refs):
                    conn.execute(sa.text("SELECT pg_notify(:channel, :ref)"), {"channel": _CHANNEL, "ref": ref[:200]})
        for ref in dict.fromkeys(changes.refs):
            self._run_hooks(ref)

    def _status_in(self, conn: Connection, task_id: str, status: TaskStatus, fetched_at: float | None) -> str | None:
        """``update_status`` within ``conn``'s transaction: the row's ref when it changed, else None."""
        changed = self._statuses_in(conn, [(task_id, status)], fetched_at)
        return changed[0] if changed else None

    def _statuses_in(
        self, conn: Connection, answers: Sequence[tuple[str, TaskStatus]], fetched_at: float | None
    ) -> builtins.list[str]:
        """Several answers (in order) within ``conn``'s transaction, in one read of their rows and one
        ``executemany``: the refs of the rows that changed."""
        if not answers:
            return []
        fetched = self._clock() if fetched_at is None else fetched_at
        query = sa.select(tasks.c.task_id, tasks.c.ref, *(tasks.c[name] for name in _STATUS_COLUMNS))
        ids = sorted({task_id for task_id, _ in answers})
        current = {
            row.task_id: (str(row.ref), {name: row._mapping[name] for name in _STATUS_COLUMNS})
            for row in conn.execute(query.where(tasks.c.task_id.in_(ids)).with_for_update())
        }
        updates: builtins.list[dict[str, Any]] = []
        changed_refs: builtins.list[str] = []
        now = self._clock()
        for task_id, status in answers:
            if task_id not in current:
                continue
            ref, old = current[task_id]
            if old["state"] in FINISHED_STATES and status.state not in FINISHED_STATES:
                continue
            new = {
                "state": status.state,
                "err_code": status.err_code or None,
                "credits": status.credits if status.credits is not None else old["credits"],
                **{name: old[name] for name in _URL_COLUMNS},
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
            current[task_id] = (ref, new)
            updates.append(
                {
                    "b_task_id": task_id,
                    **{f"b_{name}": value for name, value in new.items()},
                    "b_last_status": _dumps(strip_images(status.raw or status.model_dump(mode="json"))),
                    "b_updated_at": now,
                    "b_bump": 1 if changed else 0,
                }
            )
            if changed:
                changed_refs.append(ref)
        if updates:
            conn.execute(_STATUS_UPDATE, updates)
        return changed_refs

    def set_video(self, task_id: str, path: Path | str | None, *, watermarked: bool = False) -> None:
        """Record where the (complete) video, or its watermarked copy, was saved; None forgets it."""
        self._set(task_id, "watermarked_path" if watermarked else "video_path", None if path is None else str(path))

    def set_cover(self, task_id: str, path: Path | str | None) -> None:
        """Record where the (complete) cover image was kept; None forgets it."""
        self._set(task_id, "cover_path", None if path is None else str(path))

    def set_problem(self, task_id: str, problem: str | None) -> None:
        """Note why the app stopped following the task or could not keep its video (None clears it)."""
        self._set(task_id, "problem", problem)

    def _set(
        self,
        task_id: str,
        column: Literal["video_path", "watermarked_path", "cover_path", "problem"],
        value: Any,
    ) -> None:
        with self.changes() as changes:
            changes.set(task_id, column, value)

    def _set_in(self, conn: Connection, task_id: str, column: str, value: Any) -> str | None:
        """``_set`` within ``conn``'s transaction: the row's ref when it changed, else None."""
        row = conn.execute(
            sa.select(tasks.c.ref, tasks.c[column]).where(tasks.c.task_id == task_id).with_for_update()
        ).first()
        if row is None or row[1] == value:
            return None
        conn.execute(
            tasks.update()
            .where(tasks.c.task_id == task_id)
            .values({column: value, "updated_at": self._clock(), "version": tasks.c.version + 1})
        )
        return str(row.ref)

    # --- reading -----------------------------------------------------------------------------------------------

    def _select(self, *where: Any, order: Any = None, limit: int | None = None) -> builtins.list[TaskRecord]:
        query = sa.select(*(tasks.c[name] for name in _RECORD_COLUMNS)).where(*where)
        query = query.order_by(*(order if order is not None else (tasks.c.created_at, tasks.c.id)))
        if limit is not None:
            query = query.limit(limit)
        with self.read() as conn:
            return [_record(row._mapping) for row in conn.execute(query)]

    def get(self, task_id: str) -> TaskRecord | None:
        found = self._select(tasks.c.task_id == task_id)
        return found[0] if found else None

    def get_ref(self, ref: str) -> TaskRecord | None:
        """The row of a client reference (also before its create answered)."""
        found = self._select(tasks.c.ref == ref)
        return found[0] if found else None

    def version(self, task_id: str) -> int | None:
        """The row's version (cheap: for waiting on a change); None when the task is unknown."""
        with self.read() as conn:
            value = conn.execute(sa.select(tasks.c.version).where(tasks.c.task_id == task_id)).scalar()
        return None if value is None else int(value)

    def list(
        self,
        *,
        user: str | None = None,
        shared: bool = False,
        state: str | None = None,
        text: str | None = None,
        limit: int = 100,
        unsent: bool = False,
        batch: str | None = None,
    ) -> builtins.list[TaskRecord]:
        """Tasks newest first.

        ``user``: only that user's tasks, unless ``shared`` (everyone's history is visible); with ``user=None``
        (sign-in off) every task is listed. ``state``: only tasks in that state (``unfinished`` matches every
        state that may still change; ``cancelled`` every spelling of a cancelled task, which ``failed`` leaves out).
        ``text``: a case-insensitive match in the prompt, model or task id.
        ``unsent``: also the records without a task id (a create not answered, or not created). ``limit`` is
        capped at 1000. ``batch``: only the tasks created for that batch's jobs (``tasks.job_key``).
        """
        where: builtins.list[Any] = []
        if not unsent:
            where.append(tasks.c.task_id.is_not(None))
        if user is not None and not shared:
            where.append(tasks.c.user == user)
        if batch is not None:
            where.append(tasks.c.job_key.in_(sa.select(batch_jobs.c.key).where(batch_jobs.c.batch_id == batch)))
        cancelled = sa.or_(
            tasks.c.state.in_(sorted(CANCELLED_STATES)),
            sa.and_(tasks.c.state == "failed", tasks.c.err_code == CANCELLED_CODE),
        )
        if state == "unfinished":
            where.append(tasks.c.state.not_in(_inline(FINAL_STATES)))
        elif state == "cancelled":  # however the service spells it (``responses.outcome``)
            where.append(cancelled)
        elif state == "failed":  # failed, not cancelled
            where.append(sa.and_(tasks.c.state == "failed", sa.func.coalesce(tasks.c.err_code, "") != CANCELLED_CODE))
        elif state:
            where.append(tasks.c.state == state)
        if text and text.strip():
            where.append(self._text_matches(text.strip()))
        return self._select(
            *where, order=(tasks.c.created_at.desc(), tasks.c.id.desc()), limit=max(1, min(int(limit), MAX_LIST))
        )

    def _text_matches(self, text: str) -> Any:
        """Rows whose prompt, model or task id holds ``text``, whatever its case. On SQLite, a text of three
        characters or more held by few rows (at most ``FEW_MATCHES``) is found through the trigram index (revision
        0008), without reading the other rows. A text held by many rows is matched with ``LIKE`` along the newest
        rows (``tasks_newest``), which finds a page of them at once; taking all of them from the index, then
        sorting them by date, would cost more."""
        if len(text) >= TRIGRAM and self._text_index:
            phrase = '"' + text.replace('"', '""') + '"'  # one FTS5 string: the text as it is, quotes doubled
            matched: sa.Select[Any] = sa.select(sa.literal_column("rowid")).select_from(sa.table("tasks_text"))
            matched = matched.where(sa.literal_column("tasks_text").op("MATCH")(phrase))
            with self.read() as conn:
                few = conn.execute(sa.select(sa.func.count()).select_from(matched.limit(FEW_MATCHES + 1).subquery()))
                if (few.scalar() or 0) <= FEW_MATCHES:
                    return tasks.c.id.in_(matched)
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = (tasks.c.prompt, tasks.c.model, tasks.c.task_id)
        if self.dialect == "sqlite":
            # SQLite's LIKE ignores the case of ASCII letters, as its lower() does: the ILIKE SQLAlchemy writes
            # (lower() on both sides) finds the same rows at a third of the speed.
            return sa.or_(*(column.like(pattern, escape="\\") for column in columns))
        return sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))

    @functools.cached_property
    def _text_index(self) -> bool:
        """Whether this history has the trigram index (revision 0008 makes it where SQLite has FTS5 trigrams)."""
        if self.dialect != "sqlite":
            return False
        with self.read() as conn:
            found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks_text'")
            return found.first() is not None

    def batches(self, *, user: str | None = None, shared: bool = False, limit: int = 100) -> builtins.list[BatchRecord]:
        """Batches newest first, with how many jobs each plans; ``user`` and ``shared`` as for ``list``."""
        jobs = (
            sa.select(sa.func.count())
            .select_from(batch_jobs)
            .where(batch_jobs.c.batch_id == batches.c.id)
            .scalar_subquery()
        )
        query = sa.select(batches.c.id, batches.c.name, batches.c.created_at, batches.c.user, jobs.label("jobs"))
        if user is not None and not shared:
            query = query.where(batches.c.user == user)
        query = query.order_by(batches.c.created_at.desc(), batches.c.id.desc()).limit(max(1, min(limit, MAX_LIST)))
        with self.read() as conn:
            return [
                BatchRecord(row.id, row.name, row.created_at, row.user, int(row.jobs)) for row in conn.execute(query)
            ]

    def unfinished(self) -> builtins.list[TaskRecord]:
        """Tasks with an id whose last known state is not final, oldest first (the order to resume them in)."""
        return self._select(_UNFINISHED)

    def unsettled(self) -> builtins.list[TaskRecord]:
        """Records whose create has no answer yet (``sending``, ``unknown``, ``needs_look``), oldest first."""
        return self._select(tasks.c.task_id.is_(None), tasks.c.state != "not_created")

    def missing_videos(self) -> builtins.list[TaskRecord]:
        """Succeeded tasks whose video has not been saved (a download interrupted or failed), oldest first."""
        return self._select(_MISSING_VIDEO)
