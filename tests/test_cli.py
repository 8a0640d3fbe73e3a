"""The command line against the simulator on 127.0.0.1: exit codes, output, nothing sent on bad input."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import av
import pytest
from typer.testing import CliRunner

from tests.corpus import make_bad
from tests.images import photo, write
from tests.support.cli import CANARY, env_for, run
from vidu_ui import __version__, cli
from vidu_ui.cli import app
from vidu_ui.messages import EN, ZH
from vidu_ui.simulator import Fault, Relay, Simulator

pytestmark = pytest.mark.simulator(api_key=CANARY, queue_seconds=0.05, process_seconds=0.2)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def frames(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write(tmp_path / "start.png", photo(640, 360, seed=1), "PNG"),
        write(tmp_path / "end.jpg", photo(640, 360, seed=2), "JPEG", quality=90),
    )


def test_check_passes_without_any_network(frames: tuple[Path, Path]) -> None:
    code, _, err = run(["check", str(frames[0]), str(frames[1]), "-p", "a slow dolly in", "-m", "viduq1"], env={})
    assert code == 0, err
    assert "ok: PNG · 640×360" in err and "JPEG · 640×360" in err


def test_check_lists_every_problem_and_exits_2(frames: tuple[Path, Path]) -> None:
    args = ["check", str(frames[0]), str(frames[1]), "-p", "", "-m", "viduq1", "--duration", "8", "--seed", "1e9"]
    code, _, err = run(args, env={})
    assert code == 2
    assert "error: prompt: is required" in err
    assert "error: duration: 8 s is not offered by viduq1; choose 5" in err
    assert "error: seed: '1e9' is not accepted" in err
    assert "nothing was sent." in err


def test_check_image_prints_one_json_line_per_file(tmp_path: Path, frames: tuple[Path, Path]) -> None:
    gif = make_bad(tmp_path, "gif")
    code, out, _ = run(["check-image", str(frames[0]), str(gif)], env={})
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert lines[0] == {"file": str(frames[0]), "ok": True, "format": "png", "width": 640, "height": 360, "error": None}
    assert lines[1]["ok"] is False and "GIF" in lines[1]["error"] and lines[1]["format"] is None


def test_submit_prints_the_response_and_task_id(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    args = ["submit", str(frames[0]), str(frames[1]), "-p", "a slow dolly in", "-m", "viduq1", "--seed", "7"]
    code, out, err = run(args, env_for(sim, tmp_path))
    assert code == 0, err
    response = json.loads(out)
    assert response["state"] == "created" and response["model"] == "viduq1" and response["seed"] == 7
    assert f"Task ID: {response['task_id']}" in err
    assert sim.create_count == 1
    sent = next(r for r in sim.requests if r.call == "create").body
    assert set(sent) == {"model", "images", "prompt", "seed", "payload"}  # payload: the app's reference
    assert sent["payload"].startswith("vidu-ui:")


def test_submit_wait_downloads_a_playable_mp4(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "videos"
    args = ["submit", str(frames[0]), str(frames[1]), "-p", "dolly", "--wait", "--output", str(out_dir)]
    code, out, err = run(args, env_for(sim, tmp_path))
    assert code == 0, err
    task_id = json.loads(out)["task_id"]
    video = out_dir / f"{task_id}.mp4"
    assert f"video: {video}" in err and f"state: {EN['state_success']}" in err
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) > 1
    assert not list(out_dir.glob("*.part"))


@pytest.mark.parametrize("kind", ["gif", "bmp", "svg", "tiff-named-png", "empty", "truncated-jpeg", "bad-crc", "bomb"])
def test_bad_frames_send_nothing(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    bad = make_bad(tmp_path, kind)
    code, out, err = run(["submit", str(frames[0]), str(bad), "-p", "x"], env_for(sim, tmp_path))
    assert code == 2 and out == ""
    assert "error: end_frame:" in err and "Traceback" not in err
    assert sim.create_count == 0 and sim.requests == []


def test_a_pair_out_of_ratio_is_refused_then_fixed_by_auto_fit(sim: Simulator, tmp_path: Path) -> None:
    start = write(tmp_path / "s.png", photo(700, 500, seed=3), "PNG")
    end = write(tmp_path / "e.png", photo(980, 500, seed=4), "PNG")  # aspect ratio 1.4× the start's
    code, _, err = run(["submit", str(start), str(end), "-p", "x"], env_for(sim, tmp_path))
    assert code == 2 and "0.8" in err and sim.create_count == 0
    code, _, err = run(["submit", str(start), str(end), "-p", "x", "--auto-fit"], env_for(sim, tmp_path))
    assert code == 0, err
    assert "auto-fit: End frame" in err and sim.create_count == 1


def test_service_refusal_exits_1_with_what_to_do(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, err = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env_for(sim, tmp_path, key="wrong"))
    assert code == 1 and out == ""
    assert "HTTP 401 Unauthorized" in err and "what to do:" in err and "Bearer" in err


def test_no_answer_is_settled_from_the_task_list_and_sent_once(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    sim.inject(Fault(call="create", action="reset_after_body"))  # created, but the answer is lost
    code, out, err = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env_for(sim, tmp_path))
    assert code == 0, err
    assert "checking whether the task was created" in err and json.loads(out)["task_id"] == sim.store.all()[0].id
    assert sim.create_count == 1
    sim.inject(Fault(call="create", status=503, times=9))  # refused every time: nothing made
    code, _, err = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env_for(sim, tmp_path))
    assert code == 1 and sim.create_count == 1


def test_no_answer_and_several_candidates_exits_3(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    env = {**env_for(sim, tmp_path), "VIDU_UI_PAYLOAD_REFERENCE": "0"}
    for _ in range(2):
        assert (
            run(
                ["submit", str(frames[0]), str(frames[1]), "-p", "x"],
                {**env, "VIDU_UI_DATA_DIR": str(tmp_path / "elsewhere")},
            )[0]
            == 0
        )
    sim.inject(Fault(call="create", status=500))
    code, _, err = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env)
    assert code == 3
    assert "outcome unknown: the task may have been created" in err and "several tasks could be this one" in err
    assert sim.create_count == 2


def test_a_throttled_create_is_retried_and_lands_once(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path
) -> None:
    sim.inject(Fault(call="create", status=429, headers={"Retry-After": "0"}))
    code, _, err = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env_for(sim, tmp_path))
    assert code == 0, err
    assert [r.status for r in sim.requests if r.call == "create"] == [429, 200]


def test_a_failed_task_says_why(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    sim.fail_next("CreationPolicyViolation")
    args = ["submit", str(frames[0]), str(frames[1]), "-p", "x", "--wait", "-o", str(tmp_path)]
    code, _, err = run(args, env_for(sim, tmp_path))
    assert code == 1
    assert "CreationPolicyViolation" in err and EN["hint_CreationPolicyViolation"] in err


def test_status_cancel_credits_and_tasks(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    _, out, _ = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env)
    task_id = json.loads(out)["task_id"]
    code, out, err = run(["status", task_id], env)
    assert code == 0 and json.loads(out)["state"] in {"created", "queueing", "processing", "success"}
    code, out, _ = run(["credits"], env)
    assert code == 0 and "remains" in json.loads(out)
    code, out, _ = run(["tasks"], env)
    assert code == 0 and task_id in out
    for bad in ("not/an/id", "٣٣٣", "x" * 129):
        code, _, err = run(["status", bad], env)
        assert code == 2 and "task_id" in err
    assert [r.call for r in sim.requests].count("query") == 1  # the bad ids sent nothing


def test_no_key_is_a_clear_error(frames: tuple[Path, Path]) -> None:
    code, _, err = run(["credits"], env={"VIDU_API_KEY": ""})
    assert code == 2 and "VIDU_API_KEY is not set" in err


def test_the_key_never_appears_in_output_or_logs(
    sim: Simulator, frames: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "vidu_ui"):  # restored after the test, for the tests after it in this process
        caplog.set_level(logging.DEBUG, logger=name)
    env = env_for(sim, tmp_path)
    seen = []
    sim.inject(
        Fault(call="create", status=500, body="<html><title>Bad gateway</title></html>", content_type="text/html")
    )
    for args in (
        ["-v", "submit", str(frames[0]), str(frames[1]), "-p", "x"],  # outcome unknown
        ["-v", "submit", str(frames[0]), str(frames[1]), "-p", "x", "--wait", "-o", str(tmp_path)],  # success
        ["-v", "status", "123"],  # not found
    ):
        _, out, err = run(args, env)
        seen += [out, err]
    seen += [r.getMessage() for r in caplog.records]
    seen.append(json.dumps([r.to_json() for r in sim.requests], default=str))
    seen += [p.read_bytes().decode("latin-1") for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert sum(len(s) for s in seen) > 1000
    assert not [s for s in seen if CANARY in s]


def test_python_dash_m_runs_the_command_line(sim: Simulator, frames: tuple[Path, Path], tmp_path: Path) -> None:
    env = {**os.environ, **env_for(sim, tmp_path), "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "vidu_ui", "submit", str(frames[0]), str(frames[1]), "-p", "x", "--wait"]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    task_id = json.loads(done.stdout)["task_id"]
    assert (tmp_path / f"{task_id}.mp4").stat().st_size > 1000
    assert CANARY not in done.stdout + done.stderr


def test_status_and_cancel_update_the_history(frames: tuple[Path, Path], tmp_path: Path) -> None:
    with Simulator(api_key=CANARY, queue_seconds=60, process_seconds=0.2) as slow:  # long enough to cancel
        env = env_for(slow, tmp_path)
        _, out, _ = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env)
        task_id = json.loads(out)["task_id"]
        code, out, _ = run(["status", task_id], env)
        state = json.loads(out)["state"]
        assert code == 0 and state in ("created", "queueing")
        _, listed, _ = run(["history", "--json"], env)
        assert [(r["task_id"], r["state"]) for r in json.loads(listed)] == [(task_id, state)]
        code, _, err = run(["cancel", task_id], env)
        assert code == 0, err
        _, listed, _ = run(["history", "--json"], env)
    (row,) = json.loads(listed)
    assert (row["task_id"], row["state"], row["err_code"]) == (task_id, "failed", "UserCancelled")


def test_version_and_plain_help() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__
    for command in ([], ["submit"], ["history"]):
        help_text = CliRunner().invoke(app, [*command, "--help"]).stdout
        assert "Usage:" in help_text
        assert "<bool>" not in help_text and "╭" not in help_text  # no type after each flag, no rich panels


# --- the relays in front of the API (docs/contract.md) ------------------------------------------------------------


@pytest.mark.parametrize("ids", ["task", "uuid"])
def test_non_numeric_task_ids_work_end_to_end(ids: str, frames: tuple[Path, Path], tmp_path: Path) -> None:
    relay = Relay(ids=ids, extra_states=True)  # type: ignore[arg-type]
    # ``scheduling`` lasts the last quarter of the 2 s wait: polls at most 0.2 s apart see it.
    with Simulator(api_key=CANARY, queue_seconds=2.0, process_seconds=0.5, relay=relay) as sim:
        env = env_for(sim, tmp_path)
        args = ["submit", str(frames[0]), str(frames[1]), "-p", "x", "--wait", "-o", str(tmp_path / "out")]
        code, out, err = run(args, env)
        assert code == 0, err
        task_id = json.loads(out.split("\n}\n")[0] + "\n}")["task_id"]
        assert not task_id.isdigit() and (tmp_path / "out" / f"{task_id}.mp4").stat().st_size > 0
        # states outside the documented five were followed on, and said so
        assert EN["state_other"].format(state="scheduling") in err
        code, out, _ = run(["status", task_id], env)
        assert code == 0 and json.loads(out)["state"] == "success"
        code, out, _ = run(["history", "--json"], env)
        assert code == 0 and [row["task_id"] for row in json.loads(out)] == [task_id]


def test_a_cancelled_task_is_cancelled_not_failed(frames: tuple[Path, Path], tmp_path: Path) -> None:
    with Simulator(api_key=CANARY, queue_seconds=20, process_seconds=1, relay=Relay(extra_states=True)) as sim:
        env = env_for(sim, tmp_path)
        _, out, _ = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env)
        task_id = json.loads(out)["task_id"]
        code, out, err = run(["cancel", task_id], env)
        assert code == 0, err
        code, out, err = run(["status", task_id], env)
        assert json.loads(out)["state"] == "canceled"  # the service's word, shown as it came
        assert f"state: {EN['state_cancelled']}" in err and EN["state_failed"] not in err


def test_a_cancel_refused_once_scheduled_says_so(frames: tuple[Path, Path], tmp_path: Path) -> None:
    # No queue: the task is scheduled the moment it is created.
    with Simulator(api_key=CANARY, queue_seconds=0, process_seconds=30, relay=Relay(extra_states=True)) as sim:
        env = env_for(sim, tmp_path)
        _, out, _ = run(["submit", str(frames[0]), str(frames[1]), "-p", "x"], env)
        task_id = json.loads(out)["task_id"]
        code, _, err = run(["cancel", task_id], env)
        assert code == 1 and EN["hint_cancel_scheduled"] in err


def test_tasks_follows_page_tokens(frames: tuple[Path, Path], tmp_path: Path) -> None:
    with Simulator(api_key=CANARY, queue_seconds=0.05, process_seconds=0.1, relay=Relay(page_tokens=True)) as sim:
        env = env_for(sim, tmp_path)
        made = [json.loads(run(["submit", str(frames[0]), str(frames[1]), "-p", f"n{i}"], env)[1])["task_id"]
                for i in range(5)]  # fmt: skip
        code, out, _ = run(["tasks", "--page-size", "2"], env)
        first = json.loads(out)
        assert code == 0 and len(first["tasks"]) == 2 and first["next_page_token"].startswith("pt_")
        code, out, _ = run(["tasks", "--page-size", "2", "--page-token", first["next_page_token"]], env)
        assert [t["id"] for t in json.loads(out)["tasks"]] == made[::-1][2:4]
        code, out, _ = run(["tasks", "--page-size", "2", "--all"], env)
        assert code == 0 and [t["id"] for t in json.loads(out)] == made[::-1]
        sent = [r.query for r in sim.requests if r.call == "tasks"]
        assert all("pager.pagesz=2" in q for q in sent) and not any("page_sz" in q for q in sent)


def test_messages_follow_the_readers_language(frames: tuple[Path, Path]) -> None:
    args = ["check", str(frames[0]), str(frames[1]), "-p", "", "-m", "viduq1"]
    code, _, err = run(["--lang", "zh-CN", *args], env={})
    assert code == 2 and f"prompt: {ZH['problem_prompt_required']}" in err  # the CLI keeps the field's name
    with patch.dict(os.environ, {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}):
        assert cli.lang() == "en"  # the invocation's --lang ended with it, for whatever runs next in this process
    code, _, err = run(args, env={"LC_ALL": "", "LANG": "zh_CN.UTF-8"})
    assert f"prompt: {ZH['problem_prompt_required']}" in err
    code, _, err = run(args, env={"LC_ALL": "", "LANG": "en_US.UTF-8"})
    assert f"prompt: {EN['problem_prompt_required']}" in err


def test_off_peak_where_relays_say_it_is_unavailable_warns_and_passes(frames: tuple[Path, Path]) -> None:
    args = ["check", str(frames[0]), str(frames[1]), "-p", "x", "-m", "viduq2", "--off-peak"]
    code, _, err = run(args, env={"LC_ALL": "", "LANG": "en_US.UTF-8"})
    assert code == 0 and "warning: off_peak:" in err


def test_the_worker_settles_once_its_follower_is_built(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``worker`` leaves what its start built out of Python's full collections (``heap.settle``) before its
    follower starts: a full collection during a wave of queries holds the follower's loop."""
    from vidu_ui import follower, heap

    steps: list[str] = []

    class Stop(Exception):
        pass

    class Follower:
        def __init__(self, *args: object, **kwargs: object) -> None:
            steps.append("built")

        def start(self) -> None:
            steps.append("start")
            raise Stop

    monkeypatch.setattr(follower, "Follower", Follower)
    monkeypatch.setattr(heap, "settle", lambda: steps.append("settle"))
    monkeypatch.setattr("signal.signal", lambda *a: None)
    result = CliRunner().invoke(app, ["worker"], env=env_for(sim, tmp_path))
    assert isinstance(result.exception, Stop)
    assert steps == ["built", "settle", "start"]
