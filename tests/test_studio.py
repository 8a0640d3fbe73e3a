"""The page's handlers, called directly: checks, live updates, and Generate against the in-process simulator."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.images import photo, write
from tests.support.apps import form_values as shared_form_values
from vidu_ui import frames
from vidu_ui.catalogue import MODELS, get_model
from vidu_ui.messages import EN, ZH, render_problem
from vidu_ui.request import TaskOptions, check_options
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.studio import FORM_FIELDS, Form, Runtime, SessionGuard, Studio, build_studio
from vidu_ui.studio.handlers import SYNC_OUTPUTS
from vidu_ui.submit import prepare

CANARY = "sk-CANARY-7f3a9c2e51d04b8e"

pytestmark = pytest.mark.simulator(api_key=CANARY, queue_seconds=0.05, process_seconds=0.1)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp_path = tmp_path_factory.mktemp("frames")
    return {
        "start": write(tmp_path / "start.png", photo(640, 360, 1), "PNG"),
        "end": write(tmp_path / "end.jpg", photo(640, 360, 2), "JPEG"),
        "square": write(tmp_path / "square.png", photo(1000, 1000, 3), "PNG"),
        "wide": write(tmp_path / "wide.png", photo(1400, 700, 4), "PNG"),
        "text": _text_file(tmp_path / "notes.png"),
    }


def _text_file(path: Path) -> Path:
    path.write_text("not a picture\n")
    return path


@contextlib.contextmanager
def make_studio(settings: Settings) -> Iterator[Studio]:
    """A studio over its own history, its tracker running (as the launched app's does)."""
    runtime = Runtime.open(settings)
    runtime.start()
    try:
        yield Studio(runtime)
    finally:
        runtime.stop(wait=True)
        runtime.store.close()


@pytest.fixture
def studio(sim: Simulator, tmp_path: Path) -> Iterator[Studio]:
    with make_studio(Settings.build(api_key=CANARY, base_url=sim.base_url, data_dir=tmp_path / "data")) as made:
        yield made


def form_values(images: dict[str, Path], **changes: Any) -> dict[str, Any]:
    end = {"path": str(images["end"]), "orig_name": "end.jpg"}  # Gradio's payload (preprocess off)
    defaults = {
        "prompt": "The camera glides forward as the sun sets",
        "model": "viduq3-pro",
        "duration": 5.0,
        "resolution": "720p",
        "audio": True,
        "auto_fit": False,
    }
    return shared_form_values(str(images["start"]), end, **{**defaults, **changes})


def validate(studio: Studio, values: dict[str, Any]) -> dict[str, str]:
    """The validator's messages by input name, only the failing ones."""
    results = studio.validate(Form.of(values), SessionGuard())
    assert len(results) == len(FORM_FIELDS) + 1
    assert all(r["__type__"] == "validate" for r in results)
    return {name: r["message"] for name, r in zip(FORM_FIELDS, results, strict=False) if not r["is_valid"]}


def outputs(studio: Studio, values: dict[str, Any], guard: SessionGuard | None = None) -> list[tuple[Any, ...]]:
    return list(studio.run(Form.of(values), guard or SessionGuard()))


# --- checks -------------------------------------------------------------------------------------------------


def test_valid_form_passes_every_check(studio: Studio, images: dict[str, Path]) -> None:
    assert validate(studio, form_values(images)) == {}


def test_option_messages_are_the_cores_words_at_their_own_inputs(studio: Studio, images: dict[str, Path]) -> None:
    values = form_values(
        images,
        prompt="",
        model="viduq1",
        resolution="720p",
        meta_data="[1, 2]",
        callback_url="ftp://example.com/hook",
        seed=-3,
        duration=7.0,
    )
    messages = validate(studio, values)
    _, problems = check_options(Form.of(values).task_options())
    expected: dict[str, list[str]] = {}
    for problem in problems:  # at its own input, without the field's name
        expected.setdefault(problem.field, []).append(render_problem(problem, "en", with_field=False))
    assert set(expected) == {"prompt", "duration", "resolution", "seed", "meta_data", "callback_url"}
    assert messages == {field: "\n".join(lines) for field, lines in expected.items()}


def test_pair_problem_shows_at_the_end_frame_in_the_cores_words(studio: Studio, images: dict[str, Path]) -> None:
    values = form_values(images, start_image=str(images["square"]), end_image=str(images["wide"]))
    messages = validate(studio, values)
    start = frames.load_frame(str(images["square"]), "start")
    end = frames.load_frame(str(images["wide"]), "end")
    expected = frames.check_pair(start, end)
    assert expected, "the drawn pair must break the pair rules"
    assert messages == {"end_image": "\n".join(p.message for p in expected)}


def test_frame_problems_go_to_the_url_box_the_frame_came_from(studio: Studio, images: dict[str, Path]) -> None:
    values = form_values(images, start_image=None, start_url="https://example.com/a b.png", end_image=None, end_url="")
    messages = validate(studio, values)
    assert set(messages) == {"start_url", "end_image"}
    assert messages["start_url"] == render_problem(Form.of(values).url_problems()[0], with_field=False)
    assert messages["end_image"] and not messages["end_image"].startswith("end_frame")  # at its input: no name


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("data:image/png;base64," + "A" * 3000, "problem_frame_data_uri"),  # not "URL too long"
        ('https://example.com/a"b.png', "problem_frame_url_chars"),
        ("https://example.com/été.png", "problem_frame_url_chars"),
        ("file:///home/me/start.png", "problem_frame_url"),  # no path advice: a path here is on the server
        ("start.png", "problem_frame_url"),
        ("https:///start.png", "problem_frame_url"),
    ],
)
def test_the_url_box_is_judged_as_a_frame_url(studio: Studio, images: dict[str, Path], text: str, key: str) -> None:
    """The box holds an image's address: the URL rule for a frame (``image=True``), as the core's loader judges it,
    so the box's message is the one the frame would get, and a refused address is no frame."""
    values = form_values(images, start_image=None, start_url=text)
    form = Form.of(values)
    assert [(p.field, p.key) for p in form.url_problems()] == [("start_frame", key)]
    assert form.start is None
    assert validate(studio, values)["start_url"] == render_problem(form.url_problems()[0], with_field=False)


def test_hidden_controls_are_not_set(images: dict[str, Path]) -> None:
    # q3: bgm and movement amplitude do not apply; without a watermark its position and URL do not either.
    q3 = Form.of(
        form_values(images, bgm=True, movement_amplitude="large", wm_url="ftp://x", wm_position=1, audio=False)
    ).task_options()
    assert (q3.bgm, q3.movement_amplitude, q3.wm_url, q3.wm_position, q3.audio) == (None, None, None, None, False)
    # q1: no sound.
    q1 = Form.of(form_values(images, model="viduq1", resolution="1080p", audio=True, bgm=True)).task_options()
    assert (q1.audio, q1.bgm) == (None, True)
    assert check_options(q1)[1] == []
    watermarked = Form.of(form_values(images, watermark=True, wm_position=2, wm_url="https://example.com/w.png"))
    fields, problems = check_options(watermarked.task_options())
    assert problems == []
    assert (fields["wm_position"], fields["wm_url"]) == (2, "https://example.com/w.png")


def test_options_reach_the_core_as_typed_values(images: dict[str, Path]) -> None:
    options = Form.of(form_values(images, duration=8.0, seed=42.0, meta_data=" ", payload="")).task_options()
    assert options == TaskOptions(
        model="viduq3-pro",
        prompt="The camera glides forward as the sun sets",
        duration=8,
        resolution="720p",
        seed=42,
        is_rec=False,
        audio=True,
        off_peak=False,
        watermark=False,
        payload="",
    )


# --- live updates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_model_change_updates_duration_resolution_and_options(studio: Studio, model: Any) -> None:
    updates = dict(zip(SYNC_OUTPUTS, studio.sync(model.name, None, None, False), strict=True))
    duration, resolution, estimate = updates["duration"], updates["resolution"], updates["estimate"]
    audio, bgm, movement = updates["audio"], updates["bgm"], updates["movement_amplitude"]
    assert [value for _, value in duration["choices"]] == list(model.durations)
    assert duration["value"] == model.default_duration
    assert duration["interactive"] is (len(model.durations) > 1)  # one duration: shown fixed, never a slider
    assert resolution["choices"] == list(model.resolutions_for(model.default_duration))
    assert resolution["value"] == model.default_resolution_for(model.default_duration)
    assert (audio["visible"], bgm["visible"], movement["visible"]) == (model.audio, model.bgm, model.movement_amplitude)
    assert "value" in estimate


def test_vidu20_resolutions_follow_the_duration(studio: Studio) -> None:
    duration, resolution, *_ = studio.sync("vidu2.0", None, None, False)
    assert ([value for _, value in duration["choices"]], duration["value"]) == ([4, 8], 4)
    assert resolution["choices"] == ["360p", "720p", "1080p"]
    assert resolution["value"] == "360p"
    kept, eight, *_ = studio.sync("vidu2.0", 8.0, "360p", False)
    assert (eight["choices"], eight["value"]) == (["720p"], "720p")
    assert "value" not in kept  # 8 s is offered: left as the page holds it
    _, four, *_ = studio.sync("vidu2.0", 4.0, "720p", False)
    assert four["choices"] == ["360p", "720p", "1080p"] and "value" not in four


def test_a_duration_and_resolution_still_offered_are_not_sent_back(studio: Studio) -> None:
    """The page may hold newer ones than the event read ("Reuse settings" sets all three, and the page reads the
    model first): only what the new model does not offer is replaced."""
    duration, resolution, *_ = studio.sync("viduq3-turbo", 5, "720p", False)
    assert "value" not in duration and "value" not in resolution
    assert [value for _, value in duration["choices"]] == list(range(1, 17))


def test_a_duration_the_new_model_lacks_falls_back_to_its_default(studio: Studio) -> None:
    duration, resolution, *_ = studio.sync("viduq1", 10, "720p", False)  # what viduq2 had
    assert (duration["value"], duration["interactive"], resolution["value"]) == (5, False, "1080p")


def test_estimate_is_the_catalogues_and_says_when_there_is_none(studio: Studio) -> None:
    q1 = get_model("viduq1")
    assert q1 is not None
    assert studio.estimate("viduq1", 5, "1080p", False) == f"≈ {q1.estimate_credits(5, '1080p')}"
    assert studio.estimate("viduq1", 5, "1080p", True) == f"≈ {q1.estimate_credits(5, '1080p', True)}"
    assert '"no_estimate"' in studio.estimate("viduq2", 5, "720p", False)


def test_swap_exchanges_frames_and_urls(images: dict[str, Path]) -> None:
    start, end = str(images["start"]), {"path": str(images["end"])}
    assert Studio.swap(start, end, "https://a.example/1.png", "") == (
        str(images["end"]),
        start,
        "",
        "https://a.example/1.png",
    )


def test_character_count() -> None:
    assert Studio.character_count("") == "0 / 2,000"
    assert Studio.character_count("x" * 1999) == "1,999 / 2,000"
    assert "⚠" in Studio.character_count("x" * 2001)


def test_frame_summary_shows_format_size_and_problems(images: dict[str, Path]) -> None:
    expected = frames.load_frame(str(images["start"]), "start").summary()
    assert Studio.frame_summary(str(images["start"])) == expected
    assert Studio.frame_summary({"path": str(images["end"])}, None, "end").startswith("JPEG · 640×360 · ")
    assert "only PNG, JPEG and WebP are accepted" in Studio.frame_summary(str(images["text"]))
    assert Studio.frame_summary(None, "https://example.com/f.png").startswith("URL · example.com")
    assert Studio.frame_summary(None, "") == ""


def test_watermark_details_show_only_with_a_watermark() -> None:
    assert Studio.watermark_changed(True) == (gr.update(visible=True), gr.update(visible=True))
    assert Studio.watermark_changed(False) == (gr.update(visible=False), gr.update(visible=False))


def test_random_seed_is_in_range() -> None:
    assert all(1 <= Studio.random_seed() <= 2_147_483_647 for _ in range(50))


# --- generate -----------------------------------------------------------------------------------------------


def test_generate_returns_the_task_id_and_response(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    steps = outputs(studio, form_values(images))
    shown, last = steps  # two yields: the request shown with the button disabled while in flight, the answer
    assert shown[-1]["interactive"] is False
    assert "$VIDU_API_KEY" in shown[4] and sim.base_url in shown[4]
    task_id, credits, response, changes, curl, python, button = last
    assert task_id and task_id == response["task_id"]
    assert credits == f"{response['credits']:g}"
    assert response["model"] == "viduq3-pro"
    assert '"no_changes"' in changes
    assert curl == shown[4] and "curl -X POST" in curl
    assert "httpx.post" in python
    assert button["interactive"] is True
    assert sim.create_count == 1


def test_auto_fit_shows_what_it_changed_and_sends(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    values = form_values(images, start_image=str(images["square"]), end_image=str(images["wide"]), auto_fit=True)
    assert validate(studio, values) == {}
    expected = prepare(images["square"], images["wide"], Form.of(values).task_options(), auto_fit=True).changes
    assert expected
    steps = outputs(studio, values)
    shown_before_sending, last = steps[0][3], steps[-1][3]
    assert len(steps) == 2
    assert all(f"- {change}" in shown_before_sending for change in expected)
    assert last == shown_before_sending
    assert sim.create_count == 1


def test_preview_sends_nothing(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    values = form_values(images)
    changes, curl, python = studio.preview(Form.of(values))
    assert "base64 <" in curl and "curl -X POST" in curl  # the frames read from their files
    assert "httpx.post" in python and '"no_changes"' in changes
    assert sim.create_count == 0


def test_invalid_pair_sends_nothing(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    values = form_values(images, start_image=str(images["square"]), end_image=str(images["wide"]))
    with pytest.raises(gr.Error) as caught:
        outputs(studio, values)
    assert "end_frame:" in caught.value.message
    assert sim.create_count == 0
    assert sim.requests == []


def test_service_error_becomes_gr_error_with_hint(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    body = {"code": 400, "reason": "CreditInsufficient", "message": "not enough", "metadata": {"trace_id": "tr-42"}}
    sim.inject(Fault(call="create", status=400, body=json.dumps(body)))
    with pytest.raises(gr.Error) as caught:
        outputs(studio, form_values(images))
    message = caught.value.message
    assert "CreditInsufficient" in message and "not enough" in message and "tr-42" in message
    assert EN["hint_CreditInsufficient"] in message  # the advice for this reason
    assert caught.value.title == "CreditInsufficient"


def test_no_answer_is_checked_and_answered_not_left_unknown(
    sim: Simulator, images: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create without an answer: the page says it is checking, then gives the answer from the task list."""
    said: list[str] = []
    monkeypatch.setattr(gr, "Info", said.append)
    settings = Settings.build(api_key=CANARY, base_url=sim.base_url, data_dir=tmp_path / "data", settle_seconds=0)
    with make_studio(settings) as studio:
        sim.inject(Fault(call="create", status=500))  # nothing made; the window is past at once (settle_seconds=0)
        with pytest.raises(gr.Error) as caught:
            outputs(studio, form_values(images))
        assert caught.value.title == EN["title_not_created"] and EN["settled_not_created"] in caught.value.message
        sim.inject(Fault(call="create", status=500, create_task=True))  # made: the task list says so
        task_id = outputs(studio, form_values(images))[-1][0]
    assert task_id == sim.store.all()[-1].id and sim.create_count == 1
    assert said == [EN["checking_created"]] * 2


def test_a_second_generate_in_the_same_session_is_refused(studio: Studio, images: dict[str, Path]) -> None:
    guard = SessionGuard()
    running = studio.run(Form.of(form_values(images)), guard)
    next(running)  # the first request is in flight
    with pytest.raises(gr.Error, match=EN["busy"]):
        outputs(studio, form_values(images), guard)
    running.close()
    assert guard.acquire()  # released once the first one ended
    assert copy.deepcopy(guard).acquire()  # each session's copy has its own lock


def test_visitor_key_lives_only_in_the_request(sim: Simulator, images: dict[str, Path], tmp_path: Path) -> None:
    settings = Settings.build(base_url=sim.base_url, data_dir=tmp_path / "data")
    with make_studio(settings) as studio:
        assert studio.visitor_key
        assert validate(studio, form_values(images)) == {"api_key": EN["problem_no_key_visitor"]}
        before = dict(os.environ)
        last = outputs(studio, form_values(images, api_key=CANARY))[-1]
    assert last[0]
    assert settings.api_key is None and studio.settings.api_key is None
    assert dict(os.environ) == before


def test_the_server_key_appears_in_no_output(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    values = form_values(images)
    shown: list[Any] = [*outputs(studio, values), studio.preview(Form.of(values))]
    shown += [studio.sync(m.name, None, None, False) for m in MODELS]
    shown.append(studio.validate(Form.of(form_values(images, prompt=""))))
    sim.inject(Fault(call="create", status=401))
    with pytest.raises(gr.Error) as caught:
        outputs(studio, values)
    shown.append((caught.value.message, caught.value.title))
    assert CANARY not in repr(shown)
    page = build_studio(studio.settings, runtime=studio.runtime)
    assert CANARY not in json.dumps(page.get_config_file(), default=str)


def test_every_text_has_both_languages(tmp_path: Path) -> None:
    assert set(EN) == set(ZH)
    assert all(ZH[key].strip() for key in ZH)
    settings = Settings.build(api_key=CANARY, data_dir=tmp_path)
    config = json.dumps(build_studio(settings).get_config_file(), default=str)
    used = set(re.findall(r'translation_metadata\\*", \\*"key\\*": \\*"([A-Za-z0-9_.-]+)', config))
    assert len(used) > 40 and used <= set(EN)


def test_an_empty_callback_url_becomes_the_apps_own_when_it_has_a_public_url(
    sim: Simulator, images: dict[str, Path], tmp_path: Path
) -> None:
    settings = Settings.build(
        api_key=CANARY, base_url=sim.base_url, data_dir=tmp_path / "data", public_url="https://studio.example/"
    )
    with make_studio(settings) as studio:
        values = form_values(images)
        _, curl, _ = studio.preview(Form.of(values))
        assert "studio.example" not in curl  # the app's own receiver is not the person's to copy
        outputs(studio, values)
        typed = form_values(images, callback_url="https://hooks.example/mine?x=1")
        outputs(studio, typed)
    sent = [r.body["callback_url"] for r in sim.log.snapshot() if r.call == "create"]
    assert sent == ["https://studio.example/vidu/callback", "https://hooks.example/mine?x=1"]


def test_without_a_public_url_no_callback_url_is_sent(studio: Studio, sim: Simulator, images: dict[str, Path]) -> None:
    outputs(studio, form_values(images))
    assert [r.body.get("callback_url") for r in sim.log.snapshot() if r.call == "create"] == [None]


def test_generate_sends_what_the_validator_prepared(
    studio: Studio, sim: Simulator, images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidu_ui.studio import handlers

    calls: list[object] = []

    def counting_prepare(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(handlers, "prepare", counting_prepare)
    values = form_values(images)
    assert validate(studio, values) == {}
    outputs(studio, values)
    assert len(calls) == 1 and sim.create_count == 1
    outputs(studio, values)  # no validator this time (as when called without Gradio): prepared again
    assert len(calls) == 2 and sim.create_count == 2
