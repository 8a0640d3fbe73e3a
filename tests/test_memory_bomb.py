"""Eight visitors' Generates at once with 100 MP frames, against ``python app.py`` launched on the simulator (issue
11: one such Generate took the app from 886 MB to 3.9 GB, three to 10 GB). At the default pixel budget they are
refused from the header; with the budget raised so they are accepted (``VIDU_UI_MAX_MEGAPIXELS``), the
process-wide bound on full decodes (``frames.DECODES``) runs them in turn, so eight at once peak no higher than
one alone. The issue's target (under idle + 1.5 GB) is asserted at the default budget; with the budget raised, one
such request on its own (a 100 MP and a 75 MP frame decoded in full to be resized) is what sets the peak, and the
figures in ``docs/hostile.md`` say how it compares with the target.

Memory is the app process's own, read from ``/proc``: its high-water mark (``VmHWM``, reset through
``clear_refs`` before the eight are sent) and, in case the reset is not allowed, the largest ``VmRSS`` sampled
while they run. The figures go to ``docs/hostile.md`` (``--hostile-doc``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, ValidationError

from tests.images import photo, write
from tests.support.apps import app_environment, app_process, arguments
from tests.support.findings import Findings, PagePeak
from vidu_ui.simulator import Simulator

KEY = "sk-CANARY-memory-bomb"
GENERATES = 8
HEADROOM_MB = 1500
"""The issue's target: the app under its idle resident size + 1.5 GB."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the app's memory from /proc"),
    pytest.mark.simulator(api_key=KEY, queue_seconds=0.1, process_seconds=0.3),
]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 10000×10000 (100 MP) and a 10000×7500 (75 MP) lossless WebP of a few KB each, drawn in a child process
    so this one never holds their pixels. Their pixel counts differ (4:3), so auto-fit decodes both in full to
    size them for the video: the path the decode bound is for."""
    folder = tmp_path_factory.mktemp("bombs")
    draw = (
        "from PIL import Image; import sys\n"
        "Image.new('RGB', (10000, 10000), (40, 90, 200)).save(sys.argv[1], lossless=True)\n"
        "Image.new('RGB', (10000, 7500), (200, 90, 40)).save(sys.argv[2], lossless=True)\n"
    )
    start, end = folder / "start.webp", folder / "end.webp"
    subprocess.run([sys.executable, "-c", draw, str(start), str(end)], check=True, timeout=300)
    return start, end


def status_mb(pid: int, field: str) -> int:
    """A size from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class PeakWatch:
    """The largest resident size of a process from now on: its high-water mark reset through ``clear_refs``, and
    a sampler for when that is not allowed."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.sampled = status_mb(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.sampled = max(self.sampled, status_mb(self.pid, "VmRSS"))
            except (OSError, AssertionError):  # the process is gone: the test says why
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.sampled, status_mb(self.pid, "VmHWM") if self.reset else 0)


Refusal = AppError | ValidationError
"""The page's refusal of a Generate: its validator's field messages, or the handler's error."""


def generate(url: str, start: Path, end: Path) -> str | Refusal:
    """One visitor's Generate through the Gradio API, as the page's form sends it: the task id, or the refusal."""
    # Eight validators checking 100 MP frames at once on a loaded machine can take longer than the client's 20 s.
    client = Client(url + "/", verbose=False, httpx_kwargs={"timeout": 600})
    try:
        task_id: str = client.predict(**arguments(start, end), api_name="/generate")[0]
        return task_id
    except (AppError, ValidationError) as refusal:
        return refusal
    finally:
        client.close()


def burst(process: subprocess.Popen[bytes], url: str, start: Path, end: Path, count: int) -> Burst:
    """``count`` Generates sent together; the answers and the app's peak resident size while they ran."""
    watch = PeakWatch(process.pid)
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(lambda _: generate(url, start, end), range(count)))
    finally:
        peak = watch.stop()
    return Burst(answers, peak, time.monotonic() - began)


@dataclass
class Burst:
    answers: list[str | Refusal]
    peak_mb: int
    seconds: float


@pytest.mark.timeout(1500)  # nine requests decoding 175 MP each, in turn, on a loaded machine
@pytest.mark.parametrize("megapixels", [None, "100"], ids=["default-budget", "budget-100MP"])
def test_eight_page_generates_with_100_megapixel_frames_cost_no_more_than_one(
    sim: Simulator, bombs: tuple[Path, Path], megapixels: str | None, tmp_path: Path, findings: Findings
) -> None:
    small = (
        write(tmp_path / "small-start.png", photo(640, 480, seed=1), "PNG"),
        write(tmp_path / "small-end.png", photo(640, 480, seed=2), "PNG"),
    )
    variables = {"VIDU_UI_MAX_MEGAPIXELS": megapixels} if megapixels else {}
    env = app_environment(
        sim.base_url, KEY, tmp_path / "data", VIDU_POLL_INTERVAL="0.2", VIDU_POLL_MAX_INTERVAL="0.5", **variables
    )
    start, end = bombs
    with app_process(env, tmp_path / "app.log") as (process, url):
        warm = generate(url, *small)  # every module a Generate needs is loaded: what is left is the frames' cost
        assert isinstance(warm, str) and warm, warm
        idle = status_mb(process.pid, "VmRSS")
        one = burst(process, url, start, end, 1)
        eight = burst(process, url, start, end, GENERATES)
        after = status_mb(process.pid, "VmRSS")
        assert process.poll() is None, (tmp_path / "app.log").read_text()[-4000:]
    accepted = [a for a in eight.answers if isinstance(a, str) and a]
    refused = [a for a in eight.answers if isinstance(a, AppError | ValidationError)]
    assert all("megapixels" in str(r) for r in refused), refused  # refused for its size, nothing else
    sizes = f"{start.stat().st_size:,} and {end.stat().st_size:,} bytes"
    findings.page_peaks.append(
        PagePeak(
            f"10000×10000 and 10000×7500 WebP, {sizes}",
            megapixels,
            GENERATES,
            len(accepted),
            len(refused),
            idle,
            one.peak_mb,
            eight.peak_mb,
            after,
            eight.seconds,
        )
    )
    if megapixels:
        assert len(accepted) == GENERATES, eight.answers  # accepted within the raised budget
        # The decode bound runs them in turn: eight at once cost what one costs, not eight times as much.
        assert eight.peak_mb - idle < 2 * (one.peak_mb - idle), f"idle {idle}, one {one.peak_mb}, eight {eight.peak_mb}"
    else:
        assert len(refused) == GENERATES, eight.answers  # refused from the header, before any decoder exists
        assert eight.peak_mb - idle < HEADROOM_MB, f"idle {idle} MB, peak {eight.peak_mb} MB"
