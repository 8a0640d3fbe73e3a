"""Whole commands as the user runs them: ``python -m vidu_ui submit`` and ``check`` in their own processes.

Each against a script doing the least the command must do, also run as its own process (so both pay Python's
start): for ``submit``, read the two files, base64, JSON, one POST; for ``check``, a reduced-size decode of both.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import typer

from .images import photo, write_jpeg
from .measure import Timings, compare, megabytes, seconds
from .procs import KEY, ROOT, clean_env
from .results import Context, Row
from .submitting import OPTIONS

SUBMIT_WORK = '''\
"""The floor of `submit`: read both files, base64, JSON, one POST; print the task id."""
import base64, os, sys

import httpx, orjson


def work(start: str, end: str, model: str, prompt: str) -> None:
    images = []
    for path in (start, end):
        with open(path, "rb") as f:
            images.append("data:image/jpeg;base64," + base64.b64encode(f.read()).decode("ascii"))
    content = orjson.dumps({"model": model, "images": images, "prompt": prompt})
    headers = {"Authorization": "Bearer " + os.environ["VIDU_API_KEY"], "Content-Type": "application/json"}
    response = httpx.post(os.environ["FLOOR_CREATE_URL"], content=content, headers=headers, timeout=60.0)
    response.raise_for_status()
    print(response.json()["task_id"])
'''

CHECK_WORK = '''\
"""The floor of `check`: a reduced-size (1/8) decode of both files."""
import sys

from PIL import Image


def work(start: str, end: str, model: str, prompt: str) -> None:
    for path in (start, end):
        with Image.open(path) as image:
            image.draft(image.mode, (image.width // 8, image.height // 8))
            image.load()
    print("ok")
'''

PLAIN = "work(*sys.argv[1:5])\n"


def typer_command(name: str) -> str:
    """A bare Typer command line with the same global options and the same parameters as ``name`` (``check``,
    ``submit``), written out from their signatures, calling ``work`` and nothing else: what typer itself costs
    a command of this shape (typer 0.2x builds a pydantic ``TypeAdapter`` for each parameter it parses)."""
    from vidu_ui import cli

    def parameters(signature: inspect.Signature) -> list[str]:
        lines, star = [], False
        for p in signature.parameters.values():
            if p.annotation is typer.Context:
                continue
            base = typing.get_args(p.annotation)[0]
            kind = base.__name__ if isinstance(base, type) else str(base)
            flag = "--" + p.name.replace("_", "-")
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
                lines.append("    *,")
                star = True
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is inspect.Parameter.empty:
                lines.append(f"    {p.name}: Annotated[{kind}, typer.Argument()],")
            elif p.default is inspect.Parameter.empty:
                lines.append(f"    {p.name}: Annotated[{kind}, typer.Option({flag!r})],")
            else:
                default = f"Path({str(p.default)!r})" if isinstance(p.default, Path) else repr(p.default)
                lines.append(f"    {p.name}: Annotated[{kind}, typer.Option({flag!r})] = {default},")
        return lines

    return "\n".join(
        [
            "from pathlib import Path",
            "from typing import Annotated",
            "",
            "import typer",
            "",
            "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)",
            "",
            "",
            "@app.callback()",
            "def main(",
            *parameters(inspect.signature(cli.main)),
            ") -> None:",
            "    pass",
            "",
            "",
            f"@app.command({name!r})",
            "def command(",
            *parameters(cli._task_signature(send=name == "submit")),
            ") -> None:",
            "    work(start, end, model, prompt)",
            "",
            "",
            "app()",
            "",
        ]
    )


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
    scripts = {
        "submit_floor.py": SUBMIT_WORK + PLAIN,
        "check_floor.py": CHECK_WORK + PLAIN,
        "submit_typer.py": SUBMIT_WORK + typer_command("submit"),
        "check_typer.py": CHECK_WORK + typer_command("check"),
    }
    for name, script in scripts.items():
        (ctx.work / name).write_text(script, encoding="utf-8")
    url = ctx.simulator.url + ctx.simulator.settings.paths.create
    env = clean_env(
        VIDU_BASE_URL=ctx.simulator.url,
        VIDU_API_KEY=KEY,
        VIDU_UI_DATA_DIR=str(ctx.work / "whole-data"),
        FLOOR_CREATE_URL=url,
    )
    python = sys.executable
    frames = [str(start), str(end)]

    def ours(command: str) -> list[str]:
        return [python, "-m", "vidu_ui", command, *frames, "-m", OPTIONS.model, "-p", OPTIONS.prompt]

    def floor(command: str) -> list[str]:
        return [python, str(ctx.work / f"{command}_floor.py"), *frames, OPTIONS.model, OPTIONS.prompt]

    def bare_typer(command: str) -> list[str]:
        script = str(ctx.work / f"{command}_typer.py")
        return [python, script, command, *frames, "--model", OPTIONS.model, "--prompt", OPTIONS.prompt]

    def task_ids(stdout: str) -> None:
        answer = json.loads(stdout)  # the CLI prints the service's JSON, the floors the id alone
        ctx.simulator.wait_finished([str(answer["task_id"] if isinstance(answer, dict) else answer)])

    def nothing(_: str) -> None:
        return None

    def timed(args: list[str], floor_args: list[str], settle: typing.Callable[[str], None] = nothing) -> Timings:
        return compare(lambda: _run(args, env), lambda: _run(floor_args, env), runs=ctx.profile.runs, settle=settle)

    submitting = timed(ours("submit"), floor("submit"), task_ids)
    submit_typer = timed(bare_typer("submit"), floor("submit"), task_ids)
    checking = timed(ours("check"), floor("check"))
    check_typer = timed(bare_typer("check"), floor("check"))

    def typer_share(command: str, typer_timings: Timings) -> str:
        from vidu_ui import cli

        count = len(cli._task_signature(send=command == "submit").parameters)
        return (
            f"; what typer alone costs, measured in the same run: a bare Typer command line with the same global "
            f"options and the same {count} parameters as `{command}`, doing only the floor's work, took "
            f"{seconds(typer_timings.measured_median)}, {typer_timings.ratio:.2f}× the floor"
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
            "reads both files, base64-encodes them, `orjson.dumps` the body and makes one `httpx.post`"
            + typer_share("submit", submit_typer),
        ),
        Row(
            case="check, whole process",
            measured=seconds(checking.measured_median),
            floor=seconds(checking.floor_median),
            ratio=checking.ratio,
            target=1.3,
            target_text="≤ 1.3×",
            detail="`python -m vidu_ui check` of the same two JPEGs, from process start to exit; floor: a script "
            "run the same way that decodes both at 1/8 size with Pillow (`draft` then `load`)"
            + typer_share("check", check_typer),
        ),
    ]
