"""The decoding budget: sizes from headers before any decode, checks without full pixels, one full decode per frame
and only to re-encode, a process-wide bound on the pixels decoded at once, and memory bounded by all of that."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.corpus import chunk
from tests.images import photo, write
from tests.support.findings import Findings, Peak
from tests.support.threads import at_once
from vidu_ui import autofit, frames
from vidu_ui.errors import InvalidInput
from vidu_ui.frames import DecodeBudget, load_frame
from vidu_ui.request import TaskOptions
from vidu_ui.submit import prepare

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = TaskOptions(prompt="x", model="viduq1")


def png16(width: int, height: int, *, cut: int = 0) -> bytes:
    """A 16-bit RGBA PNG of one colour: tiny on disk (RLE-compressed rows), 8 bytes a pixel decoded."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    row = bytes(1 + 8 * width)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    data = data[: len(data) - cut]
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The roles of the frames fully decoded, in order."""
    seen: list[str] = []
    real = frames.decode_picture

    def spy(frame: frames.Frame) -> Image.Image:
        seen.append(frame.role)
        return real(frame)

    monkeypatch.setattr(autofit, "decode_picture", spy)
    yield seen


# --- checks read headers and compressed data, never full pixels ------------------------------------------------


def test_checking_frames_decodes_no_full_picture(tmp_path: Path, decodes: list[str]) -> None:
    start = write(tmp_path / "s.png", photo(640, 480, 1), "PNG")
    end = write(tmp_path / "e.webp", photo(640, 480, 2), "WEBP")
    request = prepare(start, end, OPTIONS)
    assert request.size > 0 and decodes == []
    fitted = prepare(start, end, OPTIONS, auto_fit=True)  # a pair that needs nothing keeps its bytes
    assert fitted.changes == () and decodes == []


def test_auto_fit_decodes_each_frame_it_reencodes_once(tmp_path: Path, decodes: list[str]) -> None:
    start = write(tmp_path / "s.png", photo(640, 480, 1), "PNG")
    end = write(tmp_path / "e.png", photo(900, 400, 2).convert("CMYK").convert("RGB"), "PNG")
    cmyk = write(tmp_path / "c.jpg", photo(640, 480, 3).convert("CMYK"), "JPEG")
    request = prepare(start, end, OPTIONS, auto_fit=True)  # the end frame is reshaped
    assert request.changes and decodes == ["end"]
    decodes.clear()
    prepare(cmyk, end, OPTIONS, auto_fit=True)  # both must be re-encoded
    assert sorted(decodes) == ["end", "start"]


def test_the_pixel_budget_is_read_from_the_header_before_any_decoder(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(png16(8000, 8000))  # 64 MP, 512 MB decoded
    with pytest.raises(InvalidInput) as caught:
        load_frame(path, "start")
    [problem] = caught.value.problems
    assert problem.field == "start_frame" and problem.key == "problem_frame_pixels"
    assert problem.values["megapixels"] == 64 and problem.values["limit"] == 50
    frame = load_frame(path, "start", max_pixels=64_000_000)
    assert (frame.width, frame.height) == (8000, 8000)


@pytest.mark.parametrize("cut", [1, 200])
def test_a_truncated_sixteen_bit_png_is_found_without_decoding_it(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(png16(2000, 1500, cut=cut))
    with pytest.raises(InvalidInput) as caught:
        load_frame(path, "start")
    [problem] = caught.value.problems
    assert problem.key == "problem_frame_damaged"
    damage = problem.values["damage"].key
    assert damage in ("frame_damage_truncated", "frame_damage_data_short", "frame_damage_inflate")


def test_interlaced_and_low_depth_pngs_are_counted_right(tmp_path: Path) -> None:
    for name, picture, params in (
        ("i.png", photo(333, 211, 4), {"interlace": 1}),
        ("one.png", photo(333, 211, 5).convert("1"), {}),
        ("p.png", photo(101, 77, 6).convert("P"), {"interlace": 1}),
    ):
        frame = load_frame(write(tmp_path / name, picture, "PNG", **params), "start")
        assert frame.size == picture.size


def test_a_truncated_webp_is_refused(tmp_path: Path) -> None:
    data = write(tmp_path / "w.webp", photo(320, 240, 7), "WEBP").read_bytes()
    (tmp_path / "cut.webp").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InvalidInput) as caught:
        load_frame(tmp_path / "cut.webp", "end")
    [problem] = caught.value.problems
    assert problem.key == "problem_frame_damaged" and problem.values["damage"].key == "frame_damage_truncated"


# --- one bound on full decodes for the whole process -----------------------------------------------------------


def test_concurrent_auto_fits_stay_within_the_decode_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair_pixels = 2 * 800 * 600
    budget = DecodeBudget(pair_pixels + pair_pixels // 2)  # room for one pair and a half: never two
    monkeypatch.setattr(autofit, "DECODES", budget)
    peak = {"in_use": 0}
    real = frames.decode_picture

    def watched(frame: frames.Frame) -> Image.Image:
        peak["in_use"] = max(peak["in_use"], budget.in_use)
        return real(frame)

    monkeypatch.setattr(autofit, "decode_picture", watched)
    start = write(tmp_path / "s.jpg", photo(800, 600, 1).convert("CMYK"), "JPEG")
    end = write(tmp_path / "e.jpg", photo(800, 600, 2).convert("CMYK"), "JPEG")
    assert at_once(lambda: prepare(start, end, OPTIONS, auto_fit=True), 4) == []
    assert peak["in_use"] == pair_pixels and budget.in_use == 0


def test_a_request_larger_than_the_whole_budget_runs_alone_without_waiting_forever() -> None:
    budget = DecodeBudget(100)
    with budget.hold(1_000):
        assert budget.in_use == 100
    assert budget.in_use == 0


# --- peak memory of the command line, measured in a child process ----------------------------------------------

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.write(f"{done.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def peak_rss(args: list[str], env: dict[str, str]) -> tuple[int, int]:
    """(exit code, peak resident set in MB) of ``python -m vidu_ui <args>`` in a fresh child process."""
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "vidu_ui", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=True)
    code, kilobytes = out.stdout.split()
    return int(code), int(kilobytes) // 1024


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The attack's files: a 10000×10000 lossless WebP of about 3,880 bytes and a 16-bit RGBA PNG of ~780 KB,
    drawn in a child process so this one never holds their pixels."""
    folder = tmp_path_factory.mktemp("bombs")
    draw = (
        "from PIL import Image; import sys; "
        "Image.new('RGB', (10000, 10000), (40, 90, 200)).save(sys.argv[1], lossless=True)"
    )
    subprocess.run([sys.executable, "-c", draw, str(folder / "big.webp")], check=True, timeout=300)
    (folder / "big16.png").write_bytes(png16(10_000, 10_000))
    return {"webp": folder / "big.webp", "png16": folder / "big16.png"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["webp", "png16"])
@pytest.mark.parametrize("megapixels", [None, "100"], ids=["default-budget", "budget-100MP"])
@pytest.mark.parametrize("fit", [[], ["--auto-fit"]], ids=["checks", "auto-fit"])
def test_checking_two_100_megapixel_frames_peaks_under_700_mb(
    bombs: dict[str, Path], kind: str, megapixels: str | None, fit: list[str], tmp_path: Path, findings: Findings
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU")}
    env["VIDU_UI_DATA_DIR"] = str(tmp_path)
    if megapixels:
        env["VIDU_UI_MAX_MEGAPIXELS"] = megapixels
    path = str(bombs[kind])
    code, peak = peak_rss(["check", path, path, "--prompt", "x", "--model", "viduq1", *fit], env)
    what = {"webp": "10000×10000 WebP", "png16": "10000×10000 16-bit RGBA PNG"}[kind]
    frames = f"{what}, {bombs[kind].stat().st_size:,} bytes"
    findings.peaks.append(Peak(frames, megapixels, bool(fit), code, peak))
    assert code == (0 if megapixels else 2)  # refused from the header by default, checked within a raised budget
    assert peak < 700, f"peak {peak} MB"


@pytest.mark.parametrize("auto_fit", [False, True])
def test_a_damaged_png_is_refused_with_or_without_auto_fit(tmp_path: Path, auto_fit: bool) -> None:
    """With auto-fit a PNG's data is inflated once, by auto-fit's decode or before its bytes are sent as they are."""
    good = write(tmp_path / "good.png", photo(640, 480, 8), "PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(png16(640, 480, cut=40))
    with pytest.raises(InvalidInput) as caught:
        prepare(good, cut, OPTIONS, auto_fit=auto_fit)
    assert [p.field for p in caught.value.problems] == ["end_frame"]
