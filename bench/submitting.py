"""Submit: check, encode and POST two JPEGs to the simulator, against a bare script sending the same frames."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import orjson

from vidu_ui.client import ViduClient
from vidu_ui.request import TaskOptions, check_options
from vidu_ui.submit import prepare, submit

from .images import photo, write_jpeg
from .measure import compare, megabytes, seconds
from .procs import KEY
from .results import Context, Row

OPTIONS = TaskOptions(model="viduq1", prompt="A slow dolly shot from dawn to dusk", duration=5, resolution="1080p")


def app_submit(ctx: Context, start: Path, end: Path) -> str:
    """What the CLI and the page do: ``prepare`` (every check, the body), then ``submit`` with a fresh client."""
    request = prepare(start, end, OPTIONS)
    with ViduClient(ctx.simulator.settings) as client:
        return submit(client, request).task_id


def data_uri(path: Path) -> str:
    return f"data:image/jpeg;base64,{base64.b64encode(path.read_bytes()).decode()}"


def bare_submit(ctx: Context, start: Path, end: Path) -> str:
    """The least a script can do: read, base64, JSON, one POST."""
    fields, _ = check_options(OPTIONS)
    images = [data_uri(start), data_uri(end)]
    content = orjson.dumps({"model": fields["model"], "images": images, **fields})
    url = ctx.simulator.url + ctx.simulator.settings.paths.create
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    response = httpx.post(url, content=content, headers=headers, timeout=httpx.Timeout(60.0, connect=10.0))
    response.raise_for_status()
    task_id: str = response.json()["task_id"]
    return task_id


def run(ctx: Context) -> list[Row]:
    width, height = ctx.profile.submit_size
    start = write_jpeg(ctx.work / "submit-start.jpg", photo(width, height, 3))
    end = write_jpeg(ctx.work / "submit-end.jpg", photo(width, height, 4))
    body = len(prepare(start, end, OPTIONS).content)
    timings = compare(
        lambda: app_submit(ctx, start, end),
        lambda: bare_submit(ctx, start, end),
        runs=ctx.profile.runs,
        settle=lambda task_id: ctx.simulator.wait_finished([task_id]),
    )
    return [
        Row(
            case="submit",
            measured=seconds(timings.measured_median),
            floor=seconds(timings.floor_median),
            ratio=timings.ratio,
            target=1.5,
            target_text="≤ 1.5×",
            detail=f"two {width}×{height} JPEGs, a {megabytes(body)} body, POSTed to the simulator process; "
            "floor: read, base64, `orjson.dumps`, one `httpx.post`",
        )
    ]
