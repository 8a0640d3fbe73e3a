"""Cold start: ``python app.py`` until its page answers 200, against a bare Gradio app with three components."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from .measure import compare, seconds
from .procs import KEY, ROOT, clean_env, free_port, stop, wait_until_ok
from .results import Context, Row

FLOOR_APP = '''\
"""The floor: the least Gradio page that does something, launched as the studio is."""
import sys

import gradio as gr

with gr.Blocks(analytics_enabled=False) as demo:
    text = gr.Textbox(label="In")
    button = gr.Button("Go")
    out = gr.Textbox(label="Out")
    button.click(lambda value: value, text, out)

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
'''


def launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a page and return once ``/`` answers 200 (the process is left running for ``stop``)."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen([*args, str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/", process)
    except BaseException:
        stop(process)
        raise
    return process


def _stop(process: Any) -> None:
    stop(process)


def run(ctx: Context) -> list[Row]:
    floor_script = ctx.work / "floor_app.py"
    floor_script.write_text(FLOOR_APP, encoding="utf-8")
    env = clean_env(VIDU_BASE_URL=ctx.simulator.url, VIDU_API_KEY=KEY, VIDU_UI_DATA_DIR=str(ctx.work / "data"))
    log = ctx.log_dir / "cold-start.log"
    app = [sys.executable, "app.py", "--host", "127.0.0.1", "--port"]
    floor = [sys.executable, str(floor_script)]
    timings = compare(
        lambda: launch(app, env, log), lambda: launch(floor, env, log), runs=ctx.profile.cold_runs, settle=_stop
    )
    return [
        Row(
            case="cold start",
            measured=seconds(timings.measured_median),
            floor=seconds(timings.floor_median),
            ratio=timings.ratio,
            target=1.15,
            target_text="≤ 1.15×",
            detail="`python app.py` (settings from VIDU_* pointing at the simulator) from process start until `/` "
            "answers 200; floor: a script with a `gr.Blocks` of a textbox, a button and a textbox, launched "
            "the same way",
        )
    ]
