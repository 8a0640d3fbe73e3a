"""Every message exists in both languages; a problem or an error becomes text in one place, for its reader."""

from __future__ import annotations

import re
import string
from pathlib import Path

import gradio
import httpx
import pytest

from vidu_ui import messages, request
from vidu_ui.errors import AuthenticationError, InvalidInput, Problem, status_error_class
from vidu_ui.messages import EN, ZH, cli_language, language_of, reason_hint, render_error, render_problem, state_text

PACKAGE = Path(request.__file__).parent


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders() -> None:
    assert set(EN) == set(ZH), sorted(set(EN) ^ set(ZH))
    for key in EN:
        assert ZH[key].strip(), key
        assert placeholders(EN[key]) == placeholders(ZH[key]), key


def test_every_key_the_code_names_exists() -> None:
    """Walk the package's source for message keys (``"problem_…"``, ``"hint_…"``, ``say(…, "key")``)."""
    named: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        named |= set(re.findall(r'"((?:problem|warning|hint|state|field)_[a-z_A-Z0-9]+)"', source))
        named |= set(re.findall(r'say\([a-z_.]+, "([a-z_]+)"', source))
        named |= set(re.findall(r'I18N\("([a-z_]+)"\)', source))
    missing = sorted(k for k in named if k not in EN and not k.endswith("_"))
    assert missing == []


def test_every_field_of_the_request_has_a_label_and_help_in_both_languages() -> None:
    for spec in request.FIELDS:
        for table in (EN, ZH):
            assert table[spec.label_key] and table[spec.help_key]


def gradio_namespaces() -> set[str]:
    """Gradio's own top-level translation names, read from its English bundle (fails when it moves)."""
    chunks = Path(gradio.__file__).parent / "templates" / "node" / "build" / "server" / "chunks"
    english = next(chunks.glob("en-*.js"))
    exported = re.search(r"export \{([^}]*)\}", english.read_text(encoding="utf-8"))
    assert exported is not None
    return {part.split(" as ")[-1].strip() for part in exported.group(1).split(",")}


def test_no_key_clashes_with_gradios_own_translations() -> None:
    """A clash is shown as "[object Object]" (the audio box's label was)."""
    own = gradio_namespaces()
    assert {"audio", "checkbox", "status"} <= own  # the bundle was read
    assert sorted(set(EN) & own) == []


def test_problems_render_in_the_readers_language_with_or_without_the_field() -> None:
    problem = Problem.of("prompt", "problem_too_long", length=2001, limit=2000)
    assert render_problem(problem, "en").startswith("prompt: ")
    assert not render_problem(problem, "zh-CN", with_field=False).startswith("prompt")
    assert "2,001" in render_problem(problem, "zh-CN") and render_problem(problem, "zh-CN") != render_problem(problem)


def test_a_refused_key_tells_a_visitor_to_check_their_key_not_the_servers_setting() -> None:
    response = httpx.Response(401, request=httpx.Request("GET", "https://x/"))
    exc = status_error_class(401)(
        status_code=401, reason="Unauthorized", message="", trace_id=None, body=None, response=response
    )
    assert isinstance(exc, AuthenticationError)
    _, _, operator = render_error(exc, "en", "operator")
    _, _, visitor = render_error(exc, "en", "visitor")
    assert "VIDU_API_KEY" in operator[0] and "VIDU_API_KEY" not in visitor[0]
    assert visitor[0] == EN["hint_Unauthorized_visitor"]
    _, _, chinese = render_error(exc, "zh-CN", "visitor")
    assert chinese[0] == ZH["hint_Unauthorized_visitor"]


def test_a_cancel_refused_because_scheduled_gets_its_own_advice() -> None:
    response = httpx.Response(400, request=httpx.Request("POST", "https://x/"))
    exc = status_error_class(400)(
        status_code=400,
        reason="BadRequest",
        message="task state is scheduled, can not cancel",
        trace_id=None,
        body=None,
        response=response,
    )
    assert render_error(exc, "en")[2] == [EN["hint_cancel_scheduled"]]


@pytest.mark.parametrize("code", ["ImageCheckBodyJointsFailed", "ImageCheckFaceFailed", "ImageObjectsUndetected"])
def test_the_official_pages_new_codes_have_advice(code: str) -> None:
    assert EN[f"hint_{code}"] in reason_hint("en", code) and ZH[f"hint_{code}"] in reason_hint("zh-CN", code)


def test_invalid_input_lists_every_problem() -> None:
    exc = InvalidInput([Problem.of("seed", "problem_range", value="x", low=0, high=9), Problem("frames", "as is")])
    title, happened, _ = render_error(exc, "zh-CN")
    assert title == ZH["title_invalid"] and happened.splitlines()[1] == "frames: as is"


@pytest.mark.parametrize(
    ("state", "err_code", "key"),
    [
        ("success", None, "state_success"),
        ("failed", "UserCancelled", "state_cancelled"),
        ("canceled", None, "state_cancelled"),
        ("cancelled", None, "state_cancelled"),
        ("failed", "CreditInsufficient", "state_failed"),
    ],
)
def test_states_in_words(state: str, err_code: str | None, key: str) -> None:
    assert state_text("en", state, err_code) == EN[key]


def test_a_state_outside_the_documented_five_is_still_running() -> None:
    assert state_text("en", "preparation") == EN["state_other"].format(state="preparation")
    assert "preparation" in state_text("zh-CN", "preparation")


def test_languages() -> None:
    assert language_of("zh-CN,zh;q=0.9") == "zh-CN" and language_of("en-US") == "en" and language_of(None) == "en"
    assert cli_language(None, {"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert cli_language(None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"
    assert cli_language("zh-CN", {"LANG": "en_US.UTF-8"}) == "zh-CN"
    assert cli_language(None, {}) == "en"


def test_the_old_text_modules_are_gone() -> None:
    assert not (PACKAGE / "ui_text.py").exists()
    assert not hasattr(messages, "REASON_HINTS")


@pytest.mark.parametrize(
    ("key", "reason", "values"),
    [
        ("scheme", "scheme", {"scheme": "ftp"}),
        ("address", "address", {"kind": "loopback", "address": "127.0.0.1"}),
        ("too_large", "too_large", {"megabytes": "500"}),
        ("not_media", "not_video", {}),
        ("status", "status", {"status": 404}),
    ],
)
def test_a_refused_download_reads_in_each_language(key: str, reason: str, values: dict[str, object]) -> None:
    from vidu_ui.downloads import DownloadRefused

    refused = DownloadRefused(key, "cdn.example", reason, **values)  # type: ignore[arg-type]
    assert refused.detail == EN[f"download_{reason}"].format(**values)
    for lang in ("en", "zh-CN"):
        title, happened, advice = render_error(refused, lang)  # type: ignore[arg-type]
        assert title == messages.TEXTS[lang]["title_download_refused"]  # type: ignore[index]
        assert "cdn.example" in happened and advice
    assert render_error(refused, "en", "visitor")[2] == [EN["hint_download_refused_visitor"]]


# --- frames and auto-fit (issue 9's leftovers, issue 14's auto-fit) ---------------------------------------------

FRAME_KEY = re.compile(
    r'"((?:problem_(?:frame|pair|fit|url|body)|frame_kind|frame_damage|frame_summary|fit)_[a-z_0-9]+)"'
)
FRAME_SOURCES = ("frames.py", "autofit.py", "request.py", "submit.py")


def frame_keys() -> set[str]:
    """The message keys frames, auto-fit and the URL rule name, read from their source."""
    return {key for name in FRAME_SOURCES for key in FRAME_KEY.findall((PACKAGE / name).read_text(encoding="utf-8"))}


def sample_values(template: str) -> dict[str, object]:
    """A value for each placeholder: a number where the template formats one (``{n:,}``), else a word."""
    return {name: 1234.5 if spec else "x" for _, name, spec, _ in string.Formatter().parse(template) if name}


def test_every_frames_and_auto_fit_message_exists_in_both_languages() -> None:
    """Walk every key frames.py, autofit.py and the URL rule use through both languages: none missing, the same
    placeholders, and each renders."""
    named = frame_keys()
    assert len(named) > 50  # the walk found them
    assert sorted(k for k in named if k not in EN or k not in ZH) == []
    for key in sorted(named):
        assert placeholders(EN[key]) == placeholders(ZH[key]), key
        for lang in ("en", "zh-CN"):
            assert messages.say(lang, key, **sample_values(EN[key])), (key, lang)


def test_frames_and_auto_fit_write_no_sentence_of_their_own() -> None:
    """Every refusal of a frame, of the pair and of auto-fit is a key (``Problem.of``), never English text."""
    for name in ("frames.py", "autofit.py", "submit.py"):
        source = (PACKAGE / name).read_text(encoding="utf-8")
        assert re.search(r"Problem\(\s*[^)]", source) is None, name


ENGLISH = re.compile(r"\b[A-Za-z]{2,}[,;]? [A-Za-z]{2,}[,;]? [A-Za-z]{2,}\b")
"""Three English words in a row: a sentence (field names, formats and units are single words)."""


def cli_zh(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from vidu_ui.cli import app

    result = CliRunner().invoke(app, ["--lang", "zh-CN", "check", *args, "-p", "x"], env={"LC_ALL": "", "LANG": ""})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def test_a_chinese_reader_of_the_cli_meets_no_english_sentence_about_frames(tmp_path: Path) -> None:
    from tests.corpus import make_bad
    from tests.images import photo, write

    start = write(tmp_path / "s.png", photo(700, 500, 1), "PNG")
    wide = write(tmp_path / "e.png", photo(980, 500, 2), "PNG")  # the aspect 1.4× the start's
    tiny = write(tmp_path / "t.jpg", photo(320, 300, 3), "JPEG")
    panorama = write(tmp_path / "p.jpg", photo(2500, 500, 4), "JPEG")
    gif = make_bad(tmp_path, "gif")
    code, refused_frame = cli_zh(str(start), str(gif))
    assert code == 2 and "end_frame:" in refused_frame
    code, refused_pair = cli_zh(str(start), str(wide))
    assert code == 2 and "end_frame:" in refused_pair
    code, blamed = cli_zh(str(panorama), str(start), "--auto-fit")
    assert code == 2 and "start_frame:" in blamed and "end_frame:" not in blamed
    code, fitted = cli_zh(str(start), str(tiny), "--auto-fit", "--resolution", "720p", "-m", "viduq2")
    assert code == 0 and fitted.count("auto-fit:") >= 2
    for text in (refused_frame, refused_pair, blamed, fitted):
        english = [line for line in text.splitlines() if ENGLISH.search(line)]
        assert english == [], english
    in_english = Problem.of("end_frame", "problem_pair_aspect", **sample_values(EN["problem_pair_aspect"]))
    assert ENGLISH.search(render_problem(in_english, "en"))  # the check would see an English sentence


def test_the_page_says_a_frames_summary_and_auto_fits_changes_in_the_viewers_language(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tests.corpus import make_bad
    from tests.images import photo, write
    from vidu_ui.request import TaskOptions
    from vidu_ui.studio.handlers import Studio
    from vidu_ui.submit import prepare

    chinese = SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"})
    gif = make_bad(tmp_path, "gif")
    shown = Studio.frame_summary(str(gif), None, "end", request=chinese)  # type: ignore[arg-type]
    assert shown.startswith("⚠") and not ENGLISH.search(shown)
    assert shown != Studio.frame_summary(str(gif), None, "end")  # the English one
    start = write(tmp_path / "s.png", photo(700, 500, 1), "PNG")
    end = write(tmp_path / "e.jpg", photo(320, 300, 2), "JPEG")
    prepared = prepare(start, end, TaskOptions(model="viduq2", prompt="x", resolution="720p"), auto_fit=True)
    assert prepared.changes
    studio = object.__new__(Studio)  # describe_changes needs no runtime
    described = studio.describe_changes(prepared, "zh-CN")
    assert all(f"- {change.render('zh-CN')}" in described for change in prepared.changes)
    assert not any(ENGLISH.search(line) for line in described.splitlines()[1:])
