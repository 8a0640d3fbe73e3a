"""Hostile and broken input: every case of ``tests/support/hostile.py`` against the launched app, and the property tests
the option, URL-box and signature rules lacked ("the checker accepts an input exactly when the documented rules
hold"); ``tests/test_options.py`` and ``tests/test_signing.py`` hold the others (seed, duration, resolution
without a duration, prompt, meta_data; signing round trips and single changes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import CASES, CORPUS, KNOWN_ISSUES, Case, Harness, violations
from tests.support.report import Reliability
from vidu_ui.catalogue import MODEL_NAMES, MODELS, MOVEMENT_AMPLITUDES, WM_POSITIONS, Model
from vidu_ui.request import PAYLOAD_MAX, URL_MAX, TaskOptions, check_options
from vidu_ui.request import url_problem as check_url
from vidu_ui.signing import SignatureError, signed_headers, verify
from vidu_ui.studio.form import Form


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with Harness(tmp_path_factory.mktemp("hostile")) as running:
        yield running


def _param(case: Case) -> Any:
    reason = f"known issue {case.known!r} (tests/support/hostile.py KNOWN_ISSUES)"
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if case.known else []
    return pytest.param(case, id=case.key, marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_hostile_input(harness: Harness, reliability: Reliability, case: Case) -> None:
    """Refused naming its field on both routes (or accepted, for the valid ones), nothing sent, process healthy.

    The cases run in the order of ``CASES``: the last two are valid requests after all the others. How long each
    took goes to the document only (``--reliability-doc``): this run asserts no duration."""
    result = harness.run(case)
    reliability.hostile.append(result)
    assert violations(result) == []


def test_the_corpus_covers_the_issue() -> None:
    keys = {case.key for case in CASES}
    assert len(CASES) >= 80
    assert {f"{role}-{kind}" for role in ("start", "end") for kind in CORPUS} <= keys  # every trick of tests/corpus
    wanted = {
        "polyglot",
        "png-20000",
        "animated-webp",
        "image-data-url",
        "filedata-data-url",
        "url-data-url-60mb",
        "filedata-passwd",
        "filedata-db",
        "prompt-nul",
        "prompt-rtl",
        "prompt-2001",
        "seed-1e9-text",
        "seed-minus-1",
        "seed-abc",
        "duration-8-q1",
        "res-1080-vidu2-8",
        "meta-array",
        "meta-invalid",
        *(f"{name}-{trick}" for name in ("wm_url", "callback_url") for trick in ("file", "js", "cred", "10k")),
    }
    assert wanted <= keys, wanted - keys
    assert {case.where for case in CASES} == {"frames", "options", "raw API"}
    assert {case.known for case in CASES if case.known} <= set(KNOWN_ISSUES)


# --- properties: each option accepted exactly when the documented rules hold -------------------------------------


def _problems(**values: Any) -> dict[str, str]:
    options = TaskOptions(**{"model": "viduq1", "prompt": "a fox runs", **values})
    return {p.field: p.message for p in check_options(options)[1]}


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_flag_values = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(-2, 2),
    st.sampled_from([*sorted(_TRUE | _FALSE), "TRUE", " No ", "maybe", "y", "2"]),
    st.text(max_size=6),
    st.lists(st.booleans(), max_size=2),
)


def _is_flag(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE)


@given(st.sampled_from(["is_rec", "off_peak", "watermark"]), _flag_values)
def test_a_flag_is_accepted_exactly_when_it_is_true_or_false(name: str, value: object) -> None:
    if value is None:
        return  # not set
    assert (name not in _problems(**{name: value})) == _is_flag(value)


@given(st.sampled_from(MODELS), st.sampled_from(["audio", "bgm"]), st.booleans())
def test_audio_and_bgm_are_accepted_exactly_where_the_model_has_them(model: Model, name: str, wanted: bool) -> None:
    found = _problems(model=model.name, **{name: wanted})
    # "No sound" on a model without sound is simply left out; only asking for it is an error.
    assert (name not in found) == (not wanted or bool(getattr(model, name)))


@given(
    st.sampled_from(MODELS),
    st.one_of(st.sampled_from([*MOVEMENT_AMPLITUDES, "LARGE", " small ", "huge"]), st.text(max_size=8)),
)
def test_movement_amplitude_is_accepted_exactly_where_it_has_an_effect(model: Model, value: str) -> None:
    if not value.strip():
        return  # not set
    amplitude = value.strip().lower()
    expected = amplitude in MOVEMENT_AMPLITUDES and (amplitude == "auto" or model.movement_amplitude)
    assert ("movement_amplitude" not in _problems(model=model.name, movement_amplitude=value)) == expected


@given(
    st.one_of(st.integers(-3, 8), st.sampled_from(["1", " 4 ", "+2", "2.0", "top", "1e0"]), st.floats(0, 5)),
    st.booleans(),
)
def test_wm_position_is_accepted_exactly_when_1_to_4_with_the_watermark_on(value: object, watermark: bool) -> None:
    if isinstance(value, str):
        text = value.strip()
        number = int(text) if re.fullmatch(r"\+?[0-9]+", text) else None
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None
    else:
        number = value if isinstance(value, int) else None
    expected = number in WM_POSITIONS and watermark
    assert ("wm_position" not in _problems(watermark=watermark, wm_position=value)) == expected


@given(st.sampled_from(MODELS), st.integers(0, 17), st.sampled_from(["360p", "540p", "720p", "1080p", "4k"]))
def test_resolution_is_accepted_exactly_when_offered_at_that_duration(model: Model, duration: int, res: str) -> None:
    found = _problems(model=model.name, duration=duration, resolution=res)
    if duration in model.durations:
        assert ("resolution" not in found) == (res in model.resolutions_for(duration))


@given(st.one_of(st.sampled_from(MODEL_NAMES), st.text(max_size=14), st.sampled_from(["VIDUQ1", " viduq1", "vidu2"])))
def test_a_model_is_accepted_exactly_when_the_catalogue_has_it(name: str) -> None:
    assert ("model" not in _problems(model=name)) == (name in MODEL_NAMES)


@given(st.one_of(st.integers(PAYLOAD_MAX - 2, PAYLOAD_MAX + 2), st.integers(0, 3)), st.booleans())
def test_payload_is_accepted_exactly_when_text_of_at_most_1048576_characters(length: int, as_text: bool) -> None:
    value: object = "p" * length if as_text else {"p": length}
    assert ("payload" not in _problems(payload=value)) == (as_text and length <= PAYLOAD_MAX)


_hosts = st.sampled_from(
    ["example.com", "127.0.0.1:8080", "[::1]", "xn--bcher-kva.example", "", "exa mple.com", "a\tb"]
)
_schemes = st.sampled_from(["http", "https", "HTTPS", "ftp", "file", "javascript", "data", ""])
_userinfo = st.sampled_from(["", "user@", "user:pw@", ":pw@"])
_paths = st.one_of(
    st.sampled_from(["", "/", "/hook?x=1", "/a\r\nX: 1", "/ok#frag"]), st.integers(0, 2100).map(lambda n: "/" + "a" * n)
)


@settings(max_examples=300)
@given(_schemes, _userinfo, _hosts, _paths)
def test_a_callback_or_watermark_url_is_accepted_exactly_when_the_rules_hold(
    scheme: str, userinfo: str, host: str, path: str
) -> None:
    url = f"{scheme}://{userinfo}{host}{path}" if scheme else f"{userinfo}{host}{path}"
    if not url.strip():
        return  # not set
    expected = (
        scheme.lower() in ("http", "https")
        and host != ""
        and not userinfo
        and len(url) <= URL_MAX
        and not any(ch.isspace() or ord(ch) < 32 for ch in url)
    )
    assert (check_url("callback_url", url) is None) == expected
    assert ("callback_url" not in _problems(callback_url=url)) == expected
    assert ("wm_url" not in _problems(watermark=True, wm_url=url)) == expected


@given(st.text(max_size=40), st.booleans())
def test_the_url_box_is_a_frame_only_when_it_holds_an_http_url(text: str, with_upload: bool) -> None:
    """Never a path on the server: a URL box whose text is not an http(s) URL gives no frame and one problem."""
    form = Form(start_image={"path": "/uploads/start.png"} if with_upload else None, start_url=text)
    web = check_url("start_frame", text.strip(), image=True) is None  # the one URL rule, for a frame
    if with_upload:
        assert form.start == "/uploads/start.png" and form.url_problems() == []
    elif not text.strip():
        assert form.start is None and form.url_problems() == []
    else:
        assert (form.start == text) == web
        assert [p.field for p in form.url_problems()] == ([] if web else ["start_frame"])


@given(st.sampled_from(["is_rec", "off_peak", "bgm", "watermark"]), _flag_values)
def test_the_form_passes_a_checkbox_on_as_sent_and_never_turns_text_into_true(name: str, value: object) -> None:
    """``bool("false")`` is True: the form must let the core judge the value (and refuse what is not a flag)."""
    form = Form(options={"model": "viduq1", "prompt": "p", name: value})
    _, problems = check_options(form.task_options())
    refused = name in {p.field for p in problems}
    assert refused == (value is not None and not _is_flag(value))
    if not refused:
        fields, _ = check_options(form.task_options())
        on = value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)
        assert fields.get(name, False) is on


# --- property: the callback signature's Date window ---------------------------------------------------------------

_URL = "http://127.0.0.1:8080/vidu/callback?x=1"


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 4_000_000_000), st.integers(-700, 700), st.integers(1, 600))
def test_a_signed_callback_is_accepted_exactly_when_its_date_is_within_the_window(
    sent: int, skew: int, window: int
) -> None:
    headers = signed_headers("key", "POST", _URL, now=float(sent), nonce="n-1")
    assert headers["Date"] == formatdate(sent, usegmt=True)
    try:
        verify("key", "POST", _URL, headers, now=float(sent + skew), max_skew=window, seen_nonce=lambda n: False)
    except SignatureError:
        accepted = False
    else:
        accepted = True
    assert accepted == (abs(skew) <= window)
