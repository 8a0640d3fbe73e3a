"""Auto-fit: each rule, with pictures drawn here and budgets small enough to force the work."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from tests.images import photo, write
from tests.support.meaning import keys, means
from vidu_ui import frames
from vidu_ui.autofit import auto_fit
from vidu_ui.catalogue import RESOLUTIONS, resolution_pixels
from vidu_ui.errors import InvalidInput
from vidu_ui.frames import Frame, check_frame, check_pair, images_size, load_frame
from vidu_ui.messages import Phrase


def decoded(frame: Frame) -> Image.Image:
    assert frame.data is not None
    image = Image.open(io.BytesIO(frame.data))
    image.load()
    return image


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0–255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def load(path: Path, role: str) -> Frame:
    return load_frame(path, role)


def squeeze(start: Frame) -> tuple[Frame, int]:
    """A URL end frame and a budget one byte short of the start frame's: re-encoding it must fit."""
    end = load_frame("https://example.com/end.png", "end")
    return end, images_size(start, end) - 1


@pytest.fixture(scope="module")
def noisy_pngs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two large noisy PNGs (3000×2000), drawn once for the module."""
    folder = tmp_path_factory.mktemp("noisy")
    return (
        write(folder / "start.png", photo(3000, 2000, 1), "PNG", compress_level=1),
        write(folder / "end.png", photo(3000, 2000, 2), "PNG", compress_level=1),
    )


def named(change: Phrase, role: str) -> bool:
    """Whether an auto-fit change names the frame it is about (and only that one)."""
    return change.values.get("frame") == Phrase.of(f"{role}_frame")


def test_nothing_to_do_returns_the_same_frames(tmp_path: Path) -> None:
    start = load(write(tmp_path / "s.jpg", photo(640, 480, 1), "JPEG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(640, 480, 2), "JPEG"), "end")
    result = frames.auto_fit(start, end, 20_000_000)  # the same function, reachable from frames
    assert result.start is start and result.end is end
    assert result.changes == [] and not result.changed
    assert result.images_size == images_size(start, end)


def test_pair_with_ratio_1_4_is_cropped_and_resized_to_the_start_frame(tmp_path: Path) -> None:
    start = load(write(tmp_path / "s.jpg", photo(1400, 1000, 1), "JPEG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(1000, 1000, 2), "JPEG"), "end")
    assert check_pair(start, end)
    result = auto_fit(start, end, 20_000_000)
    assert result.start is start
    assert (result.end.width, result.end.height) == (1400, 1000)
    assert check_pair(result.start, result.end) == [] and check_frame(result.end) == []
    cropped, enlarged, encoded = result.changes
    assert means(cropped, "fit_cropped", before="1000×1000", after="1000×714", aspect="1.40") and named(cropped, "end")
    assert means(enlarged, "fit_enlarged", before="1000×714", after="1400×1000") and named(enlarged, "end")
    assert means(encoded, "fit_reencoded", format="JPEG", quality=90) and named(encoded, "end")


def test_crop_keeps_the_centre(tmp_path: Path) -> None:
    picture = Image.new("RGB", (1500, 500), "red")
    picture.paste(Image.new("RGB", (500, 500), "blue"), (500, 0))  # blue centre, red sides
    start = load(write(tmp_path / "s.png", Image.new("RGB", (600, 600), "white"), "PNG"), "start")
    end = load(write(tmp_path / "e.png", picture, "PNG"), "end")
    result = auto_fit(start, end, 20_000_000)
    assert (result.end.width, result.end.height) == (600, 600)
    red, _, blue = ImageStat.Stat(decoded(result.end)).mean
    assert blue > 200 and red < 40


def test_pixel_count_mismatch_is_resized_without_cropping(tmp_path: Path) -> None:
    start = load(write(tmp_path / "s.jpg", photo(1400, 1000, 1), "JPEG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(700, 500, 2), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000)
    assert means(result.changes[0], "fit_enlarged", before="700×500", after="1400×1000", resolution="1080p")
    assert named(result.changes[0], "end") and "fit_cropped" not in keys(result.changes[0])
    assert check_pair(result.start, result.end) == []


def test_reencoding_the_larger_frame_at_full_resolution_is_enough(
    tmp_path: Path, noisy_pngs: tuple[Path, Path]
) -> None:
    start = load(noisy_pngs[0], "start")
    end = load(write(tmp_path / "e.jpg", photo(3000, 2000, 2), "JPEG", quality=85), "end")
    budget = end.value_length() + start.value_length() // 3
    result = auto_fit(start, end, budget)
    assert result.end is end  # already small: its bytes are kept
    assert result.start.format == "jpeg" and (result.start.width, result.start.height) == (3000, 2000)
    assert result.images_size <= budget
    change = result.changes[0]
    assert means(change, "fit_reencoded_kept", format="PNG", quality=90, after="3000×2000") and named(change, "start")
    assert str(change.values["size"]).endswith("MB")


def test_both_reencoded_at_full_resolution_when_that_fits(noisy_pngs: tuple[Path, Path]) -> None:
    start, end = load(noisy_pngs[0], "start"), load(noisy_pngs[1], "end")
    budget = 4_000_000  # each noisy PNG alone is far more; as JPEG they take about 2.6 MB together
    result = auto_fit(start, end, budget)
    for frame in (result.start, result.end):
        assert frame.format == "jpeg" and (frame.width, frame.height) == (3000, 2000)
    assert sum(means(change, "fit_reencoded_kept", after="3000×2000") for change in result.changes) == 2
    assert result.images_size <= budget


@pytest.mark.parametrize("budget", [1_500_000, 400_000])
def test_downscaling_lands_within_ten_percent_under_the_budget(noisy_pngs: tuple[Path, Path], budget: int) -> None:
    start, end = load(noisy_pngs[0], "start"), load(noisy_pngs[1], "end")
    result = auto_fit(start, end, budget)
    assert 0.9 * budget <= result.images_size <= budget
    assert result.images_size == images_size(result.start, result.end)
    assert (result.start.width, result.start.height) == (result.end.width, result.end.height)
    assert result.start.width is not None and result.start.width < 3000
    assert check_pair(result.start, result.end) == []
    downscaled, encoded = result.changes[:2]
    assert means(downscaled, "fit_downscaled", before="3000×2000") and named(downscaled, "start")
    assert means(encoded, "fit_reencoded", format="PNG") and named(encoded, "start")
    assert str(encoded.values["size"]).endswith("MB") and str(encoded.values["new_size"]).endswith("KB")
    assert means(result.changes[-1], "fit_total")
    body = {"model": "viduq1", "images": [result.start.image_value(), result.end.image_value()]}
    assert len(orjson.dumps(body)) == len(orjson.dumps({**body, "images": ["", ""]})) + result.images_size


def test_alpha_is_kept(tmp_path: Path) -> None:
    picture = photo(1200, 800, 3).convert("RGBA")
    picture.putalpha(Image.linear_gradient("L").resize((1200, 800)))
    start = load(write(tmp_path / "s.png", picture, "PNG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(1200, 800, 4), "JPEG", quality=70), "end")
    budget = end.value_length() + start.value_length() // 2
    result = auto_fit(start, end, budget)
    assert result.start.format == "webp" and result.end is end
    out = decoded(result.start)
    assert out.mode == "RGBA"
    assert ImageStat.Stat(out.getchannel("A")).extrema[0][0] < 10  # still transparent at the top
    assert difference(out.getchannel("A"), picture.getchannel("A")) < 2
    assert means(result.changes[0], "fit_target_alpha", format="WebP", quality=90)


def test_opaque_alpha_becomes_jpeg(tmp_path: Path) -> None:
    start = load(write(tmp_path / "s.png", photo(1200, 800, 3).convert("RGBA"), "PNG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(1200, 800, 4), "JPEG", quality=70), "end")
    result = auto_fit(start, end, end.value_length() + start.value_length() // 2)
    assert result.start.format == "jpeg"


def test_animated_frame_becomes_its_first_frame(tmp_path: Path) -> None:
    pictures = [photo(320, 240, seed) for seed in range(3)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "WEBP", save_all=True, append_images=pictures[1:], duration=100, lossless=True)
    (tmp_path / "s.webp").write_bytes(buffer.getvalue())
    start = load(tmp_path / "s.webp", "start")
    end = load(write(tmp_path / "e.jpg", photo(320, 240, 9), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000)
    assert result.end is end and result.start.n_frames == 1 and check_frame(result.start) == []
    assert difference(decoded(result.start), pictures[0]) < 6
    first, encoded = result.changes
    assert means(first, "fit_first_frame", count=3) and named(first, "start")
    assert means(encoded, "fit_reencoded_kept", format="WebP", after="320×240")


def test_cmyk_is_converted_to_rgb_with_its_colours(tmp_path: Path) -> None:
    picture = photo(400, 300, 5)
    start = load(write(tmp_path / "s.jpg", picture.convert("CMYK"), "JPEG", quality=95), "start")
    end = load(write(tmp_path / "e.jpg", photo(400, 300, 6), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000)
    out = decoded(result.start)
    assert out.mode == "RGB" and difference(out, picture) < 8
    assert means(result.changes[0], "fit_cmyk_plain") and named(result.changes[0], "start")


def test_cmyk_with_a_broken_profile_falls_back_to_plain_conversion(tmp_path: Path) -> None:
    picture = photo(400, 300, 5)
    broken = b"\0" * 16 + b"CMYK" + b"\0" * 200
    path = write(tmp_path / "s.jpg", picture.convert("CMYK"), "JPEG", quality=95, icc_profile=broken)
    start, end = load(path, "start"), load(write(tmp_path / "e.jpg", photo(400, 300, 6), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000)
    assert difference(decoded(result.start), picture) < 8
    assert means(result.changes[0], "fit_cmyk_plain")


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    grey8 = photo(512, 256, 8).convert("L")
    grey16 = grey8.convert("I").point(lambda v: v * 257).convert("I;16")
    start = load(write(tmp_path / "s.png", grey16, "PNG"), "start")
    result = auto_fit(start, *squeeze(start))
    out = decoded(result.start)
    assert out.mode == "L" and difference(out, grey8) < 4  # clipped, it would be nearly all white
    assert means(result.changes[0], "fit_grey16")


def test_palette_with_transparency_keeps_it(tmp_path: Path) -> None:
    picture = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    picture.paste(photo(300, 400, 7), (300, 0))  # right half opaque, left half transparent
    palette = picture.quantize(colors=255)
    start = load(write(tmp_path / "s.png", palette, "PNG", transparency=palette.getpixel((0, 0))), "start")
    assert start.mode == "P"
    result = auto_fit(start, *squeeze(start))
    out = decoded(result.start)
    assert result.start.format == "webp" and out.size == (600, 400) and out.mode == "RGBA"
    alpha = out.getchannel("A")
    assert ImageStat.Stat(alpha.crop((0, 0, 300, 400))).mean == [0.0]  # the transparent half
    assert ImageStat.Stat(alpha.crop((300, 0, 600, 400))).mean == [255.0]  # the opaque half


def test_exif_orientation_is_applied_and_dropped(tmp_path: Path) -> None:
    raw = Image.new("RGB", (1000, 750), "red")
    raw.paste(Image.new("RGB", (500, 750), "blue"), (500, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    start = load(write(tmp_path / "s.jpg", raw, "JPEG", quality=95, exif=exif), "start")
    result = auto_fit(start, *squeeze(start))
    out = decoded(result.start)
    assert out.size == (750, 1000) and out.getexif().get(0x0112) is None
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(start.data or b"")))
    assert difference(out, upright) < 4
    assert means(result.changes[0], "fit_upright", orientation=6) and named(result.changes[0], "start")


def test_url_frame_takes_its_share_of_the_budget(tmp_path: Path) -> None:
    url = "https://example.com/" + "x" * 1000 + ".png"
    start = load_frame(url, "start")
    end = load(write(tmp_path / "e.png", photo(800, 600), "PNG"), "end")
    budget = len(url) + end.value_length() // 3
    result = auto_fit(start, end, budget)
    assert result.start is start and result.end.format == "jpeg"
    assert result.images_size <= budget


@pytest.mark.parametrize("budget", [0, 3_000])
def test_an_absurd_budget_is_refused_clearly(noisy_pngs: tuple[Path, Path], budget: int) -> None:
    start, end = load(noisy_pngs[0], "start"), load(noisy_pngs[1], "end")
    with pytest.raises(InvalidInput) as caught:
        auto_fit(start, end, budget)
    [problem] = caught.value.problems
    assert problem.field == "frames" and problem.key in ("problem_fit_no_room", "problem_fit_too_large")
    assert problem.values["room"] == budget


# --- sizing for the video asked for (issue 14) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_and_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Frame, Frame]:
    """A 3400×3000 start frame and a 320×300 end frame: 10.2 MP against 0.1 MP."""
    folder = tmp_path_factory.mktemp("sizes")
    start = load(write(folder / "s.jpg", photo(3400, 3000, 1), "JPEG", quality=80), "start")
    return start, load(write(folder / "e.jpg", photo(320, 300, 2), "JPEG"), "end")


@pytest.mark.parametrize("resolution", ["1080p", "720p", "360p"])
def test_a_pair_brought_together_is_sized_for_the_video(huge_and_tiny: tuple[Frame, Frame], resolution: str) -> None:
    """The larger is reduced to what the resolution uses, the smaller enlarged no further than that."""
    start, end = huge_and_tiny
    need = resolution_pixels(resolution)
    result = auto_fit(start, end, 20_000_000, resolution)
    for frame in (result.start, result.end):
        assert frame.pixels is not None and 0.9 * need <= frame.pixels <= need
    assert check_pair(result.start, result.end) == [] and check_frame(result.end) == []
    reduced = next(c for c in result.changes if c.key == "fit_reduced")
    enlarged = next(c for c in result.changes if c.key == "fit_enlarged")
    assert named(reduced, "start") and means(reduced, "fit_reduced", before="3400×3000", resolution=resolution)
    assert named(enlarged, "end") and means(enlarged, "fit_enlarged", before="320×300", resolution=resolution)


def test_1080p_sizes_the_pair_far_under_what_the_start_frame_alone_was(huge_and_tiny: tuple[Frame, Frame]) -> None:
    start, end = huge_and_tiny
    result = auto_fit(start, end, 20_000_000, "1080p")
    assert max(result.start.pixels or 0, result.end.pixels or 0) <= resolution_pixels("1080p")
    assert result.images_size < start.value_length()  # no 12 MB request for a 1080p video


@pytest.mark.parametrize(
    ("start_size", "end_size", "resolution"),
    [
        ((1400, 1000), (700, 500), "1080p"),  # the smaller enlarged to the larger, under the need
        ((1400, 1000), (700, 500), "360p"),  # the need below both: the larger reduced to the smaller, none grows
        ((1200, 1000), (1000, 1200), "720p"),  # aspects differ: cropped, then the pixel counts brought together
        ((640, 480), (2000, 1500), "540p"),  # the end frame is the larger
    ],
)
def test_no_frame_grows_beyond_what_it_had_or_what_the_video_needs(
    tmp_path: Path, start_size: tuple[int, int], end_size: tuple[int, int], resolution: str
) -> None:
    start = load(write(tmp_path / "s.jpg", photo(*start_size, 1), "JPEG"), "start")
    end = load(write(tmp_path / "e.jpg", photo(*end_size, 2), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000, resolution)
    assert check_pair(result.start, result.end) == []
    need = resolution_pixels(resolution)
    for before, after in ((start, result.start), (end, result.end)):
        assert before.pixels is not None and after.pixels is not None
        assert after.pixels <= max(before.pixels, min(need, max(start.pixels or 0, end.pixels or 0)))
        if after.pixels > before.pixels:  # enlarged: only to bring the pair together, never past the need
            assert after.pixels <= need


def test_without_a_resolution_the_largest_video_is_assumed(huge_and_tiny: tuple[Frame, Frame]) -> None:
    start, end = huge_and_tiny
    result = auto_fit(start, end, 20_000_000)
    assert max(result.start.pixels or 0, result.end.pixels or 0) <= resolution_pixels(RESOLUTIONS[-1])


def test_a_panorama_start_frame_is_left_to_the_person_and_blamed_on_itself(tmp_path: Path) -> None:
    start = load(write(tmp_path / "s.jpg", photo(2500, 500, 1), "JPEG"), "start")  # 5:1
    end = load(write(tmp_path / "e.jpg", photo(1000, 1000, 2), "JPEG"), "end")
    result = auto_fit(start, end, 20_000_000, "1080p")
    assert result.start is start and result.end is end and result.changes == []
    problems = check_frame(result.start) + check_frame(result.end) + check_pair(result.start, result.end)
    assert [(p.field, p.key) for p in problems] == [("start_frame", "problem_frame_aspect")]
