"""App CPU per Generate: the CPU time ``python app.py`` spends on one Generate of two 720p frames through the Gradio
API, against a bare Gradio Blocks app (in its own process) whose handler takes the same two uploads and calls
``prepare`` + ``submit`` on the same simulator."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gradio_client import Client, handle_file

from .concurrency import Users
from .concurrency import client as api_client
from .images import photo, write_jpeg
from .measure import seconds
from .procs import KEY, AppProcess, Service, SimulatorProcess, clean_env, free_port
from .results import Context, Row

FLOOR_APP = '''\
"""The floor: a bare Gradio page whose handler takes two uploaded frames and calls ``prepare`` + ``submit``
(as many at once as come: Gradio's default concurrency limit of 1 would queue them)."""
import sys

import gradio as gr

from vidu_ui.client import ViduClient
from vidu_ui.request import TaskOptions
from vidu_ui.settings import Settings
from vidu_ui.submit import prepare, submit

SETTINGS = Settings.from_env()
OPTIONS = TaskOptions(model="viduq1", prompt="A slow dolly shot from dawn to dusk")


def generate(start_image, end_image):
    request = prepare(start_image["path"], end_image["path"], OPTIONS, auto_fit=True)
    with ViduClient(SETTINGS) as client:
        return submit(client, request).task_id


with gr.Blocks(analytics_enabled=False) as demo:
    start, end = gr.Image(type="filepath"), gr.Image(type="filepath")
    task_id = gr.Textbox()
    gr.Button("Generate").click(
        generate, [start, end], task_id, preprocess=False, api_name="generate", concurrency_limit=None
    )

if __name__ == "__main__":
    demo.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
'''


class FloorApp(Service):
    """The floor page above, in its own process, on the simulator."""

    def __init__(self, script: Path, simulator: SimulatorProcess, log: Path) -> None:
        port = free_port()
        env = clean_env(VIDU_BASE_URL=simulator.url, VIDU_API_KEY=KEY)
        super().__init__([sys.executable, str(script), str(port)], env, port, log)


def studio_app(simulator: SimulatorProcess, work: Path, log: Path) -> AppProcess:
    """``python app.py`` recording but not following (``VIDU_UI_FOLLOWER=0``): the follower's queries and downloads
    after a Generate would land in the next one's CPU time."""
    process = AppProcess(simulator, work / "data-cpu", log)
    process.env["VIDU_UI_FOLLOWER"] = "0"
    return process


@dataclass
class Page:
    """One page and one connected API user of it."""

    service: Service
    client: Client
    generate: Callable[[], str]

    def cpu_per_generate(self, simulator: SimulatorProcess, count: int) -> float:
        """The page process's CPU seconds (user + system, all threads) per Generate, over ``count`` in a row."""
        before = self.service.cpu_seconds()
        task_ids = [self.generate() for _ in range(count)]
        spent = self.service.cpu_seconds() - before
        simulator.wait_finished(task_ids)
        return spent / count


def studio_page(app: AppProcess, start: Path, end: Path) -> Page:
    users = Users(app.url, 1, start, end)
    client = users.clients[0]
    return Page(app, client, lambda: users.generate(client))


def floor_page(floor: FloorApp, start: Path, end: Path) -> Page:
    client = api_client(floor.url)

    def generate() -> str:
        task_id: str = client.predict(handle_file(str(start)), handle_file(str(end)), api_name="/generate")
        if not task_id.isdigit():
            raise RuntimeError(f"the floor's Generate gave no task id: {task_id!r}")
        return task_id

    return Page(floor, client, generate)


def floor_script(ctx: Context) -> Path:
    script = ctx.work / "floor_generate.py"
    script.write_text(FLOOR_APP, encoding="utf-8")
    return script


def run(ctx: Context) -> list[Row]:
    start = write_jpeg(ctx.work / "cpu-start.jpg", photo(1280, 720, 41))
    end = write_jpeg(ctx.work / "cpu-end.jpg", photo(1280, 720, 42))
    script = floor_script(ctx)
    per_round = 3 if ctx.profile.name == "quick" else 5
    measured: list[float] = []
    floor: list[float] = []
    app = studio_app(ctx.simulator, ctx.work, ctx.log_dir / "app-cpu.log")
    bare = FloorApp(script, ctx.simulator, ctx.log_dir / "floor-cpu.log")
    with app, bare:
        pages = (studio_page(app, start, end), floor_page(bare, start, end))
        for page in pages:  # warm-up: imports, caches, the first session
            page.cpu_per_generate(ctx.simulator, 1)
        for round_ in range(ctx.profile.runs):
            order = (pages[0], measured), (pages[1], floor)
            for page, into in order if round_ % 2 == 0 else reversed(order):
                into.append(page.cpu_per_generate(ctx.simulator, per_round))
        for page in pages:
            page.client.close()
    ratios = [m / f for m, f in zip(measured, floor, strict=True) if f > 0]
    return [
        Row(
            case="app CPU per Generate",
            measured=seconds(statistics.median(measured)),
            floor=seconds(statistics.median(floor)),
            ratio=statistics.median(ratios) if ratios else float("nan"),
            target=1.3,
            target_text="≤ 1.3×",
            detail="CPU time (user + system, every thread, from `/proc/<pid>/stat`) of `python app.py` per Generate "
            f"of two 1280×720 JPEGs by one `gradio_client` user (auto-fit on, nothing to change; the app records "
            f"the task but does not follow it: `VIDU_UI_FOLLOWER=0`), {per_round} Generates in a row per round; "
            "floor: the same for a bare `gr.Blocks` app in its own process, two `gr.Image` inputs whose handler "
            "calls `prepare` (auto-fit on) and `submit` with a new `ViduClient`, on the same simulator",
        )
    ]
