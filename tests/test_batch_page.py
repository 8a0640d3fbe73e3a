"""The Batch tab: plans built from what people have (``specs_for``, without Gradio), and in a real Chromium a
3-prompt × 2-seed plan run to six videos and downloaded as a zip with its manifest."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.apps import Running
from tests.support.batch_page import plan_on_page
from vidu_ui.studio.batch import pairs_by_name, specs_for, storyboard_pairs

CANARY = "sk-CANARY-b4tch-p4g3-1"
pytestmark = pytest.mark.app(api_key=CANARY, queue_seconds=0.2, process_seconds=0.5)  # the module's app


def test_pairs_match_by_name_else_by_order() -> None:
    named = ["shot2_end.png", "shot10_start.png", "shot2_start.png", "shot10_end.png"]
    assert pairs_by_name(named) == [("shot2_start.png", "shot2_end.png"), ("shot10_start.png", "shot10_end.png")]
    assert pairs_by_name(["x.png", "y.png", "z.png", "w.png"]) == [("x.png", "y.png"), ("z.png", "w.png")]
    assert pairs_by_name(["a-first.jpg", "a-last.jpg"]) == [("a-first.jpg", "a-last.jpg")]


def test_a_storyboard_runs_from_each_frame_to_the_next() -> None:
    frames = ["f10.png", "f2.png", "f1.png"]
    assert storyboard_pairs(frames) == [("f1.png", "f2.png"), ("f2.png", "f10.png")]
    assert storyboard_pairs(frames, loop=True)[-1] == ("f10.png", "f1.png")


def test_prompts_times_seeds_times_models_for_one_pair() -> None:
    specs = specs_for(
        "prompts",
        start="a.png",
        end=None,
        files=[],
        prompts=["one", "", "two"],
        models=["viduq1", "viduq2"],
        seeds=2,
        first_seed=7,
        loop=True,
    )
    assert len(specs) == 2 * 2 * 2
    assert {(s.start, s.end) for s in specs} == {("a.png", "a.png")}  # loop: the end frame is the start frame
    assert {(s.options["prompt"], s.options["model"], s.options["seed"]) for s in specs} == {
        (p, m, seed) for p in ("one", "two") for m in ("viduq1", "viduq2") for seed in (7, 8)
    }
    shots = specs_for(
        "storyboard", start=None, end=None, files=["1.png", "2.png", "3.png"], prompts=["in", "out"],
        models=["viduq1"], seeds=1, first_seed=1, loop=False,
    )  # fmt: skip
    assert [(s.start, s.end, s.options["prompt"]) for s in shots] == [
        ("1.png", "2.png", "in"),
        ("2.png", "3.png", "out"),
    ]
    with pytest.raises(ValueError, match="batch_need_pair"):
        specs_for("prompts", start="a.png", end=None, files=[], prompts=["p"], models=["viduq1"], seeds=1,
                  first_seed=1, loop=False)  # fmt: skip


@pytest.mark.browser
def test_a_three_prompt_two_seed_plan_runs_to_six_videos_and_a_zip(
    open_page: Callable[..., object], running: Running, frames: dict[str, Path]
) -> None:
    from playwright.sync_api import Page, expect

    page = open_page(running.url)
    assert isinstance(page, Page)
    plan_on_page(page, frames, ["a slow dolly in", "the camera pans left", "light moves"], seeds=2)
    expect(page.locator("#vu-batch-total")).to_contain_text("estimate")
    before = running.sim.create_count

    page.locator("#vu-batch-run").click()
    expect(page.locator("#vu-batch-gallery .thumbnail-item")).to_have_count(6, timeout=120_000)
    expect(page.locator("#vu-batch-summary")).to_contain_text("6 succeeded", timeout=60_000)
    assert running.sim.create_count == before + 6

    page.locator("#vu-batch-zip").click()
    link = page.locator("#vu-batch-archive a").first
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    archive = zipfile.ZipFile(info.value.path())
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest) == 6 and {row["state"] for row in manifest} == {"success"}
    assert sorted(row["file"] for row in manifest) == sorted(n for n in names if n.endswith(".mp4"))
    assert {(row["prompt"], row["seed"]) for row in manifest} == {
        (p, s) for p in ("a slow dolly in", "the camera pans left", "light moves") for s in (1, 2)
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [r["task_id"] for r in rows] == [row["task_id"] for row in manifest]
