"""What the service names is downloaded only under the rules of ``vidu_ui.downloads``: https to public addresses
(or whatever kind of address the service itself is on), redirects re-checked, a size cap, video bytes only (image
bytes, under a smaller cap, for a cover, which the follower keeps beside the video)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.fakes import MP4_HEAD, cdn_policy
from tests.images import encode, photo, write
from tests.support.tracking import KEY as SIM_KEY
from tests.support.tracking import frame_pair, sim_body, sim_settings
from vidu_ui.cli import app
from vidu_ui.client import ViduClient
from vidu_ui.downloads import MAX_IMAGE_BYTES, DownloadPolicy, DownloadRefused, fetch
from vidu_ui.follower import Follower
from vidu_ui.frames import sniff_image
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.store import DB_NAME, Store

KEY = "sk-downloads-test"
PUBLIC = "93.184.216.34"


def resolving(table: dict[str, str]) -> DownloadPolicy:
    """The rules for a public https service, with host names resolved from ``table``."""
    return DownloadPolicy(max_bytes=1_000_000, resolver=lambda host, port: [table.get(host, PUBLIC)])


def mock(handler: object) -> httpx.MockTransport:
    return httpx.MockTransport(handler)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "address", "key"),
    [
        ("https://cdn.test/v.mp4", "127.0.0.1", "address"),
        ("https://cdn.test/v.mp4", "10.1.2.3", "address"),
        ("https://cdn.test/v.mp4", "169.254.169.254", "address"),  # the cloud metadata service
        ("https://cdn.test/v.mp4", "::ffff:127.0.0.1", "address"),
        ("https://cdn.test/v.mp4", "fe80::1", "address"),
        ("http://cdn.test/v.mp4", PUBLIC, "scheme"),
        ("file:///etc/passwd", PUBLIC, "scheme"),
        ("https://user:pw@cdn.test/v.mp4", PUBLIC, "scheme"),
    ],
)
def test_a_url_breaking_a_rule_is_refused_before_any_request(tmp_path: Path, url: str, address: str, key: str) -> None:
    sent: list[httpx.Request] = []
    transport = mock(lambda request: sent.append(request) or httpx.Response(200, content=MP4_HEAD))
    with pytest.raises(DownloadRefused) as caught:
        fetch(url, tmp_path / "v.mp4", resolving({"cdn.test": address}), transport=transport)
    assert caught.value.key == key and not sent and list(tmp_path.iterdir()) == []


def test_each_redirect_is_checked_again(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.test":
            return httpx.Response(302, headers={"location": "https://inside.test/internal-secret"})
        return httpx.Response(200, content=MP4_HEAD + b"secret")

    policy = resolving({"inside.test": "127.0.0.1"})
    with pytest.raises(DownloadRefused) as caught:
        fetch("https://cdn.test/v.mp4", tmp_path / "v.mp4", policy, transport=mock(answer))
    assert caught.value.key == "address" and caught.value.host == "inside.test"
    assert list(tmp_path.iterdir()) == []


def test_redirects_are_followed_a_bounded_number_of_times(tmp_path: Path) -> None:
    hops: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        if request.url.path.startswith("/loop"):
            return httpx.Response(302, headers={"location": "/loop"})
        if len(hops) < 3:
            return httpx.Response(302, headers={"location": f"/hop{len(hops)}"})
        return httpx.Response(200, content=MP4_HEAD + b"x")

    assert fetch("https://cdn.test/v.mp4", tmp_path / "v.mp4", cdn_policy(), transport=mock(answer)).exists()
    hops.clear()
    with pytest.raises(DownloadRefused) as caught:
        fetch("https://cdn.test/loop", tmp_path / "loop.mp4", cdn_policy(), transport=mock(answer))
    assert caught.value.key == "redirects" and len(hops) <= 10


def test_an_answer_past_the_cap_is_refused_mid_stream_and_nothing_is_kept(tmp_path: Path) -> None:
    served = {"bytes": 0}

    def endless() -> Iterator[bytes]:
        yield MP4_HEAD
        for _ in range(10_000):  # 640 MB if read to the end
            served["bytes"] += 65_536
            yield b"\0" * 65_536

    declared = mock(lambda request: httpx.Response(200, headers={"content-length": "400000000"}, content=MP4_HEAD))
    with pytest.raises(DownloadRefused) as caught:
        fetch("https://cdn.test/v.mp4", tmp_path / "a.mp4", cdn_policy(1_000_000), transport=declared)
    assert caught.value.key == "too_large"
    with pytest.raises(DownloadRefused) as caught:
        fetch(
            "https://cdn.test/v.mp4",
            tmp_path / "b.mp4",
            cdn_policy(1_000_000),
            transport=mock(lambda r: httpx.Response(200, content=endless())),
        )
    assert caught.value.key == "too_large" and served["bytes"] < 3_000_000
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "kind", "kept"),
    [
        (b"<!doctype html><title>secret</title>", "video", False),
        (b"root:x:0:0:root:/root:/bin/bash\n", "video", False),
        (b"\xff\xd8\xff\xe0 a jpeg", "video", False),
        (MP4_HEAD + b"moov", "video", True),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video", True),  # QuickTime MOV
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video", True),
        (b"\xff\xd8\xff\xe0 a jpeg cover", "image", True),
        (b"<html>not a cover</html>", "image", False),
        (b"", "video", False),
    ],
)
def test_only_video_bytes_are_kept(tmp_path: Path, body: bytes, kind: str, kept: bool) -> None:
    dest = tmp_path / "v.bin"
    transport = mock(lambda request: httpx.Response(200, content=body))
    if kept:
        fetch("https://cdn.test/v", dest, cdn_policy(), kind=kind, transport=transport)  # type: ignore[arg-type]
        assert dest.read_bytes() == body
    else:
        with pytest.raises(DownloadRefused) as caught:
            fetch("https://cdn.test/v", dest, cdn_policy(), kind=kind, transport=transport)  # type: ignore[arg-type]
        assert caught.value.key == "not_media" and list(tmp_path.iterdir()) == []


class _Results(http.server.BaseHTTPRequestHandler):
    """A local result server: a video's bytes at ``*.mp4``, a JPEG at ``*.jpg``, an HTML page anywhere else."""

    def do_GET(self) -> None:
        if self.path.endswith(".mp4"):
            kind, body = "video/mp4", MP4_HEAD + b"video"
        elif self.path.endswith(".jpg"):
            kind, body = "image/jpeg", encode(photo(64, 48, seed=5), "JPEG")
        else:
            kind, body = "text/html", b"<!doctype html><title>internal secret</title>"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def results_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Results)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_address_connected_to_is_checked_again(tmp_path: Path, results_server: str) -> None:
    """A name that resolved to a public address when checked, then connects to loopback (DNS rebinding)."""
    lying = DownloadPolicy(max_bytes=1_000_000, allow_http=True, resolver=lambda host, port: [PUBLIC])
    with pytest.raises(DownloadRefused) as caught:
        fetch(f"{results_server}/v.mp4", tmp_path / "v.mp4", lying)
    assert caught.value.key == "address" and "loopback" in caught.value.detail


def test_the_simulators_own_loopback_is_allowed_only_for_it() -> None:
    local = DownloadPolicy.for_settings(Settings.build(base_url="http://127.0.0.1:8000"))
    public = DownloadPolicy.for_settings(
        Settings.build(base_url="https://vidu.test"), resolver=lambda host, port: [PUBLIC]
    )
    assert local.allow_http and "loopback" in local.allowed
    assert not public.allow_http and public.allowed == frozenset({"public"})


def test_submit_wait_refuses_a_page_named_as_the_video_and_exits_non_zero(tmp_path: Path, results_server: str) -> None:
    start = write(tmp_path / "start.png", photo(320, 240, seed=1), "PNG")
    end = write(tmp_path / "end.png", photo(320, 240, seed=2), "PNG")
    with Simulator(api_key=KEY, queue_seconds=0.05, process_seconds=0.1) as sim:
        answer = {
            "id": "0",
            "state": "success",
            "creations": [{"id": "c", "url": f"{results_server}/internal-secret", "cover_url": f"{results_server}/c"}],
        }
        sim.inject(Fault(call="query", status=200, body=json.dumps(answer), times=50))
        env = {
            "VIDU_BASE_URL": sim.base_url,
            "VIDU_API_KEY": KEY,
            "VIDU_UI_DATA_DIR": str(tmp_path / "data"),
            "VIDU_POLL_INTERVAL": "0.05",
        }
        args = ["submit", str(start), str(end), "-p", "x", "--wait", "-o", str(tmp_path / "out")]
        result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "refused" in result.stderr and "status" in result.stderr  # the way to a fresh link
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    with Store(tmp_path / "data" / DB_NAME) as store:
        records = store.list()
    assert len(records) == 1 and records[0].video_path is None


# --- covers: kept beside the video by the follower, under the same rules ----------------------------------------


@pytest.mark.parametrize(
    ("cover", "kept"),
    [
        ("{results}/cover.jpg", True),
        ("{results}/internal-secret", False),  # the service's own (loopback) kind of address, but a page
        ("http://169.254.169.254/latest/meta-data/", False),  # the cloud metadata service: refused unasked
        ("http://10.0.0.1/cover.jpg", False),  # a private address the service is not on
    ],
)
def test_the_follower_keeps_a_cover_only_when_it_is_an_image_from_an_allowed_address(
    tmp_path: Path, results_server: str, cover: str, kept: bool
) -> None:
    """The simulator (on loopback) answers a query naming the video and ``cover``; the follower keeps the video
    and, beside it, only a cover that passes ``vidu_ui.downloads``; a refused one leaves nothing, not even a part."""
    with Simulator(SIM_KEY, queue_seconds=0.05, process_seconds=0.1) as sim:
        settings = sim_settings(sim, tmp_path)
        store = Store.open(settings)
        follower = Follower(settings, store)  # not started: ``step`` runs its jobs here
        start, end = frame_pair(4)
        body = sim_body(start, end)
        with ViduClient(settings) as client:
            created = client.create(json.dumps(body).encode())
        store.record_submission(task_id=created.task_id, body=body, response=created.raw)
        creation = {"id": "c", "url": f"{results_server}/v.mp4", "cover_url": cover.format(results=results_server)}
        answer = {"id": created.task_id, "state": "success", "creations": [creation]}
        sim.inject(Fault(call="query", status=200, body=json.dumps(answer), times=50))
        follower.track(created.task_id)
        for _ in range(5):  # a query, then the download job it arms
            if follower.step() is None:
                break
        record = store.get(created.task_id)
        store.close()
    assert record is not None and record.video_path is not None  # the video never waits for its cover
    folder = Path(record.video_path).parent
    covers = [p.name for p in folder.iterdir() if ".cover" in p.name]
    if kept:
        assert record.cover_path == str(folder / f"{created.task_id}.cover.jpg")
        assert sniff_image(Path(record.cover_path).read_bytes()[:16]) == "jpeg"
        assert covers == [f"{created.task_id}.cover.jpg"]
    else:
        assert record.cover_path is None and covers == []


def test_a_cover_is_capped_well_below_a_video(tmp_path: Path) -> None:
    huge = b"\xff\xd8\xff\xe0" + b"\0" * (MAX_IMAGE_BYTES + 1)
    transport = mock(lambda request: httpx.Response(200, content=huge))
    policy = DownloadPolicy(max_bytes=MAX_IMAGE_BYTES * 10, resolver=lambda host, port: [PUBLIC])
    with pytest.raises(DownloadRefused) as caught:
        fetch("https://cdn.test/c.jpg", tmp_path / "c.jpg", policy, kind="image", transport=transport)
    assert caught.value.key == "too_large" and list(tmp_path.iterdir()) == []
    fetch(
        "https://cdn.test/v.mp4",
        tmp_path / "v.mp4",
        policy,
        transport=mock(lambda r: httpx.Response(200, content=MP4_HEAD + huge)),
    )
    assert (tmp_path / "v.mp4").stat().st_size > MAX_IMAGE_BYTES
