"""``python -m vidu_ui batch MANIFEST`` against the simulator: five jobs through two open slots, each created once;
a rerun sends nothing; ``--dry-run`` sends nothing and prints the total; a bad manifest exits 2 naming line and
column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import pytest

from tests.images import photo, write
from tests.support.cli import CANARY, env_for, run
from tests.support.tracking import open_until_refused
from vidu_ui import batch
from vidu_ui.cli import EXIT_UNKNOWN
from vidu_ui.client import ViduClient
from vidu_ui.manifest import read_manifest
from vidu_ui.request import TaskOptions
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Relay, Simulator
from vidu_ui.store import Store
from vidu_ui.submit import prepare

pytestmark = pytest.mark.simulator(api_key=CANARY, queue_seconds=0.05, process_seconds=0.2)

PROMPTS = ["a slow dolly in", "the camera pans left", "a gentle zoom out", "morning light moves", "leaves drift"]


def five_job_manifest(folder: Path, count: int = 5) -> Path:
    """Five jobs (or fewer) over three small frames (paths relative to the manifest), options by field name."""
    frames = folder / "frames"
    frames.mkdir()
    for i in range(3):
        write(frames / f"f{i}.png", photo(320, 180, seed=40 + i), "PNG")
    manifest = folder / "shots.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["start", "end", "prompt", "model", "duration", "seed"])
        for i, prompt in enumerate(PROMPTS[:count]):
            writer.writerow([f"frames/f{i % 3}.png", f"frames/f{(i + 1) % 3}.png", prompt, "viduq1", "5", str(i + 1)])
    return manifest


def creates(sim: Simulator) -> list[int | None]:
    return [r.status for r in sim.requests if r.call == "create"]


@pytest.mark.simulator(api_key=CANARY, queue_seconds=0.2)
def test_five_jobs_through_two_open_slots_each_created_once_then_a_rerun_sends_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.relay = Relay(max_open=2)
    manifest = five_job_manifest(tmp_path)
    env = env_for(sim, tmp_path)
    out = tmp_path / "out"

    with open_until_refused(sim):
        code, stdout, err = run(["batch", str(manifest), "--max-in-flight", "5", "--wait", "--output", str(out)], env)

    assert code == 0, err
    assert sim.create_count == 5  # each job created exactly once
    assert 429 in creates(sim)  # the simulator refused some creates: those are not tasks
    videos = sorted(out.glob("*.mp4"))
    assert len(videos) == 5
    for video in videos:
        with av.open(str(video)) as container:
            assert container.streams.video
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [r["prompt"] for r in rows] == PROMPTS
    assert {r["state"] for r in rows} == {"success"} and len({r["task_id"] for r in rows}) == 5
    assert sorted(r["file"] for r in rows) == [v.name for v in videos]
    assert json.loads(stdout)[0]["task_id"] == rows[0]["task_id"]
    with Store(tmp_path / "data" / "history.sqlite3") as history:
        recorded = [r for r in history.list(limit=100) if r.job_key]
    assert sorted(r.job_key or "" for r in recorded) == sorted(r["key"] for r in rows)

    sent_before = len(creates(sim))
    code, _, err = run(["batch", str(manifest), "--max-in-flight", "5", "--wait", "--output", str(out)], env)
    assert code == 0, err
    assert len(creates(sim)) == sent_before  # the rerun sends nothing
    assert sim.create_count == 5


def test_the_default_in_flight_is_the_accounts_concurrency_limit(sim: Simulator, tmp_path: Path) -> None:
    sim.relay = Relay(max_open=2)  # the credits call then says concurrency_limit 2
    manifest = five_job_manifest(tmp_path)
    code, _, err = run(["batch", str(manifest), "--wait", "--output", str(tmp_path / "out")], env_for(sim, tmp_path))
    assert code == 0, err
    assert creates(sim) == [200] * 5  # never more open than the account allows: no refusal at all
    assert "at most 2" in err


def test_a_failed_job_exits_1_and_the_others_still_run(sim: Simulator, tmp_path: Path) -> None:
    sim.fail_next("TaskPromptPolicyViolation")  # the first task created fails at the end of processing
    manifest = five_job_manifest(tmp_path, count=2)
    out = tmp_path / "out"
    code, stdout, err = run(["batch", str(manifest), "--wait", "--output", str(out)], env_for(sim, tmp_path))
    assert code == 1, err
    rows = json.loads(stdout)
    assert sorted(r["state"] for r in rows) == ["failed", "success"]
    assert [r["err_code"] for r in rows if r["state"] == "failed"] == ["TaskPromptPolicyViolation"]
    assert len(list(out.glob("*.mp4"))) == 1 and sim.create_count == 2


def test_an_outcome_still_unknown_after_reconciliation_exits_3_and_a_rerun_sends_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    """The relay drops the connection after accepting the create (the task IS made and billed), and the service's
    list then holds two tasks that could be it: one made outside the app with the same model, prompt and payload
    (the job's own payload: the app adds no reference of its own then). Reconciliation cannot tell which: the job
    needs a look, its outcome unknown; exit 3, and a rerun never sends it again."""
    manifest = five_job_manifest(tmp_path, count=1)
    text = manifest.read_text(encoding="utf-8").splitlines()
    manifest.write_text(f"{text[0]},payload\n{text[1]},shot-7\n", encoding="utf-8")
    (spec,) = read_manifest(manifest)
    outside = Settings.build(api_key=CANARY, base_url=sim.base_url, data_dir=tmp_path / "elsewhere")
    with ViduClient(outside) as client:
        client.create(prepare(spec.start, spec.end, TaskOptions.from_mapping(spec.options)).content)
    sim.inject(Fault(call="create", action="reset_after_body"))
    env = env_for(sim, tmp_path)

    code, stdout, err = run(["batch", str(manifest)], env)

    assert code == EXIT_UNKNOWN, err
    assert sim.create_count == 2  # the outside task and the job's, each once
    with Store(tmp_path / "data" / "history.sqlite3") as history:
        (job,) = batch.job_statuses(history, batch.batch_id_for(str(manifest.resolve())))
        assert (job.outcome, job.state, job.task_id) == ("unknown", "needs_look", None)
        (record,) = history.unsettled()
        assert {c["id"] for c in record.candidates} == {t.id for t in sim.store.all()}
    assert json.loads(stdout)[0]["state"] == "needs_look"

    code, _, err = run(["batch", str(manifest), "--wait", "--output", str(tmp_path / "out")], env)
    assert code == EXIT_UNKNOWN, err
    assert sim.create_count == 2  # never sent again while a task of it may exist


def test_dry_run_prints_the_plan_and_total_and_sends_nothing(sim: Simulator, tmp_path: Path) -> None:
    manifest = five_job_manifest(tmp_path)
    code, stdout, err = run(["batch", str(manifest), "--dry-run"], env_for(sim, tmp_path))
    assert code == 0, err
    assert sim.requests == []
    expected = sum(batch.estimate({"model": "viduq1", "duration": "5", "prompt": p}) or 0 for p in PROMPTS)
    assert expected > 0
    lines = stdout.splitlines()
    assert len(lines) == 6  # one row per job, then the total
    assert str(expected) in lines[-1] and "estimate" in lines[-1]
    assert all(prompt in "\n".join(lines) for prompt in PROMPTS)


def test_dry_run_marks_a_job_that_fails_its_checks(sim: Simulator, tmp_path: Path) -> None:
    manifest = five_job_manifest(tmp_path)
    text = manifest.read_text(encoding="utf-8").replace("viduq1,5,3", "viduq1,9,3")
    manifest.write_text(text, encoding="utf-8")
    code, stdout, _ = run(["--lang", "en", "batch", str(manifest), "--dry-run"], env_for(sim, tmp_path))
    assert code == 0
    assert "duration:" in stdout.splitlines()[2]  # the third job's check names its field
    assert "4 ready" in stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "content", "line", "column"),
    [
        ("bad.csv", "start,end,prompt,colour\na.png,b.png,hi,red\n", 1, "colour"),
        ("bad.csv", "start,end\na.png,b.png\n", 1, "prompt"),
        ("bad.csv", "start,end,prompt\na.png,b.png,hi\na.png,,hi\n", 3, "end"),
        ("bad.jsonl", '{"start": "a.png", "end": "b.png", "prompt": "hi"}\n{"start": "a.png", "end":\n', 2, "-"),
        ("bad.jsonl", '{"start": "a.png", "end": "b.png", "prompt": "hi", "sead": 3}\n', 1, "sead"),
    ],
)
def test_an_invalid_manifest_exits_2_naming_line_and_column(
    sim: Simulator, tmp_path: Path, name: str, content: str, line: int, column: str
) -> None:
    manifest = tmp_path / name
    manifest.write_text(content, encoding="utf-8")
    code, _, err = run(["batch", str(manifest)], env_for(sim, tmp_path))
    assert code == 2
    assert f"line {line}, column {column}:" in err
    assert sim.requests == []


def test_manifest_errors_in_chinese(sim: Simulator, tmp_path: Path) -> None:
    manifest = tmp_path / "bad.csv"
    manifest.write_text("start,end,prompt\na.png,,hi\n", encoding="utf-8")
    code, _, err = run(["--lang", "zh-CN", "batch", str(manifest)], env_for(sim, tmp_path))
    assert code == 2
    assert "第 2 行，end 列" in err
