from __future__ import annotations

import io
import struct

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.images import encode, photo
from vidu_ui.simulator import video
from vidu_ui.simulator.video import MAX_SECONDS, add_mark, cover_jpeg, crossfade_mp4, fit_frames, frame_size


def _top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def _frames(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [frame.to_image() for frame in container.decode(video=0)]  # type: ignore[no-untyped-call]


def _difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def test_crossfade_is_a_streamable_h264_mp4_of_the_fitted_size() -> None:
    data = crossfade_mp4(photo(800, 450, 1), photo(800, 450, 2), 2, fps=12)
    boxes = _top_level_boxes(data)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat"), "faststart puts the index first"
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (640, 360)
        assert stream.average_rate == 12
        assert len(list(container.decode(video=0))) == 24


def test_length_follows_seconds_but_is_capped() -> None:
    start, end = photo(160, 90, 1), photo(160, 90, 2)
    assert len(_frames(crossfade_mp4(start, end, 1, fps=10))) == 10
    assert len(_frames(crossfade_mp4(start, end, 16, fps=10))) == round(MAX_SECONDS * 10)
    assert len(_frames(crossfade_mp4(start, end, 0, fps=10))) == 1


def test_it_fades_from_the_start_frame_to_the_end_frame() -> None:
    start, end = photo(320, 180, 3), photo(320, 180, 4)
    frames = _frames(crossfade_mp4(start, end, 1))
    assert _difference(frames[0], start) < _difference(frames[0], end)
    assert _difference(frames[-1], end) < _difference(frames[-1], start)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((800, 450), (640, 360)), ((450, 800), (360, 640)), ((101, 77), (100, 76)), ((4000, 1000), (640, 160))],
)
def test_frame_size_fits_never_enlarges_and_is_even(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert frame_size(*size) == expected


def test_an_end_frame_of_another_shape_is_cropped_to_the_start_frame() -> None:
    first, last = fit_frames(photo(640, 360, 1), photo(500, 500, 2))
    assert first.size == last.size == (640, 360)
    frames = _frames(crossfade_mp4(photo(640, 360, 1), photo(500, 500, 2), 0.5))
    assert frames[0].size == (640, 360)


def test_mark_is_drawn_in_the_asked_corner() -> None:
    img = photo(320, 180, 5)
    for position, box in {
        1: (0, 0, 60, 40),
        2: (260, 0, 320, 40),
        3: (260, 140, 320, 180),
        4: (0, 140, 60, 180),
    }.items():
        changed = ImageChops.difference(img, add_mark(img, position)).getbbox()
        assert changed is not None
        assert box[0] <= changed[0] and box[1] <= changed[1] and changed[2] <= box[2] and changed[3] <= box[3]


def test_cover_is_a_jpeg_at_the_video_size() -> None:
    with Image.open(io.BytesIO(cover_jpeg(photo(800, 450, 1)))) as cover:
        assert cover.format == "JPEG"
        assert cover.size == (640, 360)


def test_task_media_encodes_a_pair_once_per_length_and_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[float] = []

    def counting(start: Image.Image, end: Image.Image, seconds: float) -> bytes:
        encoded.append(seconds)
        return crossfade_mp4(start, end, seconds)

    monkeypatch.setattr(video, "crossfade_mp4", counting)
    monkeypatch.setattr(video, "_cache", type(video._cache)())
    start, end = encode(photo(160, 90, 31), "PNG"), encode(photo(160, 90, 32), "JPEG")
    plain = video.task_media(start, end, 1)
    assert set(plain) == {"video.mp4", "cover.jpg"} and len(encoded) == 1
    assert video.task_media(start, end, 1) == plain and len(encoded) == 1, "the same pair again: from the cache"
    assert len(_frames(video.task_media(start, end, 2)["video.mp4"][1])) == 2 * video.FPS and len(encoded) == 2
    marked = video.task_media(start, end, 1, watermark=2)
    assert set(marked) == {"video.mp4", "cover.jpg", "video-wm.mp4"} and len(encoded) == 4
    assert video.task_media(end, start, 1) != plain, "the frames swapped are another video"
    for seconds in range(video._CACHE_SIZE + 1):  # the oldest results go first
        video.task_media(start, end, seconds / video.FPS)
    assert len(video._cache) == video._CACHE_SIZE
