"""``storage``: videos in a directory or in an S3-compatible bucket (moto's server, a real HTTP S3 endpoint started
by the tests: ``tests/servers.py``), written once, served to a viewer by a presigned link."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import orjson
import pytest

from tests.support.tracking import KEY, frame_pair, mp4_ok, sim_body, sim_settings
from vidu_ui.client import ViduClient
from vidu_ui.follower import Follower
from vidu_ui.simulator import Simulator
from vidu_ui.storage import DirectoryStorage, S3Storage, is_bucket_location, open_storage
from vidu_ui.store import Store


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on the moto server; the standard AWS variables point boto3 at it."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test-access",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    name = f"videos-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=name)
    yield name


def writer(content: bytes, calls: list[str]):  # type: ignore[no-untyped-def]
    def download(url: str, dest: Path) -> Path:
        calls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        return dest

    return download


def test_a_directory_keeps_todays_paths(tmp_path: Path) -> None:
    storage = open_storage(sim_settings_for(tmp_path))
    assert isinstance(storage, DirectoryStorage)
    calls: list[str] = []
    location = storage.save("https://cdn.test/1.mp4", "1", downloader=writer(b"video", calls))
    assert location == str(tmp_path / "data" / "videos" / "1.mp4") and Path(location).read_bytes() == b"video"
    assert storage.link(location) is None  # the app publishes the file itself, after the ownership check
    assert not is_bucket_location(location)


def sim_settings_for(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from vidu_ui.settings import Settings

    return Settings.build(data_dir=tmp_path / "data", **overrides)


def test_a_bucket_is_written_once_and_served_by_a_presigned_link(tmp_path: Path, bucket: str) -> None:
    storage = open_storage(sim_settings_for(tmp_path, storage_url=f"s3://{bucket}/team/videos"))
    assert isinstance(storage, S3Storage)
    calls: list[str] = []
    location = storage.save("https://cdn.test/7.mp4", "7", downloader=writer(b"first", calls))
    assert location == f"s3://{bucket}/team/videos/7.mp4" and is_bucket_location(location)
    again = storage.save("https://cdn.test/7.mp4", "7", downloader=writer(b"second", calls))
    assert again == location and calls == ["https://cdn.test/7.mp4"]  # the second replica finds it there
    body = storage.client.get_object(Bucket=bucket, Key="team/videos/7.mp4")["Body"].read()
    assert body == b"first"
    link = storage.link(location)
    assert link is not None and "X-Amz-Expires=600" in link and "Signature" in link
    assert httpx.get(link).content == b"first"
    assert list((tmp_path / "data" / "videos").iterdir()) == []  # nothing left in staging


def test_the_follower_saves_videos_into_the_bucket(tmp_path: Path, bucket: str) -> None:
    with Simulator(KEY, queue_seconds=0.05, process_seconds=0.2) as sim:
        settings = sim_settings(sim, tmp_path, storage_url=f"s3://{bucket}/v")
        store = Store.open(settings)
        done = threading.Event()
        with Follower(settings, store) as follower:
            start, end = frame_pair(3)
            body = sim_body(start, end, watermark=True)
            with ViduClient(settings) as client:
                created = client.create(orjson.dumps(body))
            store.record_submission(task_id=created.task_id, body=body, response=created.raw)

            def check(_ref: str) -> None:
                record = store.get(created.task_id)
                if record is not None and record.watermarked_path is not None and record.video_path is not None:
                    done.set()

            store.on_change(check)
            follower.track(created.task_id)
            assert done.wait(30)
        record = store.get(created.task_id)
        assert record is not None
        assert (record.video_path, record.watermarked_path) == (
            f"s3://{bucket}/v/{created.task_id}.mp4",
            f"s3://{bucket}/v/{created.task_id}.watermarked.mp4",
        )
        saved = tmp_path / "got.mp4"
        saved.write_bytes(
            follower.storage.client.get_object(Bucket=bucket, Key=f"v/{created.task_id}.mp4")["Body"].read()
        )
        assert mp4_ok(saved)
