from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidu_ui import request
from vidu_ui.catalogue import MODELS, get_model
from vidu_ui.request import (
    BODY_ORDER as BODY_FIELDS,
)
from vidu_ui.request import (
    SEED_MAX,
    TaskOptions,
    build_body,
    check,
    check_options,
    form_values,
    model_view,
    page_values,
    shorten_data,
    task_id_problem,
    task_path,
)
from vidu_ui.request import url_problem as check_url


def fields_of(**kw: object) -> dict[str, object]:
    out, problems = check_options(TaskOptions(**{"model": "viduq1", "prompt": "a fox runs", **kw}))  # type: ignore[arg-type]
    assert problems == [], problems
    return out


def problems_of(**kw: object) -> dict[str, str]:
    """The message key of each field's problem."""
    _, problems = check_options(TaskOptions(**{"model": "viduq1", "prompt": "a fox runs", **kw}))  # type: ignore[arg-type]
    return {p.field: p.key or "" for p in problems}


def test_minimal_body_leaves_out_what_was_not_set() -> None:
    out = fields_of()
    assert out == {"model": "viduq1", "prompt": "a fox runs"}
    body = build_body(out, ["https://x/a.png", "https://x/b.png"])
    assert list(body) == ["model", "images", "prompt"]


def test_every_option_when_set_lands_in_contract_order() -> None:
    out = fields_of(
        duration="5",
        resolution="1080P",
        seed="42",
        movement_amplitude="large",
        is_rec="true",
        bgm=True,
        off_peak=True,
        watermark=True,
        wm_position="2",
        wm_url="https://example.com/wm.png",
        meta_data='{"Label": "x"}',
        payload="anything",
        callback_url="https://example.com/hook",
    )
    body = build_body(out, ["a", "b"])
    assert list(body) == [f for f in BODY_FIELDS if f in body]
    assert body["duration"] == 5 and body["seed"] == 42 and body["wm_position"] == 2
    assert body["resolution"] == "1080p"
    assert body["is_rec"] is True and body["bgm"] is True
    assert set(body) <= set(BODY_FIELDS)


@pytest.mark.parametrize(
    ("kw", "field", "key"),
    [
        ({"prompt": ""}, "prompt", "problem_prompt_required"),
        ({"prompt": "   "}, "prompt", "problem_prompt_required"),
        ({"prompt": "x" * 2001}, "prompt", "problem_too_long"),
        ({"prompt": "bad\x07bell"}, "prompt", "problem_control_chars"),
        ({"model": "sora"}, "model", "problem_unknown_model"),
        ({"model": ""}, "model", "problem_required"),
        ({"duration": "8"}, "duration", "problem_duration"),
        ({"duration": "five"}, "duration", "problem_not_whole"),
        ({"resolution": "720p"}, "resolution", "problem_resolution"),
        ({"seed": "1e9"}, "seed", "problem_range"),
        ({"seed": "-1"}, "seed", "problem_range"),
        ({"seed": "abc"}, "seed", "problem_range"),
        ({"seed": str(SEED_MAX + 1)}, "seed", "problem_range"),
        ({"movement_amplitude": "huge"}, "movement_amplitude", "problem_choice"),
        ({"is_rec": "maybe"}, "is_rec", "problem_bool"),
        ({"audio": True}, "audio", "problem_no_sound"),
        ({"watermark": True, "wm_position": "5"}, "wm_position", "problem_choice"),
        ({"wm_position": "2"}, "wm_position", "problem_needs_watermark"),
        ({"wm_url": "https://x.test/a.png"}, "wm_url", "problem_needs_watermark"),
        ({"watermark": True, "wm_url": "file:///etc/passwd"}, "wm_url", "problem_url_scheme"),
        ({"meta_data": "[1, 2]"}, "meta_data", "problem_json_not_object"),
        ({"meta_data": "{oops"}, "meta_data", "problem_json_invalid"),
        ({"payload": "p" * 1_048_577}, "payload", "problem_too_long"),
        ({"callback_url": "javascript:alert(1)"}, "callback_url", "problem_url_scheme"),
        ({"callback_url": "https://user:pw@example.com/x"}, "callback_url", "problem_url_credentials"),
        ({"callback_url": "https://example.com/" + "a" * 10_000}, "callback_url", "problem_url_long"),
        ({"callback_url": "https:///nohost"}, "callback_url", "problem_url_host"),
    ],
)
def test_each_rule_names_its_field(kw: dict[str, object], field: str, key: str) -> None:
    found = problems_of(**kw)
    assert field in found, found
    assert found[field] == key


def test_model_specific_options() -> None:
    out, problems = check_options(TaskOptions(model="viduq3-pro", prompt="p", audio=False, duration=16))
    assert problems == [] and out["audio"] is False and out["duration"] == 16
    _, problems = check_options(TaskOptions(model="viduq3-turbo", prompt="p", bgm=True))
    assert [p.field for p in problems] == ["bgm"]
    _, problems = check_options(TaskOptions(model="viduq2", prompt="p", movement_amplitude="large"))
    assert [p.field for p in problems] == ["movement_amplitude"]
    out, problems = check_options(TaskOptions(model="viduq2", prompt="p", movement_amplitude="auto"))
    assert problems == [] and "movement_amplitude" not in out
    _, problems = check_options(TaskOptions(model="vidu2.0", prompt="p", duration=8, resolution="1080p"))
    assert [p.field for p in problems] == ["resolution"] and problems[0].values["duration"] == 8
    out, problems = check_options(TaskOptions(model="vidu2.0", prompt="p", duration=4, resolution="1080p"))
    assert problems == []


def test_all_problems_are_reported_together() -> None:
    _, problems = check_options(TaskOptions(model="viduq1", prompt="", seed="x", meta_data="1"))
    assert {p.field for p in problems} == {"prompt", "seed", "meta_data"}


def test_seed_zero_means_random_and_is_left_out() -> None:
    assert "seed" not in fields_of(seed=0)


def test_rtl_and_newlines_are_fine_in_a_prompt() -> None:
    assert fields_of(prompt="שלום עולם\nمرحبا")["prompt"] == "שלום עולם\nمرحبا"


@given(st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=12), st.floats(allow_nan=False)))
def test_seed_accepted_exactly_when_documented(value: int | str | float) -> None:
    if isinstance(value, str) and not value.strip():
        return  # blank means "not set"
    if isinstance(value, str):
        text = value.strip()
        expected = re.fullmatch(r"\+?[0-9]+", text) is not None and int(text) <= SEED_MAX
    else:
        expected = float(value).is_integer() and 0 <= value <= SEED_MAX
    assert ("seed" not in problems_of(seed=value)) == expected


@given(st.sampled_from(MODELS), st.integers(-3, 20))
def test_duration_accepted_exactly_when_the_model_offers_it(model: object, duration: int) -> None:
    name = model.name  # type: ignore[attr-defined]
    _, problems = check_options(TaskOptions(model=name, prompt="p", duration=duration))
    assert (problems == []) == (duration in get_model(name).durations)  # type: ignore[union-attr]


@given(st.sampled_from(MODELS), st.sampled_from(["360p", "540p", "720p", "1080p", "4k"]))
def test_resolution_accepted_exactly_when_offered(model: object, resolution: str) -> None:
    name = model.name  # type: ignore[attr-defined]
    _, problems = check_options(TaskOptions(model=name, prompt="p", resolution=resolution))
    assert (problems == []) == (resolution in get_model(name).resolutions_for(None))  # type: ignore[union-attr]


@given(st.text(max_size=2100))
def test_prompt_rule(prompt: str) -> None:
    ok = bool(prompt.strip()) and len(prompt) <= 2000
    ok = ok and not any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) <= 0x9F for c in prompt)
    assert ("prompt" not in problems_of(prompt=prompt)) == ok


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=3), c),
        max_leaves=5,
    )
)
def test_meta_data_accepted_exactly_when_a_json_object(value: object) -> None:
    assert ("meta_data" not in problems_of(meta_data=json.dumps(value))) == isinstance(value, dict)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a", True),
        ("http://127.0.0.1:8080/vidu/callback?x=1", True),
        ("HTTPS://EXAMPLE.COM", True),
        ("ftp://example.com", False),
        ("example.com/hook", False),
        ("https://exa mple.com", False),
        ("https://[::1", False),
    ],
)
def test_check_url(url: str, ok: bool) -> None:
    assert (check_url("callback_url", url) is None) == ok


# --- issue 11's option values: refused with a field message, never a crash ---------------------------------------


def test_meta_data_nested_thousands_of_levels_is_refused_before_parsing() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert problems_of(meta_data=deep) == {"meta_data": "problem_json_too_deep"}
    inside = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    assert problems_of(meta_data=inside) == {"meta_data": "problem_json_too_deep"}
    # brackets inside strings are text, not nesting
    assert "meta_data" in fields_of(meta_data=json.dumps({"Label": "[" * 5000}))


@pytest.mark.parametrize("name", ["prompt", "payload", "meta_data", "callback_url", "resolution", "model"])
def test_a_lone_surrogate_in_any_text_field_is_refused(name: str) -> None:
    found = problems_of(**{name: "ok \ud800 text", "watermark": True})
    assert found.get(name) == "problem_surrogates"


@pytest.mark.parametrize(("text", "expected"), [("false", False), ("False", False), ("0", False), ("off", False),
                                                ("true", True), ("yes", True), ("1", True)])  # fmt: skip
def test_booleans_from_text_are_parsed_strictly(text: str, expected: bool) -> None:
    out = fields_of(is_rec=text, watermark=text)
    assert out.get("is_rec", False) is expected and out.get("watermark", False) is expected
    # the page's path: a checkbox holding text (a Gradio API call) reads the same
    assert (
        check(page_values({"model": "viduq1", "prompt": "p", "is_rec": text})).fields.get("is_rec", False) is expected
    )


def test_a_boolean_that_is_not_one_is_refused() -> None:
    assert problems_of(bgm="perhaps") == {"bgm": "problem_bool"}
    assert problems_of(bgm=2) == {"bgm": "problem_bool"}


@pytest.mark.parametrize("port", ["65536", "99999", "-1", "http"])
def test_a_url_port_outside_0_to_65535_is_refused(port: str) -> None:
    problem = check_url("callback_url", f"https://example.com:{port}/hook")
    assert problem is not None and problem.key in ("problem_url_port", "problem_url_invalid")


def test_a_url_port_within_range_is_fine() -> None:
    assert check_url("callback_url", "https://example.com:65535/hook") is None


# --- one task-id rule, one shortening rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "task_id",
    ["911088422699962368", "task_5f2cAbC", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "a.b_c-d", "x" * 128],
)
def test_task_ids_are_opaque_strings(task_id: str) -> None:
    assert task_id_problem(task_id) is None
    assert task_path("/ent/v2/tasks/{task_id}/creations", task_id) == f"/ent/v2/tasks/{task_id}/creations"


@pytest.mark.parametrize("task_id", ["", " ", "٣٣٣", "a/b", "..", "x" * 129, "a b", "id?x=1", "%2e%2e"])
def test_anything_else_is_not_a_task_id(task_id: str) -> None:
    problem = task_id_problem(task_id)
    assert problem is not None and problem.key == "problem_task_id"


def test_shortening_keeps_the_head_and_counts_the_rest() -> None:
    uri = "data:image/png;base64," + "A" * 1000
    short = shorten_data({"images": [uri, "https://x/a.png"], "n": 1})
    assert (
        short["images"][0].startswith(uri[: request.DATA_URI_KEEP])
        and f"{len(uri) - request.DATA_URI_KEEP} more characters" in short["images"][0]
    )
    assert short["images"][1] == "https://x/a.png" and short["n"] == 1


# --- the description drives everything ---------------------------------------------------------------------------


def test_the_body_order_is_the_contracts() -> None:
    assert BODY_FIELDS == (
        "model", "images", "prompt", "is_rec", "duration", "seed", "resolution", "movement_amplitude", "audio",
        "bgm", "off_peak", "payload", "watermark", "wm_position", "wm_url", "meta_data", "callback_url",
    )  # fmt: skip


def test_off_peak_warns_but_is_sent() -> None:
    for model, audio in (("viduq2", None), ("viduq3-pro", False)):
        checked = check(TaskOptions(model=model, prompt="p", off_peak=True, audio=audio))
        assert checked.problems == [] and checked.fields["off_peak"] is True
        assert [w.key for w in checked.warnings] == ["warning_off_peak"]
    assert check(TaskOptions(model="viduq3-pro", prompt="p", off_peak=True)).warnings == []


def test_the_page_leaves_out_what_the_model_hides() -> None:
    hidden = {"bgm": True, "movement_amplitude": "large", "wm_position": 2, "wm_url": "https://x/wm.png"}
    options = page_values({"model": "viduq3-pro", "prompt": "p", "audio": True, "watermark": False, **hidden})
    checked = check(options)
    assert checked.problems == []
    assert "bgm" not in checked.fields and "movement_amplitude" not in checked.fields
    assert "wm_position" not in checked.fields and checked.fields["audio"] is True


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_every_model_and_duration_gives_a_valid_form(model: object) -> None:
    name = model.name  # type: ignore[attr-defined]
    for duration in get_model(name).durations:  # type: ignore[union-attr]
        view = model_view(name, duration, "no such resolution")
        values = {**form_values({"model": name}), "prompt": "p", "duration": view.duration,
                  "resolution": view.resolution}  # fmt: skip
        assert check(page_values(values)).problems == [], (name, duration)


def test_a_model_with_one_duration_has_a_fixed_duration() -> None:
    view = model_view("viduq1", 10, "720p")  # the previous model's duration and resolution
    assert view.durations == (5,) and view.duration == 5 and view.resolution == "1080p"


def test_reuse_values_come_back_as_the_page_holds_them() -> None:
    sent = fields_of(duration="5", seed="42", watermark=True, wm_position="1", meta_data='{"a": 1}')
    values = form_values(sent)
    assert values["seed"] == 42 and values["watermark"] is True and values["wm_position"] == 1
    assert values["bgm"] is False and values["movement_amplitude"] == "auto"  # left out: back at the default
    assert check(page_values(values)).fields == {**sent, "resolution": "1080p"}  # the page always shows one


def test_cli_flags_are_the_fields() -> None:
    names = [p.name for p in request.cli_parameters()]
    assert names == list(request.NAMES)
