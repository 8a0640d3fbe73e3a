"""Whole commands as the user runs them: ``python -m vidu_ui submit`` and ``check`` in their own processes.

Each against a script doing the least the command must do, also run as its own process (so both pay Python's
start): for ``submit``, read the two files, base64, JSON, one POST; for ``check``, a reduced-size decode of both.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .images import photo, write_jpeg
from .measure import compare, megabytes, seconds
from .procs import KEY, ROOT, clean_env
from .results import Context, Row
from .submitting import OPTIONS

SUBMIT_FLOOR = '''\
"""The floor of `submit`: read both files, base64, JSON, one POST; print the task id."""
import base64, sys

import httpx, orjson

start, end, url, key, model, prompt = sys.argv[1:7]
images = []
for path in (start, end):
    with open(path, "rb") as f:
        images.append("data:image/jpeg;base64," + base64.b64encode(f.read()).decode("ascii"))
content = orjson.dumps({"model": model, "images": images, "prompt": prompt})
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
response = httpx.post(url, content=content, headers=headers, timeout=60.0)
response.raise_for_status()
print(response.json()["task_id"])
'''

CHECK_FLOOR = '''\
"""The floor of `check`: a reduced-size (1/8) decode of both files."""
import sys

from PIL import Image

for path in sys.argv[1:3]:
    with Image.open(path) as image:
        image.draft(image.mode, (image.width // 8, image.height // 8))
        image.load()
print("ok")
'''


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[:4]!r} exited {done.returncode}: {done.stderr[-800:]}")
    return done.stdout


def run(ctx: Context) -> list[Row]:
    width, height = ctx.profile.submit_size
    start = write_jpeg(ctx.work / "whole-start.jpg", photo(width, height, 13))
    end = write_jpeg(ctx.work / "whole-end.jpg", photo(width, height, 14))
    files = megabytes(start.stat().st_size + end.stat().st_size)
    submit_floor, check_floor = ctx.work / "submit_floor.py", ctx.work / "check_floor.py"
    submit_floor.write_text(SUBMIT_FLOOR, encoding="utf-8")
    check_floor.write_text(CHECK_FLOOR, encoding="utf-8")
    env = clean_env(VIDU_BASE_URL=ctx.simulator.url, VIDU_API_KEY=KEY, VIDU_UI_DATA_DIR=str(ctx.work / "whole-data"))
    python = sys.executable
    task = [str(start), str(end), "-m", OPTIONS.model, "-p", OPTIONS.prompt]
    url = ctx.simulator.url + ctx.simulator.settings.paths.create
    submit_args = [python, "-m", "vidu_ui", "submit", *task]
    floor_args = [python, str(submit_floor), str(start), str(end), url, KEY, OPTIONS.model, OPTIONS.prompt]

    def task_ids(stdout: str) -> None:
        answer = json.loads(stdout)  # the CLI prints the service's JSON, the floor the id alone
        ctx.simulator.wait_finished([str(answer["task_id"] if isinstance(answer, dict) else answer)])

    submitting = compare(
        lambda: _run(submit_args, env), lambda: _run(floor_args, env), runs=ctx.profile.runs, settle=task_ids
    )
    checking = compare(
        lambda: _run([python, "-m", "vidu_ui", "check", *task], env),
        lambda: _run([python, str(check_floor), str(start), str(end)], env),
        runs=ctx.profile.runs,
    )
    return [
        Row(
            case="submit, whole process",
            measured=seconds(submitting.measured_median),
            floor=seconds(submitting.floor_median),
            ratio=submitting.ratio,
            target=1.3,
            target_text="≤ 1.3×",
            detail=f"`python -m vidu_ui submit` of two {width}×{height} JPEGs ({files}) to the simulator process, "
            "from process start to exit (history on, in a SQLite file); floor: a script run the same way that "
            "reads both files, base64-encodes them, `orjson.dumps` the body and makes one `httpx.post`",
        ),
        Row(
            case="check, whole process",
            measured=seconds(checking.measured_median),
            floor=seconds(checking.floor_median),
            ratio=checking.ratio,
            target=1.3,
            target_text="≤ 1.3×",
            detail="`python -m vidu_ui check` of the same two JPEGs, from process start to exit; floor: a script "
            "run the same way that decodes both at 1/8 size with Pillow (`draft` then `load`)",
        ),
    ]
