"""Settings: read once at start-up from the environment into one object that is passed down.

Nothing in this package reads the environment at import time. The API key is a ``SecretStr``: it prints as
``**********`` and is only revealed where the Authorization header is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .errors import Problem

AuthScheme = Literal["Bearer", "Token"]

DEFAULT_BASE_URL = "https://www.kkiai.com"
POLL_MAX_INTERVAL = 30.0
CALLBACK_POLL_MAX_INTERVAL = 60.0
# 50 MP takes a 48–50 MP phone's full-resolution photo (8160×6120) and an 8K frame (33 MP); a full decode of it
# costs about 200 MB (RGBA), and at most two run at once (``frames.decode_budget``). The videos are 1080p at most:
# anything larger is only downscaled.
DEFAULT_MAX_MEGAPIXELS = 50.0
# A 16 s 1080p video is 20–40 MB; 250 MB leaves room for upscaled copies and refuses an endless answer early.
DEFAULT_MAX_VIDEO_MB = 250.0
# Vidu's own hosts take "Token <key>"; the kkiai reseller (and, by inference, other resellers) take "Bearer <key>".
_TOKEN_HOSTS = ("api.vidu.cn", "api.vidu.com")


def default_scheme(base_url: str) -> AuthScheme:
    host = (urlsplit(base_url).hostname or "").lower()
    return "Token" if host in _TOKEN_HOSTS else "Bearer"


class Paths(BaseModel):
    """The API's paths, hung off the base URL. ``{task_id}`` is filled in."""

    model_config = ConfigDict(frozen=True)

    create: str = "/ent/v2/start-end2video"
    query: str = "/ent/v2/tasks/{task_id}/creations"
    cancel: str = "/ent/v2/tasks/{task_id}/cancel"
    credits: str = "/ent/v2/credits"
    tasks: str = "/ent/v2/tasks"


ENVIRONMENT: dict[str, str] = {
    "VIDU_API_KEY": "api_key",
    "VIDU_BASE_URL": "base_url",
    "VIDU_AUTH_SCHEME": "auth_scheme",
    "VIDU_CONNECT_TIMEOUT": "connect_timeout",
    "VIDU_READ_TIMEOUT": "read_timeout",
    "VIDU_DEADLINE": "deadline",
    "VIDU_CREATE_RETRIES": "create_retries",
    "VIDU_QUERY_RETRIES": "query_retries",
    "VIDU_POLL_INTERVAL": "poll_interval",
    "VIDU_POLL_MAX_INTERVAL": "poll_max_interval",
    "VIDU_POLL_MAX_WAIT": "poll_max_wait",
    "VIDU_UI_DATA_DIR": "data_dir",
    "VIDU_UI_PUBLIC_URL": "public_url",
    "VIDU_UI_KEEP_VIDEOS": "keep_videos",
    "VIDU_UI_SHARED_HISTORY": "shared_history",
    "VIDU_UI_MAX_MEGAPIXELS": "max_megapixels",
    "VIDU_UI_MAX_VIDEO_MB": "max_video_mb",
    "VIDU_UI_DATABASE_URL": "database_url",
    "VIDU_UI_PAYLOAD_REFERENCE": "payload_reference",
    "VIDU_UI_SETTLE_SECONDS": "settle_seconds",
    "VIDU_UI_LEASE_SECONDS": "lease_seconds",
    "VIDU_UI_FOLLOWER": "follower",
    "VIDU_UI_STORAGE_URL": "storage_url",
}
"""Each ``VIDU_*`` variable ``Settings.from_env`` reads, and the field it sets (``VIDU_PATH_<NAME>`` and
``VIDU_DEMO`` too: ``environment_names``)."""


def environment_names() -> list[str]:
    """Every environment variable the settings read: for deployment files and their tests."""
    return [*ENVIRONMENT, *(f"VIDU_PATH_{name.upper()}" for name in Paths.model_fields), "VIDU_DEMO"]


class Settings(BaseModel):
    """Everything configurable, with its default. See the README's settings table."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    auth_scheme: AuthScheme = "Bearer"
    paths: Paths = Field(default_factory=Paths)
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    deadline: float = Field(180.0, gt=0)
    """Longest time one call may take, retries and waits included."""
    create_retries: int = Field(2, ge=0, le=5)
    """How many times a create refused with 429/503, or not sent at all, is tried again."""
    query_retries: int = Field(4, ge=0, le=10)
    poll_interval: float = Field(2.0, gt=0)
    poll_max_interval: float | None = Field(None, gt=0)
    """Longest wait between queries; unset: 30 s, or 60 s when callbacks reach the app (see ``poll_ceiling``)."""
    poll_max_wait: float = Field(1800.0, gt=0)
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".vidu-ui")
    public_url: str | None = None
    keep_videos: bool = True
    """Download each finished video into ``data_dir/videos`` (``VIDU_UI_KEEP_VIDEOS=0`` turns it off)."""
    shared_history: bool = False
    """With sign-in on, everyone sees every task (``VIDU_UI_SHARED_HISTORY=1``); otherwise each user their own."""
    database_url: SecretStr | None = None
    """Where the history lives (``VIDU_UI_DATABASE_URL``): ``postgresql://user:pass@host/db``, or ``sqlite:///path``;
    unset: ``data_dir/history.sqlite3``. A secret: it may hold a password."""
    payload_reference: bool = True
    """Put ``vidu-ui:<uuid>`` in ``payload`` when the user left it empty, so that a create without an answer can be
    found in the service's task list (``VIDU_UI_PAYLOAD_REFERENCE=0`` turns it off)."""
    settle_seconds: float = Field(60.0, ge=0)
    """How long after a create that ended without an answer the service's task list must still not show the task
    before it counts as "not created, nothing charged" (``VIDU_UI_SETTLE_SECONDS``)."""
    lease_seconds: float = Field(30.0, gt=0)
    """How long a follower holds a task it is working on before another may take it over (``VIDU_UI_LEASE_SECONDS``);
    renewed while it works, so only a dead follower's tasks change hands."""
    storage_url: str | None = None
    """Where finished videos are kept (``VIDU_UI_STORAGE_URL``): a directory, or ``s3://bucket/prefix`` on any
    S3-compatible store (endpoint and credentials from the standard AWS variables); unset: ``data_dir/videos``."""
    follower: bool = True
    """Follow tasks inside each app process (``VIDU_UI_FOLLOWER=0``: leave it to ``python -m vidu_ui worker``)."""
    demo: bool = False
    max_megapixels: float = Field(DEFAULT_MAX_MEGAPIXELS, gt=0, le=200)
    """Largest frame accepted, in millions of pixels, read from the header before any decode
    (``VIDU_UI_MAX_MEGAPIXELS``); it bounds what one full decode may cost (see ``frames.decode_budget``)."""
    max_video_mb: float = Field(DEFAULT_MAX_VIDEO_MB, gt=0)
    """Largest video (or cover) downloaded, in MB; a longer answer is refused mid-stream (``VIDU_UI_MAX_VIDEO_MB``)."""

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)

    @property
    def max_video_bytes(self) -> int:
        return int(self.max_video_mb * 1_000_000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``VIDU_*`` variables. Raises ``SettingsError`` naming each bad variable."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for var, field in ENVIRONMENT.items():
            value = env.get(var, "").strip()
            if value:
                raw[field] = value
        paths = {
            name: env[var].strip()
            for name in Paths.model_fields
            if (var := f"VIDU_PATH_{name.upper()}") in env and env[var].strip()
        }
        if paths:
            raw["paths"] = paths
        raw["demo"] = env.get("VIDU_DEMO", "").strip().lower() in ("1", "true", "yes", "on")
        if "auth_scheme" not in raw:
            raw["auth_scheme"] = default_scheme(str(raw.get("base_url", DEFAULT_BASE_URL)))
        return cls.build(**raw)

    @classmethod
    def build(cls, **values: object) -> Settings:
        """Validate ``values``; a failure names the setting, never its value (it may be the key)."""
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems = [
                Problem(".".join(str(p) for p in err["loc"]) or "settings", err["msg"])
                for err in exc.errors(include_input=False, include_url=False)
            ]
            raise SettingsError(problems) from None
        url = urlsplit(settings.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SettingsError([Problem("base_url", "must be an http(s) URL such as https://www.kkiai.com")])
        return settings

    def poll_ceiling(self, *, callbacks: bool) -> float:
        """The longest wait between queries. With callbacks arriving (``public_url`` set) a callback says when a
        task finishes, so polling is only a safety net: 60 s keeps a 5-minute task to about 13 queries."""
        if self.poll_max_interval is not None:
            return self.poll_max_interval
        return CALLBACK_POLL_MAX_INTERVAL if callbacks else POLL_MAX_INTERVAL

    def with_key(self, api_key: str | None) -> Settings:
        """A copy using ``api_key`` (a visitor's own key), leaving this object unchanged."""
        return self.model_copy(update={"api_key": SecretStr(api_key) if api_key else None})


class SettingsError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
