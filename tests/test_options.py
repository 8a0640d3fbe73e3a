from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidu_ui.catalogue import MODELS, get_model
from vidu_ui.options import BODY_FIELDS, SEED_MAX, TaskOptions, build_body, check_options, check_url


def fields_of(**kw: object) -> dict[str, object]:
    out, problems = check_options(TaskOptions(**{"model": "viduq1", "prompt": "a fox runs", **kw}))  # type: ignore[arg-type]
    assert problems == [], problems
    return out


def problems_of(**kw: object) -> dict[str, str]:
    _, problems = check_options(TaskOptions(**{"model": "viduq1", "prompt": "a fox runs", **kw}))  # type: ignore[arg-type]
    return {p.field: p.message for p in problems}


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
    ("kw", "field", "phrase"),
    [
        ({"prompt": ""}, "prompt", "required"),
        ({"prompt": "   "}, "prompt", "required"),
        ({"prompt": "x" * 2001}, "prompt", "2,001 characters"),
        ({"prompt": "bad\x07bell"}, "prompt", "U+0007"),
        ({"model": "sora"}, "model", "viduq3-pro"),
        ({"model": ""}, "model", "required"),
        ({"duration": "8"}, "duration", "choose 5"),
        ({"duration": "five"}, "duration", "whole number"),
        ({"resolution": "720p"}, "resolution", "choose 1080p"),
        ({"seed": "1e9"}, "seed", "0 to 2147483647"),
        ({"seed": "-1"}, "seed", "0 to 2147483647"),
        ({"seed": "abc"}, "seed", "0 to 2147483647"),
        ({"seed": str(SEED_MAX + 1)}, "seed", "0 to 2147483647"),
        ({"movement_amplitude": "huge"}, "movement_amplitude", "auto, small, medium, large"),
        ({"is_rec": "maybe"}, "is_rec", "true or false"),
        ({"audio": True}, "audio", "viduq3-pro, viduq3-turbo"),
        ({"watermark": True, "wm_position": "5"}, "wm_position", "1 (top left)"),
        ({"wm_position": "2"}, "wm_position", "watermark is on"),
        ({"wm_url": "https://x.test/a.png"}, "wm_url", "watermark is on"),
        ({"watermark": True, "wm_url": "file:///etc/passwd"}, "wm_url", "'file:'"),
        ({"meta_data": "[1, 2]"}, "meta_data", "an array, not an object"),
        ({"meta_data": "{oops"}, "meta_data", "not valid JSON"),
        ({"payload": "p" * 1_048_577}, "payload", "1,048,576"),
        ({"callback_url": "javascript:alert(1)"}, "callback_url", "'javascript:'"),
        ({"callback_url": "https://user:pw@example.com/x"}, "callback_url", "credentials"),
        ({"callback_url": "https://example.com/" + "a" * 10_000}, "callback_url", "at most 2048"),
        ({"callback_url": "https:///nohost"}, "callback_url", "no host"),
    ],
)
def test_each_rule_names_its_field(kw: dict[str, object], field: str, phrase: str) -> None:
    found = problems_of(**kw)
    assert field in found, found
    assert phrase in found[field]


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
    assert [p.field for p in problems] == ["resolution"] and "at 8 s" in problems[0].message
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
