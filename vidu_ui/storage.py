"""Where finished videos are kept: a directory (default ``data_dir/videos``) or an S3-compatible bucket.

``VIDU_UI_STORAGE_URL`` chooses: a path, or ``s3://bucket/prefix`` (AWS, MinIO, R2…; the endpoint and
credentials come from the standard AWS variables: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, or boto3's other usual sources).

``save(url, task_id, watermarked=…, cover=…, downloader=…)`` fetches a result URL into the store once and returns
its *location* (what the history keeps as ``video_path``, ``watermarked_path`` or ``cover_path``): the file's
path for a directory, ``s3://bucket/key`` for a bucket. The download itself is ``tracking.download`` (atomic: a
partial file never has the final name); for a bucket it goes to a local staging file first, then one
conditional upload (``If-None-Match: *``), so whichever replica saves a task's video, it is written once.

The cover is kept beside its video as ``<task_id>.cover.jpg`` (the service's covers are JPEG; its bytes were
checked to be an image by ``vidu_ui.downloads``). A viewer gets a video (or cover) only after the ownership
check, from ``link``: for a bucket a presigned GET URL valid ``LINK_SECONDS``; for a directory None (the app
publishes the file itself: ``studio.media.VideoStage``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .settings import Settings

__all__ = ["LINK_SECONDS", "DirectoryStorage", "S3Storage", "Storage", "is_bucket_location", "open_storage"]

LINK_SECONDS = 600
"""How long a presigned link to a video in a bucket stays valid."""
Downloader = Callable[[str, Path], Path]


def is_bucket_location(location: str | None) -> bool:
    return bool(location) and str(location).startswith("s3://")


def _name(task_id: str, watermarked: bool, cover: bool = False) -> str:
    if cover:
        return f"{task_id}.cover.jpg"
    return f"{task_id}{'.watermarked' if watermarked else ''}.mp4"


class Storage(Protocol):
    staging: Path
    """A local folder for downloads in progress (``tracking.clean_partials`` tidies it at start)."""

    def location(self, task_id: str, *, watermarked: bool = False, cover: bool = False) -> str: ...
    def save(
        self, url: str, task_id: str, *, watermarked: bool = False, cover: bool = False, downloader: Downloader
    ) -> str: ...
    def link(self, location: str) -> str | None: ...


class DirectoryStorage:
    """Videos as files in ``root`` (created 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root

    def location(self, task_id: str, *, watermarked: bool = False, cover: bool = False) -> str:
        return str(self.root / _name(task_id, watermarked, cover))

    def save(
        self, url: str, task_id: str, *, watermarked: bool = False, cover: bool = False, downloader: Downloader
    ) -> str:
        from .store import private_dir

        private_dir(self.root)
        return str(downloader(url, Path(self.location(task_id, watermarked=watermarked, cover=cover))))

    def link(self, location: str) -> str | None:
        return None


class S3Storage:
    """Videos as objects ``<prefix>/<task_id>.mp4`` in ``bucket``; ``client`` is a boto3 S3 client."""

    def __init__(self, bucket: str, prefix: str, staging: Path, client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            client = boto3.client("s3", region_name=region, config=Config(signature_version="s3v4"))
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.staging = staging

    def key(self, task_id: str, *, watermarked: bool = False, cover: bool = False) -> str:
        name = _name(task_id, watermarked, cover)
        return f"{self.prefix}/{name}" if self.prefix else name

    def location(self, task_id: str, *, watermarked: bool = False, cover: bool = False) -> str:
        return f"s3://{self.bucket}/{self.key(task_id, watermarked=watermarked, cover=cover)}"

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def save(
        self, url: str, task_id: str, *, watermarked: bool = False, cover: bool = False, downloader: Downloader
    ) -> str:
        from botocore.exceptions import ClientError

        from .store import private_dir

        key = self.key(task_id, watermarked=watermarked, cover=cover)
        location = self.location(task_id, watermarked=watermarked, cover=cover)
        if self._exists(key):  # another replica saved it already
            return location
        private_dir(self.staging)
        folder = Path(tempfile.mkdtemp(prefix=f".{task_id}.", dir=self.staging))
        try:
            path = downloader(url, folder / _name(task_id, watermarked, cover))
            kind = "image/jpeg" if cover else "video/mp4"
            with path.open("rb") as body:
                try:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=kind, IfNoneMatch="*")
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                        raise
        finally:
            for leftover in folder.iterdir():
                leftover.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        return location

    def link(self, location: str) -> str | None:
        parts = urlsplit(location)
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": parts.netloc, "Key": parts.path.lstrip("/")},
                ExpiresIn=LINK_SECONDS,
            )
        )


def open_storage(settings: Settings) -> DirectoryStorage | S3Storage:
    """The storage ``settings.storage_url`` names (default: ``data_dir/videos``)."""
    url = settings.storage_url
    if url and url.startswith("s3://"):
        parts = urlsplit(url)
        return S3Storage(parts.netloc, parts.path, settings.data_dir / "videos")
    return DirectoryStorage(Path(url).expanduser() if url else settings.data_dir / "videos")
