"""Memory: the app's peak resident memory while it sends a body just under 20 MB, against the app idle; and its
resident memory once it is idle again."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import orjson

from vidu_ui import frames
from vidu_ui.request import build_body, check_options

from .concurrency import Users
from .images import DETAILED, camera_exif, encode, photo, write_jpeg
from .measure import megabytes
from .procs import AppProcess, Service
from .results import Context, Row
from .submitting import OPTIONS

FULL_BODY = 19_500_000
"""The body aimed at with 12 MP frames; the quick variant scales it with the pixels."""
BACK_TO_IDLE = 0.10
"""How much above the idle app's resident memory it may stay once the large requests are over."""


def body_size(sizes: tuple[int, int]) -> int:
    fields, _ = check_options(OPTIONS)
    rest = len(orjson.dumps(build_body(fields, ["", ""])))
    return rest + sum(frames.data_uri_length("jpeg", n) for n in sizes)


def frames_for_body(folder: Path, size: tuple[int, int], target: int) -> tuple[Path, Path, int]:
    """Two JPEGs of ``size`` at the highest quality whose body stays at or under ``target`` bytes."""
    pictures = [photo(*size, seed, DETAILED) for seed in (21, 22)]

    def encoded(quality: int) -> list[bytes]:
        return [encode(picture, "JPEG", quality=quality, exif=camera_exif()) for picture in pictures]

    low, high = 50, 100
    best = encoded(low)
    while low < high:  # the highest quality that fits
        middle = (low + high + 1) // 2
        attempt = encoded(middle)
        if body_size((len(attempt[0]), len(attempt[1]))) <= target:
            low, best = middle, attempt
        else:
            high = middle - 1
    paths = (folder / "memory-start.jpg", folder / "memory-end.jpg")
    for path, data in zip(paths, best, strict=True):
        path.write_bytes(data)
    return paths[0], paths[1], body_size((len(best[0]), len(best[1])))


class PeakWatch:
    """The peak RSS of a process during a ``with`` block: the kernel's high-water mark when it can be reset,
    else sampled every 5 ms."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._exact = False

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.service.rss())

    def __enter__(self) -> PeakWatch:
        self._exact = self.service.reset_peak()
        self.peak = self.service.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._exact:
            self.peak = max(self.peak, self.service.peak_rss())


def idle_rss(app: Service) -> int:
    samples = []
    for _ in range(5):
        samples.append(app.rss())
        time.sleep(0.1)
    return int(statistics.median(samples))


def run(ctx: Context) -> list[Row]:
    width, height = ctx.profile.memory_size
    target = round(FULL_BODY * width * height / (4000 * 3000))
    start, end, body = frames_for_body(ctx.work, (width, height), target)
    small = [write_jpeg(ctx.work / f"memory-warm-{i}.jpg", photo(640, 360, 30 + i)) for i in range(2)]
    with AppProcess(ctx.simulator, ctx.work / "data", ctx.log_dir / "app-memory.log") as app:
        users = Users(app.url, 1, small[0], small[1])
        ctx.simulator.wait_finished([users.generate(users.clients[0])])  # imports and caches warmed up
        idle = idle_rss(app)
        increases = []
        for _ in range(ctx.profile.runs):
            with PeakWatch(app) as watch:
                task_id = users.generate(users.clients[0], frames=(start, end))
            increases.append(watch.peak - idle)
            ctx.simulator.wait_finished([task_id])
        time.sleep(1.0)  # the follower's download of the last task's video, if any, is over
        after = idle_rss(app)
    increase = statistics.median(increases)
    back = after <= idle * (1 + BACK_TO_IDLE)
    return [
        Row(
            case="memory",
            measured=f"+{megabytes(increase)}",
            floor=f"{megabytes(idle)} idle",
            ratio=increase / body,
            target=2.0,
            target_text=f"increase ≤ 2× the body, idle again ≤ +{BACK_TO_IDLE:.0%}",
            checks_ok=back,
            detail=f"peak RSS of `python app.py` (VmHWM, reset before each run) while one `gradio_client` user "
            f"sends two {width}×{height} JPEGs ({megabytes(start.stat().st_size)} and "
            f"{megabytes(end.stat().st_size)}), a {megabytes(body)} body "
            "(auto-fit on, nothing to change); measured: the median increase over the idle app; "
            "the ratio is increase ÷ body. "
            f"Idle again after the {ctx.profile.runs} runs: {megabytes(after)} "
            f"({(after - idle) / idle:+.1%} on the idle app: {'within' if back else '**over**'} the "
            f"{BACK_TO_IDLE:.0%} allowed)",
        )
    ]
