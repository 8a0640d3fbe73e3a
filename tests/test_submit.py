from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from tests.images import photo, write
from vidu_ui import frames
from vidu_ui import submit as submit_module
from vidu_ui.errors import InvalidInput
from vidu_ui.request import TaskOptions, build_body
from vidu_ui.submit import prepare

OPTIONS = TaskOptions(model="viduq1", prompt="a slow dolly in")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write(tmp_path / "s.png", photo(320, 240, seed=1), "PNG"),
        write(tmp_path / "e.webp", photo(320, 240, seed=2), "WEBP", quality=80),
    )


def test_the_body_carries_the_original_bytes_with_their_real_type(pair: tuple[Path, Path]) -> None:
    request = prepare(pair[0], pair[1], OPTIONS)
    images = request.body["images"]
    assert images[0].startswith("data:image/png;base64,")
    assert images[1].startswith("data:image/webp;base64,")
    assert base64.b64decode(images[0].split(",", 1)[1]) == pair[0].read_bytes()
    assert base64.b64decode(images[1].split(",", 1)[1]) == pair[1].read_bytes()
    assert request.content == orjson.dumps(request.body)
    assert request.size == len(request.content)
    assert list(request.body) == ["model", "images", "prompt"]
    assert request.changes == ()


def test_url_frames_pass_through(pair: tuple[Path, Path]) -> None:
    request = prepare("https://example.com/a.png", pair[1], OPTIONS)
    assert request.body["images"][0] == "https://example.com/a.png"


def test_option_and_frame_problems_are_reported_together(tmp_path: Path) -> None:
    gif = tmp_path / "a.gif"
    photo(50, 50).save(gif, "GIF")
    with pytest.raises(InvalidInput) as info:
        prepare(gif, tmp_path / "missing.png", TaskOptions(model="viduq1", prompt=""))
    assert [p.field for p in info.value.problems] == ["prompt", "start_frame", "end_frame"]


def test_a_body_over_twenty_megabytes_says_by_how_much(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start = write(tmp_path / "s.png", photo(400, 300, seed=5), "PNG")
    end = write(tmp_path / "e.png", photo(400, 300, seed=6), "PNG")
    monkeypatch.setattr(frames, "MAX_BODY_BYTES", 200_000)
    with pytest.raises(InvalidInput) as info:
        prepare(start, end, OPTIONS)
    (problem,) = info.value.problems
    assert problem.field == "frames"
    assert "over the service's 0.2 MB limit" in problem.message and "auto-fit" in problem.message


def test_auto_fit_makes_an_oversized_pair_fit_and_says_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = write(tmp_path / "s.png", photo(800, 600, seed=5), "PNG")
    end = write(tmp_path / "e.png", photo(800, 600, seed=6), "PNG")
    monkeypatch.setattr(frames, "MAX_BODY_BYTES", 300_000)
    request = prepare(start, end, OPTIONS, auto_fit=True)
    assert request.size <= 300_000
    assert request.changes[0].key == "fit_reencoded_kept" and str(request.changes[0]).startswith("Start frame")
    assert request.changes[1].key == "fit_reencoded_kept" and str(request.changes[1]).startswith("End frame")
    assert request.changes[0].values["after"] == "800×600"
    assert request.start.format == "jpeg" and request.body["images"][0].startswith("data:image/jpeg;base64,")


def test_shortened_body_hides_image_data(pair: tuple[Path, Path]) -> None:
    short = prepare(pair[0], pair[1], OPTIONS).shortened_body()
    assert all(len(image) < 100 and "more characters" in image for image in short["images"])


@pytest.mark.parametrize(
    "size", [1, 2, 3, 4, submit_module._CHUNK - 1, submit_module._CHUNK, 2 * submit_module._CHUNK + 2]
)
def test_the_body_written_in_chunks_is_the_plain_encoding(size: int) -> None:
    """``encode_body`` writes the images' base64 a chunk at a time into a buffer of the body's size: the very
    bytes ``orjson.dumps`` gives for the body with whole data URIs, whatever the frames' lengths."""
    fields = {"model": "viduq1", "prompt": 'a "quoted" 中文 prompt\n\t', "duration": 5, "payload": "vidu-ui:1"}
    start = frames.Frame(
        "start", "a.jpg", data=bytes(range(256)) * (size // 256) + b"\xff" * (size % 256), format="jpeg"
    )
    end = frames.Frame("end", "b.png", data=b"\x89PNG" + bytes(size), format="png")
    url = frames.Frame("end", "https://example.com/b.webp", url="https://example.com/b.webp?x=1&y=%20")
    for second in (end, url):
        expected = orjson.dumps(build_body(fields, [start.image_value(), second.image_value()]))
        assert submit_module.encode_body(fields, start, second) == expected
