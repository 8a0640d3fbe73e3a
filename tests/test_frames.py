"""Loading and checking frames: every image is drawn here, in tmp_path."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.corpus import animated_webp, make_bad, one_bit_png, with_orientation
from tests.images import encode, photo, write
from tests.support.meaning import keys, means, values
from vidu_ui.errors import InvalidInput, Problem
from vidu_ui.frames import (
    MAX_FILE_BYTES,
    Frame,
    aspect_problem,
    check_frame,
    check_pair,
    data_uri_length,
    images_size,
    load_frame,
    pair_problems,
)
from vidu_ui.messages import render_problem, say
from vidu_ui.request import url_problem


def refused(source: str | Path, role: str = "start") -> Problem:
    with pytest.raises(InvalidInput) as caught:
        load_frame(source, role)
    [problem] = caught.value.problems
    assert problem.field == f"{role}_frame"
    return problem


# --- valid frames -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "mime"), [("PNG", "a.png", "png"), ("JPEG", "a.jpg", "jpeg"), ("WEBP", "a.webp", "webp")]
)
def test_valid_frames_keep_their_bytes_and_type(tmp_path: Path, fmt: str, name: str, mime: str) -> None:
    path = write(tmp_path / name, photo(320, 240), fmt)
    frame = load_frame(path, "start")
    assert frame.data == path.read_bytes()
    assert (frame.format, frame.width, frame.height, frame.n_frames) == (mime, 320, 240, 1)
    assert frame.mime == f"image/{mime}"
    value = frame.image_value()
    assert value.startswith(f"data:image/{mime};base64,")
    assert frame.data_uri_length() == frame.value_length() == len(value)
    assert check_frame(frame) == []
    assert frame.field == "start_frame" and frame.label == "Start frame"
    assert frame.aspect == pytest.approx(4 / 3) and frame.pixels == 320 * 240


def test_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    frame = load_frame(write(tmp_path / "really-a-jpeg.png", photo(200, 100), "JPEG"), "end")
    assert frame.format == "jpeg"
    assert frame.image_value().startswith("data:image/jpeg;base64,")


def test_summary_is_a_short_human_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jpg", photo(640, 480), "JPEG")
    size = path.stat().st_size
    assert load_frame(path, "start").summary() == f"JPEG · 640×480 · {size / 1000:.0f} KB"
    path.write_bytes(animated_webp())
    assert "animated, 3 frames" in load_frame(path, "start").summary()


@pytest.mark.parametrize(
    ("mode", "params"),
    [("CMYK", {}), ("P", {"transparency": 0}), ("1", {}), ("LA", {}), ("RGBA", {})],
)
def test_unusual_colour_modes_are_valid_input(tmp_path: Path, mode: str, params: dict[str, object]) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    frame = load_frame(write(tmp_path / "x.img", photo(160, 120).convert(mode), fmt, **params), "start")
    assert (frame.width, frame.height) == (160, 120)
    assert frame.mode == mode
    assert check_frame(frame) == []


def test_sixteen_bit_png_is_valid_input(tmp_path: Path) -> None:
    grey = Image.linear_gradient("L").resize((256, 64)).convert("I").point(lambda v: v * 257).convert("I;16")
    frame = load_frame(write(tmp_path / "g16.png", grey, "PNG"), "start")
    assert frame.mode is not None and frame.mode.startswith("I;16")
    assert (frame.width, frame.height) == (256, 64)


def test_polyglot_jpeg_with_a_zip_appended_is_accepted_as_is(tmp_path: Path) -> None:
    data = encode(photo(300, 200), "JPEG") + b"PK\x03\x04" + b"\0" * 200
    path = tmp_path / "poly.jpg"
    path.write_bytes(data)
    frame = load_frame(path, "start")
    assert frame.format == "jpeg" and frame.data == data


def test_a_picture_past_pillows_own_limit_but_within_ours_loads_without_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(one_bit_png(10_000, 9_000))  # 90 MP: Pillow's Image.open would warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = load_frame(path, "start", max_pixels=100_000_000)
    assert (frame.width, frame.height) == (10_000, 9_000)


# --- refused files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key", "what", "expected"),
    [
        ("gif", "problem_frame_not_image", "frame_kind_other", {"name": "GIF"}),
        ("bmp", "problem_frame_not_image", "frame_kind_other", {"name": "BMP"}),
        ("tiff-named-png", "problem_frame_not_image_named", "frame_kind_other", {"name": "TIFF", "suffix": ".png"}),
        ("svg", "problem_frame_not_image", "frame_kind_svg", {}),
        ("text", "problem_frame_not_image_named", "frame_kind_text", {"suffix": ".jpg"}),
        ("heic", "problem_frame_not_image", "frame_kind_heic", {}),
        ("binary", "problem_frame_not_image_named", "frame_kind_unknown", {"suffix": ".webp"}),
        ("empty", "problem_frame_empty", None, {"name": "a.png"}),
        ("truncated-jpeg", "problem_frame_truncated", None, {"kind": "JPEG"}),
        ("truncated-png", "problem_frame_damaged", "frame_damage_truncated", {"kind": "PNG"}),
        ("bad-crc", "problem_frame_damaged", "frame_damage_checksum", {"chunk": "IDAT"}),
        ("bomb", "problem_frame_pixels", None, {"width": 30_000, "height": 30_000, "megapixels": 900, "limit": 50}),
        ("webp-bomb", "problem_frame_pixels", None, {"width": 16_383, "height": 16_383}),
    ],
)
def test_bad_frames_get_a_clear_message(
    tmp_path: Path, kind: str, key: str, what: str | None, expected: dict[str, object]
) -> None:
    path = make_bad(tmp_path, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow warning gets through
        problem = refused(path, "end" if kind == "gif" else "start")
    found = values(problem)
    assert problem.key == key and all(found.get(k) == v for k, v in expected.items()), (problem.key, found)
    assert what is None or what in keys(problem)
    for lang in ("en", "zh-CN"):
        assert render_problem(problem, lang)  # every nested phrase exists in both languages


def test_a_file_over_fifty_megabytes_is_refused_with_its_size(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.png", photo(64, 64), "PNG")
    with path.open("r+b") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk and no time
    problem = refused(path)
    assert means(problem, "problem_frame_too_big", n_bytes=MAX_FILE_BYTES + 1, limit_bytes=MAX_FILE_BYTES)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.png").key == "problem_frame_not_found"
    assert refused(tmp_path).key == "problem_frame_folder"
    windows = refused("C:\\photos\\start.png")  # a Windows path, not a scheme
    assert windows.key == "problem_frame_not_found" and windows.values["path"] == "C:\\photos\\start.png"


def test_role_must_be_start_or_end(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_frame(write(tmp_path / "a.png", photo(32, 32), "PNG"), "middle")


# --- URL frames ---------------------------------------------------------------------------------------------


def test_url_frame_is_checked_not_downloaded() -> None:
    frame = load_frame("  https://example.com/frames/start.png?sig=abc  ", "start")
    assert frame.url == "https://example.com/frames/start.png?sig=abc"
    assert frame.image_value() == frame.url and frame.value_length() == len(frame.url)
    assert frame.data is None and check_frame(frame) == []
    assert frame.summary().startswith("URL · example.com")
    assert frame.summary("zh-CN") == say("zh-CN", "frame_summary_url", host="example.com")


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("file:///etc/passwd", "problem_frame_file_url"),
        ("ftp://example.com/a.png", "problem_frame_scheme"),
        ("data:image/png;base64,AAAA", "problem_frame_data_uri"),
        ("javascript:alert(1)", "problem_frame_scheme"),
        ("https://user:secret@example.com/a.png", "problem_url_credentials"),
        ("http:///a.png", "problem_url_host"),
        ("https://example.com/a b.png", "problem_frame_url_chars"),
        ('https://example.com/a"b.png', "problem_frame_url_chars"),
        ("https://exämple.com/a.png", "problem_frame_url_chars"),
        ("https://example.com:99999/a.png", "problem_url_port"),
        ("https://example.com/" + "a" * 2100, "problem_url_long"),
        ("   ", "problem_frame_missing"),
    ],
)
def test_bad_sources_are_refused(source: str, key: str) -> None:
    problem = refused(source, "end")
    assert problem.key == key
    for lang in ("en", "zh-CN"):
        assert "secret" not in render_problem(problem, lang)


def test_a_frame_url_follows_the_one_url_rule() -> None:
    """frames refuses what ``request.url_problem`` refuses for an image, with the same key: one rule."""
    for url in ("https://user:secret@example.com/a.png", "http:///a.png", "https://example.com:99999/a.png"):
        rule = url_problem("end_frame", url, image=True)
        assert rule is not None and refused(url, "end") == rule
    scheme = refused("ftp://example.com/a.png", "end")
    assert scheme.values == {"scheme": "ftp"}


# --- rules --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "shape"), [((500, 100), "5.00:1"), ((100, 500), "1:5.00")])
def test_extreme_aspect_ratios(tmp_path: Path, size: tuple[int, int], shape: str) -> None:
    frame = load_frame(write(tmp_path / "a.png", photo(*size), "PNG"), "start")
    [problem] = check_frame(frame)
    assert problem.field == "start_frame"
    assert means(problem, "problem_frame_aspect", width=size[0], height=size[1], shape=shape)


def test_animated_webp_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "anim.webp"
    path.write_bytes(animated_webp())
    frame = load_frame(path, "end")
    assert frame.n_frames == 3
    [problem] = check_frame(frame)
    assert problem.field == "end_frame"
    assert means(problem, "problem_frame_animated", kind="WebP", count=3)


def test_pair_with_aspect_ratio_1_4_is_refused(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.jpg", photo(1200, 1000), "JPEG"), "start")
    end = load_frame(write(tmp_path / "e.jpg", photo(1000, 1200), "JPEG"), "end")
    [problem] = check_pair(start, end)  # same pixel count: only the aspect ratio fails
    assert problem.field == "end_frame"
    assert means(problem, "problem_pair_aspect", ratio="1.44", start_width=1200, end_width=1000)


def test_pair_check_reads_pixels_too(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.jpg", photo(1400, 1000), "JPEG"), "start")
    end = load_frame(write(tmp_path / "e.jpg", photo(700, 500), "JPEG"), "end")
    [problem] = check_pair(start, end)  # same aspect ratio, a quarter of the pixels
    assert means(problem, "problem_pair_pixels", ratio="4.00", start_width=1400, start_height=1000, end_width=700)


def test_a_panorama_is_the_start_frames_problem_not_the_pairs(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.jpg", photo(2500, 500), "JPEG"), "start")  # 5:1
    end = load_frame(write(tmp_path / "e.jpg", photo(1000, 1000), "JPEG"), "end")
    assert check_pair(start, end) == []
    [problem] = check_frame(start) + check_frame(end)
    assert problem.field == "start_frame" and means(problem, "problem_frame_aspect", width=2500, height=500)


def test_exif_rotation_changes_the_verdict(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.jpg", photo(1000, 750), "JPEG"), "start")
    (tmp_path / "upright.jpg").write_bytes(with_orientation(photo(1000, 750, 1), 1))
    (tmp_path / "turned.jpg").write_bytes(with_orientation(photo(1000, 750, 1), 6))
    upright, turned = load_frame(tmp_path / "upright.jpg", "end"), load_frame(tmp_path / "turned.jpg", "end")
    assert (upright.width, upright.height) == (1000, 750) and check_pair(start, upright) == []
    assert (turned.width, turned.height, turned.orientation) == (750, 1000, 6)
    assert check_pair(start, turned)


def test_url_frames_skip_the_pair_check(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.jpg", photo(1000, 200), "JPEG"), "start")
    assert check_pair(start, load_frame("https://example.com/e.png", "end")) == []


def test_images_size_is_what_the_images_add_to_the_json_body(tmp_path: Path) -> None:
    start = load_frame(write(tmp_path / "s.webp", photo(300, 200), "WEBP"), "start")
    end = load_frame("https://example.com/e.png", "end")
    body = {"model": "viduq1", "images": [start.image_value(), end.image_value()], "prompt": "a cat turns"}
    empty = {**body, "images": ["", ""]}
    assert len(orjson.dumps(body)) == len(orjson.dumps(empty)) + images_size(start, end)


@given(st.integers(1, 50_000), st.integers(1, 50_000))
def test_aspect_rule(width: int, height: int) -> None:
    problem = aspect_problem(width, height)
    assert (problem is None) == (Fraction(1, 4) <= Fraction(width, height) <= 4)
    if problem:
        assert problem.key == "problem_frame_aspect" and (problem.values["width"], problem.values["height"]) == (
            width,
            height,
        )


@given(st.tuples(st.integers(1, 9000), st.integers(1, 9000)), st.tuples(st.integers(1, 9000), st.integers(1, 9000)))
def test_pair_rule(start: tuple[int, int], end: tuple[int, int]) -> None:
    (ws, hs), (we, he) = start, end
    aspect_ok = Fraction(4, 5) <= Fraction(ws * he, hs * we) <= Fraction(5, 4)
    pixels_ok = Fraction(4, 5) <= Fraction(ws * hs, we * he) <= Fraction(5, 4)
    problems = pair_problems(start, end)
    assert len(problems) == (not aspect_ok) + (not pixels_ok)
    expected = {key for key, ok in (("problem_pair_aspect", aspect_ok), ("problem_pair_pixels", pixels_ok)) if not ok}
    assert {p.key for p in problems} == expected


@given(st.binary(max_size=300), st.sampled_from(["png", "jpeg", "webp"]))
def test_data_uri_length_is_exact(data: bytes, fmt: str) -> None:
    frame = Frame("start", "x", data=data, format=fmt, width=1, height=1)
    assert data_uri_length(fmt, len(data)) == len(frame.image_value())
